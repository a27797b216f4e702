//! The PostgreSQL backend: what several replicas share. The same
//! queries as the SQLite backend in PostgreSQL's dialect (numbered
//! placeholders, BOOLEAN columns, ASCII-case-insensitive uniqueness
//! through indexes on lower() under the "C" collation); single-use claims are the same `UPDATE … WHERE
//! <unused> RETURNING`, which PostgreSQL serialises on the row lock.

use async_trait::async_trait;
use gatehouse::password::PasswordHash;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{
    AccountStore, NewUser, ProfileUpdate, SessionRecord, SessionStore, StoreError, ThrottleStore,
    UniqueError, User,
};
use gatehouse::throttle::{FailureCount, Policy};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

mod device;
mod keys;
mod oauth;

use super::rows::user_from_row;
use super::{OpenError, PoolSettings};

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

const USER_COLUMNS: &str = "id, username, email, first_name, last_name, password_hash, \
     is_active, is_staff, is_superuser, date_joined, last_login";

fn err(e: sqlx::Error) -> StoreError {
    StoreError::new(e)
}

/// Maps a unique-index violation to the field it concerns, by the
/// index names of the migration.
fn unique_error(e: sqlx::Error) -> UniqueError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            match db.constraint() {
                Some("users_username_key") => return UniqueError::Username,
                Some("users_email_key") => return UniqueError::Email,
                _ => {}
            }
        }
    }
    UniqueError::Store(err(e))
}

impl PgStore {
    /// Connects (the database must exist; Gatehouse creates tables, not
    /// databases). A server that does not answer within the acquire
    /// timeout is an error at start, not a hang.
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Self, OpenError> {
        let options: PgConnectOptions = url.parse().map_err(OpenError::Connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        Ok(Self { pool })
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(OpenError::Migrate)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl AccountStore for PgStore {
    async fn create_user(&self, new: NewUser<'_>) -> Result<User, UniqueError> {
        let sql = format!(
            "INSERT INTO users (username, email, password_hash, is_staff, is_superuser, date_joined) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.username)
            .bind(new.email)
            .bind(new.password_hash.as_str())
            .bind(new.is_staff)
            .bind(new.is_superuser)
            .bind(new.now)
            .fetch_one(&self.pool)
            .await
            .map_err(unique_error)?;
        user_from_row(&row).map_err(|e| UniqueError::Store(err(e)))
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| user_from_row(&r)).transpose().map_err(err)
    }

    async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        // Usernames cannot contain `@`, so a login with one is an email.
        let column = if login.contains('@') {
            "email"
        } else {
            "username"
        };
        // The expression of the unique index (ASCII case folding, as SQLite's NOCASE).
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE lower({column} COLLATE \"C\") = lower($1 COLLATE \"C\")"
        );
        let row = sqlx::query(&sql)
            .bind(login)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| user_from_row(&r)).transpose().map_err(err)
    }

    async fn update_profile(&self, id: i64, update: ProfileUpdate<'_>) -> Result<(), UniqueError> {
        sqlx::query("UPDATE users SET first_name = $1, last_name = $2, email = $3 WHERE id = $4")
            .bind(update.first_name)
            .bind(update.last_name)
            .bind(update.email)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unique_error)?;
        Ok(())
    }

    async fn set_password(&self, id: i64, hash: &PasswordHash) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn record_login(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        // Sessions go with it through ON DELETE CASCADE.
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn search_users(&self, query: &str, limit: i64) -> Result<Vec<User>, StoreError> {
        // strpos() rather than LIKE: `%` and `_` typed in a search are literal.
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE $1 = '' OR strpos(lower(username COLLATE \"C\"), lower($1 COLLATE \"C\")) > 0 \
                OR strpos(lower(email COLLATE \"C\"), lower($1 COLLATE \"C\")) > 0 \
             ORDER BY lower(username COLLATE \"C\") LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(query)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(user_from_row)
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    async fn set_user_active(&self, id: i64, active: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let done = sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
            .bind(active)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        if !active {
            // Deactivated: nothing issued before may come back to life.
            for table in [
                "sessions",
                "access_tokens",
                "refresh_tokens",
                "authorization_codes",
                "device_codes",
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn usernames(&self, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query_as("SELECT id, username FROM users WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(err)
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_digest, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(s.digest.as_str())
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn session_with_user(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(SessionRecord, User)>, StoreError> {
        let sql = format!(
            "SELECT s.id_digest, s.user_id, s.created_at, s.last_seen_at, {} \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_digest = $1 AND u.is_active",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(&sql)
            .bind(digest.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        let Some(row) = row else { return Ok(None) };
        let session = SessionRecord {
            digest: SecretDigest::from_stored(row.try_get("id_digest").map_err(err)?),
            user_id: row.try_get("user_id").map_err(err)?,
            created_at: row.try_get("created_at").map_err(err)?,
            last_seen_at: row.try_get("last_seen_at").map_err(err)?,
        };
        let user = user_from_row(&row).map_err(err)?;
        Ok(Some((session, user)))
    }

    async fn touch_session(&self, digest: &SecretDigest, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_digest = $2")
            .bind(now)
            .bind(digest.as_str())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_session(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
            .bind(digest.as_str())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&SecretDigest>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND id_digest IS DISTINCT FROM $2",
        )
        .bind(user_id)
        .bind(keep.map(|d| d.as_str()))
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ThrottleStore for PgStore {
    async fn failure_counts(
        &self,
        keys: &[&str],
    ) -> Result<Vec<(String, FailureCount)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT throttle_key, failures, last_failure_at FROM login_failures \
             WHERE throttle_key = ANY($1)",
        )
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("throttle_key")?,
                    FailureCount {
                        failures: r.try_get::<i64, _>("failures")?.clamp(0, u32::MAX as i64) as u32,
                        last_failure_at: r.try_get("last_failure_at")?,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(err)
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_after: i64,
    ) -> Result<FailureCount, StoreError> {
        let row = sqlx::query(
            "INSERT INTO login_failures (throttle_key, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN $2 - login_failures.last_failure_at >= $3 THEN 1 \
                          ELSE login_failures.failures + 1 END, \
               last_failure_at = $2 \
             RETURNING failures, last_failure_at",
        )
        .bind(key)
        .bind(now)
        .bind(reset_after)
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        Ok(FailureCount {
            failures: row.try_get::<i64, _>("failures").map_err(err)? as u32,
            last_failure_at: row.try_get("last_failure_at").map_err(err)?,
        })
    }

    async fn reserve_attempt(
        &self,
        key: &str,
        now: i64,
        policy: &Policy,
    ) -> Result<Option<FailureCount>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO login_failures (throttle_key, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN $2 - login_failures.last_failure_at >= $3 THEN 1 \
                          ELSE login_failures.failures + 1 END, \
               last_failure_at = $2 \
             WHERE $2 - login_failures.last_failure_at >= $3 OR login_failures.failures < $4 \
               OR $2 >= login_failures.last_failure_at \
                  + LEAST($5::BIGINT << LEAST(login_failures.failures - $4, 30)::INT, $6) \
             RETURNING failures, last_failure_at",
        )
        .bind(key)
        .bind(now)
        .bind(policy.reset_after)
        .bind(i64::from(policy.free_failures))
        .bind(policy.base_delay)
        .bind(policy.max_delay)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.map(|row| {
            Ok(FailureCount {
                failures: row.try_get::<i64, _>("failures")?.clamp(0, u32::MAX as i64) as u32,
                last_failure_at: row.try_get("last_failure_at")?,
            })
        })
        .transpose()
        .map_err(err)
    }

    async fn forgive_failures(&self, key: &str, n: u32) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE login_failures SET failures = GREATEST(failures - $1, 0) WHERE throttle_key = $2",
        )
        .bind(i64::from(n))
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn delete_stale_failures(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_failures WHERE last_failure_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}
