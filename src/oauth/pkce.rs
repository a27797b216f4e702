//! Proof Key for Code Exchange (RFC 7636).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::OAuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    S256,
    /// Only for apps explicitly configured to allow it.
    Plain,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::S256 => "S256",
            Method::Plain => "plain",
        }
    }
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "S256" => Some(Method::S256),
            "plain" => Some(Method::Plain),
            _ => None,
        }
    }
}

/// 43 to 128 characters from the unreserved set (RFC 7636 §4.1, §4.2).
fn well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the challenge sent to the authorization endpoint. A challenge
/// without a method means `plain` (RFC 7636 §4.3).
pub fn check_challenge(
    challenge: &str,
    method: Option<&str>,
    plain_allowed: bool,
) -> Result<Method, OAuthError> {
    let method = match method {
        None => Method::Plain,
        Some(m) => Method::parse(m)
            .ok_or_else(|| OAuthError::invalid_request("code_challenge_method must be S256"))?,
    };
    if method == Method::Plain && !plain_allowed {
        return Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        ));
    }
    if !well_formed(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    if method == Method::S256 && challenge.len() != 43 {
        return Err(OAuthError::invalid_request(
            "an S256 code_challenge is the 43-character base64url SHA-256 of the verifier",
        ));
    }
    Ok(method)
}

/// Checks a verifier at the token endpoint against the stored challenge.
#[cfg(feature = "server")]
pub fn verify(challenge: &str, method: Method, verifier: &str) -> Result<(), OAuthError> {
    if !well_formed(verifier) {
        return Err(OAuthError::invalid_grant(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    let derived = match method {
        Method::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        Method::Plain => verifier.to_owned(),
    };
    if crate::secret::constant_time_eq(&derived, challenge) {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ))
    }
}

/// The S256 challenge of `verifier` (for tests and the portal's try-it panel).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier (43 characters, 256 bits) from 32 random bytes: how the
/// Try-it panel makes one in the browser.
pub fn verifier(random: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;
    use crate::oauth::ErrorCode;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn verifiers_from_random_bytes_are_well_formed() {
        let v = verifier(&[0xfb; 32]);
        assert_eq!(v.len(), 43);
        assert!(well_formed(&v));
        assert!(check_challenge(&s256(&v), Some("S256"), false).is_ok());
    }

    #[test]
    fn rfc_example_verifies() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert_eq!(
            check_challenge(CHALLENGE, Some("S256"), false),
            Ok(Method::S256)
        );
        assert!(verify(CHALLENGE, Method::S256, VERIFIER).is_ok());
    }

    #[test]
    fn wrong_or_malformed_verifiers_are_invalid_grant() {
        let other = "a".repeat(43);
        assert_eq!(
            verify(CHALLENGE, Method::S256, &other).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert!(verify(CHALLENGE, Method::S256, "short").is_err());
        assert!(verify(CHALLENGE, Method::S256, &"a".repeat(129)).is_err());
        assert!(verify(CHALLENGE, Method::S256, &format!("{}!", &VERIFIER[1..])).is_err());
    }

    #[test]
    fn plain_only_when_allowed() {
        let v = "b".repeat(50);
        assert!(check_challenge(&v, None, false).is_err());
        assert!(check_challenge(&v, Some("plain"), false).is_err());
        assert_eq!(check_challenge(&v, None, true), Ok(Method::Plain));
        assert!(verify(&v, Method::Plain, &v).is_ok());
    }

    #[test]
    fn malformed_challenges_are_invalid_request() {
        for (c, m) in [
            ("short", Some("S256")),
            (&*"a".repeat(44), Some("S256")),
            (CHALLENGE, Some("S512")),
            (CHALLENGE, Some("s256")),
        ] {
            assert_eq!(
                check_challenge(c, m, true).unwrap_err().code,
                ErrorCode::InvalidRequest,
                "{c} {m:?}"
            );
        }
    }
}
