//! RFC 8628 device authorizations. Each step is one statement
//! guarded by the status it expects (`WHERE status = 'pending'`), so a
//! user code is decided once and a device code redeemed once, however
//! many requests race.

use async_trait::async_trait;
use gatehouse::audit::Event;
use gatehouse::oauth::device::DeviceStatus;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{Claim, DevicePoll, DeviceRecord, DeviceStore, IssuedTokens, StoreError};
use sqlx::Row;

use crate::store::rows::device_from_row;

use super::{err, SqlStore};

/// The columns `device_from_row` reads, and `too_fast`.
macro_rules! device_columns {
    () => {
        "device_digest, user_code_digest, application_id, scopes, family, \
         created_at, expires_at, poll_interval, status, user_id, auth_time, too_fast"
    };
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn create_device_code(&self, r: &DeviceRecord) -> Result<bool, StoreError> {
        with_pool!(self, |pool| {
            let inserted = sqlx::query(
                "INSERT INTO device_codes (device_digest, user_code_digest, application_id, scopes, \
                 family, created_at, expires_at, poll_interval) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(r.device_digest.as_str())
            .bind(r.user_code_digest.as_str())
            .bind(r.application_id)
            .bind(r.scopes.to_string())
            .bind(&r.family)
            .bind(r.created_at)
            .bind(r.expires_at)
            .bind(r.interval)
            .execute(pool)
            .await;
            match inserted {
                Ok(_) => Ok(true),
                Err(sqlx::Error::Database(db))
                    if db.is_unique_violation() && db.message().contains("user_code_digest") =>
                {
                    Ok(false)
                }
                Err(e) => Err(err(e)),
            }
        })
    }

    async fn device_code_by_user_code(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(concat!(
                "SELECT ",
                device_columns!(),
                " FROM device_codes WHERE user_code_digest = $1"
            ))
            .bind(digest.as_str())
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            row.as_ref().map(device_from_row).transpose().map_err(err)
        })
    }

    async fn decide_device_code(
        &self,
        digest: &SecretDigest,
        approved_by: Option<(i64, i64)>,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let status = match approved_by {
                Some(_) => DeviceStatus::Approved,
                None => DeviceStatus::Denied,
            };
            let done = sqlx::query(
                "UPDATE device_codes SET status = $1, user_id = $2, auth_time = $3, decided_at = $4 \
                 WHERE user_code_digest = $5 AND status = 'pending' AND expires_at > $6",
            )
            .bind(status.as_str())
            .bind(approved_by.map(|(user, _)| user))
            .bind(approved_by.map(|(_, auth_time)| auth_time))
            .bind(now)
            .bind(digest.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            true
        });
        event.log();
        Ok(done)
    }

    async fn poll_device_code(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> Result<Option<DevicePoll>, StoreError> {
        with_pool!(self, |pool| {
            // Every SET expression sees the row as it was before the update.
            let row = sqlx::query(concat!(
                "UPDATE device_codes SET \
                   too_fast = (last_polled_at IS NOT NULL AND $1 - last_polled_at < poll_interval), \
                   poll_interval = poll_interval + CASE \
                     WHEN last_polled_at IS NOT NULL AND $1 - last_polled_at < poll_interval \
                     THEN 5 ELSE 0 END, \
                   last_polled_at = $1 \
                 WHERE device_digest = $2 RETURNING ",
                device_columns!()
            ))
            .bind(now)
            .bind(digest.as_str())
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            row.map(|r| -> Result<DevicePoll, sqlx::Error> {
                Ok(DevicePoll {
                    record: device_from_row(&r)?,
                    too_fast: r.try_get("too_fast")?,
                })
            })
            .transpose()
            .map_err(err)
        })
    }

    async fn redeem_device_code(
        &self,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        self.claim(
            "UPDATE device_codes SET status = 'redeemed', redeemed_at = $1 \
             WHERE device_digest = $2 AND status = 'approved' RETURNING family",
            "device code",
            digest,
            now,
            tokens,
        )
        .await
    }
}
