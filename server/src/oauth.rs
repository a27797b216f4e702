//! The protocol endpoints: token, revocation, introspection and the
//! bearer-protected profile. Each decodes the request into the core's
//! types (`gatehouse::oauth`), calls the service, and encodes the answer:
//! JSON, `Cache-Control: no-store`, RFC 6749/6750 errors.
//! The authorization endpoint lives with the portal (it renders a page).

mod cors;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::token::{client_auth, AuthorizationHeader};
use gatehouse::oauth::{ErrorCode, OAuthError, Scope};
use serde::Serialize;

use crate::portal::{client_addr, now};
use crate::state::AppState;

pub const TOKEN: &str = "/o/token/";
pub const REVOKE: &str = "/o/revoke_token/";
pub const INTROSPECT: &str = "/o/introspect/";
pub const PROFILE: &str = "/profile/";
pub const API_PROFILE: &str = "/api/profile/";
pub const METADATA: &str = "/.well-known/oauth-authorization-server";
pub const JWKS: &str = "/o/.well-known/jwks.json";
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const DISCOVERY_UNDER_O: &str = "/o/.well-known/openid-configuration";
pub const USERINFO: &str = "/o/userinfo/";
pub const DEVICE_AUTHORIZATION: &str = "/o/device-authorization/";

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(TOKEN, post(token))
        .route(DEVICE_AUTHORIZATION, post(device_authorization))
        .route(REVOKE, post(revoke))
        .route(INTROSPECT, get(introspect).post(introspect))
        .route(PROFILE, get(profile))
        .route(API_PROFILE, get(profile))
        .route(USERINFO, get(userinfo).post(userinfo))
        .layer(axum::middleware::from_fn_with_state(state, cors::cors))
        .route(METADATA, get(metadata))
        .route(DISCOVERY, get(metadata))
        .route(DISCOVERY_UNDER_O, get(metadata))
        .route(JWKS, get(jwks))
}

/// The public signing keys (RFC 7517), from memory. Short cache: after a
/// rotation clients should see the new key soon.
async fn jwks(State(state): State<AppState>) -> Response {
    public_json(
        state.oauth.key_ring().jwks_json().to_owned(),
        "public, max-age=300",
    )
}

/// RFC 8414 metadata: public, the same for everyone, cacheable.
async fn metadata(State(state): State<AppState>) -> Response {
    public_json(state.metadata.to_string(), "public, max-age=3600")
}

/// A public JSON document any origin may read, cacheable as `cache`.
fn public_json(body: String, cache: &'static str) -> Response {
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
pub(crate) fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn to_json(value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(error = %e, "encoding a response failed");
            error(&OAuthError::server_error())
        }
    }
}

/// RFC 6749 §5.2 error JSON; `invalid_client` carries a Basic challenge.
fn error(e: &OAuthError) -> Response {
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

/// RFC 6750 §3 error: the challenge names the error (unless no token was
/// sent at all) and, for `insufficient_scope`, the scope needed.
pub(crate) fn bearer_error(e: &OAuthError, token_sent: bool, needs: Scope) -> Response {
    let mut response = error(e);
    let challenge = if !token_sent {
        "Bearer realm=\"gatehouse\"".to_owned()
    } else {
        let description: String = e
            .description
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        let mut c = format!(
            "Bearer realm=\"gatehouse\", error=\"{}\", error_description=\"{description}\"",
            e.code
        );
        if e.code == ErrorCode::InsufficientScope {
            c.push_str(&format!(", scope=\"{}\"", needs.as_str()));
        }
        c
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

pub(crate) fn authorization(parts: &Parts) -> Option<AuthorizationHeader<'_>> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(AuthorizationHeader::parse)
}

/// Reads the parameters of a protocol request: the form body of a POST
/// (which must say it is a form), the query of a GET.
async fn read_params(state: &AppState, parts: &Parts, body: Body) -> Result<Params, Response> {
    if parts.method == Method::GET {
        return Params::parse(parts.uri.query().unwrap_or("").as_bytes()).map_err(|e| error(&e));
    }
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(error(&OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )));
    }
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| {
            let mut r = error(&OAuthError::invalid_request(
                "the request body is too large",
            ));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            r
        })?;
    Params::parse(&bytes).map_err(|e| error(&e))
}

async fn token(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let params = match read_params(&state, &parts, body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let addr = client_addr(&state, &parts);
    let mut response = match state
        .oauth
        .token(authorization(&parts).as_ref(), &params, &addr, now())
        .await
    {
        Ok(answer) => to_json(&answer),
        Err(e) => error(&e),
    };
    let client = claimed_client(&parts, &params);
    cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    response
}

/// RFC 8628 §3.1: a device asks for a device code and a user code.
async fn device_authorization(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let params = match read_params(&state, &parts, body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut response = match state
        .oauth
        .device_authorization(authorization(&parts).as_ref(), &params, now())
        .await
    {
        Ok(answer) => to_json(&answer),
        Err(e) => error(&e),
    };
    let client = claimed_client(&parts, &params);
    cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    response
}

/// The client id a request names (authenticated or not: only used to pick
/// the app whose allowed origins apply).
fn claimed_client(parts: &Parts, params: &Params) -> Option<String> {
    client_auth(authorization(parts).as_ref(), params)
        .ok()
        .flatten()
        .map(|a| a.client_id().to_owned())
}

async fn revoke(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let params = match read_params(&state, &parts, body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut response = match state
        .oauth
        .revoke(authorization(&parts).as_ref(), &params)
        .await
    {
        Ok(()) => json(StatusCode::OK, "{}".to_owned()),
        Err(e) => error(&e),
    };
    let client = claimed_client(&parts, &params);
    cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    response
}

async fn introspect(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let params = match read_params(&state, &parts, body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let header = authorization(&parts);
    match state
        .oauth
        .introspect(header.as_ref(), &params, now())
        .await
    {
        Ok(answer) => to_json(&answer),
        Err(e) if matches!(header, Some(AuthorizationHeader::Bearer(_))) => {
            bearer_error(&e, true, Scope::Introspection)
        }
        Err(e) => error(&e),
    }
}

/// OIDC userinfo (Core §5.3): the claims of the token's scopes; the token
/// needs `openid`.
async fn userinfo(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let needs = Scope::Openid;
    let token = match authorization(&parts) {
        Some(AuthorizationHeader::Bearer(t)) if !t.is_empty() => t,
        _ => {
            let e =
                OAuthError::invalid_token("an access token is required (Authorization: Bearer …)");
            return bearer_error(&e, false, needs);
        }
    };
    let mut response = match state.oauth.userinfo(token, now()).await {
        Ok(claims) => to_json(&claims),
        Err(e) => bearer_error(&e, true, needs),
    };
    if parts.headers.contains_key(axum::http::header::ORIGIN) {
        let client = match state.oauth.bearer(token, needs, now()).await {
            Ok(found) => Some(found.client_id),
            Err(_) => None,
        };
        cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    }
    response
}

/// The signed-in user's account (also at `/profile/`, the path of
/// django-oauth-toolkit's example resource).
#[utoipa::path(
    get,
    path = "/api/profile/",
    tag = "account",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The account", body = crate::api::UserBody),
        (status = 401, description = "No token, or an invalid, expired or revoked one", body = crate::api::ApiError),
        (status = 403, description = "The token lacks scope read", body = crate::api::ApiError),
    )
)]
pub(crate) async fn profile(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let (mut response, client) = profile_answer(&state, &parts).await;
    cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    response
}

/// The profile answer and the client the token belongs to (if valid).
async fn profile_answer(state: &AppState, parts: &Parts) -> (Response, Option<String>) {
    let needs = Scope::Read;
    let token = match authorization(parts) {
        Some(AuthorizationHeader::Bearer(t)) if !t.is_empty() => t,
        _ => {
            let e =
                OAuthError::invalid_token("an access token is required (Authorization: Bearer …)");
            return (bearer_error(&e, false, needs), None);
        }
    };
    let found = match state.oauth.bearer(token, needs, now()).await {
        Ok(f) => f,
        Err(e) => return (bearer_error(&e, true, needs), None),
    };
    let client = Some(found.client_id.clone());
    let Some(user_id) = found.record.user_id else {
        let e = OAuthError::invalid_token("this token was issued to a client, not a user");
        return (bearer_error(&e, true, needs), client);
    };
    let response = match state.accounts.store().user_by_id(user_id).await {
        Ok(Some(user)) if user.is_active => to_json(&crate::api::UserBody::of(&user)),
        Ok(_) => bearer_error(
            &OAuthError::invalid_token("the access token is invalid, expired or revoked"),
            true,
            needs,
        ),
        Err(e) => {
            tracing::error!(error = %e, "loading the profile failed");
            error(&OAuthError::server_error())
        }
    };
    (response, client)
}
