//! `/metrics`: Prometheus text. Requests and their total time per route
//! (the route's pattern, never the raw path, so the number of series stays
//! bounded) and status, plus the process's resident memory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Count and total seconds of the requests of one route and status.
#[derive(Default, Clone, Copy)]
struct Tally {
    count: u64,
    seconds: f64,
}

#[derive(Clone, Default)]
pub struct Metrics {
    /// route pattern → status → tally.
    requests: Arc<Mutex<HashMap<String, HashMap<u16, Tally>>>>,
}

impl Metrics {
    fn record(&self, route: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let by_status = match requests.get_mut(route) {
            Some(s) => s,
            None => requests.entry(route.to_owned()).or_default(),
        };
        let tally = by_status.entry(status).or_default();
        tally.count += 1;
        tally.seconds += seconds;
    }

    /// The Prometheus text exposition of everything counted so far.
    pub fn render(&self) -> String {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut rows: Vec<(&String, &u16, &Tally)> = requests
            .iter()
            .flat_map(|(route, by)| by.iter().map(move |(status, t)| (route, status, t)))
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut out = String::new();
        out.push_str("# HELP gatehouse_http_requests_total HTTP requests answered, by route pattern and status.\n");
        out.push_str("# TYPE gatehouse_http_requests_total counter\n");
        for (route, status, t) in &rows {
            let _ = writeln!(
                out,
                "gatehouse_http_requests_total{{route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                t.count
            );
        }
        out.push_str("# HELP gatehouse_http_request_duration_seconds_total Time spent answering, by route pattern and status.\n");
        out.push_str("# TYPE gatehouse_http_request_duration_seconds_total counter\n");
        for (route, status, t) in &rows {
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_total{{route=\"{}\",status=\"{status}\"}} {:.6}",
                escape(route),
                t.seconds
            );
        }
        if let Some(rss) = resident_bytes() {
            out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
            out.push_str("# TYPE process_resident_memory_bytes gauge\n");
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
        out
    }
}

/// A label value as Prometheus text requires it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Resident set size from /proc (Linux); None elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Counts every request under its route pattern (`unmatched` for paths
/// no route knows, so scanners cannot create new series).
pub async fn count(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    // A cheap clone (the pattern is shared), no allocation per request.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.record(
        route.as_ref().map_or("unmatched", |m| m.as_str()),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub async fn serve(State(metrics): State<Metrics>) -> Response {
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let m = Metrics::default();
        m.record("/o/token/", 200, 0.5);
        m.record("/o/token/", 200, 0.25);
        m.record("/o/token/", 401, 0.1);
        m.record("we\"ird", 404, 0.0);
        let text = m.render();
        assert!(
            text.contains("gatehouse_http_requests_total{route=\"/o/token/\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("gatehouse_http_requests_total{route=\"/o/token/\",status=\"401\"} 1\n")
        );
        assert!(text.contains(
            "gatehouse_http_request_duration_seconds_total{route=\"/o/token/\",status=\"200\"} 0.750000\n"
        ));
        assert!(text.contains("route=\"we\\\"ird\""));
        assert!(text.contains("# TYPE gatehouse_http_requests_total counter"));
    }
}
