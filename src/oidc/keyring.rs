//! The signing keys in use: one active key per algorithm (the newest not
//! retired) and the JWKS that publishes every key still needed to verify
//! tokens. Built from the database, so every replica sees the same keys;
//! the server reloads it periodically to pick up rotations.

use std::sync::Arc;

use serde_json::json;

use super::keys::{KeyError, KeyPair};
use super::sealing::Sealer;
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
    /// Every published key (active or retired), to check our own tokens.
    all: Vec<Arc<KeyPair>>,
    jwks: String,
    published: Vec<String>,
}

impl KeyRing {
    /// Builds the ring from stored keys (as `KeyStore::signing_keys` lists
    /// them: oldest first).
    pub fn from_stored(keys: &[StoredKey], sealer: &Sealer) -> Result<KeyRing, KeyError> {
        let mut active: Vec<Arc<KeyPair>> = Vec::new();
        let mut all: Vec<Arc<KeyPair>> = Vec::new();
        let mut jwks = Vec::new();
        let mut published = Vec::new();
        for stored in keys {
            let der = sealer.open(&stored.kid, &stored.private_key, stored.sealed)?;
            let key = Arc::new(KeyPair::from_pkcs8_der(stored.algorithm, &der)?);
            jwks.push(key.public_jwk());
            published.push(key.kid().to_owned());
            if stored.retired_at.is_none() {
                // Later (newer) keys replace earlier ones of the same algorithm.
                active.retain(|k| k.alg() != key.alg());
                active.push(key.clone());
            }
            all.push(key);
        }
        Ok(KeyRing {
            active,
            all,
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

    /// The claims of a compact JWS signed by one of our published keys
    /// (whatever its expiry: callers check what they need).
    pub fn verify(&self, jws: &str) -> Option<serde_json::Value> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        if jws.len() > 16 * 1024 {
            return None;
        }
        let mut parts = jws.split('.');
        let (header, claims, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let kid = header["kid"].as_str()?;
        let key = self.all.iter().find(|k| k.kid() == kid)?;
        if header["alg"].as_str()? != key.alg().as_str() {
            return None;
        }
        let signed = &jws[..jws.len() - sig.len() - 1];
        if !key.verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).ok()?) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()
    }

    /// The kids of every published key.
    pub fn published(&self) -> &[String] {
        &self.published
    }
}

async fn generate(
    alg: SigningAlgorithm,
    now: i64,
    sealer: &Sealer,
) -> Result<StoredKey, KeyRingError> {
    // RSA generation is CPU work: keep it off the async executor.
    let key = tokio::task::spawn_blocking(move || KeyPair::generate(alg))
        .await
        .map_err(|e| KeyRingError::Task(e.to_string()))??;
    let (private_key, sealed) = sealer.seal(key.kid(), &key.to_pkcs8_der()?)?;
    Ok(StoredKey {
        kid: key.kid().to_owned(),
        algorithm: alg,
        private_key,
        sealed,
        created_at: now,
        retired_at: None,
        publish_until: None,
    })
}

/// Loads the ring, first generating a key for every algorithm that has no
/// active one (the first start).
pub async fn load_or_create(
    store: &Arc<dyn Store>,
    now: i64,
    sealer: &Sealer,
) -> Result<KeyRing, KeyRingError> {
    // Keys stored before key_encryption_key was set are sealed in place,
    // so none stays readable on disk and none signs unencrypted.
    if sealer.is_on() {
        for (kid, der) in store.unsealed_signing_keys().await? {
            let (sealed, _) = sealer.seal(&kid, &der)?;
            store.seal_signing_key(&kid, &sealed).await?;
            tracing::info!(%kid, "signing key sealed with key_encryption_key");
        }
    }
    let keys = store.signing_keys(now).await?;
    let mut added = false;
    for alg in ALGORITHMS {
        if !keys
            .iter()
            .any(|k| k.algorithm == alg && k.retired_at.is_none())
        {
            store
                .add_signing_key(&generate(alg, now, sealer).await?)
                .await?;
            added = true;
        }
    }
    let keys = if added {
        store.signing_keys(now).await?
    } else {
        keys
    };
    Ok(KeyRing::from_stored(&keys, sealer)?)
}

/// Adds a new active key for each of `algs` and retires the previous
/// ones, which stay published for `publish_for` seconds (at least the
/// lifetime of the tokens they signed). Returns the new kids.
pub async fn rotate(
    store: &Arc<dyn Store>,
    algs: &[SigningAlgorithm],
    now: i64,
    publish_for: i64,
    sealer: &Sealer,
) -> Result<Vec<(SigningAlgorithm, String)>, KeyRingError> {
    let mut out = Vec::new();
    for alg in algs {
        let key = generate(*alg, now, sealer).await?;
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
            sealed: false,
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
        let ring = KeyRing::from_stored(
            &[old.clone(), current.clone(), ed.clone()],
            &Sealer::default(),
        )
        .unwrap();
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
    fn our_own_tokens_verify_and_forgeries_do_not() {
        let current = stored(SigningAlgorithm::ES256, 2, false);
        let retired = stored(SigningAlgorithm::EdDSA, 1, true);
        let ring = KeyRing::from_stored(&[retired.clone(), current], &Sealer::default()).unwrap();
        let signer = ring.signer(SigningAlgorithm::ES256).unwrap();
        let jws = crate::oidc::id_token::sign(signer, &json!({ "sub": "7" }));
        assert_eq!(ring.verify(&jws).unwrap()["sub"], "7");
        // Tokens of a retired (still published) key verify too.
        let old = KeyPair::from_pkcs8_der(SigningAlgorithm::EdDSA, &retired.private_key).unwrap();
        assert!(ring
            .verify(&crate::oidc::id_token::sign(&old, &json!({})))
            .is_some());
        // Altered claims, other keys, garbage: no.
        let parts: Vec<&str> = jws.split('.').collect();
        let forged_claims = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            json!({ "sub": "1" }).to_string(),
        );
        assert!(ring
            .verify(&format!("{}.{forged_claims}.{}", parts[0], parts[2]))
            .is_none());
        let stranger = KeyPair::generate(SigningAlgorithm::ES256).unwrap();
        assert!(ring
            .verify(&crate::oidc::id_token::sign(&stranger, &json!({})))
            .is_none());
        for junk in ["", "a.b", "a.b.c", "...", "a.b.c.d"] {
            assert!(ring.verify(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn of_two_active_keys_the_newer_signs() {
        // Two replicas generated at once: both published, the newer used.
        let a = stored(SigningAlgorithm::EdDSA, 1, false);
        let b = stored(SigningAlgorithm::EdDSA, 2, false);
        let ring = KeyRing::from_stored(&[a, b.clone()], &Sealer::default()).unwrap();
        assert_eq!(ring.signer(SigningAlgorithm::EdDSA).unwrap().kid(), b.kid);
        assert_eq!(ring.published().len(), 2);
    }
}
