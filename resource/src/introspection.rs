//! Checking tokens by RFC 7662 introspection at Gatehouse, with the
//! resource server's own client credentials.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gatehouse::oauth::introspection::Introspection;
use gatehouse::oauth::{paths, ScopeSet};
use serde::Deserialize;
use std::sync::Arc;

use crate::cache::{CacheConfig, Cached};
use crate::source::{Checked, SourceError, TokenInfo, TokenSource};

/// Where Gatehouse is and who this resource server is there.
#[derive(Debug, Clone)]
pub struct IntrospectionConfig {
    /// Gatehouse's public URL (its `issuer`), e.g. `https://id.example.org`.
    pub issuer: String,
    /// This API's confidential app at Gatehouse. To check tokens issued to
    /// other apps too, staff give it the `introspection` scope.
    pub client_id: String,
    pub client_secret: String,
    /// The introspection endpoint. Unset, it is read from the issuer's
    /// RFC 8414 metadata on first use (so the API may start before
    /// Gatehouse does).
    pub introspection_endpoint: Option<String>,
    /// How long one introspection call may take before the request fails
    /// closed (503).
    pub timeout: Duration,
    pub cache: CacheConfig,
}

impl IntrospectionConfig {
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            introspection_endpoint: None,
            timeout: Duration::from_secs(5),
            cache: CacheConfig::default(),
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The longest token sent to Gatehouse; Gatehouse's own are far shorter.
const MAX_TOKEN_LEN: usize = 4096;

/// RFC 6750 §2.1 `b64token`: anything else cannot be a token, and is
/// answered inactive without asking Gatehouse.
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The part of RFC 8414 metadata this needs.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    introspection_endpoint: String,
}

/// Checks tokens by introspection; every call goes to Gatehouse (wrap it
/// in [`Cached`], as [`Introspector::cached`] does).
pub struct Introspector {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: String,
    endpoint: tokio::sync::OnceCell<String>,
}

impl Introspector {
    pub fn new(config: &IntrospectionConfig) -> Result<Self, ConfigError> {
        let issuer = url::Url::parse(&config.issuer).map_err(|e| {
            ConfigError(format!("the issuer {:?} is not a URL: {e}", config.issuer))
        })?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(ConfigError("the issuer must be an http(s) URL".into()));
        }
        if config.client_id.is_empty() || config.client_secret.is_empty() {
            return Err(ConfigError(
                "the client id and secret of this API's app at Gatehouse are required".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(2)))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        let endpoint = tokio::sync::OnceCell::new();
        if let Some(explicit) = &config.introspection_endpoint {
            let _ = endpoint.set(explicit.clone());
        }
        Ok(Self {
            http,
            issuer: config.issuer.trim_end_matches('/').to_owned(),
            client_id: encode(&config.client_id),
            client_secret: encode(&config.client_secret),
            endpoint,
        })
    }

    /// This introspector behind a cache configured by `config.cache`.
    pub fn cached(config: &IntrospectionConfig) -> Result<Cached<Introspector>, ConfigError> {
        Ok(Cached::new(
            Introspector::new(config)?,
            config.cache.clone(),
        ))
    }

    /// The issuer's metadata, read once; a failed read is retried on the
    /// next check.
    async fn endpoint(&self) -> Result<&str, SourceError> {
        self.endpoint
            .get_or_try_init(|| async {
                let url = format!("{}{}", self.issuer, paths::OAUTH_METADATA);
                let answer = self.http.get(&url).send().await.map_err(|e| {
                    SourceError(format!("Gatehouse metadata at {url} unreachable: {e}"))
                })?;
                if !answer.status().is_success() {
                    return Err(SourceError(format!(
                        "Gatehouse metadata at {url} answered {}",
                        answer.status()
                    )));
                }
                let metadata: Metadata = answer.json().await.map_err(|e| {
                    SourceError(format!("Gatehouse metadata at {url} is not RFC 8414: {e}"))
                })?;
                // RFC 8414 §3.3: the document must name the issuer asked.
                if metadata.issuer.trim_end_matches('/') != self.issuer {
                    return Err(SourceError(format!(
                        "the metadata at {url} names issuer {:?}, not {:?}",
                        metadata.issuer, self.issuer
                    )));
                }
                Ok(metadata.introspection_endpoint)
            })
            .await
            .map(String::as_str)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What an introspection answer means for a bearer at `now`.
pub(crate) fn checked(answer: Introspection, now: i64) -> Checked {
    if !answer.usable_as_bearer(now) {
        return Checked::Inactive;
    }
    Checked::Active(Arc::new(TokenInfo {
        subject: answer.sub,
        username: answer.username,
        client_id: answer.client_id,
        scopes: answer
            .scope
            .as_deref()
            .map(ScopeSet::from_stored)
            .unwrap_or_default(),
        expires_at: answer.exp,
    }))
}

#[async_trait::async_trait]
impl TokenSource for Introspector {
    async fn check(&self, token: &str) -> Result<Checked, SourceError> {
        if !is_b64token(token) {
            return Ok(Checked::Inactive);
        }
        let endpoint = self.endpoint().await?;
        let answer = self
            .http
            .post(endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| SourceError(format!("introspection at {endpoint} failed: {e}")))?;
        let status = answer.status();
        if status.is_server_error() {
            return Err(SourceError(format!(
                "introspection at {endpoint} answered {status}"
            )));
        }
        if !status.is_success() {
            // 401: Gatehouse refused this API's own credentials. Every
            // token would look invalid; fail closed and say why.
            return Err(SourceError(format!(
                "introspection at {endpoint} refused this API's client credentials ({status})"
            )));
        }
        let answer: Introspection = answer.json().await.map_err(|e| {
            SourceError(format!(
                "introspection at {endpoint} gave no RFC 7662 answer: {e}"
            ))
        })?;
        Ok(checked(answer, unix_now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse::oauth::Scope;
    use std::borrow::Cow;

    #[test]
    fn b64tokens() {
        assert!(is_b64token("abc-DEF_123.~+/=="));
        assert!(!is_b64token(""));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a b"));
        assert!(!is_b64token("a\0b"));
        assert!(!is_b64token("\"><img onerror>"));
        assert!(!is_b64token(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }

    #[test]
    fn answers_become_token_info() {
        let answer = Introspection {
            active: true,
            scope: Some("read write".into()),
            client_id: Some("app".into()),
            username: Some("ada".into()),
            token_type: Some(Cow::Borrowed("Bearer")),
            exp: Some(200),
            iat: Some(100),
            sub: Some("7".into()),
        };
        let Checked::Active(info) = checked(answer.clone(), 150) else {
            panic!("active");
        };
        assert!(info.scopes.contains(Scope::Read) && info.scopes.contains(Scope::Write));
        assert_eq!(info.subject.as_deref(), Some("7"));
        assert_eq!(checked(answer.clone(), 200), Checked::Inactive, "expired");
        let refresh = Introspection {
            token_type: Some(Cow::Borrowed("refresh_token")),
            ..answer
        };
        assert_eq!(checked(refresh, 150), Checked::Inactive);
    }

    #[test]
    fn settings_are_checked() {
        assert!(Introspector::new(&IntrospectionConfig::new("not a url", "a", "b")).is_err());
        assert!(Introspector::new(&IntrospectionConfig::new("ftp://x", "a", "b")).is_err());
        assert!(Introspector::new(&IntrospectionConfig::new("http://x", "", "b")).is_err());
        assert!(Introspector::new(&IntrospectionConfig::new("http://x/", "a", "b")).is_ok());
    }
}
