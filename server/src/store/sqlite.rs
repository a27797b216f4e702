//! The SQLite backend: one file, WAL mode, a small pool.

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use gatehouse::password::PasswordHash;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{
    AccountStore, NewUser, ProfileUpdate, SessionRecord, SessionStore, StoreError, ThrottleStore,
    UniqueError, User,
};
use gatehouse::throttle::{FailureCount, Policy};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

mod batch;
mod device;
mod keys;
mod oauth;

use super::rows::user_from_row;
use super::{OpenError, PoolSettings};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    tokens: batch::TokenWriter,
    /// Held by every clone; the checkpoint task ends when the last goes.
    _alive: std::sync::Arc<()>,
}

const USER_COLUMNS: &str = "id, username, email, first_name, last_name, password_hash, \
     is_active, is_staff, is_superuser, date_joined, last_login";

fn err(e: sqlx::Error) -> StoreError {
    StoreError::new(e)
}

/// Maps a unique-index violation to the field it concerns. The index names
/// come from the migration; `tests::unique_violations_name_the_field`
/// guards the mapping.
fn unique_error(e: sqlx::Error) -> UniqueError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            let msg = db.message();
            if msg.contains("users.username") {
                return UniqueError::Username;
            }
            if msg.contains("users.email") {
                return UniqueError::Email;
            }
        }
    }
    UniqueError::Store(err(e))
}

/// Copies the WAL into the database file four times a second from a connection
/// of its own. A passive checkpoint does not block writers, so the fsync it
/// needs no longer stalls whichever request happened to trigger SQLite's
/// automatic checkpoint, and a page written many times between two
/// checkpoints is copied once.
/// Stops when every handle of its store is gone (`alive` cannot be upgraded).
async fn checkpoints(options: SqliteConnectOptions, alive: std::sync::Weak<()>) {
    use sqlx::Connection;
    let mut conn = match sqlx::SqliteConnection::connect_with(&options).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no background checkpoints: SQLite checkpoints automatically");
            return;
        }
    };
    let mut every = tokio::time::interval(std::time::Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if alive.upgrade().is_none() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!(error = %e, "background checkpoint failed");
        }
    }
}

impl SqliteStore {
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(OpenError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            // Checkpoints run in the background (see `checkpoints`); this
            // bound only applies if that task falls behind.
            .pragma("wal_autocheckpoint", "4000");
        let file = options.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !Path::new(dir).exists() && file != Path::new(":memory:") {
                std::fs::create_dir_all(dir)
                    .map_err(|e| OpenError::Folder(dir.display().to_string(), e))?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        let tokens = batch::TokenWriter::start(pool.clone());
        let alive = std::sync::Arc::new(());
        tokio::spawn(checkpoints(options, std::sync::Arc::downgrade(&alive)));
        Ok(Self {
            pool,
            tokens,
            _alive: alive,
        })
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(OpenError::Migrate)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, new: NewUser<'_>) -> Result<User, UniqueError> {
        let sql = format!(
            "INSERT INTO users (username, email, password_hash, is_staff, is_superuser, date_joined) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
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
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
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
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1");
        let row = sqlx::query(&sql)
            .bind(login)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| user_from_row(&r)).transpose().map_err(err)
    }

    async fn update_profile(&self, id: i64, update: ProfileUpdate<'_>) -> Result<(), UniqueError> {
        sqlx::query("UPDATE users SET first_name = ?, last_name = ?, email = ? WHERE id = ?")
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
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn record_login(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_login = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        // Sessions go with it through ON DELETE CASCADE.
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn search_users(&self, query: &str, limit: i64) -> Result<Vec<User>, StoreError> {
        // instr() rather than LIKE: `%` and `_` typed in a search are literal.
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE ?1 = '' OR instr(lower(username), lower(?1)) > 0 \
                OR instr(lower(email), lower(?1)) > 0 \
             ORDER BY username COLLATE NOCASE LIMIT ?2"
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
        let done = sqlx::query("UPDATE users SET is_active = ? WHERE id = ?")
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
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = ?"))
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
        // One query: the ids as a JSON array, unpacked by json_each.
        let list = serde_json::to_string(ids).map_err(StoreError::new)?;
        sqlx::query_as(
            "SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(list)
        .fetch_all(&self.pool)
        .await
        .map_err(err)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_digest, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
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
             WHERE s.id_digest = ? AND u.is_active = 1",
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
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_digest = ?")
            .bind(now)
            .bind(digest.as_str())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_session(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = ?")
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
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND id_digest IS NOT ?")
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
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn failure_counts(
        &self,
        keys: &[&str],
    ) -> Result<Vec<(String, FailureCount)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; keys.len()].join(", ");
        let sql = format!(
            "SELECT throttle_key, failures, last_failure_at FROM login_failures \
             WHERE throttle_key IN ({placeholders})"
        );
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(*key);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(err)?;
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
            "INSERT INTO login_failures (throttle_key, failures, last_failure_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN ?2 - last_failure_at >= ?3 THEN 1 ELSE failures + 1 END, \
               last_failure_at = ?2 \
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
        // In the upsert's WHERE, bare column names are the stored row's.
        let row = sqlx::query(
            "INSERT INTO login_failures (throttle_key, failures, last_failure_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN ?2 - last_failure_at >= ?3 THEN 1 ELSE failures + 1 END, \
               last_failure_at = ?2 \
             WHERE ?2 - last_failure_at >= ?3 OR failures < ?4 \
               OR ?2 >= last_failure_at + MIN(?5 << MIN(failures - ?4, 30), ?6) \
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
            "UPDATE login_failures SET failures = MAX(failures - ?, 0) WHERE throttle_key = ?",
        )
        .bind(i64::from(n))
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn delete_stale_failures(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_failures WHERE last_failure_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let settings = PoolSettings {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(5),
        };
        let store = SqliteStore::open(&url, &settings).await.unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    fn hash() -> PasswordHash {
        PasswordHash::from_stored("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into())
    }

    async fn user(store: &SqliteStore, name: &str, email: &str) -> Result<User, UniqueError> {
        store
            .create_user(NewUser {
                username: name,
                email,
                password_hash: &hash(),
                is_staff: false,
                is_superuser: false,
                now: 1,
            })
            .await
    }

    #[tokio::test]
    async fn unique_violations_name_the_field() {
        let (_dir, store) = store().await;
        let ada = user(&store, "ada", "ada@example.org").await.unwrap();
        assert!(matches!(
            user(&store, "ADA", "other@example.org").await,
            Err(UniqueError::Username)
        ));
        assert!(matches!(
            user(&store, "other", "Ada@Example.org").await,
            Err(UniqueError::Email)
        ));
        let bob = user(&store, "bob", "bob@example.org").await.unwrap();
        let taken = store
            .update_profile(
                bob.id,
                ProfileUpdate {
                    first_name: "",
                    last_name: "",
                    email: "ADA@example.org",
                },
            )
            .await;
        assert!(matches!(taken, Err(UniqueError::Email)));
        assert_eq!(
            store
                .user_by_login("ADA@EXAMPLE.ORG")
                .await
                .unwrap()
                .unwrap()
                .id,
            ada.id
        );
    }

    #[tokio::test]
    async fn deleting_a_user_removes_sessions() {
        let (_dir, store) = store().await;
        let ada = user(&store, "ada", "ada@example.org").await.unwrap();
        let digest = SecretDigest::of("cookie");
        store
            .create_session(&SessionRecord {
                digest: digest.clone(),
                user_id: ada.id,
                created_at: 1,
                last_seen_at: 1,
            })
            .await
            .unwrap();
        assert!(store.session_with_user(&digest).await.unwrap().is_some());
        store.delete_user(ada.id).await.unwrap();
        assert!(store.session_with_user(&digest).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn failures_count_up_and_reset() {
        let (_dir, store) = store().await;
        assert_eq!(
            store.record_failure("k", 100, 900).await.unwrap().failures,
            1
        );
        assert_eq!(
            store.record_failure("k", 101, 900).await.unwrap().failures,
            2
        );
        assert_eq!(
            store.record_failure("k", 2000, 900).await.unwrap().failures,
            1
        );
        let counts = store.failure_counts(&["k", "other"]).await.unwrap();
        assert_eq!(counts.len(), 1);
        store.clear_failures("k").await.unwrap();
        assert!(store.failure_counts(&["k"]).await.unwrap().is_empty());
    }
}
