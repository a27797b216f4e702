//! Where token checks come from: introspection today, local JWT validation
//! tomorrow, each behind one trait.

use std::sync::Arc;

use gatehouse::oauth::ScopeSet;

/// What a resource server learns about an active access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The account the token acts for (`sub`); none for an app acting for
    /// itself (`client_credentials`).
    pub subject: Option<String>,
    pub username: Option<String>,
    /// The app the token was issued to.
    pub client_id: Option<String>,
    pub scopes: ScopeSet,
    /// Unix seconds; none if the authorization server did not say.
    pub expires_at: Option<i64>,
}

/// The outcome of checking one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Active(Arc<TokenInfo>),
    /// Unknown, expired, revoked, or not an access token.
    Inactive,
}

/// The token could not be checked: the authorization server is
/// unreachable, failed, or refused this resource server's credentials.
/// Requests then fail closed (503), never open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError(pub String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

/// Checks bearer tokens.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + 'static {
    async fn check(&self, token: &str) -> Result<Checked, SourceError>;
}

#[async_trait::async_trait]
impl<T: TokenSource + ?Sized> TokenSource for Arc<T> {
    async fn check(&self, token: &str) -> Result<Checked, SourceError> {
        (**self).check(token).await
    }
}
