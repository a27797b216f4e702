//! What every HTTP handler shares: the clock, the client's address, JSON
//! answers and the RFC 6749 / RFC 6750 error responses.

use axum::http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse::oauth::header::{bearer_challenge, AuthorizationHeader};
use gatehouse::oauth::params::Params;
use gatehouse::oauth::{ErrorCode, OAuthError, Scope};
use serde::Serialize;

use crate::state::AppState;

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The client's address for throttling: the socket peer, or what a
/// trusted proxy reports in `X-Forwarded-For` (see [`crate::net`]).
pub fn client_addr(state: &AppState, parts: &Parts) -> String {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    state.proxies.client(peer, &parts.headers)
}

/// Where the request came from, for the audit trail: the client address
/// (as [`client_addr`]) and the user agent.
pub fn origin(state: &AppState, parts: &Parts) -> gatehouse::audit::Origin {
    let agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    gatehouse::audit::Origin::new(client_addr(state, parts), &agent)
}

/// A public JSON document any origin may read, cacheable as `cache`.
pub fn public_json(body: String, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// A JSON answer that no cache may keep (RFC 6749 §5.1).
pub fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub fn to_json(value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(error = %e, "encoding a response failed");
            oauth_error(&OAuthError::server_error())
        }
    }
}

/// RFC 6749 §5.2 error JSON; `invalid_client` carries a Basic challenge.
pub fn oauth_error(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json(status, e.to_json());
    if e.code == ErrorCode::InvalidClient {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gatehouse\""),
        );
    }
    response
}

/// A method a protocol endpoint does not take: 405 with `Allow` (the
/// methods it takes), and an RFC 6749 error body like its other refusals.
pub fn wrong_method(allow: &str) -> Response {
    let e = OAuthError::invalid_request(format!("this endpoint takes {allow}"));
    let mut response = json(StatusCode::METHOD_NOT_ALLOWED, e.to_json());
    if let Ok(v) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(ALLOW, v);
    }
    response
}

/// The fallback of a GET-only protocol route (discovery, JWKS, the
/// bearer-protected profile): any other method is [`wrong_method`].
pub async fn get_only() -> Response {
    wrong_method("GET,HEAD")
}

/// RFC 6750 §3 error: the challenge names the error (unless no token was
/// sent at all) and, for `insufficient_scope`, the scope needed.
pub fn bearer_error(e: &OAuthError, token_sent: bool, needs: Scope) -> Response {
    let mut response = oauth_error(e);
    let challenge = bearer_challenge("gatehouse", token_sent.then_some(e), Some(needs));
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

pub fn authorization(parts: &Parts) -> Option<AuthorizationHeader<'_>> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(AuthorizationHeader::parse)
}

/// Where a request to a protected resource put its bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPlace {
    /// `Authorization: Bearer` (RFC 6750 §2.1).
    Header,
    /// A form body's `access_token` (§2.2).
    Body,
    /// The query's `access_token` (§2.3).
    Query,
}

/// The bearer token of a request to a protected resource, from the header,
/// the form body (`form`, when the caller read one) or the query, as
/// django-oauth-toolkit accepts them. Using more than one of these is
/// `invalid_request` (RFC 6750 §3.1); none is `Ok(None)`.
pub fn bearer_token(
    parts: &Parts,
    form: Option<&Params>,
) -> Result<Option<(String, TokenPlace)>, OAuthError> {
    let mut found = Vec::with_capacity(1);
    if let Some(AuthorizationHeader::Bearer(t)) = authorization(parts) {
        found.push((t.to_owned(), TokenPlace::Header));
    }
    if let Some(t) = form.map(|f| f.get("access_token")).transpose()?.flatten() {
        found.push((t.to_owned(), TokenPlace::Body));
    }
    let query = parts.uri.query().unwrap_or("");
    if query.contains("access_token") {
        if let Some(t) = Params::parse(query.as_bytes())?.get("access_token")? {
            found.push((t.to_owned(), TokenPlace::Query));
        }
    }
    match found.len() {
        0 | 1 => Ok(found.pop().filter(|(t, _)| !t.is_empty())),
        _ => Err(OAuthError::invalid_request(
            "the access token was sent in more than one way: use one of the Authorization \
             header, the form body or the query",
        )),
    }
}

/// Marks an answer to a request that carried its token in the query:
/// caches may not keep it for others (RFC 6750 §2.3).
pub fn private_if_query(place: Option<TokenPlace>, response: &mut Response) {
    if place == Some(TokenPlace::Query) {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
}

/// Whether the request's body says it is an url-encoded form.
pub fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
