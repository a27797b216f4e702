//! Database access: one store over SQLite (the embedded default) or
//! PostgreSQL (for several replicas). The SQL is written once in the
//! dialect both accept (`$N` placeholders, `RETURNING`, `ON CONFLICT`,
//! `TRUE`/`FALSE`); the few statements that must differ are chosen with
//! [`SqlStore::sql`], and what only one backend does (SQLite's WAL
//! housekeeping and batched token inserts, PostgreSQL's arrays) lives in
//! `sqlite.rs` and `postgres.rs`. The rest of the server only holds an
//! `Arc<dyn Store>`.

/// Runs `$body` with `$pool` bound to the open backend's pool: the code
/// is written once and compiled for each backend's types.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite(db) => {
                let $pool = &db.pool;
                $body
            }
            $crate::store::Db::Postgres(db) => {
                let $pool = &db.pool;
                $body
            }
        }
    };
}

/// Stores a grant's tokens through `$conn` (`&mut *tx`: the connection
/// of the caller's transaction). Evaluates to `Result<(), sqlx::Error>`.
macro_rules! insert_tokens {
    ($conn:expr, $tokens:expr) => {
        async {
            let conn = $conn;
            let tokens: &gatehouse::store::IssuedTokens = $tokens;
            let rows = std::iter::once((crate::store::INSERT_ACCESS, &tokens.access)).chain(
                tokens
                    .refresh
                    .iter()
                    .map(|r| (crate::store::INSERT_REFRESH, r)),
            );
            for (sql, t) in rows {
                sqlx::query(sql)
                    .bind(t.digest.as_str())
                    .bind(t.application_id)
                    .bind(t.user_id)
                    .bind(t.scopes.to_string())
                    .bind(&t.family)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .bind(t.auth_time)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}

/// Records an audit event through `$conn` (`&mut *tx`: the connection of
/// the transaction that makes the change it records); the caller logs it
/// ([`gatehouse::audit::Event::log`]) once committed. Evaluates to
/// `Result<(), sqlx::Error>`.
macro_rules! insert_event {
    ($conn:expr, $event:expr) => {
        async {
            let e: &gatehouse::audit::Event = $event;
            sqlx::query(crate::store::INSERT_EVENT)
                .bind(e.at)
                .bind(e.kind.as_str())
                .bind(e.user_id)
                .bind(&e.username)
                .bind(e.actor_id)
                .bind(&e.actor_username)
                .bind(e.client_id.as_deref())
                .bind(&e.address)
                .bind(&e.user_agent)
                .bind(&e.detail)
                .execute($conn)
                .await
                .map(|_| ())
        }
    };
}

mod accounts;
mod apps;
mod audit;
mod device;
mod import;
mod keys;
mod mail;
mod oauth;
pub mod postgres;
mod rows;
pub mod sqlite;
mod throttle;

use std::sync::Arc;
use std::time::Duration;

use gatehouse::store::{Store, StoreError, UniqueError};

const INSERT_ACCESS: &str = "INSERT INTO access_tokens (digest, application_id, user_id, scopes, \
     family, created_at, expires_at, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_REFRESH: &str =
    "INSERT INTO refresh_tokens (digest, application_id, user_id, scopes, \
     family, created_at, expires_at, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const INSERT_EVENT: &str = "INSERT INTO audit_events (at, kind, user_id, username, actor_id, \
     actor_username, client_id, address, user_agent, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The storage of Gatehouse, on either backend.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
}

#[derive(Clone)]
enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

/// Which SQL dialect a statement is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl SqlStore {
    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Picks the statement for the open backend, where the dialects differ.
    fn sql(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// Applies pending migrations. Fails when the database holds
    /// migrations this binary does not know (it is newer than the binary).
    pub async fn migrate(&self) -> Result<(), OpenError> {
        match &self.db {
            Db::Sqlite(db) => sqlx::migrate!("./migrations/sqlite").run(&db.pool).await,
            Db::Postgres(db) => sqlx::migrate!("./migrations/postgres").run(&db.pool).await,
        }
        .map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => OpenError::SchemaNewer(v),
            other => OpenError::Migrate(other),
        })
    }
}

/// The newest migration this binary knows (both backends have the same
/// versions).
pub fn latest_migration() -> i64 {
    sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl gatehouse::store::HealthStore for SqlStore {
    async fn schema_version(&self) -> Result<i64, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
            )
            .fetch_one(pool)
            .await
            .map_err(err)
        })
    }

    async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// A value both backends can bind as a statement parameter, for helpers
/// that run one statement with a key of the caller's type.
trait Param<'q>:
    sqlx::Encode<'q, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + sqlx::Encode<'q, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + Send
    + 'q
{
}

impl<'q, T> Param<'q> for T where
    T: sqlx::Encode<'q, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + 'q
{
}

impl SqlStore {
    /// The record `sql` finds with its one parameter `key`, if any.
    async fn find<'q, T: rows::FromRow>(
        &self,
        sql: &'static str,
        key: impl Param<'q>,
    ) -> Result<Option<T>, StoreError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(sql)
                .bind(key)
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.as_ref().map(T::from_row).transpose().map_err(err)
        })
    }
}

fn err(e: sqlx::Error) -> StoreError {
    StoreError::new(e)
}

/// Maps a unique-index violation on `users` to the field it concerns:
/// PostgreSQL names the index (`users_username_key`), SQLite the column
/// (`users.username`). `sqlite::tests::unique_violations_name_the_field`
/// and the PostgreSQL integration tests guard the mapping.
fn unique_error(e: sqlx::Error) -> UniqueError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            let what = db.constraint().unwrap_or_else(|| db.message());
            if what.contains("username") {
                return UniqueError::Username;
            }
            if what.contains("email") {
                return UniqueError::Email;
            }
        }
    }
    UniqueError::Store(err(e))
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    Unsupported(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create the database folder {0}: {1}")]
    Folder(String, #[source] std::io::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error(
        "the database schema is newer than this binary (it has migration {0}, which this \
         version of Gatehouse does not know): run the newer Gatehouse, or restore a backup"
    )]
    SchemaNewer(i64),
}

pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// Opens the database named by `url` (`sqlite://PATH` or
/// `postgres://USER@HOST/DATABASE`) and applies pending migrations.
pub async fn open(url: &str, pool: &PoolSettings) -> Result<Arc<dyn Store>, OpenError> {
    Ok(Arc::new(open_sql(url, pool).await?))
}

/// [`open`], keeping the concrete type (for tests and tools).
pub async fn open_sql(url: &str, pool: &PoolSettings) -> Result<SqlStore, OpenError> {
    let db = if url.starts_with("sqlite:") {
        Db::Sqlite(sqlite::SqliteDb::open(url, pool).await?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Db::Postgres(postgres::PgDb::open(url, pool).await?)
    } else {
        return Err(OpenError::Unsupported(url.to_owned()));
    };
    let store = SqlStore { db };
    store.migrate().await?;
    Ok(store)
}
