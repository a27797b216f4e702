//! The signing keys in use: one active key per algorithm (the newest not
//! retired) and the JWKS that publishes every key still needed to verify
//! tokens. Built from the database, so every replica sees the same keys;
//! the server reloads it periodically to pick up rotations.

use std::sync::Arc;

use serde_json::json;

use super::keys::{KeyError, KeyPair};
use crate::oauth::client::SigningAlgorithm;
use crate::store::{Store, StoreError, StoredKey};

pub const ALGORITHMS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::RS256,
    SigningAlgorithm::ES256,
    SigningAlgorithm::EdDSA,
];

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("key generation task failed: {0}")]
    Task(String),
}

#[derive(Debug)]
pub struct KeyRing {
    active: Vec<Arc<KeyPair>>,
    jwks: String,
    published: Vec<String>,
}

impl KeyRing {
    /// Builds the ring from stored keys (as `KeyStore::signing_keys` lists
    /// them: oldest first).
    pub fn from_stored(keys: &[StoredKey]) -> Result<KeyRing, KeyError> {
        let mut active: Vec<Arc<KeyPair>> = Vec::new();
        let mut jwks = Vec::new();
        let mut published = Vec::new();
        for stored in keys {
            let key = KeyPair::from_pkcs8_der(stored.algorithm, &stored.private_key)?;
            jwks.push(key.public_jwk());
            published.push(key.kid().to_owned());
            if stored.retired_at.is_none() {
                // Later (newer) keys replace earlier ones of the same algorithm.
                active.retain(|k| k.alg() != key.alg());
                active.push(Arc::new(key));
            }
        }
        Ok(KeyRing {
            active,
            jwks: json!({ "keys": jwks }).to_string(),
            published,
        })
    }

    /// The key that signs tokens for `alg`.
    pub fn signer(&self, alg: SigningAlgorithm) -> Option<&Arc<KeyPair>> {
        self.active.iter().find(|k| k.alg() == alg)
    }

    /// The JWKS document (`{"keys": [...]}`), public keys only.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// The kids of every published key.
    pub fn published(&self) -> &[String] {
        &self.published
    }
}

async fn generate(alg: SigningAlgorithm, now: i64) -> Result<StoredKey, KeyRingError> {
    // RSA generation is CPU work: keep it off the async executor.
    let key = tokio::task::spawn_blocking(move || KeyPair::generate(alg))
        .await
        .map_err(|e| KeyRingError::Task(e.to_string()))??;
    Ok(StoredKey {
        kid: key.kid().to_owned(),
        algorithm: alg,
        private_key: key.to_pkcs8_der()?,
        created_at: now,
        retired_at: None,
        publish_until: None,
    })
}

/// Loads the ring, first generating a key for every algorithm that has no
/// active one (the first start).
pub async fn load_or_create(store: &Arc<dyn Store>, now: i64) -> Result<KeyRing, KeyRingError> {
    let keys = store.signing_keys(now).await?;
    let mut added = false;
    for alg in ALGORITHMS {
        if !keys
            .iter()
            .any(|k| k.algorithm == alg && k.retired_at.is_none())
        {
            store.add_signing_key(&generate(alg, now).await?).await?;
            added = true;
        }
    }
    let keys = if added {
        store.signing_keys(now).await?
    } else {
        keys
    };
    Ok(KeyRing::from_stored(&keys)?)
}

/// Adds a new active key for each of `algs` and retires the previous
/// ones, which stay published for `publish_for` seconds (at least the
/// lifetime of the tokens they signed). Returns the new kids.
pub async fn rotate(
    store: &Arc<dyn Store>,
    algs: &[SigningAlgorithm],
    now: i64,
    publish_for: i64,
) -> Result<Vec<(SigningAlgorithm, String)>, KeyRingError> {
    let mut out = Vec::new();
    for alg in algs {
        let key = generate(*alg, now).await?;
        store.add_signing_key(&key).await?;
        store
            .retire_signing_keys(*alg, &key.kid, now, now.saturating_add(publish_for))
            .await?;
        out.push((*alg, key.kid));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(alg: SigningAlgorithm, created_at: i64, retired: bool) -> StoredKey {
        let key = KeyPair::generate(alg).unwrap();
        StoredKey {
            kid: key.kid().to_owned(),
            algorithm: alg,
            private_key: key.to_pkcs8_der().unwrap(),
            created_at,
            retired_at: retired.then_some(created_at + 1),
            publish_until: retired.then_some(created_at + 100),
        }
    }

    #[test]
    fn the_newest_unretired_key_signs_and_all_are_published() {
        let old = stored(SigningAlgorithm::ES256, 1, true);
        let current = stored(SigningAlgorithm::ES256, 2, false);
        let ed = stored(SigningAlgorithm::EdDSA, 3, false);
        let ring = KeyRing::from_stored(&[old.clone(), current.clone(), ed.clone()]).unwrap();
        assert_eq!(
            ring.signer(SigningAlgorithm::ES256).unwrap().kid(),
            current.kid
        );
        assert_eq!(ring.signer(SigningAlgorithm::EdDSA).unwrap().kid(), ed.kid);
        assert!(ring.signer(SigningAlgorithm::RS256).is_none());
        assert_eq!(
            ring.published(),
            [old.kid.clone(), current.kid.clone(), ed.kid.clone()]
        );
        let jwks: serde_json::Value = serde_json::from_str(ring.jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
        assert!(!ring.jwks_json().contains("\"d\""));
    }

    #[test]
    fn of_two_active_keys_the_newer_signs() {
        // Two replicas generated at once: both published, the newer used.
        let a = stored(SigningAlgorithm::EdDSA, 1, false);
        let b = stored(SigningAlgorithm::EdDSA, 2, false);
        let ring = KeyRing::from_stored(&[a, b.clone()]).unwrap();
        assert_eq!(ring.signer(SigningAlgorithm::EdDSA).unwrap().kid(), b.kid);
        assert_eq!(ring.published().len(), 2);
    }
}
