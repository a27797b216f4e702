//! Password hashing with argon2id, off the async executor.
//!
//! Hashing is CPU- and memory-heavy on purpose, so it runs on Tokio's
//! blocking pool behind a semaphore sized to the cores: a burst of sign-ins
//! queues instead of starving the executor or exhausting memory.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// A PHC-format argon2 hash as stored. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A plaintext password on its way to be hashed or checked. Never printed.
pub struct Password(String);

impl Password {
    pub fn new(plain: impl Into<String>) -> Self {
        Self(plain.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(String),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash uses other parameters than today's: store a new one.
    pub needs_rehash: bool,
}

/// Cost parameters. The defaults are OWASP's argon2id recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Cost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Arc<Semaphore>,
    /// Checked against when the account does not exist, so an unknown
    /// username costs the same time as a wrong password.
    dummy: PasswordHash,
}

impl PasswordHasher {
    /// `concurrency` hashes may run at once (use the number of cores).
    /// Computes one hash synchronously for the unknown-user path.
    pub fn new(cost: Cost, concurrency: usize) -> Result<Self, PasswordError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let mut random = [0u8; 24];
        rand::RngCore::fill_bytes(&mut OsRng, &mut random);
        let dummy = hash_blocking(&params, &format!("{random:?}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Arc::new(Semaphore::new(concurrency.max(1))),
                dummy,
            }),
        })
    }

    /// Runs `work` on the blocking pool once a permit is free. The permit
    /// lives in the blocking task: if the request is dropped (client gone),
    /// the hash still counts until it really ends.
    async fn off_executor<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Params) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(task_error)?;
        let params = self.inner.params.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&params)
        })
        .await
        .map_err(task_error)?
    }

    #[tracing::instrument(skip_all)]
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, PasswordError> {
        self.off_executor(move |params| hash_blocking(params, password.expose()))
            .await
    }

    /// Checks `password` against `stored`, or against a dummy hash when
    /// there is no stored hash (unknown user): same cost either way, and
    /// `matches` is then always false.
    #[tracing::instrument(skip_all)]
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verified, PasswordError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.inner.dummy).clone();
        let verified = self
            .off_executor(move |params| verify_blocking(params, password.expose(), &stored))
            .await?;
        Ok(Verified {
            matches: known && verified.matches,
            needs_rehash: known && verified.needs_rehash,
        })
    }
}

fn task_error(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Task(e.to_string())
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &str) -> Result<PasswordHash, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

fn verify_blocking(
    params: &Params,
    password: &str,
    stored: &PasswordHash,
) -> Result<Verified, PasswordError> {
    let parsed = match argon2::password_hash::PasswordHash::new(stored.as_str()) {
        Ok(p) => p,
        // A corrupt or foreign stored hash never matches.
        Err(_) => {
            return Ok(Verified {
                matches: false,
                needs_rehash: false,
            })
        }
    };
    // Verify with the parameters recorded in the hash itself.
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .map(|p| {
                p.m_cost() == params.m_cost()
                    && p.t_cost() == params.t_cost()
                    && p.p_cost() == params.p_cost()
            })
            .unwrap_or(false);
    Ok(Verified {
        matches,
        needs_rehash: matches && !current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Small parameters keep unit tests fast; the rules are the same.
    fn cheap() -> Cost {
        Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(cheap(), 2).unwrap();
        let hash = hasher
            .hash(Password::new("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let ok = hasher
            .verify(Password::new("correct horse battery"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verified {
                matches: true,
                needs_rehash: false
            }
        );
        let bad = hasher
            .verify(Password::new("wrong"), Some(&hash))
            .await
            .unwrap();
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn unknown_user_never_matches() {
        let hasher = PasswordHasher::new(cheap(), 1).unwrap();
        let v = hasher
            .verify(Password::new("anything"), None)
            .await
            .unwrap();
        assert!(!v.matches);
    }

    #[tokio::test]
    async fn old_parameters_ask_for_rehash() {
        let old = PasswordHasher::new(cheap(), 1).unwrap();
        let hash = old
            .hash(Password::new("correct horse battery"))
            .await
            .unwrap();
        let newer = PasswordHasher::new(
            Cost {
                memory_kib: 128,
                ..cheap()
            },
            1,
        )
        .unwrap();
        let v = newer
            .verify(Password::new("correct horse battery"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn corrupt_hash_is_a_mismatch_not_an_error() {
        let hasher = PasswordHasher::new(cheap(), 1).unwrap();
        let v = hasher
            .verify(
                Password::new("x"),
                Some(&PasswordHash::from_stored("garbage".into())),
            )
            .await
            .unwrap();
        assert!(!v.matches);
    }

    #[test]
    fn default_cost_is_owasp() {
        assert_eq!(
            Cost::default(),
            Cost {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2hunter2")),
            "Password(..)"
        );
        assert_eq!(
            format!("{:?}", PasswordHash::from_stored("$argon2id$x".into())),
            "PasswordHash(..)"
        );
    }
}
