//! The authorization-code grant (RFC 6749 §4.1, with PKCE, RFC 7636).

use super::oidc::IdTokenSubject;
use super::token::Grant;
use super::{internal, OAuthService};
use crate::oauth::client::Application;
use crate::oauth::token::TokenResponse;
use crate::oauth::{pkce, OAuthError, Scope};
use crate::secret::SecretDigest;
use crate::store::{Claim, Reuse};

impl OAuthService {
    pub(super) async fn redeem_code(
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
            let reuse = Reuse {
                what: "authorization code",
                user_id: Some(stored.user_id),
                application_id: app.id,
                at: now,
            };
            self.store
                .revoke_reused_family(&stored.family, &reuse)
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
}
