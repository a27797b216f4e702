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
use axum::routing::MethodRouter;

use crate::state::AppState;

/// The middleware of the account API's routes: answers preflights, marks
/// every other answer.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_preflight(&req) {
        return answer_preflight(&state, req.headers()).await;
    }
    let origin = req.headers().get(ORIGIN).cloned();
    let mut response = next.run(req).await;
    mark(&state, origin, &mut response);
    response
}

/// The token, device, revocation, introspection and userinfo endpoints:
/// `handler` with what [`cors`] adds to each answer, without a middleware
/// layer around the route (a layer costs every request a few allocations
/// and about 5% of an introspection's instructions). Their `OPTIONS` is
/// routed to [`preflight`].
pub async fn marked<F, Fut>(State(state): State<AppState>, req: Request, handler: F) -> Response
where
    F: FnOnce(State<AppState>, Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let origin = req.headers().get(ORIGIN).cloned();
    let mut response = handler(State(state.clone()), req).await;
    mark(&state, origin, &mut response);
    response
}

/// `OPTIONS` and every unrouted method of an endpoint whose other methods
/// are `methods`: a CORS preflight is answered as [`cors`] answers it; any
/// other request (an `OPTIONS` that is no preflight, a `PUT`, a `GET` at a
/// POST-only endpoint) is refused with 405 and RFC 6749 error JSON,
/// carrying the CORS marks like every other answer. This installs the
/// route's fallback: the `MethodRouter` it is merged into must have none.
pub fn options(methods: &'static str) -> MethodRouter<AppState> {
    let answer = move |State(state): State<AppState>, req: Request| async move {
        preflight(&state, req, methods).await
    };
    axum::routing::options(answer).fallback(answer)
}

async fn preflight(state: &AppState, req: Request, methods: &'static str) -> Response {
    if is_preflight(&req) {
        return answer_preflight(state, req.headers()).await;
    }
    // One list for every refusal: what the endpoint takes, preflights
    // included.
    let mut response = crate::http::wrong_method(&format!("{methods},OPTIONS"));
    mark(state, req.headers().get(ORIGIN).cloned(), &mut response);
    response
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// What every answer that is not a preflight carries: `Vary: Origin`, and
/// with `cors_allow_all_origins` the caller's origin as allowed.
fn mark(state: &AppState, origin: Option<HeaderValue>, response: &mut Response) {
    let h = response.headers_mut();
    h.append(VARY, HeaderValue::from_static("Origin"));
    if let (true, Some(origin)) = (state.config.cors_allow_all_origins, origin) {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
}

async fn answer_preflight(state: &AppState, headers: &axum::http::HeaderMap) -> Response {
    let origin = headers.get(ORIGIN).cloned();
    let allowed = match origin.as_ref().and_then(|o| o.to_str().ok()) {
        Some(_) if state.config.cors_allow_all_origins => true,
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
