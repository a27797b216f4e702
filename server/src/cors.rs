//! CORS for the protocol endpoints (without cookies). A preflight cannot
//! say which client is calling, so it is allowed for an origin that any app
//! registered; the actual response is readable only when the origin is
//! registered by the app the request concerns (the authenticating client,
//! or the client a bearer token was issued to) — see [`allow`]. Other
//! origins get no CORS headers, so browsers block the response. With
//! `cors_allow_all_origins` every origin may call and read (no cookies
//! are ever allowed: no `Access-Control-Allow-Credentials`).

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let origin = req.headers().get(ORIGIN).cloned();
    let allow_all = state.config.cors_allow_all_origins;
    if !preflight {
        let mut response = next.run(req).await;
        let h = response.headers_mut();
        h.append(VARY, HeaderValue::from_static("Origin"));
        if let (true, Some(origin)) = (allow_all, origin) {
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        return response;
    }
    let allowed = match origin.as_ref().and_then(|o| o.to_str().ok()) {
        Some(_) if allow_all => true,
        Some(o) => match state.oauth.store().origin_allowed(o).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "CORS origin check failed");
                false
            }
        },
        None => false,
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.append(VARY, HeaderValue::from_static("Origin"));
    if let (true, Some(origin)) = (allowed, origin) {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, OPTIONS"),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    response
}

/// Lets the request's origin read `response` when the app `client_id`
/// registered that origin. Costs a lookup only for cross-origin calls.
pub async fn allow(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    client_id: Option<&str>,
    response: &mut Response,
) {
    if state.config.cors_allow_all_origins {
        // The middleware answers every origin.
        return;
    }
    let (Some(origin), Some(client_id)) = (headers.get(ORIGIN), client_id) else {
        return;
    };
    let Ok(origin_text) = origin.to_str() else {
        return;
    };
    match state.oauth.application(client_id).await {
        Ok(Some(app)) if app.allowed_origins.iter().any(|o| o == origin_text) => {
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "CORS origin check failed"),
    }
}
