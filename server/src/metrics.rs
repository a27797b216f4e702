//! `/metrics`, in the Prometheus exposition format (OpenMetrics text, by
//! the `prometheus-client` crate): requests per route pattern and status,
//! a request-duration histogram per route pattern (the pattern, never the
//! raw path, so the number of series stays bounded), what the use cases
//! counted (sign-ins by outcome, tokens issued by grant, introspections,
//! refresh-token reuse) and the process's resident memory.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use gatehouse::tally::Counts;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabel {
    grant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActiveLabel {
    active: String,
}

/// Upper bounds in seconds: from an introspection (a tenth of a
/// millisecond) to a password check waiting for a hashing thread.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

type Histograms = Family<RouteLabel, Histogram, fn() -> Histogram>;

#[derive(Clone)]
pub struct Metrics {
    requests: Family<RouteStatus, Counter>,
    durations: Histograms,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(histogram as fn() -> Histogram),
        }
    }
}

/// A counter family holding the given counts.
fn counters<L>(pairs: impl IntoIterator<Item = (L, u64)>) -> Family<L, Counter>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<L, Counter>::default();
    for (labels, count) in pairs {
        family.get_or_create(&labels).inc_by(count);
    }
    family
}

impl Metrics {
    pub(crate) fn record(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RouteStatus {
                route: route.to_owned(),
                status: u32::from(status),
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// The exposition of everything counted so far, with the use cases'
    /// counts `tally`.
    pub fn render(&self, tally: &Counts) -> String {
        let mut root = Registry::default();
        let gatehouse = root.sub_registry_with_prefix("gatehouse");
        gatehouse.register(
            "http_requests",
            "HTTP requests answered, by route pattern and status",
            self.requests.clone(),
        );
        gatehouse.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route pattern",
            self.durations.clone(),
        );
        gatehouse.register(
            "sign_ins",
            "Password checks (portal, password grant, account API) by outcome: ok, failed, throttled",
            counters(tally.sign_ins.iter().map(|(o, n)| {
                let outcome = o.as_str().to_owned();
                (OutcomeLabel { outcome }, *n)
            })),
        );
        gatehouse.register(
            "tokens_issued",
            "Token endpoint answers that issued tokens, by grant type",
            counters(tally.issued.iter().map(|(g, n)| {
                let grant = g.as_str().to_owned();
                (GrantLabel { grant }, *n)
            })),
        );
        gatehouse.register(
            "introspections",
            "Introspection answers, by whether the token was active",
            counters(tally.introspections.iter().map(|(a, n)| {
                let active = a.to_string();
                (ActiveLabel { active }, *n)
            })),
        );
        let reuse = Counter::<u64>::default();
        reuse.inc_by(tally.refresh_reuse);
        gatehouse.register(
            "refresh_token_reuse",
            "Rotated refresh tokens presented again (each revoked its grant)",
            reuse,
        );
        if let Some(rss) = resident_bytes() {
            let gauge = Gauge::<i64>::default();
            gauge.set(i64::try_from(rss).unwrap_or(i64::MAX));
            root.register(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                gauge,
            );
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &root) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// Resident set size from /proc (Linux); None elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub async fn serve(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state.accounts.tally().counts());
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse::oauth::client::GrantType;
    use gatehouse::tally::{SignInOutcome, Tally};

    #[test]
    fn counts_and_histograms_render_as_openmetrics_text() {
        let m = Metrics::default();
        m.record("/o/token/", 200, 0.0007);
        m.record("/o/token/", 200, 0.3);
        m.record("/o/token/", 401, 0.1);
        m.record("we\"ird", 404, 0.0);
        let tally = Tally::default();
        tally.sign_in(SignInOutcome::Throttled);
        tally.issued(GrantType::ClientCredentials);
        tally.issued(GrantType::ClientCredentials);
        tally.introspected(true);
        tally.refresh_reused();
        let text = m.render(&tally.counts());
        for line in [
            "gatehouse_http_requests_total{route=\"/o/token/\",status=\"200\"} 2\n",
            "gatehouse_http_requests_total{route=\"/o/token/\",status=\"401\"} 1\n",
            "# TYPE gatehouse_http_request_duration_seconds histogram\n",
            "gatehouse_http_request_duration_seconds_bucket{le=\"0.001\",route=\"/o/token/\"} 1\n",
            "gatehouse_http_request_duration_seconds_bucket{le=\"0.5\",route=\"/o/token/\"} 3\n",
            "gatehouse_http_request_duration_seconds_count{route=\"/o/token/\"} 3\n",
            "gatehouse_sign_ins_total{outcome=\"throttled\"} 1\n",
            "gatehouse_sign_ins_total{outcome=\"ok\"} 0\n",
            "gatehouse_tokens_issued_total{grant=\"client_credentials\"} 2\n",
            "gatehouse_introspections_total{active=\"true\"} 1\n",
            "gatehouse_refresh_token_reuse_total 1\n",
            "# EOF\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        assert!(text.contains("route=\"we\\\"ird\""), "{text}");
    }
}
