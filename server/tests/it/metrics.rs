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
        .starts_with("application/openmetrics-text; version=1.0.0"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_request_id_only_a_trusted_proxy_may_choose() {
    let client = reqwest::Client::new();
    let id_of = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .expect("an X-Request-Id")
            .to_str()
            .unwrap()
            .to_owned()
    };
    let server = TestServer::start().await;
    let mut seen = std::collections::HashSet::new();
    for path in ["/healthz", "/o/token/", "/accounts/login/", "/nope"] {
        let r = client
            .get(server.url(path))
            .header("x-request-id", "chosen-by-client")
            .send()
            .await
            .unwrap();
        let id = id_of(&r);
        assert_ne!(
            id, "chosen-by-client",
            "{path}: an untrusted peer's id is replaced"
        );
        assert_eq!(id.len(), 16);
        assert!(seen.insert(id), "ids are new each time");
    }

    let proxied = TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let r = client
        .get(proxied.url("/healthz"))
        .header("x-request-id", "edge-1234:abc")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r), "edge-1234:abc");
    let r = client
        .get(proxied.url("/healthz"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r).len(), 16, "a malformed id is replaced");
}

/// The access log of a real `gatehouse serve`: one JSON line per request
/// with the route's pattern, status and request id; never the query or
/// the body, where codes and secrets travel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_names_routes_never_secrets() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "GATEHOUSE_DATABASE_URL",
            format!("sqlite://{}/log.db", dir.path().display()),
        )
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_PUBLIC_URL", &base)
        .env("GATEHOUSE_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,gatehouse::access=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gatehouse serve");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = client
        .post(format!("{base}/o/token/?code=QUERYSECRET"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "BODYSECRET"),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    let id = token.headers()["x-request-id"].to_str().unwrap().to_owned();
    client
        .get(format!("{base}/o/authorize/?client_id=x&state=STATESECRET"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let line: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no access line for {id} in:\n{log}"));
    assert_eq!(line["fields"]["route"], "/o/token/");
    assert_eq!(line["fields"]["method"], "POST");
    assert!(
        matches!(line["fields"]["status"].as_u64(), Some(400 | 401)),
        "{line}"
    );
    assert!(line["fields"]["duration_ms"].as_f64().is_some());
    assert!(log.contains("\"route\":\"/o/authorize/\""), "{log}");
    for secret in ["QUERYSECRET", "BODYSECRET", "STATESECRET"] {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_tokens_and_introspections_are_counted() {
    let server = TestServer::start().await;
    server.signed_up("ada", "correct horse battery").await;
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec!["password", "client_credentials"];
        })
        .await;
    let secret = secret.unwrap();
    let client = reqwest::Client::new();
    let token = |form: Vec<(&'static str, &'static str)>| {
        client
            .post(server.url("/o/token/"))
            .basic_auth(&id, Some(&secret))
            .form(&form)
            .send()
    };
    let issued: serde_json::Value = token(vec![("grant_type", "client_credentials")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wrong = token(vec![
        ("grant_type", "password"),
        ("username", "ada"),
        ("password", "not her password"),
    ])
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let right = token(vec![
        ("grant_type", "password"),
        ("username", "ada"),
        ("password", "correct horse battery"),
    ])
    .await
    .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    for t in [issued["access_token"].as_str().unwrap(), "no-such-token"] {
        client
            .post(server.url("/o/introspect/"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", t)])
            .send()
            .await
            .unwrap();
    }
    let text = client
        .get(format!("{}/metrics", server.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        // Signing up checks no password: the one ok is the password grant.
        "gatehouse_sign_ins_total{outcome=\"ok\"} 1\n",
        "gatehouse_sign_ins_total{outcome=\"failed\"} 1\n",
        "gatehouse_tokens_issued_total{grant=\"client_credentials\"} 1\n",
        "gatehouse_tokens_issued_total{grant=\"password\"} 1\n",
        "gatehouse_introspections_total{active=\"true\"} 1\n",
        "gatehouse_introspections_total{active=\"false\"} 1\n",
        "gatehouse_http_request_duration_seconds_count{route=\"/o/token/\"} 3\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}

/// A whole code flow against a real `gatehouse serve` logging everything
/// at info (access lines, audit lines, handlers' lines) as JSON: no
/// password, client secret, code, state, PKCE verifier or token it used
/// appears anywhere in the captured log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_leaves_no_secret_in_the_log() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    use crate::support::{csrf_token, Browser, REDIRECT_URI};

    const PASSWORD: &str = "Pass-Phrase-Never-Logged-91";
    const STATE: &str = "State-Never-Logged-27";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/flow.db", dir.path().display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .env("GATEHOUSE_DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run gatehouse");
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let app = cli(&[
        "app",
        "create",
        "--name",
        "Flow",
        "--client-type",
        "confidential",
        "--grant-types",
        "authorization_code,refresh_token",
        "--redirect-uris",
        REDIRECT_URI,
        "--scopes",
        "openid read write",
        "--json",
    ]);
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    let client_secret = app["client_secret"].as_str().unwrap().to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GATEHOUSE_DATABASE_URL", &db)
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_PUBLIC_URL", &base)
        .env("GATEHOUSE_LOG_FORMAT", "json")
        // Signed in right after sign-up. (With verification on and no
        // smtp_url, the outbox's log line carries the link, by design.)
        .env("GATEHOUSE_VERIFY_EMAIL", "false")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gatehouse serve");
    let plain = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while plain.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let browser = Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.clone(),
    };
    let signed_up = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "ada"),
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_up.status, StatusCode::SEE_OTHER);
    // A wrong password too (a failed sign-in is logged and audited).
    let other = Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        base: base.clone(),
    };
    let page = other.get("/accounts/login/").await;
    let token = csrf_token(&page.body);
    other
        .client
        .post(format!("{base}/accounts/login/"))
        .header("origin", &base)
        .form(&[
            ("csrf_token", token.as_str()),
            ("login", "ada"),
            ("password", "Wrong-Pass-Never-Logged-55"),
        ])
        .send()
        .await
        .unwrap();
    let auth = url::Url::parse_with_params(
        &format!("{base}/o/authorize/"),
        &[
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid read write"),
            ("state", STATE),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let back = browser.consent(&auth).await;
    let code = back["code"].clone();
    let basic = (client_id.as_str(), Some(client_secret.as_str()));
    let tokens: serde_json::Value = plain
        .post(format!("{base}/o/token/"))
        .basic_auth(basic.0, basic.1)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let introspected: serde_json::Value = plain
        .post(format!("{base}/o/introspect/"))
        .basic_auth(basic.0, basic.1)
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);
    // The token in a query string, as older clients send it.
    let profile = plain
        .get(format!("{base}/profile/?access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let refreshed: serde_json::Value = plain
        .post(format!("{base}/o/token/"))
        .basic_auth(basic.0, basic.1)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access2 = refreshed["access_token"].as_str().unwrap().to_owned();
    let refresh2 = refreshed["refresh_token"].as_str().unwrap().to_owned();
    // The old refresh token again: reuse, audited.
    plain
        .post(format!("{base}/o/token/"))
        .basic_auth(basic.0, basic.1)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    plain
        .post(format!("{base}/o/revoke_token/"))
        .basic_auth(basic.0, basic.1)
        .form(&[("token", refresh2.as_str())])
        .send()
        .await
        .unwrap();

    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    // The flow was logged: access lines, and the audit events.
    assert!(log.contains("\"route\":\"/o/token/\""), "{log}");
    for kind in [
        "signed_up",
        "sign_in_failed",
        "consent_given",
        "token_reused",
    ] {
        assert!(
            log.contains(&format!("\"event\":\"{kind}\"")),
            "{kind}:\n{log}"
        );
    }
    let secrets = [
        PASSWORD,
        "Wrong-Pass-Never-Logged-55",
        &client_secret,
        &code,
        STATE,
        VERIFIER,
        &access,
        &refresh,
        &id_token,
        &access2,
        &refresh2,
    ];
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
}
