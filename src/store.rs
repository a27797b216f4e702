//! What Gatehouse needs from a database, as traits. The server implements
//! them once per backend (SQLite now); use cases only see these.

use async_trait::async_trait;

use crate::audit::{Event, EventFilter};
use crate::mail::OutgoingMail;

use crate::oauth::client::{Application, SigningAlgorithm};
use crate::oauth::device::DeviceStatus;
use crate::oauth::{pkce, ScopeSet};
use crate::password::PasswordHash;
use crate::secret::SecretDigest;
use crate::throttle::{FailureCount, Policy};

/// A storage failure the caller cannot fix: logged, shown as a generic error.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(e))
    }
}

/// An account as stored. Holds the password hash, so it never leaves the
/// server: pages and APIs get their own views of it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: PasswordHash,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// The owner followed a verification link sent to `email`.
    pub email_verified: bool,
    /// Unix seconds.
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a PasswordHash,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub now: i64,
}

/// Which unique field a write collided with.
#[derive(Debug, thiserror::Error)]
pub enum UniqueError {
    #[error("username already taken")]
    Username,
    #[error("email already in use")]
    Email,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct ProfileUpdate<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    /// A new username too (email-only accounts, whose username is the email).
    pub username: Option<&'a str>,
}

/// A signed-in session: the digest of the cookie value and its times.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub digest: SecretDigest,
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Usernames and emails are unique case-insensitively.
    /// Records `event` with the new account's id and username.
    async fn create_user(&self, new: NewUser<'_>, event: &Event) -> Result<User, UniqueError>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    /// Looks up by username, or by email when nothing has that username
    /// (both case-insensitively).
    async fn user_by_login(&self, username_or_email: &str) -> Result<Option<User>, StoreError>;
    async fn update_profile(
        &self,
        id: i64,
        update: ProfileUpdate<'_>,
        event: &Event,
    ) -> Result<(), UniqueError>;
    /// Replaces the password hash; `event` is None for a rehash of the same
    /// password (not a change anyone made).
    async fn set_password(
        &self,
        id: i64,
        hash: &PasswordHash,
        event: Option<&Event>,
    ) -> Result<(), StoreError>;
    async fn record_login(&self, id: i64, now: i64, event: &Event) -> Result<(), StoreError>;
    /// Removes the account and everything that hangs off it (sessions);
    /// its events stay.
    async fn delete_user(&self, id: i64, event: &Event) -> Result<(), StoreError>;
    /// Accounts whose username or email contains `query` (any case), or
    /// every account when it is empty; by username, skipping `offset`, at
    /// most `limit`.
    async fn search_users(
        &self,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<User>, StoreError>;
    /// Activates or deactivates an account; false if it does not exist.
    /// Deactivating deletes its sessions, codes and tokens in the same
    /// transaction, so a later reactivation starts clean.
    async fn set_user_active(
        &self,
        id: i64,
        active: bool,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Gives or takes away staff rights; false if the account is gone.
    async fn set_user_staff(&self, id: i64, staff: bool, event: &Event)
        -> Result<bool, StoreError>;
    /// The usernames of these accounts (those that exist), in one query.
    async fn usernames(&self, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session and its user, if both exist and the user is active.
    async fn session_with_user(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(SessionRecord, User)>, StoreError>;
    async fn touch_session(&self, digest: &SecretDigest, now: i64) -> Result<(), StoreError>;
    async fn delete_session(&self, digest: &SecretDigest) -> Result<(), StoreError>;
    /// Signs the user out everywhere except the session `keep`, recording
    /// `event` (if any, with the number of sessions ended) in the same
    /// transaction.
    async fn delete_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&SecretDigest>,
        event: Option<&Event>,
    ) -> Result<u64, StoreError>;
    /// Removes sessions idle since before `idle_before` or created before
    /// `created_before`; returns how many.
    async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait ThrottleStore: Send + Sync {
    async fn failure_counts(
        &self,
        keys: &[&str],
    ) -> Result<Vec<(String, FailureCount)>, StoreError>;
    /// Counts one failure for `key` at `now`, atomically: the count starts
    /// again at 1 when the previous failure is `reset_after` seconds old.
    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_after: i64,
    ) -> Result<FailureCount, StoreError>;
    /// Counts one attempt for `key` at `now` if `policy` lets it go ahead
    /// (free tries left, or the backoff since the last one has passed), in
    /// one atomic statement; None, and nothing counted, when it may not.
    async fn reserve_attempt(
        &self,
        key: &str,
        now: i64,
        policy: &Policy,
    ) -> Result<Option<FailureCount>, StoreError>;
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;
    /// Takes `n` counted attempts back (attempts counted in advance that
    /// turned out to succeed), never below zero.
    async fn forgive_failures(&self, key: &str, n: u32) -> Result<(), StoreError>;
    /// Removes counters whose last failure is older than `before`.
    async fn delete_stale_failures(&self, before: i64) -> Result<u64, StoreError>;
}

/// An id_token signing key as stored.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    /// PKCS#8 DER, or sealed (see `oidc::sealing`).
    pub private_key: Vec<u8>,
    pub sealed: bool,
    pub created_at: i64,
    /// Set at rotation: the key signs nothing after this.
    pub retired_at: Option<i64>,
    /// A retired key is published until then.
    pub publish_until: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredKey({} {})", self.algorithm.as_str(), self.kid)
    }
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key still signing or still published at `now`, oldest first.
    async fn signing_keys(&self, now: i64) -> Result<Vec<StoredKey>, StoreError>;
    async fn add_signing_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    /// Every key stored unencrypted (kid and PKCS#8 DER), published or not.
    async fn unsealed_signing_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Replaces an unencrypted key by its sealed form, in place.
    async fn seal_signing_key(&self, kid: &str, sealed: &[u8]) -> Result<(), StoreError>;
    /// Retires every signing key of `algorithm` except `keep`.
    async fn retire_signing_keys(
        &self,
        algorithm: SigningAlgorithm,
        keep: &str,
        now: i64,
        publish_until: i64,
    ) -> Result<u64, StoreError>;
}

/// The audit trail (see [`crate::audit`]). Events that record a change
/// are written by the change's own method; this records the rest (failed
/// and throttled sign-ins) and reads them back.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_event(&self, event: &Event) -> Result<(), StoreError>;
    /// Events matching `filter`, newest first (or oldest first, as the
    /// filter says), at most `limit`.
    async fn events(&self, filter: &EventFilter, limit: i64) -> Result<Vec<Event>, StoreError>;
    /// Removes events older than `before`; returns how many.
    async fn delete_events_before(&self, before: i64) -> Result<u64, StoreError>;
}

/// The database itself: what a readiness check asks, and closing it.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// The newest schema migration applied to the database (0: none).
    async fn schema_version(&self) -> Result<i64, StoreError>;
    /// Closes every pooled connection; later calls fail. For shutdown.
    async fn close(&self);
}

/// Everything Gatehouse stores.
pub trait Store:
    AccountStore
    + SessionStore
    + ThrottleStore
    + AppStore
    + OAuthStore
    + DeviceStore
    + KeyStore
    + AuditStore
    + MailStore
    + HealthStore
{
}
impl<T> Store for T where
    T: AccountStore
        + SessionStore
        + ThrottleStore
        + AppStore
        + OAuthStore
        + DeviceStore
        + KeyStore
        + AuditStore
        + MailStore
        + HealthStore
{
}

/// A client id collided with an existing app's.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    #[error("client id already taken")]
    ClientIdTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An authorization code as stored: the digest of the code and everything
/// the token request must match.
#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub digest: SecretDigest,
    pub application_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI (then the
    /// token request must repeat it).
    pub redirect_uri_sent: bool,
    pub scopes: ScopeSet,
    pub code_challenge: Option<(String, pkce::Method)>,
    pub nonce: Option<String>,
    pub auth_time: i64,
    /// Shared by every token descended from this code.
    pub family: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub redeemed: bool,
}

/// An access or refresh token as stored.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub digest: SecretDigest,
    pub application_id: i64,
    /// None for tokens a client obtained for itself (client_credentials).
    pub user_id: Option<i64>,
    pub scopes: ScopeSet,
    /// Tokens from one grant (a code, a password sign-in) and its
    /// refreshes; revoked together when a code or refresh token is reused.
    pub family: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub auth_time: Option<i64>,
}

/// What one grant hands out.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access: TokenRecord,
    pub refresh: Option<TokenRecord>,
}

/// A stored token with who holds it, as introspection and protected
/// resources need it. Only returned while the user (if any) is active.
#[derive(Debug, Clone)]
pub struct TokenLookup {
    pub record: TokenRecord,
    pub client_id: String,
    pub username: Option<String>,
    /// Refresh tokens only: replaced by a newer one.
    pub rotated: bool,
}

/// An access token as protected resources and introspection need it: who
/// holds it and what it allows, nothing of how it was issued. Only returned
/// while the user (if any) is active. Every bearer request and most
/// introspections read one, so it is read with the fewest columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLookup {
    pub application_id: i64,
    pub client_id: String,
    /// None for tokens a client obtained for itself (client_credentials).
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub expires_at: i64,
}

impl TokenLookup {
    /// The holder and rights of a refresh token, as an access token's.
    pub fn holder(self) -> AccessLookup {
        AccessLookup {
            application_id: self.record.application_id,
            client_id: self.client_id,
            user_id: self.record.user_id,
            username: self.username,
            scopes: self.record.scopes,
            created_at: self.record.created_at,
            expires_at: self.record.expires_at,
        }
    }
}

/// A single-use code or token presented again, as the audit trail records it.
#[derive(Debug, Clone, Copy)]
pub struct Reuse {
    /// "authorization code", "refresh token", "device code".
    pub what: &'static str,
    pub user_id: Option<i64>,
    pub application_id: i64,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The code or refresh token was unused; the new tokens are stored.
    Claimed,
    /// It had been used already: the family is revoked, nothing stored.
    Reused,
}

/// An app the user granted, for the authorized-apps page.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub application_id: i64,
    pub client_id: String,
    pub app_name: String,
    pub scopes: ScopeSet,
    pub granted_at: i64,
    pub updated_at: i64,
    /// When the app last received a token for the user.
    pub last_used_at: Option<i64>,
}

/// A device authorization (RFC 8628) as stored. Both codes are kept as
/// SHA-256 digests (the user code in its normalised form).
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    pub device_digest: SecretDigest,
    pub user_code_digest: SecretDigest,
    pub application_id: i64,
    pub scopes: ScopeSet,
    /// Shared by the tokens the device receives.
    pub family: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Seconds the device must wait between polls; grows by 5 at each
    /// `slow_down`.
    pub interval: i64,
    pub status: DeviceStatus,
    /// Who decided, once someone did.
    pub user_id: Option<i64>,
    pub auth_time: Option<i64>,
}

/// A device's poll, as recorded.
#[derive(Debug, Clone)]
pub struct DevicePoll {
    /// The authorization after the poll (its interval grown if too fast).
    pub record: DeviceRecord,
    /// The previous poll was less than the interval ago.
    pub too_fast: bool,
}

/// Registered applications.
#[async_trait]
pub trait AppStore: Send + Sync {
    /// Stores a new app (its `id` is assigned) and its allowed origins.
    async fn create_application(
        &self,
        app: &Application,
        event: &Event,
    ) -> Result<Application, ApplicationError>;
    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError>;
    async fn application_by_id(&self, id: i64) -> Result<Option<Application>, StoreError>;
    /// Every app, or those owned by `owner`, oldest first.
    async fn applications(&self, owner: Option<i64>) -> Result<Vec<Application>, StoreError>;
    /// Replaces the app's secret digest; false if the app is gone.
    async fn set_client_secret(
        &self,
        application_id: i64,
        secret_digest: &str,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Replaces the app's secret digest with `new` (`weak`: shorter than
    /// the minimum) only while it still is `old` (an imported secret
    /// upgraded at first use); false otherwise.
    async fn replace_client_secret(
        &self,
        application_id: i64,
        old: &str,
        new: &str,
        weak: bool,
    ) -> Result<bool, StoreError>;
    /// Saves an app's editable fields (name, grant types, URIs, origins,
    /// scopes, consent and PKCE settings, algorithm); false if it is gone.
    async fn update_application(
        &self,
        app: &Application,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Removes the app and everything issued to it (codes, tokens, grants).
    async fn delete_application(
        &self,
        application_id: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Whether any app lists `origin` among its allowed origins.
    async fn origin_allowed(&self, origin: &str) -> Result<bool, StoreError>;
}

/// What people grant apps, and the codes and tokens issued on it.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// The scopes the user has granted the app, if any.
    async fn granted_scopes(
        &self,
        user_id: i64,
        application_id: i64,
    ) -> Result<Option<ScopeSet>, StoreError>;
    /// Adds `scopes` to what the user has granted the app.
    async fn save_grant(
        &self,
        user_id: i64,
        application_id: i64,
        scopes: ScopeSet,
        now: i64,
        event: Option<&Event>,
    ) -> Result<(), StoreError>;

    /// The apps the user has granted, newest grant first, with when each
    /// last received a token for the user (while any such token is kept).
    async fn user_grants(&self, user_id: i64) -> Result<Vec<GrantRecord>, StoreError>;
    /// Withdraws a grant: removes it and every code, device code and token
    /// the app holds for the user, atomically. False if there was nothing.
    async fn revoke_grant(
        &self,
        user_id: i64,
        application_id: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;

    async fn create_code(&self, code: &CodeRecord) -> Result<(), StoreError>;
    async fn code(&self, digest: &SecretDigest) -> Result<Option<CodeRecord>, StoreError>;
    /// Marks the code used and stores `tokens`, atomically: of concurrent
    /// calls for one code exactly one gets `Claimed`. A call that finds the
    /// code used revokes the code's family (the tokens the first
    /// redemption issued), records a [`crate::audit::EventKind::TokenReused`]
    /// event, and gets `Reused`.
    async fn redeem_code(
        &self,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError>;

    /// Stores tokens from a grant that consumes nothing (client
    /// credentials, password).
    async fn insert_tokens(&self, tokens: &IssuedTokens) -> Result<(), StoreError>;
    async fn refresh_token(&self, digest: &SecretDigest)
        -> Result<Option<TokenLookup>, StoreError>;
    /// Marks the refresh token rotated and stores its successors,
    /// atomically; finding it already rotated revokes its family and
    /// records a [`crate::audit::EventKind::TokenReused`] event.
    async fn rotate_refresh_token(
        &self,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError>;
    async fn access_token(&self, digest: &SecretDigest)
        -> Result<Option<AccessLookup>, StoreError>;

    /// Removes one access token held by the app; true if it existed.
    async fn revoke_access_token(
        &self,
        digest: &SecretDigest,
        application_id: i64,
    ) -> Result<bool, StoreError>;
    /// Removes every access and refresh token of a family.
    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError>;
    /// Removes every token of a family because one of its single-use codes
    /// or tokens was presented again, and records a
    /// [`crate::audit::EventKind::TokenReused`] event in the same
    /// transaction.
    async fn revoke_reused_family(&self, family: &str, reuse: &Reuse) -> Result<u64, StoreError>;

    /// Removes expired tokens, codes and device authorizations (and rotated
    /// refresh tokens past their expiry); returns how many rows went.
    async fn delete_expired_tokens(&self, now: i64) -> Result<u64, StoreError>;
}

/// Device authorizations (RFC 8628).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a new device authorization; false when its user code is
    /// already taken (the caller draws another).
    async fn create_device_code(&self, record: &DeviceRecord) -> Result<bool, StoreError>;
    /// The device authorization with this user code, whatever its status.
    async fn device_code_by_user_code(
        &self,
        user_code_digest: &SecretDigest,
    ) -> Result<Option<DeviceRecord>, StoreError>;
    /// Records the person's decision: `Some((user_id, auth_time))` approves,
    /// None denies. Only a pending, unexpired authorization can be decided,
    /// once: false otherwise.
    async fn decide_device_code(
        &self,
        user_code_digest: &SecretDigest,
        approved_by: Option<(i64, i64)>,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Records a poll by the device, atomically: when the previous poll is
    /// less than the interval ago, the interval grows by 5 seconds.
    async fn poll_device_code(
        &self,
        device_digest: &SecretDigest,
        now: i64,
    ) -> Result<Option<DevicePoll>, StoreError>;
    /// Marks an approved device authorization redeemed and stores `tokens`,
    /// atomically, like [`OAuthStore::redeem_code`].
    async fn redeem_device_code(
        &self,
        device_digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError>;
}

/// What a one-time link sent by mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify_email",
            LinkPurpose::ResetPassword => "reset_password",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verify_email" => Some(LinkPurpose::VerifyEmail),
            "reset_password" => Some(LinkPurpose::ResetPassword),
            _ => None,
        }
    }
}

/// A one-time link as stored: the digest of its secret, never the secret.
#[derive(Debug, Clone)]
pub struct AccountLink {
    pub digest: SecretDigest,
    pub user_id: i64,
    pub purpose: LinkPurpose,
    /// The address the link was sent to; for verification, the address it
    /// verifies (which may not be the account's yet).
    pub email: String,
    /// For a reset: a digest of the password hash when it was sent (the
    /// link dies when the password changes by any path). Empty otherwise.
    pub stamp: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A message in the queue, claimed by a sender.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub mail: OutgoingMail,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What following a verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The account's address is now `email`, verified.
    Done { email: String },
    /// The link was used, expired or never existed.
    Gone,
    /// Another account took the address meanwhile.
    Taken,
}

/// One-time links and the mail queue.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Stores `link` (if any) and queues `mail`, with `event` (if any), in
    /// one transaction: a link is never stored without its message.
    async fn queue_mail(
        &self,
        link: Option<&AccountLink>,
        mail: &OutgoingMail,
        now: i64,
        event: Option<&Event>,
    ) -> Result<(), StoreError>;
    /// The link with this digest, if it exists and has not expired.
    async fn account_link(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> Result<Option<AccountLink>, StoreError>;
    /// Uses a reset link: in one transaction, deletes it (and the account's
    /// other reset links), replaces the password hash `old` with `hash`,
    /// ends every session and revokes every token, code and device
    /// authorization of the account, and records `event`. False, and
    /// nothing changed, when the link was already gone (used by a
    /// concurrent request, or expired) or the password is no longer `old`
    /// (changed meanwhile).
    async fn reset_password(
        &self,
        link: &AccountLink,
        old: &crate::password::PasswordHash,
        hash: &crate::password::PasswordHash,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Uses a verification link: deletes it and makes its address the
    /// account's verified address, with `event`, in one transaction.
    /// `rename`: the username follows the address (email-only accounts).
    async fn verify_email(
        &self,
        link: &AccountLink,
        rename: bool,
        now: i64,
        event: &Event,
    ) -> Result<Verified, StoreError>;
    /// The address of the account's newest working verification link.
    async fn pending_verification(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Claims up to `limit` messages due at `now` for one sender: each is
    /// hidden from other senders until `lease_until` and its attempt is
    /// counted.
    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// The message was sent: it leaves the queue.
    async fn mail_sent(&self, id: i64) -> Result<(), StoreError>;
    /// Sending failed: tried again at `retry_at`, or given up (removed)
    /// when None.
    async fn mail_failed(
        &self,
        id: i64,
        retry_at: Option<i64>,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Removes links past their expiry; returns how many.
    async fn delete_expired_links(&self, now: i64) -> Result<u64, StoreError>;
}
