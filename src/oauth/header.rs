//! The `Authorization` header and the RFC 6750 `WWW-Authenticate`
//! challenge: read and written the same way by the server and by resource
//! servers built with the `gatehouse-resource` kit.

use super::{ErrorCode, OAuthError, Scope};

/// What the `Authorization` header holds, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationHeader<'a> {
    Basic(&'a str),
    Bearer(&'a str),
    Other,
}

impl<'a> AuthorizationHeader<'a> {
    /// Splits the header into scheme (case-insensitive) and credentials.
    pub fn parse(value: &'a str) -> AuthorizationHeader<'a> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            AuthorizationHeader::Basic(rest)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            AuthorizationHeader::Bearer(rest)
        } else {
            AuthorizationHeader::Other
        }
    }
}

/// The `WWW-Authenticate` value of a refused request to a protected
/// resource (RFC 6750 §3). Without a token the challenge names only the
/// realm (§3.1: no error code when no credentials were sent); otherwise it
/// carries the error, its description (quotes, backslashes and control
/// characters removed, so the header stays well-formed) and, for
/// `insufficient_scope`, the scope needed.
pub fn bearer_challenge(realm: &str, error: Option<&OAuthError>, needs: Option<Scope>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect()
    };
    let mut challenge = format!("Bearer realm=\"{}\"", clean(realm));
    if let Some(e) = error {
        challenge.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            e.code,
            clean(&e.description)
        ));
        if let (ErrorCode::InsufficientScope, Some(scope)) = (e.code, needs) {
            challenge.push_str(&format!(", scope=\"{}\"", scope.as_str()));
        }
    }
    challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_case_insensitively() {
        assert_eq!(
            AuthorizationHeader::parse("bearer  abc "),
            AuthorizationHeader::Bearer("abc")
        );
        assert_eq!(
            AuthorizationHeader::parse("Basic eA=="),
            AuthorizationHeader::Basic("eA==")
        );
        assert_eq!(
            AuthorizationHeader::parse("Digest x"),
            AuthorizationHeader::Other
        );
    }

    #[test]
    fn challenges() {
        assert_eq!(bearer_challenge("api", None, None), "Bearer realm=\"api\"");
        let e = OAuthError::new(ErrorCode::InsufficientScope, "needs \"write\"");
        assert_eq!(
            bearer_challenge("api", Some(&e), Some(Scope::Write)),
            "Bearer realm=\"api\", error=\"insufficient_scope\", \
             error_description=\"needs ?write?\", scope=\"write\""
        );
        let e = OAuthError::invalid_token("gone");
        assert_eq!(
            bearer_challenge("a\"b", Some(&e), Some(Scope::Write)),
            "Bearer realm=\"ab\", error=\"invalid_token\", error_description=\"gone\""
        );
    }
}
