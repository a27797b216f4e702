//! The OAuth error: a registered code (RFC 6749 §4.1.2.1, §5.2, RFC 6750
//! §3.1, RFC 7009 §2.2.1, RFC 8628 §3.5, OIDC Core §3.1.2.6) and a
//! human-readable description. The server maps it to status and JSON.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    UnsupportedTokenType,
    InvalidToken,
    InsufficientScope,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// The HTTP status of a JSON error response carrying this code.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    /// An error with a description for the client's developer. RFC 6749
    /// §5.2 allows only printable ASCII without `"` and `\\` there, so any
    /// other character (as in a quoted piece of the request) becomes `?`:
    /// the answer never echoes the input raw.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
        let description = if description.chars().all(allowed) {
            description
        } else {
            Cow::Owned(
                description
                    .chars()
                    .map(|c| if allowed(c) { c } else { '?' })
                    .collect(),
            )
        };
        Self { code, description }
    }
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }
    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }
    /// A failure on our side; the description never carries its cause.
    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    /// The JSON body of RFC 6749 §5.2.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.description.len());
        out.push_str("{\"error\":\"");
        out.push_str(self.code.as_str());
        out.push_str("\",\"error_description\":");
        push_json_string(&mut out, &self.description);
        out.push('}');
        out
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_hold_only_the_characters_rfc_6749_allows() {
        let e = OAuthError::invalid_scope("unknown scope: \"é\\\n\u{0}<");
        assert_eq!(e.description, "unknown scope: ?????<");
        assert!(e
            .description
            .chars()
            .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'));
        let plain = OAuthError::invalid_request("missing code");
        assert!(matches!(plain.description, Cow::Borrowed(_)));
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidGrant,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedTokenType,
        ] {
            assert_eq!(code.status(), 400, "{code}");
        }
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InvalidToken.status(), 401);
        assert_eq!(ErrorCode::InsufficientScope.status(), 403);
        assert_eq!(ErrorCode::ServerError.status(), 500);
    }

    #[test]
    fn json_body_is_valid_and_never_quotes_raw_input() {
        let e = OAuthError::invalid_request("bad \"x\"\n\u{1}");
        assert_eq!(
            e.to_json(),
            r#"{"error":"invalid_request","error_description":"bad ?x???"}"#
        );
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n\u{1}");
        assert_eq!(out, r#""a\"b\\c\n\u0001""#);
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["error"], "invalid_request");
    }

    #[test]
    fn server_errors_say_nothing_about_the_cause() {
        assert!(!OAuthError::server_error().description.contains("sql"));
    }
}
