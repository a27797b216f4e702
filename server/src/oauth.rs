//! The protocol endpoints: token, device authorization, revocation,
//! introspection, userinfo, metadata and keys. Each decodes the request into the core's
//! types (`gatehouse::oauth`), calls the service, and encodes the answer:
//! JSON, `Cache-Control: no-store`, RFC 6749/6750 errors.
//! The authorization endpoint lives with the portal (it renders a page).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::paths::{
    DEVICE_AUTHORIZATION, DISCOVERY, DISCOVERY_UNDER_O, INTROSPECT, JWKS, OAUTH_METADATA, REVOKE,
    TOKEN, USERINFO,
};
use gatehouse::oauth::token::{client_auth, AuthorizationHeader};
use gatehouse::oauth::{OAuthError, Scope};

use crate::cors;
use crate::http::{
    authorization, bearer_error, bearer_token, get_only, is_form, json, now, oauth_error as error,
    origin, private_if_query, public_json, to_json,
};
use crate::state::AppState;

/// The paths this module serves that end in a slash (for the
/// missing-slash redirect).
pub const PATHS: &[&str] = &[TOKEN, DEVICE_AUTHORIZATION, REVOKE, INTROSPECT, USERINFO];

pub fn routes() -> Router<AppState> {
    Router::new()
        // CORS per handler rather than as a layer: see `cors::marked`.
        .route(
            TOKEN,
            post(|s, r| cors::marked(s, r, token)).merge(cors::options("POST")),
        )
        .route(
            DEVICE_AUTHORIZATION,
            post(|s, r| cors::marked(s, r, device_authorization)).merge(cors::options("POST")),
        )
        .route(
            REVOKE,
            post(|s, r| cors::marked(s, r, revoke)).merge(cors::options("POST")),
        )
        .route(
            INTROSPECT,
            get(|s, r| cors::marked(s, r, introspect))
                .post(|s, r| cors::marked(s, r, introspect))
                .merge(cors::options("GET,HEAD,POST")),
        )
        .route(
            USERINFO,
            get(|s, r| cors::marked(s, r, userinfo))
                .post(|s, r| cors::marked(s, r, userinfo))
                .merge(cors::options("GET,HEAD,POST")),
        )
        .route(OAUTH_METADATA, get(metadata).fallback(get_only))
        .route(DISCOVERY, get(metadata).fallback(get_only))
        .route(DISCOVERY_UNDER_O, get(metadata).fallback(get_only))
        .route(JWKS, get(jwks).fallback(get_only))
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

/// Reads the parameters of a protocol request: the form body of a POST
/// (which must say it is a form), the query of a GET.
async fn read_params(state: &AppState, parts: &Parts, body: Body) -> Result<Params, Response> {
    if parts.method == Method::GET {
        return Params::parse(parts.uri.query().unwrap_or("").as_bytes()).map_err(|e| error(&e));
    }
    if !is_form(parts) {
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
    let origin = origin(&state, &parts);
    let mut response = match state
        .oauth
        .token(authorization(&parts).as_ref(), &params, &origin, now())
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
    let (parts, body) = req.into_parts();
    let needs = Scope::Openid;
    // A POST may carry the token in its form body (RFC 6750 §2.2).
    let form = if parts.method == Method::POST && is_form(&parts) {
        match read_params(&state, &parts, body).await {
            Ok(p) => Some(p),
            Err(r) => return r,
        }
    } else {
        None
    };
    let (token, place) = match bearer_token(&parts, form.as_ref()) {
        Ok(Some(found)) => found,
        Ok(None) => {
            let e = OAuthError::invalid_token(
                "an access token is required (Authorization: Bearer …, or access_token)",
            );
            return bearer_error(&e, false, needs);
        }
        Err(e) => return bearer_error(&e, true, needs),
    };
    let mut response = match state.oauth.userinfo(&token, now()).await {
        Ok(claims) => to_json(&claims),
        Err(e) => bearer_error(&e, true, needs),
    };
    private_if_query(Some(place), &mut response);
    if parts.headers.contains_key(axum::http::header::ORIGIN) {
        let client = match state.oauth.bearer(&token, needs, now()).await {
            Ok(found) => Some(found.client_id),
            Err(_) => None,
        };
        cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    }
    response
}
