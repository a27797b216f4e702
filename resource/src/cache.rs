//! A bounded cache of token checks in front of any [`TokenSource`]. Keys
//! are the tokens' SHA-256, so the cache never holds a usable token.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::future::Cache;
use moka::Expiry;
use sha2::{Digest, Sha256};

use crate::source::{Checked, SourceError, TokenSource};

#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The longest an active token's answer is reused: the bound on how
    /// late a revocation at Gatehouse is noticed here. Never past the
    /// token's own `exp`.
    pub ttl: Duration,
    /// How long an inactive answer is reused (a burst of requests with a
    /// bad token costs one call).
    pub inactive_ttl: Duration,
    /// Entries kept at most; the least useful are dropped first.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            inactive_ttl: Duration::from_secs(5),
            max_entries: 10_000,
        }
    }
}

/// How long an answer may be reused, `now_ms` being Unix milliseconds.
pub(crate) fn lifetime(checked: &Checked, config: &CacheConfig, now_ms: i64) -> Duration {
    match checked {
        Checked::Inactive => config.inactive_ttl,
        Checked::Active(info) => match info.expires_at {
            None => config.ttl,
            Some(exp) => {
                let left = exp.saturating_mul(1000).saturating_sub(now_ms).max(0);
                config.ttl.min(Duration::from_millis(left as u64))
            }
        },
    }
}

struct Lifetimes(CacheConfig);

impl Expiry<[u8; 32], Checked> for Lifetimes {
    fn expire_after_create(&self, _: &[u8; 32], value: &Checked, _: Instant) -> Option<Duration> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Some(lifetime(value, &self.0, now_ms))
    }
}

/// `S`, with its answers cached. Concurrent checks of one token wait for
/// one call to `S`; failures are not cached.
pub struct Cached<S> {
    inner: S,
    cache: Cache<[u8; 32], Checked>,
}

impl<S: TokenSource> Cached<S> {
    pub fn new(inner: S, config: CacheConfig) -> Self {
        let cache = Cache::builder()
            .max_capacity(config.max_entries)
            .expire_after(Lifetimes(config))
            .build();
        Self { inner, cache }
    }

    /// Entries held now (after pending evictions are applied).
    pub async fn len(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}

#[async_trait::async_trait]
impl<S: TokenSource> TokenSource for Cached<S> {
    async fn check(&self, token: &str) -> Result<Checked, SourceError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.cache
            .try_get_with(key, self.inner.check(token))
            .await
            .map_err(|e| (*e).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::TokenInfo;
    use gatehouse::oauth::ScopeSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A source that counts its calls, answers after a pause, and treats
    /// tokens starting with `ok` as active until `exp`.
    struct Counting {
        calls: AtomicUsize,
        fail_first: AtomicUsize,
        exp: Option<i64>,
        delay: Duration,
    }

    impl Counting {
        fn new() -> Self {
            Self {
                calls: AtomicUsize::new(0),
                fail_first: AtomicUsize::new(0),
                exp: None,
                delay: Duration::from_millis(20),
            }
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait::async_trait]
    impl TokenSource for Counting {
        async fn check(&self, token: &str) -> Result<Checked, SourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if self
                .fail_first
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(SourceError("down".into()));
            }
            Ok(if token.starts_with("ok") {
                Checked::Active(Arc::new(info(self.exp)))
            } else {
                Checked::Inactive
            })
        }
    }

    fn info(expires_at: Option<i64>) -> TokenInfo {
        TokenInfo {
            subject: Some("1".into()),
            username: Some("ada".into()),
            client_id: Some("app".into()),
            scopes: ScopeSet::from_stored("read"),
            expires_at,
        }
    }

    #[test]
    fn lifetimes_stop_at_the_ttl_or_the_tokens_expiry() {
        let config = CacheConfig::default();
        let active = |exp| Checked::Active(Arc::new(info(exp)));
        let now_ms = 1_000_000;
        assert_eq!(lifetime(&active(None), &config, now_ms), config.ttl);
        assert_eq!(lifetime(&active(Some(5_000)), &config, now_ms), config.ttl);
        assert_eq!(
            lifetime(&active(Some(1_010)), &config, now_ms),
            Duration::from_secs(10)
        );
        assert_eq!(
            lifetime(&active(Some(1_000)), &config, now_ms + 500),
            Duration::ZERO,
            "already past exp: not reused at all"
        );
        assert_eq!(
            lifetime(&Checked::Inactive, &config, now_ms),
            config.inactive_ttl
        );
    }

    #[tokio::test]
    async fn fifty_concurrent_checks_of_one_token_make_one_call() {
        let source = Arc::new(Counting::new());
        let cached = Arc::new(Cached::new(source.clone(), CacheConfig::default()));
        let checks = (0..50).map(|_| {
            let cached = cached.clone();
            tokio::spawn(async move { cached.check("ok-token").await })
        });
        for check in checks {
            assert!(matches!(check.await.unwrap(), Ok(Checked::Active(_))));
        }
        assert_eq!(source.calls(), 1);
        // And the answer is reused afterwards.
        cached.check("ok-token").await.unwrap();
        assert_eq!(source.calls(), 1);
    }

    #[tokio::test]
    async fn inactive_answers_expire_and_failures_are_not_kept() {
        let source = Arc::new(Counting::new());
        let config = CacheConfig {
            inactive_ttl: Duration::from_millis(50),
            ..CacheConfig::default()
        };
        let cached = Cached::new(source.clone(), config);
        assert_eq!(cached.check("bad").await.unwrap(), Checked::Inactive);
        assert_eq!(cached.check("bad").await.unwrap(), Checked::Inactive);
        assert_eq!(source.calls(), 1);
        // Well past the inactive TTL: asked again.
        tokio::time::sleep(Duration::from_millis(300)).await;
        cached.check("bad").await.unwrap();
        assert_eq!(source.calls(), 2);

        source.fail_first.store(1, Ordering::SeqCst);
        assert!(cached.check("ok-1").await.is_err());
        assert!(matches!(cached.check("ok-1").await, Ok(Checked::Active(_))));
        assert_eq!(source.calls(), 4, "the failure was not cached");
    }

    #[tokio::test]
    async fn an_expired_token_is_not_reused() {
        let past = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 1;
        let source = Arc::new(Counting {
            exp: Some(past),
            ..Counting::new()
        });
        let cached = Cached::new(source.clone(), CacheConfig::default());
        cached.check("ok-old").await.unwrap();
        cached.check("ok-old").await.unwrap();
        assert_eq!(source.calls(), 2);
    }

    #[tokio::test]
    async fn the_cache_is_bounded_and_keyed_by_digest() {
        let source = Arc::new(Counting {
            delay: Duration::ZERO,
            ..Counting::new()
        });
        let config = CacheConfig {
            max_entries: 100,
            ..CacheConfig::default()
        };
        let cached = Cached::new(source.clone(), config);
        for i in 0..1_000 {
            cached.check(&format!("ok-{i}")).await.unwrap();
        }
        assert!(cached.len().await <= 100, "{} entries", cached.len().await);

        let fresh = Cached::new(source.clone(), CacheConfig::default());
        fresh.check("ok-secret").await.unwrap();
        let digest: [u8; 32] = Sha256::digest(b"ok-secret").into();
        assert!(fresh.cache.contains_key(&digest), "keyed by the SHA-256");
    }
}
