//! Database access. Each backend implements the core's storage traits in
//! its own module; the rest of the server only holds an `Arc<dyn Store>`.

pub mod postgres;
mod rows;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use gatehouse::store::Store;

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

/// Opens the database named by `url` and applies pending migrations.
/// Fails when the database holds migrations this binary does not know
/// (it is newer than the binary).
pub async fn open(url: &str, pool: &PoolSettings) -> Result<Arc<dyn Store>, OpenError> {
    if url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::open(url, pool).await?;
        store.migrate().await.map_err(newer)?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = postgres::PgStore::open(url, pool).await?;
        store.migrate().await.map_err(newer)?;
        Ok(Arc::new(store))
    } else {
        Err(OpenError::Unsupported(url.to_owned()))
    }
}

/// Names the case of a database migrated by a newer Gatehouse.
fn newer(e: OpenError) -> OpenError {
    match e {
        OpenError::Migrate(sqlx::migrate::MigrateError::VersionMissing(v)) => {
            OpenError::SchemaNewer(v)
        }
        other => other,
    }
}
