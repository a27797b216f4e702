//! Registered apps: the short-lived cache every token request reads, and
//! the changes that must drop a cached copy.

use std::collections::HashMap;
use std::sync::Arc;

use super::{internal, OAuthService};
use crate::audit::Event;
use crate::oauth::client::{Application, ClientType};
use crate::oauth::token::ClientAuth;
use crate::oauth::{ErrorCode, OAuthError};
use crate::password::{django, Password, PasswordError, PasswordHash};
use crate::secret::{constant_time_eq, Secret, SecretDigest};
use crate::store::StoreError;

/// Registered apps, kept for a short time: every token request needs its
/// client, and the app rarely changes. Only apps that exist are kept (so
/// unknown ids cannot fill memory), at most [`AppCache::MAX`] of them.
/// A change made by this process is seen at once ([`OAuthService::forget_app`]);
/// one made by another replica within the cache time.
pub(super) struct AppCache {
    ttl: std::time::Duration,
    /// Shared, not copied, with each request: an app holds a dozen strings.
    entries: std::sync::Mutex<HashMap<String, (std::time::Instant, Arc<Application>)>>,
}

impl AppCache {
    const MAX: usize = 10_000;

    pub(super) fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: Default::default(),
        }
    }

    fn get(&self, client_id: &str) -> Option<Arc<Application>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, app)| Arc::clone(app))
    }

    fn put(&self, app: &Arc<Application>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= Self::MAX {
                entries.clear();
            }
        }
        entries.insert(
            app.client_id.clone(),
            (std::time::Instant::now(), Arc::clone(app)),
        );
    }

    fn forget(&self, client_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(client_id);
    }
}

impl OAuthService {
    /// The app with this client id, from the cache when fresh.
    pub async fn application(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<Application>>, StoreError> {
        if let Some(app) = self.apps.get(client_id) {
            return Ok(Some(app));
        }
        let app = self
            .store
            .application_by_client_id(client_id)
            .await?
            .map(Arc::new);
        if let Some(app) = &app {
            self.apps.put(app);
        }
        Ok(app)
    }

    /// Drops a cached app after changing or deleting it.
    pub fn forget_app(&self, client_id: &str) {
        self.apps.forget(client_id);
    }

    /// Gives a confidential app a new secret (the old one stops working
    /// at once in this process, within the app cache time elsewhere) and
    /// returns it in clear, to be shown once. None for a public app.
    pub async fn rotate_secret(
        &self,
        app: &Application,
        event: &Event,
    ) -> Result<Option<String>, StoreError> {
        if app.is_public() {
            return Ok(None);
        }
        let secret = Secret::generate();
        let stored = self
            .store
            .set_client_secret(app.id, secret.digest().as_str(), event.at, event)
            .await?;
        self.forget_app(&app.client_id);
        Ok(stored.then(|| secret.expose().to_owned()))
    }

    /// Saves an app's edited fields (see [`OAuthStore::update_application`]).
    ///
    /// [`OAuthStore::update_application`]: crate::store::OAuthStore::update_application
    pub async fn update_app(&self, app: &Application, event: &Event) -> Result<bool, StoreError> {
        let saved = self.store.update_application(app, event.at, event).await?;
        self.forget_app(&app.client_id);
        Ok(saved)
    }

    /// Deletes an app and everything issued to it.
    pub async fn delete_app(&self, app: &Application, event: &Event) -> Result<bool, StoreError> {
        let deleted = self.store.delete_application(app.id, event).await?;
        self.forget_app(&app.client_id);
        Ok(deleted)
    }

    /// Finds and authenticates the client. Every failure is the same
    /// `invalid_client`, so probing reveals nothing about which ids exist.
    pub async fn authenticate_client(
        &self,
        auth: Option<&ClientAuth>,
    ) -> Result<Arc<Application>, OAuthError> {
        let auth =
            auth.ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
        let refused = || OAuthError::invalid_client("client authentication failed");
        let app = self
            .application(auth.client_id())
            .await
            .map_err(internal)?
            .ok_or_else(refused)?;
        match (auth, app.client_type, app.secret_digest.as_deref()) {
            (
                ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. },
                ClientType::Confidential,
                Some(stored),
            ) if django::is_django(stored) => {
                self.upgrade_imported_secret(&app, secret, stored).await?;
                Ok(app)
            }
            (
                ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. },
                ClientType::Confidential,
                Some(stored),
            ) => {
                if constant_time_eq(SecretDigest::of(secret).as_str(), stored) {
                    Ok(app)
                } else {
                    Err(refused())
                }
            }
            (ClientAuth::None { .. }, ClientType::Public, _) => Ok(app),
            _ => Err(refused()),
        }
    }
}

impl OAuthService {
    /// An app imported from django-oauth-toolkit with its secret hashed in
    /// Django's format: the secret is checked in that format (slow, on the
    /// hashing threads) and, when it matches, replaced by its SHA-256, so
    /// the slow check is paid once. Err is the answer to give the client.
    async fn upgrade_imported_secret(
        &self,
        app: &Application,
        secret: &str,
        stored: &str,
    ) -> Result<(), OAuthError> {
        let hash = PasswordHash::from_stored(stored.to_owned());
        let verified = self
            .accounts
            .hasher()
            .verify(Password::new(secret), Some(&hash))
            .await;
        match verified {
            Ok(v) if v.matches => {}
            Ok(_) => return Err(OAuthError::invalid_client("client authentication failed")),
            Err(PasswordError::Busy) => {
                return Err(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the server is busy checking other credentials; retry shortly",
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "checking an imported client secret failed");
                return Err(OAuthError::server_error());
            }
        }
        // Only if it is still the imported hash: a rotation made meanwhile wins.
        self.store
            .replace_client_secret(
                app.id,
                stored,
                SecretDigest::of(secret).as_str(),
                secret.len() < crate::oauth::registration::MIN_SECRET_LEN,
            )
            .await
            .map_err(internal)?;
        self.forget_app(&app.client_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::SigningAlgorithm;
    use crate::oauth::ScopeSet;

    fn app(client_id: &str) -> Arc<Application> {
        Arc::new(Application {
            id: 1,
            client_id: client_id.into(),
            secret_digest: None,
            name: "App".into(),
            client_type: ClientType::Public,
            grant_types: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            scopes: ScopeSet::EMPTY,
            skip_consent: false,
            allow_plain_pkce: false,
            algorithm: SigningAlgorithm::RS256,
            owner_id: None,
            created_at: 0,
            reviewed: true,
            weak_secret: false,
        })
    }

    fn cache(ttl_ms: u64) -> AppCache {
        AppCache {
            ttl: std::time::Duration::from_millis(ttl_ms),
            entries: Default::default(),
        }
    }

    #[test]
    fn cached_apps_expire_and_can_be_forgotten() {
        let c = cache(60_000);
        assert!(c.get("a").is_none());
        c.put(&app("a"));
        assert_eq!(c.get("a").unwrap().client_id, "a");
        c.forget("a");
        assert!(c.get("a").is_none());
        let short = cache(1);
        short.put(&app("b"));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(short.get("b").is_none());
        let off = cache(0);
        off.put(&app("c"));
        assert!(off.get("c").is_none());
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = cache(60_000);
        for i in 0..=AppCache::MAX {
            c.put(&app(&format!("app{i}")));
        }
        assert!(c.entries.lock().unwrap().len() <= AppCache::MAX);
    }
}
