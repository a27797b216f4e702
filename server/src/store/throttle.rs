//! Failed sign-in counters, one row per throttle key. Every change is a
//! single upsert, so concurrent attempts add up on either backend.

use async_trait::async_trait;
use gatehouse::store::{StoreError, ThrottleStore};
use gatehouse::throttle::{FailureCount, Policy};
use sqlx::Row;

use super::{err, Db, SqlStore};

/// Counts an attempt unless the key is waiting out its delay, `$delay`
/// seconds after the last failure: then the upsert's WHERE leaves the row
/// alone and nothing returns.
macro_rules! reserve_sql {
    ($delay:literal) => {
        concat!(
            "INSERT INTO login_failures (throttle_key, failures, last_failure_at) \
             VALUES ($1, 1, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN $2 - login_failures.last_failure_at >= $3 THEN 1 \
                          ELSE login_failures.failures + 1 END, \
               last_failure_at = $2 \
             WHERE $2 - login_failures.last_failure_at >= $3 OR login_failures.failures < $4 \
               OR $2 >= login_failures.last_failure_at + ",
            $delay,
            " RETURNING failures, last_failure_at"
        )
    };
}

/// Reads `failures, last_failure_at` (counts beyond `u32` saturate).
fn count<R: Row>(row: &R) -> Result<FailureCount, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(FailureCount {
        failures: row.try_get::<i64, _>("failures")?.clamp(0, u32::MAX as i64) as u32,
        last_failure_at: row.try_get("last_failure_at")?,
    })
}

/// Each row's `throttle_key` with its count.
fn keyed_counts<R: Row>(rows: &[R]) -> Result<Vec<(String, FailureCount)>, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| Ok((r.try_get("throttle_key")?, count(r)?)))
        .collect()
}

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn failure_counts(
        &self,
        keys: &[&str],
    ) -> Result<Vec<(String, FailureCount)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One query for all keys: PostgreSQL takes them as an array,
        // SQLite as a JSON array unpacked by json_each.
        match &self.db {
            Db::Sqlite(db) => {
                let list = serde_json::to_string(keys).map_err(StoreError::new)?;
                let rows = sqlx::query(
                    "SELECT throttle_key, failures, last_failure_at FROM login_failures \
                     WHERE throttle_key IN (SELECT value FROM json_each($1))",
                )
                .bind(list)
                .fetch_all(&db.pool)
                .await
                .map_err(err)?;
                keyed_counts(&rows)
            }
            Db::Postgres(db) => {
                let rows = sqlx::query(
                    "SELECT throttle_key, failures, last_failure_at FROM login_failures \
                     WHERE throttle_key = ANY($1)",
                )
                .bind(keys)
                .fetch_all(&db.pool)
                .await
                .map_err(err)?;
                keyed_counts(&rows)
            }
        }
        .map_err(err)
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_after: i64,
    ) -> Result<FailureCount, StoreError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "INSERT INTO login_failures (throttle_key, failures, last_failure_at) \
                 VALUES ($1, 1, $2) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                   failures = CASE WHEN $2 - login_failures.last_failure_at >= $3 THEN 1 \
                              ELSE login_failures.failures + 1 END, \
                   last_failure_at = $2 \
                 RETURNING failures, last_failure_at",
            )
            .bind(key)
            .bind(now)
            .bind(reset_after)
            .fetch_one(pool)
            .await
            .map_err(err)?;
            count(&row).map_err(err)
        })
    }

    async fn reserve_attempt(
        &self,
        key: &str,
        now: i64,
        policy: &Policy,
    ) -> Result<Option<FailureCount>, StoreError> {
        // Counts the attempt unless the key is waiting out its delay
        // (base_delay doubled per failure beyond the free ones, capped):
        // then the upsert's WHERE leaves the row alone and nothing returns.
        // The dialects differ only in their two-argument min().
        let sql = self.sql(
            reserve_sql!("MIN($5 << MIN(login_failures.failures - $4, 30), $6)"),
            reserve_sql!("LEAST($5::BIGINT << LEAST(login_failures.failures - $4, 30)::INT, $6)"),
        );
        with_pool!(self, |pool| {
            let row = sqlx::query(sql)
                .bind(key)
                .bind(now)
                .bind(policy.reset_after)
                .bind(i64::from(policy.free_failures))
                .bind(policy.base_delay)
                .bind(policy.max_delay)
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.as_ref().map(count).transpose().map_err(err)
        })
    }

    async fn forgive_failures(&self, key: &str, n: u32) -> Result<(), StoreError> {
        // Never below zero: a CASE, as the dialects name max() differently.
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE login_failures \
                 SET failures = CASE WHEN failures > $1 THEN failures - $1 ELSE 0 END \
                 WHERE throttle_key = $2",
            )
            .bind(i64::from(n))
            .bind(key)
            .execute(pool)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    async fn delete_stale_failures(&self, before: i64) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM login_failures WHERE last_failure_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(done.rows_affected())
        })
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
                .bind(key)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }
}
