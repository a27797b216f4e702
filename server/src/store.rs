//! Database access. Each backend implements the core's storage traits in
//! its own module; the rest of the server only holds an `Arc<dyn Store>`.

pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use gatehouse::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH")]
    Unsupported(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create the database folder {0}: {1}")]
    Folder(String, #[source] std::io::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
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
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        Err(OpenError::Unsupported(url.to_owned()))
    }
}
