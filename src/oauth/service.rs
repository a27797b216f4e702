//! The OAuth use cases: what the token, revocation, introspection and
//! authorization endpoints do, over the storage traits. The server only
//! decodes HTTP into these calls and encodes their results.

mod apps;
mod client_credentials;
mod code;
mod consent;
mod device;
mod introspection;
mod oidc;
mod password;
mod refresh;
mod token;

pub use crate::oauth::introspection::Introspection;
pub use device::{DeviceEntryError, PendingDevice};

use std::sync::Arc;

use crate::account::AccountService;
use crate::oauth::OAuthError;
use crate::oidc::keyring::KeyRing;
use crate::secret::Secret;
use crate::store::{Store, StoreError};
use apps::AppCache;

/// How long codes and tokens live, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub code: i64,
    pub access_token: i64,
    pub refresh_token: i64,
    /// However often it is refreshed, a grant ends this long after the
    /// user signed in (RFC 9700 §4.14.2: rotation alone never expires).
    pub refresh_token_max: i64,
    /// How long a device code can be approved and redeemed (RFC 8628).
    pub device_code: i64,
    /// Seconds a device waits between polls, at first.
    pub device_interval: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: 60,
            access_token: 3600,
            refresh_token: 14 * 24 * 3600,
            refresh_token_max: 90 * 24 * 3600,
            device_code: 600,
            device_interval: 5,
        }
    }
}

#[derive(Clone)]
pub struct OAuthService {
    /// The public URL without trailing slash: `iss` of our answers.
    issuer: Arc<str>,
    store: Arc<dyn Store>,
    accounts: AccountService,
    lifetimes: Lifetimes,
    apps: Arc<AppCache>,
    keys: Arc<std::sync::RwLock<Arc<KeyRing>>>,
}

/// Logs a storage failure and hides it behind `server_error`.
fn internal(e: StoreError) -> OAuthError {
    tracing::error!(error = %e, "oauth storage failure");
    OAuthError::server_error()
}

/// A fresh id shared by the tokens of one grant.
fn new_family() -> String {
    Secret::generate().expose()[..22].to_owned()
}

impl OAuthService {
    /// `issuer` is the public URL; `app_cache` is how long a loaded app is
    /// reused (zero: never); `keys` sign id_tokens.
    pub fn new(
        issuer: &str,
        store: Arc<dyn Store>,
        accounts: AccountService,
        lifetimes: Lifetimes,
        app_cache: std::time::Duration,
        keys: KeyRing,
    ) -> Self {
        Self {
            keys: Arc::new(std::sync::RwLock::new(Arc::new(keys))),
            issuer: issuer.trim_end_matches('/').into(),
            store,
            accounts,
            lifetimes,
            apps: Arc::new(AppCache::new(app_cache)),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing keys in use.
    pub fn key_ring(&self) -> Arc<KeyRing> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the signing keys (after reloading them).
    pub fn set_key_ring(&self, ring: KeyRing) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ring);
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// Removes expired codes and tokens.
    pub async fn clear_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.store.delete_expired_tokens(now).await
    }
}
