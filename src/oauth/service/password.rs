//! The resource-owner password grant (RFC 6749 §4.3), for trusted apps.

use super::token::Grant;
use super::{new_family, OAuthService};
use crate::account::SignInError;
use crate::audit::Origin;
use crate::oauth::authorize;
use crate::oauth::client::Application;
use crate::oauth::token::TokenResponse;
use crate::oauth::{ErrorCode, OAuthError, ScopeSet};

impl OAuthService {
    pub(super) async fn password(
        &self,
        app: &Application,
        username: &str,
        password: &str,
        scope: Option<ScopeSet>,
        origin: &Origin,
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
        // A confidential app authenticated: it answers for the people it
        // signs in, so they are limited per account, not as one crowd at
        // its address (a resource server forwarding many sign-ins).
        let signed_in = if app.is_public() {
            self.accounts.sign_in(username, password, origin, now).await
        } else {
            self.accounts
                .sign_in_through_client(username, password, &app.client_id, origin, now)
                .await
        };
        let user = match signed_in {
            Ok(u) => u,
            Err(SignInError::InvalidCredentials) => {
                return Err(OAuthError::invalid_grant("invalid username or password"))
            }
            Err(SignInError::Throttled(wait)) => {
                return Err(OAuthError::invalid_grant(format!(
                    "too many attempts; try again in {wait} s"
                )))
            }
            Err(SignInError::Unverified) => {
                return Err(OAuthError::invalid_grant(
                    "the account's email address is not verified yet: follow the link \
                     in the verification email first",
                ))
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
        // Not an event of its own: the sign-in's names the app.
        let saved = self
            .store
            .save_grant(user.id, app.id, scopes, now, None)
            .await;
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
}
