//! Two `gatehouse serve` processes on one PostgreSQL database, as behind a
//! load balancer: a sign-in, an authorization, a redemption, a refresh and
//! a revocation each land on a different replica and agree; concurrent
//! redemptions of one code across both have exactly one winner; a key
//! rotation reaches both replicas' JWKS within `key_refresh_secs`.
//! Needs PostgreSQL (`TEST_POSTGRES_URL`); skipped, and says so, without.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{postgres_server, TestDb, REDIRECT_URI};

const PASSWORD: &str = "correct horse battery";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// How often the replicas reload signing keys, for this test.
const KEY_REFRESH_SECS: u64 = 1;

/// A `gatehouse serve` process, killed when dropped.
struct Replica {
    base: String,
    child: Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `gatehouse` binary with the shared settings of every replica.
fn gatehouse(db: &str, public_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GATEHOUSE_DATABASE_URL", db)
        .env("GATEHOUSE_PUBLIC_URL", public_url)
        .env("GATEHOUSE_KEY_REFRESH_SECS", KEY_REFRESH_SECS.to_string())
        // Mail stays out of the checkout.
        .env(
            "GATEHOUSE_MAIL_OUTBOX",
            std::env::temp_dir().join("gatehouse-replicas-outbox"),
        )
        .env("RUST_LOG", "warn");
    cmd
}

async fn start(db: &str, public_url: &str, port: u16) -> Replica {
    let child = gatehouse(db, public_url)
        .arg("serve")
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start gatehouse serve");
    let replica = Replica {
        base: format!("http://127.0.0.1:{port}"),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/healthz", replica.base)).await {
            if r.status() == StatusCode::OK {
                return replica;
            }
        }
        assert!(Instant::now() < deadline, "replica on {port} did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cli(db: &str, public_url: &str, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = gatehouse(db, public_url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run gatehouse");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gatehouse {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The CSRF token a portal page carries.
fn csrf(html: &str) -> String {
    crate::support::csrf_token(html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_sessions_codes_tokens_and_keys() {
    let Some(_) = postgres_server() else {
        eprintln!("SKIPPED two_replicas_share_sessions_codes_tokens_and_keys: needs PostgreSQL (set TEST_POSTGRES_URL)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh(dir.path()).await;
    let (port_a, port_b) = (free_port(), free_port());
    // Behind a load balancer both replicas have one public URL (the issuer).
    let public = format!("http://127.0.0.1:{port_a}");
    let a = start(&db.url, &public, port_a).await;
    let b = start(&db.url, &public, port_b).await;

    cli(
        &db.url,
        &public,
        &[
            "user",
            "create",
            "--username",
            "ada",
            "--email",
            "ada@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let app: Value = serde_json::from_str(&cli(
        &db.url,
        &public,
        &[
            "app",
            "create",
            "--name",
            "Shared",
            "--client-type",
            "confidential",
            "--grant-types",
            "authorization_code,refresh_token",
            "--redirect-uris",
            REDIRECT_URI,
            "--scopes",
            "openid read",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let (id, secret) = (
        app["client_id"].as_str().unwrap().to_owned(),
        app["client_secret"].as_str().unwrap().to_owned(),
    );

    // One browser (cookies are per host, so both replicas get them).
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    // Sign in on A.
    let page = browser
        .get(format!("{}/accounts/login/", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);
    let signed_in = browser
        .post(format!("{}/accounts/login/", a.base))
        .header("origin", &public)
        .form(&[
            ("csrf_token", token.as_str()),
            ("login", "ada"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    // Authorize on B: the session made on A is valid there.
    let request = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid read"),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request)
        .finish();
    let consent = browser
        .get(format!("{}/o/authorize/?{query}", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), StatusCode::OK, "consent page on B");
    let mut fields: Vec<(&str, &str)> = request.to_vec();
    fields.push(("csrf_token", &token));
    fields.push(("decision", "allow"));
    let allowed = browser
        .post(format!("{}/o/authorize/", b.base))
        .header("origin", &public)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let code = query_of(allowed.headers()["location"].to_str().unwrap())["code"].clone();

    let client = reqwest::Client::new();
    let token_at = |base: &str, form: Vec<(&'static str, String)>| {
        let request = client
            .post(format!("{base}/o/token/"))
            .basic_auth(&id, Some(&secret))
            .form(&form);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let redeem = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT_URI.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    // Redeem on A, refresh on B.
    let (status, first) = token_at(&a.base, redeem(&code)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first["id_token"].is_string());
    let (status, second) = token_at(
        &b.base,
        vec![
            ("grant_type", "refresh_token".to_owned()),
            (
                "refresh_token",
                first["refresh_token"].as_str().unwrap().to_owned(),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");

    // Revoke on A; B sees the token inactive.
    let introspect_on = |base: &str, token: &str| {
        let request = client
            .post(format!("{base}/o/introspect/"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", token)]);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(introspect_on(&b.base, access).await["active"], true);
    let revoked = client
        .post(format!("{}/o/revoke_token/", a.base))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("token", second["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(introspect_on(&b.base, access).await["active"], false);

    // Twenty concurrent redemptions of one code, alternating replicas.
    let again = browser
        .get(format!("{}/o/authorize/?{query}", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FOUND, "consent remembered");
    let code = query_of(again.headers()["location"].to_str().unwrap())["code"].clone();
    let mut handles = Vec::new();
    for i in 0..20 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let request = client
            .post(format!("{base}/o/token/"))
            .basic_auth(&id, Some(&secret))
            .form(&redeem(&code));
        handles.push(tokio::spawn(async move {
            let r = request.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in &results {
        if *status != StatusCode::OK {
            assert_eq!(*status, StatusCode::BAD_REQUEST);
            assert_eq!(body["error"], "invalid_grant");
        }
    }
    // The losers' replays revoked what the winner got.
    let winner_access = winners[0]["access_token"].as_str().unwrap();
    assert_eq!(introspect_on(&b.base, winner_access).await["active"], false);

    // A key rotation (the operator's command on A's host) reaches both
    // replicas' JWKS within key_refresh_secs.
    let rotated: Value = serde_json::from_str(&cli(
        &db.url,
        &public,
        &["keys", "rotate", "--algorithm", "RS256", "--json"],
        None,
    ))
    .unwrap();
    let kid = rotated
        .as_array()
        .and_then(|keys| keys.first())
        .and_then(|k| k["kid"].as_str())
        .or_else(|| rotated["keys"][0]["kid"].as_str())
        .unwrap_or_else(|| panic!("no kid in {rotated}"))
        .to_owned();
    let rotated_at = Instant::now();
    for replica in [&a, &b] {
        loop {
            let jwks: Value = reqwest::get(format!("{}/o/.well-known/jwks.json", replica.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let published = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid.as_str());
            if published {
                break;
            }
            assert!(
                rotated_at.elapsed() < Duration::from_secs(KEY_REFRESH_SECS + 2),
                "{} did not publish {kid} within key_refresh_secs",
                replica.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!(
        "new key published by both replicas {} ms after rotation",
        rotated_at.elapsed().as_millis()
    );
    drop((a, b));
}
