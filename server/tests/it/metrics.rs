//! `/metrics`: Prometheus text with requests per route pattern and status.

use reqwest::StatusCode;

use crate::support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_counted_by_route_pattern() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client
            .post(server.url("/o/token/"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
    }
    // Paths no route knows share one series, whatever they are.
    for path in ["/nope-1", "/nope-2/x"] {
        client.get(server.url(path)).send().await.unwrap();
    }
    client
        .get(server.url("/o/applications/12345/"))
        .send()
        .await
        .unwrap();
    let r = client
        .get(format!("{}/metrics", server.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    assert!(
        text.contains("gatehouse_http_requests_total{route=\"/o/token/\",status=\"401\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("route=\"unmatched\",status=\"404\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("route=\"/o/applications/{id}/\""), "{text}");
    assert!(!text.contains("nope"), "{text}");
    assert!(text.contains("process_resident_memory_bytes "), "{text}");
    // Never on the public port.
    let public = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
