//! Signing keys.

use async_trait::async_trait;
use gatehouse::oauth::client::SigningAlgorithm;
use gatehouse::store::{KeyStore, StoreError, StoredKey};
use sqlx::Row;

use super::{err, SqlStore};

#[async_trait]
impl KeyStore for SqlStore {
    async fn signing_keys(&self, now: i64) -> Result<Vec<StoredKey>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT kid, algorithm, private_key, sealed, created_at, retired_at, publish_until \
                 FROM signing_keys WHERE retired_at IS NULL OR publish_until > $1 \
                 ORDER BY created_at, kid",
            )
            .bind(now)
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter()
                .map(|r| -> Result<StoredKey, sqlx::Error> {
                    let alg: String = r.try_get("algorithm")?;
                    Ok(StoredKey {
                        kid: r.try_get("kid")?,
                        algorithm: SigningAlgorithm::parse(&alg).ok_or_else(|| {
                            sqlx::Error::Decode(format!("unknown algorithm {alg:?}").into())
                        })?,
                        private_key: r.try_get("private_key")?,
                        sealed: r.try_get("sealed")?,
                        created_at: r.try_get("created_at")?,
                        retired_at: r.try_get("retired_at")?,
                        publish_until: r.try_get("publish_until")?,
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(err)
        })
    }

    async fn add_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO signing_keys (kid, algorithm, private_key, sealed, created_at, retired_at, publish_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&key.kid)
            .bind(key.algorithm.as_str())
            .bind(&key.private_key)
            .bind(key.sealed)
            .bind(key.created_at)
            .bind(key.retired_at)
            .bind(key.publish_until)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn unsealed_signing_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT kid, private_key FROM signing_keys WHERE NOT sealed ORDER BY created_at",
            )
            .fetch_all(pool)
            .await
            .map_err(err)
        })
    }

    async fn seal_signing_key(&self, kid: &str, sealed: &[u8]) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE signing_keys SET private_key = $1, sealed = TRUE WHERE kid = $2 AND NOT sealed",
            )
            .bind(sealed)
            .bind(kid)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn retire_signing_keys(
        &self,
        algorithm: SigningAlgorithm,
        keep: &str,
        now: i64,
        publish_until: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1, publish_until = $2 \
                 WHERE algorithm = $3 AND kid <> $4 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(publish_until)
            .bind(algorithm.as_str())
            .bind(keep)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
            .map_err(err)
        })
    }
}
