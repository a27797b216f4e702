//! The axum side: a tower layer that admits only requests with a usable
//! bearer token (and scope), the [`Token`] extractor handlers read it
//! with, and the RFC 6750 answers to everything else.

use std::convert::Infallible;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use gatehouse::oauth::header::{bearer_challenge, AuthorizationHeader};
use gatehouse::oauth::{ErrorCode, OAuthError, Scope};
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tower::{Layer, Service};

use crate::introspection::{ConfigError, IntrospectionConfig, Introspector};
use crate::source::{Checked, SourceError, TokenInfo, TokenSource};

/// What a route asks of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Any active access token.
    Token,
    /// An active token holding this scope.
    Scope(Scope),
    /// `read` for safe methods (GET, HEAD, OPTIONS), `write` for the rest:
    /// django-oauth-toolkit's `TokenHasReadWriteScope`.
    ReadWrite,
}

impl Requirement {
    fn scope_for(self, method: &Method) -> Option<Scope> {
        match self {
            Requirement::Token => None,
            Requirement::Scope(s) => Some(s),
            Requirement::ReadWrite if method.is_safe() => Some(Scope::Read),
            Requirement::ReadWrite => Some(Scope::Write),
        }
    }
}

/// The checked token of the request, for handlers behind [`RequireScope`].
#[derive(Debug, Clone)]
pub struct Token(pub Arc<TokenInfo>);

impl Deref for Token {
    type Target = TokenInfo;
    fn deref(&self) -> &TokenInfo {
        &self.0
    }
}

/// Why a request was refused. As a response: 401 or 403 with an RFC 6750
/// challenge, 400 for a malformed request, 503 when tokens cannot be
/// checked; always an RFC 6749 error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No bearer token at all.
    Missing,
    /// More than one `Authorization` header.
    Ambiguous,
    /// Unknown, expired, revoked, or not an access token.
    Invalid,
    /// Active, without the scope the route needs.
    InsufficientScope(Scope),
    /// The token could not be checked (fail closed).
    Unavailable,
    /// A handler asked for [`Token`] on a route without the layer: a
    /// mistake in the API's code, answered 500.
    NotProtected,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (error, challenge, scope) = match self {
            Rejection::Missing => (
                OAuthError::invalid_token(
                    "an access token is required (Authorization: Bearer ...)",
                ),
                true,
                None,
            ),
            Rejection::Ambiguous => (
                OAuthError::invalid_request("send one Authorization header"),
                false,
                None,
            ),
            Rejection::Invalid => (
                OAuthError::invalid_token("the access token is invalid, expired or revoked"),
                true,
                None,
            ),
            Rejection::InsufficientScope(scope) => (
                OAuthError::new(
                    ErrorCode::InsufficientScope,
                    format!("this requires the {} scope", scope.as_str()),
                ),
                true,
                Some(scope),
            ),
            Rejection::Unavailable => (
                OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the access token cannot be checked right now; try again shortly",
                ),
                false,
                None,
            ),
            Rejection::NotProtected => (OAuthError::server_error(), false, None),
        };
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, error.to_json()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if challenge {
            // §3.1: a request without credentials gets no error code.
            let sent = (self != Rejection::Missing).then_some(&error);
            let value = bearer_challenge(REALM, sent, scope);
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(WWW_AUTHENTICATE, v);
            }
        }
        if self == Rejection::Unavailable {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

const REALM: &str = "api";

/// Logs failing token checks at most once per interval, with how many
/// were not logged, and once when checks work again.
struct Alarm {
    interval_secs: i64,
    last_logged: AtomicI64,
    unlogged: AtomicU64,
    failing: AtomicBool,
}

impl Alarm {
    fn failed(&self, error: &SourceError) {
        self.failing.store(true, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let last = self.last_logged.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= self.interval_secs;
        if due
            && self
                .last_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::error!(
                %error,
                failures_since_last_report = unlogged,
                "cannot check access tokens: requests are refused with 503 until Gatehouse answers"
            );
        } else {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn succeeded(&self) {
        if self.failing.load(Ordering::Relaxed) && self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!("access tokens can be checked again");
        }
    }
}

struct Inner {
    source: Box<dyn TokenSource>,
    alarm: Alarm,
}

/// Checks bearer tokens for an API; cheap to clone. Make the layers of
/// each route from it with [`Auth::require`] and friends.
#[derive(Clone)]
pub struct Auth(Arc<Inner>);

impl Auth {
    /// Tokens checked by `source`, failures logged at most once a minute.
    pub fn new(source: impl TokenSource) -> Auth {
        Self::with_log_interval(source, Duration::from_secs(60))
    }

    pub fn with_log_interval(source: impl TokenSource, interval: Duration) -> Auth {
        Auth(Arc::new(Inner {
            source: Box::new(source),
            alarm: Alarm {
                interval_secs: interval.as_secs().max(1) as i64,
                last_logged: AtomicI64::new(0),
                unlogged: AtomicU64::new(0),
                failing: AtomicBool::new(false),
            },
        }))
    }

    /// Introspection at Gatehouse behind the cache `config.cache`.
    pub fn introspection(config: IntrospectionConfig) -> Result<Auth, ConfigError> {
        Ok(Auth::new(Introspector::cached(&config)?))
    }

    /// A layer admitting requests whose token holds `scope`.
    pub fn require(&self, scope: Scope) -> RequireScope {
        self.layer(Requirement::Scope(scope))
    }

    /// A layer admitting requests with any active token.
    pub fn require_token(&self) -> RequireScope {
        self.layer(Requirement::Token)
    }

    /// A layer asking `read` of safe methods and `write` of the others.
    pub fn require_read_write(&self) -> RequireScope {
        self.layer(Requirement::ReadWrite)
    }

    pub fn layer(&self, requirement: Requirement) -> RequireScope {
        RequireScope {
            auth: self.clone(),
            requirement,
        }
    }

    /// Checks the request's bearer token against `requirement`.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        method: &Method,
        requirement: Requirement,
    ) -> Result<Token, Rejection> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Err(Rejection::Missing);
        };
        if values.next().is_some() {
            return Err(Rejection::Ambiguous);
        }
        let token = match value.to_str().map(AuthorizationHeader::parse) {
            Ok(AuthorizationHeader::Bearer(token)) => token,
            // Another scheme carries no bearer credentials (§3.1).
            Ok(_) => return Err(Rejection::Missing),
            Err(_) => return Err(Rejection::Invalid),
        };
        let info = match self.0.source.check(token).await {
            Ok(Checked::Active(info)) => {
                self.0.alarm.succeeded();
                info
            }
            Ok(Checked::Inactive) => {
                self.0.alarm.succeeded();
                return Err(Rejection::Invalid);
            }
            Err(e) => {
                self.0.alarm.failed(&e);
                return Err(Rejection::Unavailable);
            }
        };
        if let Some(scope) = requirement.scope_for(method) {
            if !info.scopes.contains(scope) {
                return Err(Rejection::InsufficientScope(scope));
            }
        }
        Ok(Token(info))
    }
}

/// The tower layer of [`Auth::require`]: requests without a usable token
/// are answered by it; the others reach the route with their [`Token`].
#[derive(Clone)]
pub struct RequireScope {
    auth: Auth,
    requirement: Requirement,
}

impl<S> Layer<S> for RequireScope {
    type Service = RequireScopeService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireScopeService {
            inner,
            auth: self.auth.clone(),
            requirement: self.requirement,
        }
    }
}

#[derive(Clone)]
pub struct RequireScopeService<S> {
    inner: S,
    auth: Auth,
    requirement: Requirement,
}

impl<S> Service<Request> for RequireScopeService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let requirement = self.requirement;
        Box::pin(async move {
            match auth
                .authenticate(request.headers(), request.method(), requirement)
                .await
            {
                Ok(token) => {
                    request.extensions_mut().insert(token);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Token {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Token, Rejection> {
        parts.extensions.get::<Token>().cloned().ok_or_else(|| {
            tracing::error!(
                path = parts.uri.path(),
                "a handler reads Token on a route without an Auth layer"
            );
            Rejection::NotProtected
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use gatehouse::oauth::ScopeSet;
    use tower::ServiceExt;

    /// Tokens named after their scopes: `read`, `read+write`; `down`
    /// fails; anything else is inactive.
    struct Named;

    #[async_trait::async_trait]
    impl TokenSource for Named {
        async fn check(&self, token: &str) -> Result<Checked, SourceError> {
            match token {
                "down" => Err(SourceError("unreachable".into())),
                "read" | "read+write" => Ok(Checked::Active(Arc::new(TokenInfo {
                    subject: Some("1".into()),
                    username: Some("ada".into()),
                    client_id: Some("app".into()),
                    scopes: ScopeSet::from_stored(&token.replace('+', " ")),
                    expires_at: None,
                }))),
                _ => Ok(Checked::Inactive),
            }
        }
    }

    async fn whoami(token: Token) -> String {
        token.username.clone().unwrap_or_default()
    }

    fn app() -> Router {
        let auth = Auth::new(Named);
        Router::new()
            .route("/items/", get(whoami).post(whoami))
            .layer(auth.require_read_write())
            .merge(Router::new().route("/open/", get(whoami)))
    }

    async fn call(method: &str, path: &str, authorization: &[&str]) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        for a in authorization {
            request = request.header(AUTHORIZATION, *a);
        }
        app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn challenge(r: &Response) -> &str {
        r.headers()
            .get(WWW_AUTHENTICATE)
            .map_or("", |v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn answers_each_case_as_rfc_6750_says() {
        let ok = call("GET", "/items/", &["Bearer read"]).await;
        assert_eq!(ok.status(), StatusCode::OK);

        let none = call("GET", "/items/", &[]).await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&none), "Bearer realm=\"api\"");

        let basic = call("GET", "/items/", &["Basic eDp5"]).await;
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&basic), "Bearer realm=\"api\"");

        let bad = call("GET", "/items/", &["Bearer nope"]).await;
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&bad).contains("error=\"invalid_token\""));

        let write = call("POST", "/items/", &["Bearer read"]).await;
        assert_eq!(write.status(), StatusCode::FORBIDDEN);
        assert!(challenge(&write).contains("error=\"insufficient_scope\""));
        assert!(challenge(&write).ends_with("scope=\"write\""));
        let allowed = call("POST", "/items/", &["Bearer read+write"]).await;
        assert_eq!(allowed.status(), StatusCode::OK);

        let down = call("GET", "/items/", &["Bearer down"]).await;
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()[RETRY_AFTER], "5");
        assert!(down.headers().get(WWW_AUTHENTICATE).is_none());

        let two = call("GET", "/items/", &["Bearer read", "Bearer read"]).await;
        assert_eq!(two.status(), StatusCode::BAD_REQUEST);

        let unprotected = call("GET", "/open/", &["Bearer read"]).await;
        assert_eq!(unprotected.status(), StatusCode::INTERNAL_SERVER_ERROR);

        let body = axum::body::to_bytes(write.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "insufficient_scope");
    }
}
