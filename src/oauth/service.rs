//! The OAuth use cases: what the token, revocation, introspection and
//! authorization endpoints do, over the storage traits. The server only
//! decodes HTTP into these calls and encodes their results.

mod device;

pub use device::{DeviceEntryError, PendingDevice};

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use super::authorize::{self, AuthorizationRequest, AuthorizeError};
use super::client::{Application, ClientType, GrantType};
use super::params::Params;
use super::token::{client_auth, AuthorizationHeader, ClientAuth, TokenRequest, TokenResponse};
use super::{pkce, redirect, ErrorCode, OAuthError, Scope, ScopeSet};
use crate::account::{AccountService, SignInError};
use crate::oidc::id_token;
use crate::oidc::keyring::KeyRing;
use crate::secret::{constant_time_eq, Secret, SecretDigest};
use crate::store::{Claim, CodeRecord, IssuedTokens, Store, StoreError, TokenLookup, TokenRecord};

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

/// Registered apps, kept for a short time: every token request needs its
/// client, and the app rarely changes. Only apps that exist are kept (so
/// unknown ids cannot fill memory), at most [`AppCache::MAX`] of them.
/// A change made by this process is seen at once ([`OAuthService::forget_app`]);
/// one made by another replica within the cache time.
struct AppCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<HashMap<String, (std::time::Instant, Application)>>,
}

impl AppCache {
    const MAX: usize = 10_000;

    fn get(&self, client_id: &str) -> Option<Application> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, app)| app.clone())
    }

    fn put(&self, app: &Application) {
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
            (std::time::Instant::now(), app.clone()),
        );
    }

    fn forget(&self, client_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(client_id);
    }
}

/// Logs a storage failure and hides it behind `server_error`.
fn internal(e: StoreError) -> OAuthError {
    tracing::error!(error = %e, "oauth storage failure");
    OAuthError::server_error()
}

/// The RFC 7662 answer. An inactive token is `{"active": false}` only.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// Which kind of token a revocation or introspection names first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Access,
    Refresh,
}

fn hint(params: &Params) -> Result<Hint, OAuthError> {
    match params.get("token_type_hint")? {
        None | Some("access_token") => Ok(Hint::Access),
        Some("refresh_token") => Ok(Hint::Refresh),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedTokenType,
            "token_type_hint must be access_token or refresh_token",
        )),
    }
}

/// Whom an id_token is about, and from which authorization.
struct IdTokenSubject<'a> {
    user_id: i64,
    scopes: ScopeSet,
    nonce: Option<&'a str>,
    auth_time: i64,
}

/// What a grant decided to hand out.
struct Grant {
    user_id: Option<i64>,
    access_scopes: ScopeSet,
    /// None: no refresh token.
    refresh_scopes: Option<ScopeSet>,
    family: String,
    auth_time: Option<i64>,
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
            apps: Arc::new(AppCache {
                ttl: app_cache,
                entries: Default::default(),
            }),
        }
    }

    /// The app with this client id, from the cache when fresh.
    pub async fn application(&self, client_id: &str) -> Result<Option<Application>, StoreError> {
        if let Some(app) = self.apps.get(client_id) {
            return Ok(Some(app));
        }
        let app = self.store.application_by_client_id(client_id).await?;
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
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        if app.is_public() {
            return Ok(None);
        }
        let secret = Secret::generate();
        let stored = self
            .store
            .set_client_secret(app.id, secret.digest().as_str(), now)
            .await?;
        self.forget_app(&app.client_id);
        Ok(stored.then(|| secret.expose().to_owned()))
    }

    /// Saves an app's edited fields (see [`OAuthStore::update_application`]).
    ///
    /// [`OAuthStore::update_application`]: crate::store::OAuthStore::update_application
    pub async fn update_app(&self, app: &Application, now: i64) -> Result<bool, StoreError> {
        let saved = self.store.update_application(app, now).await?;
        self.forget_app(&app.client_id);
        Ok(saved)
    }

    /// The apps a user has granted.
    pub async fn user_grants(
        &self,
        user_id: i64,
    ) -> Result<Vec<crate::store::GrantRecord>, StoreError> {
        self.store.user_grants(user_id).await
    }

    /// Withdraws a user's grant to an app and everything the app holds
    /// for the user.
    pub async fn revoke_grant(
        &self,
        user_id: i64,
        application_id: i64,
    ) -> Result<bool, StoreError> {
        self.store.revoke_grant(user_id, application_id).await
    }

    /// Deletes an app and everything issued to it.
    pub async fn delete_app(&self, app: &Application) -> Result<bool, StoreError> {
        let deleted = self.store.delete_application(app.id).await?;
        self.forget_app(&app.client_id);
        Ok(deleted)
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

    /// The id_token for a code redeemed with scope `openid`.
    async fn id_token(
        &self,
        app: &Application,
        subject: IdTokenSubject<'_>,
        access_token: &str,
        now: i64,
    ) -> Result<String, OAuthError> {
        let user = self
            .store
            .user_by_id(subject.user_id)
            .await
            .map_err(internal)?
            .filter(|u| u.is_active)
            .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))?;
        let ring = self.key_ring();
        let key = ring.signer(app.algorithm).ok_or_else(|| {
            tracing::error!(alg = app.algorithm.as_str(), "no signing key");
            OAuthError::server_error()
        })?;
        let input = id_token::IdTokenInput {
            issuer: &self.issuer,
            client_id: &app.client_id,
            user: &user,
            scopes: subject.scopes,
            nonce: subject.nonce,
            auth_time: subject.auth_time,
            access_token,
            now,
            lifetime: self.lifetimes.access_token,
        };
        let claims = id_token::claims(&input, key.alg());
        // An RSA signature is a millisecond or more of CPU: off the executor.
        let key = key.clone();
        tokio::task::spawn_blocking(move || id_token::sign(&key, &claims))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "signing task failed");
                OAuthError::server_error()
            })
    }

    /// OIDC userinfo: the claims of the token's user for its scopes.
    pub async fn userinfo(
        &self,
        token: &str,
        now: i64,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
        let found = self.bearer(token, Scope::Openid, now).await?;
        let invalid =
            || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        let user_id = found.record.user_id.ok_or_else(invalid)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await
            .map_err(internal)?
            .filter(|u| u.is_active)
            .ok_or_else(invalid)?;
        Ok(id_token::scope_claims(&user, found.record.scopes))
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// Finds and authenticates the client. Every failure is the same
    /// `invalid_client`, so probing reveals nothing about which ids exist.
    pub async fn authenticate_client(
        &self,
        auth: Option<&ClientAuth>,
    ) -> Result<Application, OAuthError> {
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

    /// The token endpoint.
    pub async fn token(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
        client_addr: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let auth = client_auth(authorization, params)?;
        let app = self.authenticate_client(auth.as_ref()).await?;
        let request = TokenRequest::parse(params)?;
        if !app.allows(request.grant_type()) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!(
                    "this application may not use the {} grant",
                    request.grant_type().as_str()
                ),
            ));
        }
        match request {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.redeem_code(
                    &app,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                    now,
                )
                .await
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh(&app, &refresh_token, scope, now).await,
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials(&app, scope, now).await
            }
            TokenRequest::Password {
                username,
                password,
                scope,
            } => {
                self.password(&app, &username, &password, scope, client_addr, now)
                    .await
            }
            TokenRequest::DeviceCode { device_code } => {
                self.device_token(&app, &device_code, now).await
            }
        }
    }

    fn issue(&self, app: &Application, grant: Grant, now: i64) -> (IssuedTokens, TokenResponse) {
        let Grant {
            user_id,
            access_scopes,
            refresh_scopes,
            family,
            auth_time,
        } = grant;
        let access = Secret::generate();
        let refresh = refresh_scopes.map(|scopes| (Secret::generate(), scopes));
        let record = |digest: SecretDigest, scopes: ScopeSet, lifetime: i64| TokenRecord {
            digest,
            application_id: app.id,
            user_id,
            scopes,
            family: family.clone(),
            created_at: now,
            expires_at: now + lifetime,
            auth_time,
        };
        let tokens = IssuedTokens {
            access: record(access.digest(), access_scopes, self.lifetimes.access_token),
            refresh: refresh.as_ref().map(|(s, scopes)| {
                let sliding = self.lifetimes.refresh_token;
                let cap = auth_time
                    .unwrap_or(now)
                    .saturating_add(self.lifetimes.refresh_token_max)
                    .saturating_sub(now);
                record(s.digest(), *scopes, sliding.min(cap))
            }),
        };
        let response = TokenResponse {
            access_token: access.expose().to_owned(),
            token_type: "Bearer",
            expires_in: self.lifetimes.access_token,
            refresh_token: refresh.map(|(s, _)| s.expose().to_owned()),
            scope: access_scopes.to_string(),
            id_token: None,
        };
        (tokens, response)
    }

    /// The outcome of storing tokens for `app`. A failure because the app
    /// was deleted meanwhile (by another process, while this one still had
    /// it cached) is `invalid_client`, like any unknown client; any other
    /// failure is a server error.
    async fn stored<T>(
        &self,
        app: &Application,
        result: Result<T, StoreError>,
    ) -> Result<T, OAuthError> {
        let e = match result {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        match self.store.application_by_client_id(&app.client_id).await {
            Ok(Some(current)) if current.id == app.id => Err(internal(e)),
            Ok(_) => {
                self.forget_app(&app.client_id);
                Err(OAuthError::invalid_client("client authentication failed"))
            }
            Err(_) => Err(internal(e)),
        }
    }

    /// Refresh tokens go to apps registered for the refresh grant.
    fn refresh_scopes(app: &Application, scopes: ScopeSet) -> Option<ScopeSet> {
        app.allows(GrantType::RefreshToken).then_some(scopes)
    }

    async fn redeem_code(
        &self,
        app: &Application,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let unknown = || {
            OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
        };
        let digest = SecretDigest::of(code);
        let stored = self
            .store
            .code(&digest)
            .await
            .map_err(internal)?
            .ok_or_else(unknown)?;
        if stored.application_id != app.id {
            return Err(unknown());
        }
        if stored.redeemed {
            // A replay: whoever holds the first tokens may be an attacker.
            self.store
                .revoke_family(&stored.family)
                .await
                .map_err(internal)?;
            tracing::warn!(client_id = %app.client_id, "authorization code reused; its tokens were revoked");
            return Err(unknown());
        }
        if stored.expires_at <= now {
            return Err(unknown());
        }
        match redirect_uri {
            Some(uri) if uri != stored.redirect_uri => {
                return Err(OAuthError::invalid_grant(
                    "redirect_uri differs from the one in the authorization request",
                ))
            }
            None if stored.redirect_uri_sent => {
                return Err(OAuthError::invalid_grant(
                    "redirect_uri is required: the authorization request included it",
                ))
            }
            _ => {}
        }
        match (&stored.code_challenge, verifier) {
            (Some((challenge, method)), Some(v)) => pkce::verify(challenge, *method, v)?,
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier is required: the authorization request used PKCE",
                ))
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier was sent but the authorization request had no code_challenge",
                ))
            }
            (None, None) => {}
        }
        let (tokens, mut response) = self.issue(
            app,
            Grant {
                user_id: Some(stored.user_id),
                access_scopes: stored.scopes,
                refresh_scopes: Self::refresh_scopes(app, stored.scopes),
                family: stored.family.clone(),
                auth_time: Some(stored.auth_time),
            },
            now,
        );
        if stored.scopes.contains(Scope::Openid) {
            response.id_token = Some(
                self.id_token(
                    app,
                    IdTokenSubject {
                        user_id: stored.user_id,
                        scopes: stored.scopes,
                        nonce: stored.nonce.as_deref(),
                        auth_time: stored.auth_time,
                    },
                    &response.access_token,
                    now,
                )
                .await?,
            );
        }
        let claimed = self.store.redeem_code(&digest, now, &tokens).await;
        match self.stored(app, claimed).await? {
            Claim::Claimed => Ok(response),
            Claim::Reused => {
                tracing::warn!(client_id = %app.client_id, "authorization code redeemed twice at once; its tokens were revoked");
                Err(unknown())
            }
        }
    }

    async fn refresh(
        &self,
        app: &Application,
        refresh_token: &str,
        scope: Option<ScopeSet>,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let unknown =
            || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let digest = SecretDigest::of(refresh_token);
        let found = self
            .store
            .refresh_token(&digest)
            .await
            .map_err(internal)?
            .ok_or_else(unknown)?;
        let record = &found.record;
        if record.application_id != app.id {
            return Err(unknown());
        }
        if found.rotated {
            self.store
                .revoke_family(&record.family)
                .await
                .map_err(internal)?;
            tracing::warn!(client_id = %app.client_id, "rotated refresh token reused; its family was revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is revoked",
            ));
        }
        if record.expires_at <= now {
            return Err(unknown());
        }
        let access_scopes = match scope {
            Some(s) if !s.is_subset(record.scopes) => {
                return Err(OAuthError::invalid_scope(
                    "a refresh may only narrow the scope originally granted",
                ))
            }
            Some(s) if !s.is_empty() => s,
            _ => record.scopes,
        };
        let (tokens, mut response) = self.issue(
            app,
            Grant {
                user_id: record.user_id,
                access_scopes,
                refresh_scopes: Some(record.scopes),
                family: record.family.clone(),
                auth_time: record.auth_time,
            },
            now,
        );
        // A fresh id_token (OIDC Core §12.2), without nonce.
        if let (Some(user_id), true) = (record.user_id, access_scopes.contains(Scope::Openid)) {
            let subject = IdTokenSubject {
                user_id,
                scopes: access_scopes,
                nonce: None,
                auth_time: record.auth_time.unwrap_or(record.created_at),
            };
            response.id_token = Some(
                self.id_token(app, subject, &response.access_token, now)
                    .await?,
            );
        }
        let rotated = self.store.rotate_refresh_token(&digest, now, &tokens).await;
        match self.stored(app, rotated).await? {
            Claim::Claimed => Ok(response),
            Claim::Reused => Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is revoked",
            )),
        }
    }

    /// Scopes a token without a user may hold.
    const MACHINE_SCOPES: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Introspection];

    async fn client_credentials(
        &self,
        app: &Application,
        scope: Option<ScopeSet>,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        if app.is_public() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients cannot use the client credentials grant",
            ));
        }
        let machine: ScopeSet = Self::MACHINE_SCOPES.into_iter().collect();
        let allowed = ScopeSet::from_iter(app.scopes.iter().filter(|s| machine.contains(*s)));
        let scopes = match scope {
            Some(s) if !s.is_empty() => s,
            _ => allowed,
        };
        if scopes.is_empty() || !scopes.is_subset(allowed) {
            return Err(OAuthError::invalid_scope(format!(
                "a client credentials token may hold: {allowed}"
            )));
        }
        let (tokens, response) = self.issue(
            app,
            Grant {
                user_id: None,
                access_scopes: scopes,
                refresh_scopes: None,
                family: new_family(),
                auth_time: None,
            },
            now,
        );
        let inserted = self.store.insert_tokens(&tokens).await;
        self.stored(app, inserted).await?;
        Ok(response)
    }

    async fn password(
        &self,
        app: &Application,
        username: &str,
        password: &str,
        scope: Option<ScopeSet>,
        client_addr: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let scopes = match scope {
            Some(s) if !s.is_empty() => s,
            _ => authorize::default_scopes(app),
        };
        if !scopes.is_subset(app.scopes) {
            return Err(OAuthError::invalid_scope(format!(
                "this application may only ask for: {}",
                app.scopes
            )));
        }
        let user = match self
            .accounts
            .sign_in(username, password, client_addr, now)
            .await
        {
            Ok(u) => u,
            Err(SignInError::InvalidCredentials) => {
                return Err(OAuthError::invalid_grant("invalid username or password"))
            }
            Err(SignInError::Throttled(wait)) => {
                return Err(OAuthError::invalid_grant(format!(
                    "too many attempts; try again in {wait} s"
                )))
            }
            Err(SignInError::Busy) => {
                return Err(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the server is busy checking other sign-ins; retry shortly",
                ))
            }
            Err(SignInError::Internal(e)) => {
                tracing::error!(error = %e, "password grant failed");
                return Err(OAuthError::server_error());
            }
        };
        // The person gave the app their password: that is their consent,
        // remembered so they can see and withdraw it (authorized apps).
        let saved = self.store.save_grant(user.id, app.id, scopes, now).await;
        self.stored(app, saved).await?;
        let (tokens, response) = self.issue(
            app,
            Grant {
                user_id: Some(user.id),
                access_scopes: scopes,
                refresh_scopes: Self::refresh_scopes(app, scopes),
                family: new_family(),
                auth_time: Some(now),
            },
            now,
        );
        let inserted = self.store.insert_tokens(&tokens).await;
        self.stored(app, inserted).await?;
        Ok(response)
    }

    /// RFC 7009. Unknown tokens, and tokens of other clients, are answered
    /// like revoked ones: the caller learns nothing.
    pub async fn revoke(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
    ) -> Result<(), OAuthError> {
        let auth = client_auth(authorization, params)?;
        let app = self.authenticate_client(auth.as_ref()).await?;
        let token = params.require("token")?;
        let digest = SecretDigest::of(token);
        let order = match hint(params)? {
            Hint::Access => [Hint::Access, Hint::Refresh],
            Hint::Refresh => [Hint::Refresh, Hint::Access],
        };
        for kind in order {
            match kind {
                Hint::Access => {
                    if self
                        .store
                        .revoke_access_token(&digest, app.id)
                        .await
                        .map_err(internal)?
                    {
                        return Ok(());
                    }
                }
                Hint::Refresh => {
                    if let Some(found) =
                        self.store.refresh_token(&digest).await.map_err(internal)?
                    {
                        if found.record.application_id == app.id {
                            // With the refresh token goes everything of its grant
                            // (RFC 7009 §2.1).
                            self.store
                                .revoke_family(&found.record.family)
                                .await
                                .map_err(internal)?;
                        }
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// RFC 7662. The caller is a confidential client, or presents a bearer
    /// token holding the `introspection` scope.
    pub async fn introspect(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
        now: i64,
    ) -> Result<Introspection, OAuthError> {
        // RFC 7662 §4: an app sees its own tokens; other apps' tokens only
        // with the `introspection` permission staff granted it (as an
        // allowed scope, or a bearer token holding that scope). Any other
        // token is simply not active for this caller.
        let only_app = match authorization {
            Some(AuthorizationHeader::Bearer(token)) => {
                self.bearer(token, Scope::Introspection, now).await?;
                None
            }
            _ => {
                let auth = client_auth(authorization, params)?;
                let app = self.authenticate_client(auth.as_ref()).await?;
                if app.is_public() {
                    return Err(OAuthError::invalid_client(
                        "public clients cannot introspect tokens",
                    ));
                }
                (!app.scopes.contains(Scope::Introspection)).then_some(app.id)
            }
        };
        let token = params.require("token")?;
        let digest = SecretDigest::of(token);
        let order = match hint(params)? {
            Hint::Access => [Hint::Access, Hint::Refresh],
            Hint::Refresh => [Hint::Refresh, Hint::Access],
        };
        for kind in order {
            let found = match kind {
                Hint::Access => self.store.access_token(&digest).await,
                Hint::Refresh => self.store.refresh_token(&digest).await,
            }
            .map_err(internal)?;
            if let Some(found) = found {
                let foreign = only_app.is_some_and(|id| id != found.record.application_id);
                if foreign || found.rotated || found.record.expires_at <= now {
                    return Ok(Introspection::default());
                }
                return Ok(describe(found, kind));
            }
        }
        Ok(Introspection::default())
    }

    /// Checks a bearer token for a protected resource (RFC 6750).
    pub async fn bearer(
        &self,
        token: &str,
        needs: Scope,
        now: i64,
    ) -> Result<TokenLookup, OAuthError> {
        let invalid =
            || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        if token.is_empty() || token.len() > 512 {
            return Err(invalid());
        }
        let found = self
            .store
            .access_token(&SecretDigest::of(token))
            .await
            .map_err(internal)?
            .ok_or_else(invalid)?;
        if found.record.expires_at <= now {
            return Err(invalid());
        }
        if !found.record.scopes.contains(needs) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                format!("this requires the {} scope", needs.as_str()),
            ));
        }
        Ok(found)
    }

    /// Validates an authorization request: finds the app, then checks the
    /// request against it.
    pub async fn authorization_request(
        &self,
        params: &Params,
    ) -> Result<(Application, AuthorizationRequest), AuthorizeError> {
        let client_id = authorize::client_id(params)?;
        let app = self.application(client_id).await.map_err(|e| {
            tracing::error!(error = %e, "loading the application failed");
            AuthorizeError::Page(
                "Gatehouse could not load this application. Please try again in a moment.".into(),
            )
        })?;
        let request = authorize::validate(app.as_ref(), params)?;
        Ok((app.expect("validate refuses a missing app"), request))
    }

    /// Whether the user must be asked before the app gets `request`.
    pub async fn needs_consent(
        &self,
        user_id: i64,
        app: &Application,
        request: &AuthorizationRequest,
    ) -> Result<bool, StoreError> {
        if request.prompt.consent {
            return Ok(true);
        }
        if app.skip_consent {
            return Ok(false);
        }
        let granted = self.store.granted_scopes(user_id, app.id).await?;
        Ok(!granted.is_some_and(|g| request.scopes.is_subset(g)))
    }

    /// The user allowed the request: remembers the grant, issues a code and
    /// returns where to send the browser.
    pub async fn approve(
        &self,
        user_id: i64,
        app: &Application,
        request: &AuthorizationRequest,
        auth_time: i64,
        now: i64,
    ) -> Result<String, StoreError> {
        self.store
            .save_grant(user_id, app.id, request.scopes, now)
            .await?;
        let code = Secret::generate();
        self.store
            .create_code(&CodeRecord {
                digest: code.digest(),
                application_id: app.id,
                user_id,
                redirect_uri: request.redirect_uri.clone(),
                redirect_uri_sent: request.redirect_uri_sent,
                scopes: request.scopes,
                code_challenge: request.code_challenge.clone(),
                nonce: request.nonce.clone(),
                auth_time,
                family: new_family(),
                created_at: now,
                expires_at: now + self.lifetimes.code,
                redeemed: false,
            })
            .await?;
        let mut params = vec![("code", code.expose())];
        if let Some(s) = &request.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.issuer));
        Ok(redirect::with_query(&request.redirect_uri, &params))
    }

    /// The user refused: where to send the browser.
    pub fn deny(&self, request: &AuthorizationRequest) -> String {
        authorize::error_location(
            &request.redirect_uri,
            &OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
            request.state.as_deref(),
            &self.issuer,
        )
    }

    /// Removes expired codes and tokens.
    pub async fn clear_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.store.delete_expired_tokens(now).await
    }
}

fn describe(found: TokenLookup, kind: Hint) -> Introspection {
    Introspection {
        active: true,
        scope: Some(found.record.scopes.to_string()),
        client_id: Some(found.client_id),
        username: found.username,
        token_type: Some(match kind {
            Hint::Access => "Bearer",
            Hint::Refresh => "refresh_token",
        }),
        exp: Some(found.record.expires_at),
        iat: Some(found.record.created_at),
        sub: found.record.user_id.map(|id| id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::{ClientType, SigningAlgorithm};

    fn app(client_id: &str) -> Application {
        Application {
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
        }
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

    #[test]
    fn token_type_hints() {
        let p = |q: &str| Params::parse(q.as_bytes()).unwrap();
        assert_eq!(hint(&p("")).unwrap(), Hint::Access);
        assert_eq!(
            hint(&p("token_type_hint=refresh_token")).unwrap(),
            Hint::Refresh
        );
        assert_eq!(
            hint(&p("token_type_hint=id_token")).unwrap_err().code,
            ErrorCode::UnsupportedTokenType
        );
    }
}
