//! RFC 8628 device authorizations on SQLite. Each step is one statement
//! guarded by the status it expects (`WHERE status = 'pending'`), so a
//! user code is decided once and a device code redeemed once, however
//! many requests race.

use gatehouse::oauth::device::DeviceStatus;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{Claim, DevicePoll, DeviceRecord, IssuedTokens, StoreError};
use sqlx::Row;

use crate::store::rows::device_from_row;

use super::{err, SqliteStore};

const COLUMNS: &str = "device_digest, user_code_digest, application_id, scopes, family, \
     created_at, expires_at, poll_interval, status, user_id, auth_time, too_fast";

impl SqliteStore {
    pub(super) async fn device_create(&self, r: &DeviceRecord) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO device_codes (device_digest, user_code_digest, application_id, scopes, \
             family, created_at, expires_at, poll_interval) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.device_digest.as_str())
        .bind(r.user_code_digest.as_str())
        .bind(r.application_id)
        .bind(r.scopes.to_string())
        .bind(&r.family)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.interval)
        .execute(&self.pool)
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
    }

    pub(super) async fn device_by_user_code(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM device_codes WHERE user_code_digest = ?"
        ))
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.as_ref().map(device_from_row).transpose().map_err(err)
    }

    pub(super) async fn device_decide(
        &self,
        digest: &SecretDigest,
        approved_by: Option<(i64, i64)>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let status = match approved_by {
            Some(_) => DeviceStatus::Approved,
            None => DeviceStatus::Denied,
        };
        let done = sqlx::query(
            "UPDATE device_codes SET status = ?, user_id = ?, auth_time = ?, decided_at = ? \
             WHERE user_code_digest = ? AND status = 'pending' AND expires_at > ?",
        )
        .bind(status.as_str())
        .bind(approved_by.map(|(user, _)| user))
        .bind(approved_by.map(|(_, auth_time)| auth_time))
        .bind(now)
        .bind(digest.as_str())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn device_poll(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> Result<Option<DevicePoll>, StoreError> {
        // Every SET expression sees the row as it was before the update.
        let row = sqlx::query(&format!(
            "UPDATE device_codes SET \
               too_fast = (last_polled_at IS NOT NULL AND ?1 - last_polled_at < poll_interval), \
               poll_interval = poll_interval + CASE \
                 WHEN last_polled_at IS NOT NULL AND ?1 - last_polled_at < poll_interval \
                 THEN 5 ELSE 0 END, \
               last_polled_at = ?1 \
             WHERE device_digest = ?2 RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
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
    }

    pub(super) async fn device_redeem(
        &self,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        self.claim(
            "UPDATE device_codes SET status = 'redeemed', redeemed_at = ? \
             WHERE device_digest = ? AND status = 'approved' RETURNING family",
            digest,
            now,
            tokens,
        )
        .await
    }
}
