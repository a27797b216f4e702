//! What only the SQLite backend does: opening the file in WAL mode with a
//! small pool, checkpointing the WAL in the background, and batching
//! token inserts into group commits (`batch.rs`). Its queries are the
//! shared ones of the parent module.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

mod batch;

pub(super) use batch::TokenWriter;

use super::{OpenError, PoolSettings};

#[derive(Clone)]
pub struct SqliteDb {
    pub(super) pool: SqlitePool,
    /// Token inserts of grants that consume nothing, batched.
    pub(super) tokens: TokenWriter,
    /// Held by every clone; the checkpoint task ends when the last goes.
    _alive: std::sync::Arc<()>,
}

/// Copies the WAL into the database file once a second from a connection
/// of its own. A passive checkpoint does not block writers, so the fsync it
/// needs no longer stalls whichever request happened to trigger SQLite's
/// automatic checkpoint, and a page written many times between two
/// checkpoints is copied once. Not more often: each checkpoint syncs the
/// WAL, and a commit appending to the WAL page being written out waits for
/// that write; four checkpoints a second put client_credentials' p99 at
/// 32 ms, one a second at 5 ms (`bench/all`, 32 connections). With
/// `synchronous = NORMAL` a commit is on disk once the next checkpoint has
/// synced the WAL: a power cut (not a crash of the process, which loses
/// nothing) may lose the last second's writes.
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
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
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

impl SqliteDb {
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(OpenError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            // Checkpoints run in the background (see `checkpoints`); this
            // bound (64 MiB of 4 KiB pages) only applies if that task falls
            // behind; a WAL that grew past it is cut back to it.
            .pragma("wal_autocheckpoint", "16000")
            .pragma("journal_size_limit", "67108864");
        let file = options.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !Path::new(dir).exists() && file != Path::new(":memory:") {
                std::fs::create_dir_all(dir)
                    .map_err(|e| OpenError::Folder(dir.display().to_string(), e))?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            // A SQLite connection is a file handle in this process, not a
            // socket that a server or a firewall may close: pinging it
            // before each use (sqlx's default) only costs a round trip to
            // its thread. A failing file still fails the query itself.
            .test_before_acquire(false)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        let tokens = batch::TokenWriter::start(pool.clone(), options.clone());
        let alive = std::sync::Arc::new(());
        tokio::spawn(checkpoints(options, std::sync::Arc::downgrade(&alive)));
        Ok(Self {
            pool,
            tokens,
            _alive: alive,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gatehouse::password::PasswordHash;
    use gatehouse::secret::SecretDigest;
    use gatehouse::store::{
        AccountStore, NewUser, ProfileUpdate, SessionRecord, SessionStore, ThrottleStore,
        UniqueError, User,
    };

    use crate::store::{open_sql, PoolSettings, SqlStore};

    async fn store() -> (tempfile::TempDir, SqlStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let settings = PoolSettings {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(5),
        };
        let store = open_sql(&url, &settings).await.unwrap();
        (dir, store)
    }

    fn hash() -> PasswordHash {
        PasswordHash::from_stored("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into())
    }

    async fn user(store: &SqlStore, name: &str, email: &str) -> Result<User, UniqueError> {
        store
            .create_user(
                NewUser {
                    username: name,
                    email,
                    password_hash: &hash(),
                    is_staff: false,
                    is_superuser: false,
                    now: 1,
                },
                &gatehouse::audit::Event::new(
                    gatehouse::audit::EventKind::SignedUp,
                    1,
                    &Default::default(),
                ),
            )
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
                    username: None,
                },
                &gatehouse::audit::Event::new(
                    gatehouse::audit::EventKind::ProfileChanged,
                    1,
                    &Default::default(),
                ),
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
        store
            .delete_user(
                ada.id,
                &gatehouse::audit::Event::new(
                    gatehouse::audit::EventKind::AccountDeleted,
                    1,
                    &Default::default(),
                ),
            )
            .await
            .unwrap();
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
