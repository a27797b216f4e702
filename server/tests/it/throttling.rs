//! Repeated failures slow down; unknown users cost a full hash.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::TestServer;

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_per_account() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let attacker = server.browser();
    for _ in 0..5 {
        let page = attacker.sign_in("ada", "guess guess guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits, by username or by email.
    for login in ["ada", "ada@example.org"] {
        let page = attacker.sign_in(login, PASSWORD).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{login}");
        assert!(page.body.contains("Too many attempts. Try again in"));
        let retry: u64 = page.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&retry), "{retry}");
    }
    // The wait is short: after it the owner signs in.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let owner = server.browser().sign_in("ada", PASSWORD).await;
    assert_eq!(owner.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_per_address() {
    let server = TestServer::start().await;
    server.signed_up("victim", PASSWORD).await;
    let attacker = server.browser();
    // Fifty different (unknown) accounts from one address: spraying.
    for i in 0..50 {
        let page = attacker.sign_in(&format!("user{i}"), "guess guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let page = attacker.sign_in("victim", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_sign_ins_do_not_count_against_an_address() {
    // A classroom behind one NAT: many people signing in is not an attack.
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    for i in 0..22 {
        let page = server.browser().sign_in("ada", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/shared.db", dir.path().display());
    {
        let url = url.clone();
        let server = TestServer::start_with(move |c| c.database_url = url).await;
        server.signed_up("ada", PASSWORD).await;
        for _ in 0..6 {
            server.browser().sign_in("ada", "guess guess guess").await;
        }
    }
    let restarted = TestServer::start_with(move |c| c.database_url = url).await;
    let page = restarted.browser().sign_in("ada", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn timed_sign_in(server: &TestServer, login: &str) -> Duration {
    let browser = server.browser();
    let started = Instant::now();
    let page = browser.sign_in(login, "not the password").await;
    let elapsed = started.elapsed();
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_costs_as_much_as_a_wrong_password() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    // Stay under the throttling limits: 3 failures for ada, 3 unknown names.
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..3 {
        wrong.push(timed_sign_in(&server, "ada").await);
        unknown.push(timed_sign_in(&server, &format!("ghost{i}")).await);
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    // Both are dominated by one argon2 hash; without the dummy hash an
    // unknown user would answer in a fraction of the time.
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {unknown:?} vs wrong password {wrong:?}"
    );
}
