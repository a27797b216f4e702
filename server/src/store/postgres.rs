//! What only the PostgreSQL backend does: connecting to a server that
//! several replicas share. Its queries are the shared ones of the parent
//! module; single-use claims there wait on the row's lock, so once the
//! first redemption commits the others re-check and find the row used.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{OpenError, PoolSettings};

#[derive(Clone)]
pub struct PgDb {
    pub(super) pool: PgPool,
}

impl PgDb {
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
}
