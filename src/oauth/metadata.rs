//! RFC 8414 authorization server metadata, which is also the OpenID
//! Connect discovery document: what a client needs to find
//! every endpoint and know what Gatehouse supports. Built once at start
//! from the public URL (the issuer) and served from memory.

use serde::Serialize;

use super::{paths, Scope};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub device_authorization_endpoint: String,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 9207: authorization responses carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
}

/// The metadata of the server reachable at `public_url`.
pub fn metadata(public_url: &str) -> Metadata {
    let issuer = public_url.trim_end_matches('/').to_owned();
    let at = |path: &str| format!("{issuer}{path}");
    let client_auth = vec!["client_secret_basic", "client_secret_post", "none"];
    Metadata {
        authorization_endpoint: at(paths::AUTHORIZE),
        token_endpoint: at(paths::TOKEN),
        revocation_endpoint: at(paths::REVOKE),
        introspection_endpoint: at(paths::INTROSPECT),
        userinfo_endpoint: at(paths::USERINFO),
        jwks_uri: at(paths::JWKS),
        end_session_endpoint: at(paths::END_SESSION),
        device_authorization_endpoint: at(paths::DEVICE_AUTHORIZATION),
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: vec!["RS256", "ES256", "EdDSA"],
        claims_supported: vec![
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "azp",
            "preferred_username",
            "name",
            "given_name",
            "family_name",
            "email",
            "email_verified",
        ],
        issuer,
        scopes_supported: Scope::ALL.iter().map(|s| s.as_str()).collect(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        grant_types_supported: vec![
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        code_challenge_methods_supported: vec!["S256", "plain"],
        token_endpoint_auth_methods_supported: client_auth.clone(),
        revocation_endpoint_auth_methods_supported: client_auth,
        // Public clients cannot introspect; a bearer token with scope
        // `introspection` can.
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "bearer",
        ],
        authorization_response_iss_parameter_supported: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hang_off_the_issuer() {
        let m = metadata("https://id.example.org/");
        assert_eq!(m.issuer, "https://id.example.org");
        assert_eq!(m.token_endpoint, "https://id.example.org/o/token/");
        assert_eq!(
            m.authorization_endpoint,
            "https://id.example.org/o/authorize/"
        );
        assert!(m.code_challenge_methods_supported.contains(&"S256"));
        assert!(m.scopes_supported.contains(&"introspection"));
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["response_types_supported"][0], "code");
    }
}
