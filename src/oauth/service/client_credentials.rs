//! The client-credentials grant (RFC 6749 §4.4): tokens without a user.

use super::token::Grant;
use super::{new_family, OAuthService};
use crate::oauth::client::Application;
use crate::oauth::token::TokenResponse;
use crate::oauth::{ErrorCode, OAuthError, Scope, ScopeSet};

impl OAuthService {
    /// Scopes a token without a user may hold.
    const MACHINE_SCOPES: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Introspection];

    pub(super) async fn client_credentials(
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
}
