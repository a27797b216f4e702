//! The authorization endpoint's decisions: validating a request, asking
//! for consent or not, approving with a code, refusing; and the grants a
//! person can see and withdraw.

use std::sync::Arc;

use super::{new_family, OAuthService};
use crate::audit::{Event, EventKind, Origin};
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeError};
use crate::oauth::client::Application;
use crate::oauth::params::Params;
use crate::oauth::{redirect, ErrorCode, OAuthError};
use crate::secret::Secret;
use crate::store::{CodeRecord, GrantRecord, StoreError};

impl OAuthService {
    /// The apps a user has granted.
    pub async fn user_grants(&self, user_id: i64) -> Result<Vec<GrantRecord>, StoreError> {
        self.store.user_grants(user_id).await
    }

    /// Withdraws a user's grant to an app and everything the app holds
    /// for the user.
    pub async fn revoke_grant(
        &self,
        user_id: i64,
        application_id: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        self.store
            .revoke_grant(user_id, application_id, event)
            .await
    }

    /// Validates an authorization request: finds the app, then checks the
    /// request against it.
    pub async fn authorization_request(
        &self,
        params: &Params,
    ) -> Result<(Arc<Application>, AuthorizationRequest), AuthorizeError> {
        let client_id = authorize::client_id(params)?;
        let app = self.application(client_id).await.map_err(|e| {
            tracing::error!(error = %e, "loading the application failed");
            AuthorizeError::Page(
                "Gatehouse could not load this application. Please try again in a moment.".into(),
            )
        })?;
        let request = authorize::validate(app.as_deref(), params)?;
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
        user: (i64, &str),
        app: &Application,
        request: &AuthorizationRequest,
        auth_time: i64,
        origin: &Origin,
        now: i64,
    ) -> Result<String, StoreError> {
        let (user_id, username) = user;
        let event = Event::new(EventKind::ConsentGiven, now, origin)
            .user(user_id, username)
            .client(&app.client_id)
            .detail(format!("scopes: {}", request.scopes));
        self.store
            .save_grant(user_id, app.id, request.scopes, now, Some(&event))
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
}
