//! OpenID Connect on top of the grants: id_tokens and userinfo.

use super::{internal, OAuthService};
use crate::oauth::client::Application;
use crate::oauth::{OAuthError, Scope, ScopeSet};
use crate::oidc::id_token;

/// Whom an id_token is about, and from which authorization.
pub(super) struct IdTokenSubject<'a> {
    pub(super) user_id: i64,
    pub(super) scopes: ScopeSet,
    pub(super) nonce: Option<&'a str>,
    pub(super) auth_time: i64,
}

impl OAuthService {
    /// The id_token for a code redeemed with scope `openid`.
    pub(super) async fn id_token(
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
        let user_id = found.user_id.ok_or_else(invalid)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await
            .map_err(internal)?
            .filter(|u| u.is_active)
            .ok_or_else(invalid)?;
        Ok(id_token::scope_claims(&user, found.scopes))
    }
}
