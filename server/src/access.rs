//! One access-log line per request, and an `X-Request-Id` on every
//! response: the id a trusted proxy sent, or a new one. The line names the
//! route's pattern, never the path or query (which may carry codes or
//! tokens), so nothing secret reaches the log.

use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// An id a proxy may hand on: 1 to 128 characters of `A-Z a-z 0-9 - _ . :`.
fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// 16 characters: a random prefix drawn once per process, then the
/// request's number (unique within the process, unpredictable across
/// processes; cheaper than 12 fresh random bytes per request).
fn new_id() -> String {
    use base64::Engine as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let prefix = PREFIX.get_or_init(|| b64.encode(rand::random::<[u8; 6]>()));
    let n = NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    let mut id = String::with_capacity(16);
    id.push_str(prefix);
    b64.encode_string(&n[2..], &mut id);
    id
}

/// The id of this request: a trusted proxy's `X-Request-Id` when it is
/// well-formed, otherwise a new one (a client cannot choose it).
pub fn request_id(state: &AppState, req: &Request) -> String {
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if state.proxies.trusts_peer(peer) {
        if let Some(id) = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| acceptable(id))
        {
            return id.to_owned();
        }
    }
    new_id()
}

/// Handlers' own log lines carry the id through the `request` span.
/// Also counts and times the request for `/metrics` (one middleware for
/// both: each layer costs a boxed future per request).
pub async fn log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&state, &req);
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let seconds = started.elapsed().as_secs_f64();
    // Paths no route knows share one name, so scanners add no series.
    let route = route.as_ref().map_or("unmatched", |m| m.as_str());
    state
        .metrics
        .record(route, response.status().as_u16(), seconds);
    tracing::info!(
        target: "gatehouse::access",
        method = %method,
        route,
        status = response.status().as_u16(),
        duration_ms = seconds * 1000.0,
        request_id = %id,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("<script>"));
        assert!(!acceptable(&"a".repeat(129)));
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(acceptable(&id));
        assert_ne!(new_id(), id);
    }
}
