//! The token endpoint: client authentication, the dispatch to each grant,
//! and minting the tokens every grant hands out.

use super::{internal, OAuthService};
use crate::audit::Origin;
use crate::oauth::client::{Application, GrantType};
use crate::oauth::params::Params;
use crate::oauth::token::{client_auth, AuthorizationHeader, TokenRequest, TokenResponse};
use crate::oauth::{ErrorCode, OAuthError, ScopeSet};
use crate::secret::{Secret, SecretDigest};
use crate::store::{IssuedTokens, StoreError, TokenRecord};

/// What a grant decided to hand out.
pub(super) struct Grant {
    pub(super) user_id: Option<i64>,
    pub(super) access_scopes: ScopeSet,
    /// None: no refresh token.
    pub(super) refresh_scopes: Option<ScopeSet>,
    pub(super) family: String,
    pub(super) auth_time: Option<i64>,
}

impl OAuthService {
    /// The token endpoint.
    pub async fn token(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
        origin: &Origin,
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
        let grant = request.grant_type();
        let issued = match request {
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
                self.password(&app, &username, &password, scope, origin, now)
                    .await
            }
            TokenRequest::DeviceCode { device_code } => {
                self.device_token(&app, &device_code, now).await
            }
        };
        if issued.is_ok() {
            self.accounts.tally().issued(grant);
        }
        issued
    }

    pub(super) fn issue(
        &self,
        app: &Application,
        grant: Grant,
        now: i64,
    ) -> (IssuedTokens, TokenResponse) {
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
    pub(super) async fn stored<T>(
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
    pub(super) fn refresh_scopes(app: &Application, scopes: ScopeSet) -> Option<ScopeSet> {
        app.allows(GrantType::RefreshToken).then_some(scopes)
    }
}
