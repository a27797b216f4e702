//! The RFC 7662 introspection answer: written by the server, read by
//! resource servers (the `gatehouse-resource` kit), so both agree on it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The RFC 7662 answer. An inactive token is `{"active": false}` only.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for an access token, `refresh_token` for a refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl Introspection {
    /// Whether this answer lets the token be used as a bearer at `now`
    /// (Unix seconds): active, an access token (a refresh token is never a
    /// bearer credential), and not past its `exp`.
    pub fn usable_as_bearer(&self, now: i64) -> bool {
        self.active
            && self
                .token_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("bearer"))
            && self.exp.is_none_or(|exp| exp > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_the_inactive_answer() {
        let active = Introspection {
            active: true,
            scope: Some("read write".into()),
            client_id: Some("abc".into()),
            username: Some("ada".into()),
            token_type: Some(Cow::Borrowed("Bearer")),
            exp: Some(2_000),
            iat: Some(1_000),
            sub: Some("7".into()),
        };
        let text = serde_json::to_string(&active).unwrap();
        assert_eq!(
            serde_json::from_str::<Introspection>(&text).unwrap(),
            active
        );
        let inactive: Introspection = serde_json::from_str(r#"{"active":false}"#).unwrap();
        assert_eq!(inactive, Introspection::default());
        assert_eq!(
            serde_json::to_string(&inactive).unwrap(),
            r#"{"active":false}"#
        );
    }

    #[test]
    fn only_live_access_tokens_are_bearers() {
        let mut a = Introspection {
            active: true,
            token_type: Some(Cow::Borrowed("Bearer")),
            exp: Some(100),
            ..Default::default()
        };
        assert!(a.usable_as_bearer(99));
        assert!(!a.usable_as_bearer(100), "expired at exp");
        a.token_type = Some(Cow::Borrowed("refresh_token"));
        assert!(!a.usable_as_bearer(0), "a refresh token is not a bearer");
        assert!(!Introspection::default().usable_as_bearer(0));
    }
}
