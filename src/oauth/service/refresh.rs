//! The refresh-token grant with rotation and reuse detection (RFC 6749 §6,
//! RFC 9700 §4.14).

use super::oidc::IdTokenSubject;
use super::token::Grant;
use super::{internal, OAuthService};
use crate::oauth::client::Application;
use crate::oauth::token::TokenResponse;
use crate::oauth::{OAuthError, Scope, ScopeSet};
use crate::secret::SecretDigest;
use crate::store::{Claim, Reuse};

impl OAuthService {
    pub(super) async fn refresh(
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
            let reuse = Reuse {
                what: "refresh token",
                user_id: record.user_id,
                application_id: app.id,
                at: now,
            };
            self.store
                .revoke_reused_family(&record.family, &reuse)
                .await
                .map_err(internal)?;
            tracing::warn!(client_id = %app.client_id, "rotated refresh token reused; its family was revoked");
            self.accounts.tally().refresh_reused();
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
}
