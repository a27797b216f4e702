//! What arrives at the token, revocation and introspection endpoints:
//! client authentication (RFC 6749 §2.3) and grant requests (§4, §6).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

pub use super::header::AuthorizationHeader;

use super::client::GrantType;
use super::params::Params;
use super::{OAuthError, ScopeSet};

/// How the client said who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (client_secret_basic).
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post { client_id: String, secret: String },
    /// Only `client_id` (public clients, method `none`).
    None { client_id: String },
}

impl ClientAuth {
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::Basic { client_id, .. }
            | ClientAuth::Post { client_id, .. }
            | ClientAuth::None { client_id } => client_id,
        }
    }
}

/// Works out the client's authentication from the header and the body.
/// Using two methods at once is `invalid_request` (RFC 6749 §2.3);
/// malformed Basic credentials are `invalid_client`.
pub fn client_auth(
    header: Option<&AuthorizationHeader<'_>>,
    params: &Params,
) -> Result<Option<ClientAuth>, OAuthError> {
    let body_id = params.get("client_id")?;
    let body_secret = params.get("client_secret")?;
    if let Some(AuthorizationHeader::Basic(encoded)) = header {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        let (client_id, secret) = decode_basic(encoded)?;
        if body_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the one in the Authorization header",
            ));
        }
        return Ok(Some(ClientAuth::Basic { client_id, secret }));
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(Some(ClientAuth::Post {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
        })),
        (Some(id), None) => Ok(Some(ClientAuth::None {
            client_id: id.to_owned(),
        })),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "client_secret was sent without client_id",
        )),
        (None, None) => Ok(None),
    }
}

/// RFC 6749 §2.3.1: base64 of `id:secret`, each form-urlencoded first.
fn decode_basic(encoded: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let bytes = STANDARD.decode(encoded.as_bytes()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let id = form_decode(id).ok_or_else(bad)?;
    let secret = form_decode(secret).ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, secret))
}

fn form_decode(s: &str) -> Option<String> {
    if !s.contains(['+', '%']) {
        return Some(s.to_owned());
    }
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// A token request, by grant type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<ScopeSet>,
    },
    ClientCredentials {
        scope: Option<ScopeSet>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<ScopeSet>,
    },
    DeviceCode {
        device_code: String,
    },
}

impl TokenRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            TokenRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            TokenRequest::RefreshToken { .. } => GrantType::RefreshToken,
            TokenRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            TokenRequest::Password { .. } => GrantType::Password,
            TokenRequest::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }

    pub fn parse(params: &Params) -> Result<TokenRequest, OAuthError> {
        let grant_type = params.require("grant_type")?;
        let scope = || -> Result<Option<ScopeSet>, OAuthError> {
            params.get("scope")?.map(ScopeSet::parse).transpose()
        };
        let owned =
            |name: &str| -> Result<String, OAuthError> { params.require(name).map(str::to_owned) };
        let optional = |name: &str| -> Result<Option<String>, OAuthError> {
            Ok(params.get(name)?.map(str::to_owned))
        };
        match GrantType::parse(grant_type) {
            Some(g) if g.wire_name() != grant_type => Err(unsupported(grant_type)),
            Some(GrantType::AuthorizationCode) => Ok(TokenRequest::AuthorizationCode {
                code: owned("code")?,
                redirect_uri: optional("redirect_uri")?,
                code_verifier: optional("code_verifier")?,
            }),
            Some(GrantType::RefreshToken) => Ok(TokenRequest::RefreshToken {
                refresh_token: owned("refresh_token")?,
                scope: scope()?,
            }),
            Some(GrantType::ClientCredentials) => {
                Ok(TokenRequest::ClientCredentials { scope: scope()? })
            }
            Some(GrantType::Password) => Ok(TokenRequest::Password {
                username: owned("username")?,
                password: params.get("password")?.map(str::to_owned).ok_or_else(|| {
                    OAuthError::invalid_request("the password parameter is missing")
                })?,
                scope: scope()?,
            }),
            Some(GrantType::DeviceCode) => Ok(TokenRequest::DeviceCode {
                device_code: owned("device_code")?,
            }),
            None => Err(unsupported(grant_type)),
        }
    }
}

fn unsupported(grant_type: &str) -> OAuthError {
    let shown: String = grant_type
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    OAuthError::new(
        super::ErrorCode::UnsupportedGrantType,
        format!("grant_type {shown} is not supported"),
    )
}

/// The JSON a successful token request answers with (RFC 6749 §5.1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ErrorCode;

    fn params(s: &str) -> Params {
        Params::parse(s.as_bytes()).unwrap()
    }

    fn basic(id: &str, secret: &str) -> String {
        STANDARD.encode(format!("{id}:{secret}"))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let enc = basic("my%3Aapp", "s%2Bcr+t");
        let h = AuthorizationHeader::Basic(&enc);
        let auth = client_auth(Some(&h), &params("")).unwrap().unwrap();
        assert_eq!(
            auth,
            ClientAuth::Basic {
                client_id: "my:app".into(),
                secret: "s+cr t".into()
            }
        );
        assert_eq!(
            AuthorizationHeader::parse("bAsIc  abc"),
            AuthorizationHeader::Basic("abc")
        );
        assert_eq!(
            AuthorizationHeader::parse("Bearer t"),
            AuthorizationHeader::Bearer("t")
        );
        assert_eq!(
            AuthorizationHeader::parse("Digest x"),
            AuthorizationHeader::Other
        );
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for enc in [
            "%%%",
            &STANDARD.encode("no-colon"),
            &STANDARD.encode(":secret"),
            &STANDARD.encode([0xff, b':', b'x']),
        ] {
            let h = AuthorizationHeader::Basic(enc);
            assert_eq!(
                client_auth(Some(&h), &params("")).unwrap_err().code,
                ErrorCode::InvalidClient,
                "{enc}"
            );
        }
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let enc = basic("a", "b");
        let h = AuthorizationHeader::Basic(&enc);
        assert_eq!(
            client_auth(Some(&h), &params("client_id=a&client_secret=b"))
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
        assert!(client_auth(Some(&h), &params("client_id=other")).is_err());
        // The same client_id in the body is harmless.
        assert!(client_auth(Some(&h), &params("client_id=a")).is_ok());
    }

    #[test]
    fn body_methods() {
        assert_eq!(
            client_auth(None, &params("client_id=a&client_secret=b")).unwrap(),
            Some(ClientAuth::Post {
                client_id: "a".into(),
                secret: "b".into()
            })
        );
        assert_eq!(
            client_auth(None, &params("client_id=a")).unwrap(),
            Some(ClientAuth::None {
                client_id: "a".into()
            })
        );
        assert_eq!(client_auth(None, &params("")).unwrap(), None);
        assert!(client_auth(None, &params("client_secret=b")).is_err());
    }

    #[test]
    fn grant_requests_parse() {
        assert_eq!(
            TokenRequest::parse(&params("grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier=v")).unwrap(),
            TokenRequest::AuthorizationCode {
                code: "c".into(),
                redirect_uri: Some("https://a.example/cb".into()),
                code_verifier: Some("v".into())
            }
        );
        assert_eq!(
            TokenRequest::parse(&params("grant_type=client_credentials&scope=read")).unwrap(),
            TokenRequest::ClientCredentials {
                scope: Some(ScopeSet::parse("read").unwrap())
            }
        );
        assert_eq!(
            TokenRequest::parse(&params(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d"
            ))
            .unwrap()
            .grant_type(),
            GrantType::DeviceCode
        );
    }

    #[test]
    fn bad_grant_requests() {
        let code = |s: &str| TokenRequest::parse(&params(s)).unwrap_err().code;
        assert_eq!(code(""), ErrorCode::InvalidRequest);
        assert_eq!(code("grant_type=implicit"), ErrorCode::UnsupportedGrantType);
        // The short name is not a wire name for the device grant.
        assert_eq!(
            code("grant_type=device_code&device_code=x"),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            code("grant_type=authorization_code"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(code("grant_type=refresh_token"), ErrorCode::InvalidRequest);
        assert_eq!(
            code("grant_type=password&username=u"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code("grant_type=client_credentials&scope=bogus"),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code("grant_type=client_credentials&grant_type=password"),
            ErrorCode::InvalidRequest
        );
    }
}
