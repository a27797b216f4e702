//! Resident memory under sign-in load: argon2 runs on a fixed set of
//! threads whose working memory is allocated once, so a burst of password
//! checks does not grow the process (a memory bound, not a timing).

use reqwest::StatusCode;

use crate::support::TestServer;

const PASSWORD: &str = "correct horse battery";

/// This process's resident memory, in KiB (the server runs in-process).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_password_sign_ins_do_not_grow_resident_memory() {
    let server = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.password_hash_threads = 2;
    })
    .await;
    server.signed_up("ada", PASSWORD).await;
    let (id, secret) = server.register(|f| f.grant_types = vec!["password"]).await;
    let secret = secret.unwrap();
    let client = reqwest::Client::new();
    let sign_in = |i: usize| {
        let (client, id, secret, url) = (&client, &id, &secret, server.url("/o/token/"));
        async move {
            let (user, password) = if i.is_multiple_of(2) {
                ("ada".to_owned(), PASSWORD)
            } else {
                (format!("nobody{i}"), "wrong password")
            };
            client
                .post(url)
                .basic_auth(id, Some(secret))
                .header(
                    "x-forwarded-for",
                    format!("10.0.{}.{}", i / 250, i % 250 + 1),
                )
                .form(&[
                    ("grant_type", "password"),
                    ("username", user.as_str()),
                    ("password", password),
                    ("scope", "read"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Warm up: the pool, the connection pool, the allocator's arenas.
    for s in futures::future::join_all((0..8).map(sign_in)).await {
        assert!(s == StatusCode::OK || s == StatusCode::BAD_REQUEST, "{s}");
    }
    let before = rss_kib();
    let mut peak = before;
    // Sampled while the hashes run: the threads' memory is resident then.
    let busiest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let busiest = busiest.clone();
        tokio::spawn(async move {
            loop {
                busiest.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        })
    };
    for round in 0..10 {
        let statuses =
            futures::future::join_all((0..20).map(|i| sign_in(100 + round * 20 + i))).await;
        for s in statuses {
            assert!(
                s == StatusCode::OK || s == StatusCode::BAD_REQUEST,
                "unexpected {s}"
            );
        }
        peak = peak.max(rss_kib());
    }
    sampler.abort();
    let grown_mib = peak.saturating_sub(before) / 1024;
    // Before the fixed pool, each blocking thread kept its own 19 MiB
    // arena: 20 parallel checks grew the process by hundreds of MiB.
    assert!(
        grown_mib < 24,
        "resident memory grew by {grown_mib} MiB under 200 sign-ins (from {} MiB)",
        before / 1024
    );
    // A quarter of a second without a hash to do, the threads give their
    // pages back: more than one thread's argon2 memory (19 MiB each; both
    // threads give back about 38 MiB) less than while hashing. Wait for
    // it, within a bound.
    let busiest = busiest.load(std::sync::atomic::Ordering::Relaxed);
    let given_back_kib = 28 * 1024;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let idle = loop {
        let idle = rss_kib();
        if busiest.saturating_sub(idle) >= given_back_kib || std::time::Instant::now() > deadline {
            break idle;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        busiest.saturating_sub(idle) >= given_back_kib,
        "idle threads kept their memory: {} KiB while hashing, {} KiB 5 s after",
        busiest,
        idle
    );
}
