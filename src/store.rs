//! What Gatehouse needs from a database, as traits. The server implements
//! them once per backend (SQLite now); use cases only see these.

use async_trait::async_trait;

use crate::password::PasswordHash;
use crate::secret::SecretDigest;
use crate::throttle::FailureCount;

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
    async fn create_user(&self, new: NewUser<'_>) -> Result<User, UniqueError>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    /// Looks up by username, or by email when nothing has that username
    /// (both case-insensitively).
    async fn user_by_login(&self, username_or_email: &str) -> Result<Option<User>, StoreError>;
    async fn update_profile(&self, id: i64, update: ProfileUpdate<'_>) -> Result<(), UniqueError>;
    async fn set_password(&self, id: i64, hash: &PasswordHash) -> Result<(), StoreError>;
    async fn record_login(&self, id: i64, now: i64) -> Result<(), StoreError>;
    /// Removes the account and everything that hangs off it (sessions).
    async fn delete_user(&self, id: i64) -> Result<(), StoreError>;
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
    /// Signs the user out everywhere except the session `keep`.
    async fn delete_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&SecretDigest>,
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
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;
    /// Takes one counted failure back (an attempt counted in advance that
    /// turned out to succeed).
    async fn forgive_failure(&self, key: &str) -> Result<(), StoreError>;
    /// Removes counters whose last failure is older than `before`.
    async fn delete_stale_failures(&self, before: i64) -> Result<u64, StoreError>;
}

/// Everything the account portal needs.
pub trait Store: AccountStore + SessionStore + ThrottleStore {}
impl<T: AccountStore + SessionStore + ThrottleStore> Store for T {}
