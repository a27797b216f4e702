//! Revocation (RFC 7009), introspection (RFC 7662) and bearer checks for
//! protected resources (RFC 6750).

use super::{internal, OAuthService};
use crate::oauth::introspection::Introspection;
use crate::oauth::params::Params;
use crate::oauth::token::{client_auth, AuthorizationHeader};
use crate::oauth::{ErrorCode, OAuthError, Scope};
use crate::secret::SecretDigest;
use crate::store::AccessLookup;

/// Which kind of token a revocation or introspection names first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Access,
    Refresh,
}

fn hint(params: &Params) -> Result<Hint, OAuthError> {
    match params.get("token_type_hint")? {
        None | Some("access_token") => Ok(Hint::Access),
        Some("refresh_token") => Ok(Hint::Refresh),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedTokenType,
            "token_type_hint must be access_token or refresh_token",
        )),
    }
}

impl OAuthService {
    /// RFC 7009. Unknown tokens, and tokens of other clients, are answered
    /// like revoked ones: the caller learns nothing.
    pub async fn revoke(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
    ) -> Result<(), OAuthError> {
        let auth = client_auth(authorization, params)?;
        let app = self.authenticate_client(auth.as_ref()).await?;
        let token = params.require("token")?;
        let digest = SecretDigest::of(token);
        let order = match hint(params)? {
            Hint::Access => [Hint::Access, Hint::Refresh],
            Hint::Refresh => [Hint::Refresh, Hint::Access],
        };
        for kind in order {
            match kind {
                Hint::Access => {
                    if self
                        .store
                        .revoke_access_token(&digest, app.id)
                        .await
                        .map_err(internal)?
                    {
                        return Ok(());
                    }
                }
                Hint::Refresh => {
                    if let Some(found) =
                        self.store.refresh_token(&digest).await.map_err(internal)?
                    {
                        if found.record.application_id == app.id {
                            // With the refresh token goes everything of its grant
                            // (RFC 7009 §2.1).
                            self.store
                                .revoke_family(&found.record.family)
                                .await
                                .map_err(internal)?;
                        }
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// RFC 7662. The caller is a confidential client, or presents a bearer
    /// token holding the `introspection` scope.
    pub async fn introspect(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
        now: i64,
    ) -> Result<Introspection, OAuthError> {
        let answer = self.introspect_for(authorization, params, now).await;
        if let Ok(a) = &answer {
            self.accounts.tally().introspected(a.active);
        }
        answer
    }

    async fn introspect_for(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
        now: i64,
    ) -> Result<Introspection, OAuthError> {
        // RFC 7662 §4: an app sees its own tokens; other apps' tokens only
        // with the `introspection` permission staff granted it (as an
        // allowed scope, or a bearer token holding that scope). Any other
        // token is simply not active for this caller.
        let only_app = match authorization {
            Some(AuthorizationHeader::Bearer(token)) => {
                self.bearer(token, Scope::Introspection, now).await?;
                None
            }
            _ => {
                let auth = client_auth(authorization, params)?;
                let app = self.authenticate_client(auth.as_ref()).await?;
                if app.is_public() {
                    return Err(OAuthError::invalid_client(
                        "public clients cannot introspect tokens",
                    ));
                }
                (!app.scopes.contains(Scope::Introspection)).then_some(app.id)
            }
        };
        let token = params.require("token")?;
        let digest = SecretDigest::of(token);
        let order = match hint(params)? {
            Hint::Access => [Hint::Access, Hint::Refresh],
            Hint::Refresh => [Hint::Refresh, Hint::Access],
        };
        for kind in order {
            let found = match kind {
                Hint::Access => self
                    .store
                    .access_token(&digest)
                    .await
                    .map(|found| found.map(|a| (a, false))),
                Hint::Refresh => self.store.refresh_token(&digest).await.map(|found| {
                    found.map(|t| {
                        let rotated = t.rotated;
                        (t.holder(), rotated)
                    })
                }),
            }
            .map_err(internal)?;
            if let Some((found, rotated)) = found {
                let foreign = only_app.is_some_and(|id| id != found.application_id);
                if foreign || rotated || found.expires_at <= now {
                    return Ok(Introspection::default());
                }
                return Ok(describe(found, kind));
            }
        }
        Ok(Introspection::default())
    }

    /// Checks a bearer token for a protected resource (RFC 6750).
    pub async fn bearer(
        &self,
        token: &str,
        needs: Scope,
        now: i64,
    ) -> Result<AccessLookup, OAuthError> {
        let invalid =
            || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        if token.is_empty() || token.len() > 512 {
            return Err(invalid());
        }
        let found = self
            .store
            .access_token(&SecretDigest::of(token))
            .await
            .map_err(internal)?
            .ok_or_else(invalid)?;
        if found.expires_at <= now {
            return Err(invalid());
        }
        if !found.scopes.contains(needs) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                format!("this requires the {} scope", needs.as_str()),
            ));
        }
        Ok(found)
    }
}

fn describe(found: AccessLookup, kind: Hint) -> Introspection {
    Introspection {
        active: true,
        scope: Some(found.scopes.to_string()),
        client_id: Some(found.client_id),
        username: found.username,
        token_type: Some(std::borrow::Cow::Borrowed(match kind {
            Hint::Access => "Bearer",
            Hint::Refresh => "refresh_token",
        })),
        exp: Some(found.expires_at),
        iat: Some(found.created_at),
        sub: found.user_id.map(|id| id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_type_hints() {
        let p = |q: &str| Params::parse(q.as_bytes()).unwrap();
        assert_eq!(hint(&p("")).unwrap(), Hint::Access);
        assert_eq!(
            hint(&p("token_type_hint=refresh_token")).unwrap(),
            Hint::Refresh
        );
        assert_eq!(
            hint(&p("token_type_hint=id_token")).unwrap_err().code,
            ErrorCode::UnsupportedTokenType
        );
    }
}
