//! The `gatehouse-resource` kit and its items API against a real Gatehouse
//! (the `gatehouse serve` process, so it can be stopped and started again)
//! on ephemeral ports: tokens from the password grant read and write
//! items, scopes and revocation are enforced, concurrent requests with one
//! token make one introspection call, a stopped Gatehouse means 503 until
//! it returns, and bad input gets a clear 4xx JSON answer.

#[allow(dead_code)]
#[path = "../../../resource/examples/items/app.rs"]
mod items_app;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::TestDb;

const PASSWORD: &str = "correct horse battery";
/// The items API's cache TTL in these tests: the revocation bound.
const TTL: Duration = Duration::from_secs(1);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `gatehouse serve` process and its database, with the items API's
/// app registered.
struct Gatehouse {
    base: String,
    port: u16,
    metrics_port: u16,
    db: TestDb,
    child: Option<Child>,
    client_id: String,
    client_secret: String,
    _dir: tempfile::TempDir,
}

impl Drop for Gatehouse {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Gatehouse {
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("GATEHOUSE_DATABASE_URL", &self.db.url)
            .env("GATEHOUSE_PUBLIC_URL", &self.base)
            .env("GATEHOUSE_BIND", format!("127.0.0.1:{}", self.port))
            // Mail stays in the test's folder, not the checkout.
            .env("GATEHOUSE_MAIL_OUTBOX", self._dir.path().join("outbox"))
            .env(
                "GATEHOUSE_METRICS_BIND",
                format!("127.0.0.1:{}", self.metrics_port),
            )
            .env("RUST_LOG", "warn");
        cmd
    }

    fn cli(&self, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run gatehouse");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "gatehouse {args:?} failed");
        String::from_utf8(out.stdout).unwrap()
    }

    async fn new() -> Gatehouse {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::fresh(dir.path()).await;
        let port = free_port();
        let mut gatehouse = Gatehouse {
            base: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port: free_port(),
            db,
            child: None,
            client_id: String::new(),
            client_secret: String::new(),
            _dir: dir,
        };
        gatehouse.cli(&["migrate"], "");
        let app: Value = serde_json::from_str(&gatehouse.cli(
            &[
                "app",
                "create",
                "--name",
                "Items API",
                "--client-type",
                "confidential",
                "--grant-types",
                "password,refresh_token",
                "--scopes",
                "read write",
                "--json",
            ],
            "",
        ))
        .unwrap();
        gatehouse.client_id = app["client_id"].as_str().unwrap().to_owned();
        gatehouse.client_secret = app["client_secret"].as_str().unwrap().to_owned();
        gatehouse.start().await;
        gatehouse
    }

    async fn start(&mut self) {
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .expect("start gatehouse serve");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/healthz", self.base)).await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "gatehouse did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Introspection calls answered so far, from `/metrics`.
    async fn introspections(&self) -> u64 {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.metrics_port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| {
                l.strip_prefix(
                    "gatehouse_http_requests_total{route=\"/o/introspect/\",status=\"200\"} ",
                )
            })
            .map_or(0, |n| n.trim().parse().unwrap())
    }

    /// Revokes `token` as the items app would (RFC 7009).
    async fn revoke(&self, token: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/o/revoke_token/", self.base))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

/// The items API, in this process, in front of `gatehouse`.
struct Items {
    base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Items {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Items {
    async fn start(gatehouse: &Gatehouse) -> Items {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = items_app::Settings {
            bind: addr,
            database_url: format!("sqlite://{}/items.db", gatehouse._dir.path().display()),
            issuer: gatehouse.base.clone(),
            client_id: gatehouse.client_id.clone(),
            client_secret: gatehouse.client_secret.clone(),
            cache_ttl: TTL,
        };
        let router = items_app::router(&settings).await.expect("items router");
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Items {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `body` (JSON) with `token`; returns the status and the JSON
    /// answer (`null` when empty).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, json, headers)
    }

    /// Signs up through the items API; returns the token answer of a
    /// sign-in with `scope`.
    async fn person(&self, username: &str, scope: &str) -> Value {
        let (status, body, _) = self
            .call(
                reqwest::Method::POST,
                "/users/signup/",
                None,
                Some(json!({
                    "username": username,
                    "email": format!("{username}@example.org"),
                    "password": PASSWORD,
                    "password2": PASSWORD,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.sign_in(username, scope).await
    }

    async fn sign_in(&self, username: &str, scope: &str) -> Value {
        let (status, body, _) = self
            .call(
                reqwest::Method::POST,
                "/users/token/",
                None,
                Some(json!({ "username": username, "password": PASSWORD, "scope": scope })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn access(token: &Value) -> String {
    token["access_token"].as_str().unwrap().to_owned()
}

fn challenge(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("www-authenticate")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_grant_token_reads_and_writes_its_own_items() {
    let gatehouse = Gatehouse::new().await;
    let items = Items::start(&gatehouse).await;
    let ada = items.person("ada", "read write").await;
    let token = access(&ada);

    let (status, created, _) = items
        .call(
            Method::POST,
            "/items/",
            Some(&token),
            Some(json!({"name": "Microscope", "description": "Optical", "price": "1250.5"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["price"], "1250.50");
    assert_eq!(created["user"]["username"], "ada");
    let id = created["id"].as_i64().unwrap();
    let path = format!("/items/{id}/");

    let (status, list, _) = items.call(Method::GET, "/items/", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([created.clone()]));

    let (status, patched, _) = items
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"price": 99.9})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["price"], "99.90");
    assert_eq!(patched["name"], "Microscope");

    let (status, replaced, _) = items
        .call(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({"name": "Centrifuge", "description": "Fast", "price": "10"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let (status, got, _) = items.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!((status, got), (StatusCode::OK, replaced));

    // Another person's item is not found, whatever they try.
    let bob = access(&items.person("bob", "read write").await);
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({"price": "1"}));
        let (status, answer, _) = items.call(method, &path, Some(&bob), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    }
    let (_, bobs, _) = items.call(Method::GET, "/items/", Some(&bob), None).await;
    assert_eq!(bobs, json!([]));

    let (status, _, _) = items.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = items.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The seed's refresh and password change, forwarded.
    let (status, refreshed, _) = items
        .call(
            Method::POST,
            "/users/token/refresh/",
            None,
            Some(json!({"refresh": ada["refresh_token"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let fresh = access(&refreshed);
    let (status, changed, _) = items
        .call(
            Method::PUT,
            "/users/password/",
            Some(&fresh),
            Some(json!({
                "old_password": PASSWORD,
                "password": "another long password",
                "password2": "another long password",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, refused, _) = items
        .call(
            Method::POST,
            "/users/token/",
            None,
            Some(json!({"username": "ada", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the old password: {refused}"
    );
    assert_eq!(refused["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_unknown_tokens_and_revocation_are_enforced() {
    let gatehouse = Gatehouse::new().await;
    let items = Items::start(&gatehouse).await;
    let reader = access(&items.person("ada", "read").await);

    let (status, _, _) = items
        .call(Method::GET, "/items/", Some(&reader), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let item = json!({"name": "Pipette", "description": "1 ml", "price": "3.20"});
    let (status, body, headers) = items
        .call(Method::POST, "/items/", Some(&reader), Some(item.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_scope");
    let c = challenge(&headers);
    assert!(
        c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"write\""),
        "{c}"
    );

    let (status, body, headers) = items
        .call(
            Method::GET,
            "/items/",
            Some("not-a-token-gatehouse-issued"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    assert!(challenge(&headers).contains("error=\"invalid_token\""));
    let (status, _, headers) = items.call(Method::GET, "/items/", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&headers), "Bearer realm=\"api\"");
    // A refresh token is not an access token.
    let writer = items.sign_in("ada", "read write").await;
    let refresh = writer["refresh_token"].as_str().unwrap();
    let (status, _, _) = items
        .call(Method::GET, "/items/", Some(refresh), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Revoked at Gatehouse: refused here once the cached answer ends.
    let writer = access(&writer);
    let (status, _, _) = items
        .call(Method::GET, "/items/", Some(&writer), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    gatehouse.revoke(&writer).await;
    let revoked_at = Instant::now();
    loop {
        let (status, _, _) = items
            .call(Method::GET, "/items/", Some(&writer), None)
            .await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            revoked_at.elapsed() < TTL + Duration::from_secs(2),
            "still accepted {:?} after revocation (TTL {TTL:?})",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_with_a_new_token_make_one_introspection_call() {
    let gatehouse = Gatehouse::new().await;
    let items = Items::start(&gatehouse).await;
    let token = access(&items.person("ada", "read write").await);
    let before = gatehouse.introspections().await;
    let answers = futures::future::join_all(
        (0..50).map(|_| items.call(Method::GET, "/items/", Some(&token), None)),
    )
    .await;
    for (status, body, _) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(gatehouse.introspections().await - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_gatehouse_means_503_until_it_returns() {
    let mut gatehouse = Gatehouse::new().await;
    let items = Items::start(&gatehouse).await;
    let first = access(&items.person("ada", "read write").await);
    let second = access(&items.sign_in("ada", "read write").await);
    let (status, _, _) = items.call(Method::GET, "/items/", Some(&first), None).await;
    assert_eq!(status, StatusCode::OK);

    gatehouse.stop();
    // A token not checked yet cannot be checked: fail closed, not 401.
    let (status, body, headers) = items
        .call(Method::GET, "/items/", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(headers.get("retry-after").is_some());
    // The forwarded user endpoints say so too.
    let (status, body, _) = items
        .call(
            Method::POST,
            "/users/token/",
            None,
            Some(json!({"username": "ada", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    gatehouse.start().await;
    let (status, body, _) = items
        .call(Method::GET, "/items/", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_every_items_route_gets_a_clear_error() {
    let gatehouse = Gatehouse::new().await;
    let items = Items::start(&gatehouse).await;
    let token = access(&items.person("ada", "read write").await);
    let post = |body: Value| items.call(Method::POST, "/items/", Some(&token), Some(body));

    let (status, body, _) = post(json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for field in ["name", "description", "price"] {
        assert_eq!(body[field], json!(["This field is required."]), "{body}");
    }
    let (status, body, _) =
        post(json!({"name": "Scale", "description": "d", "price": "1.005"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["price"],
        json!(["Ensure that there are no more than 2 decimal places."])
    );
    let (status, body, _) =
        post(json!({"name": "x".repeat(51), "description": "d", "price": "1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["name"],
        json!(["Ensure this field has no more than 50 characters."])
    );
    let (status, body, _) =
        post(json!({"name": "n", "description": "d".repeat(251), "price": "1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, _) =
        post(json!({"name": "a\u{0}b", "description": "d", "price": "1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, _) = post(json!({"name": "n", "description": "d", "price": "1e3"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, _) = post(json!({"name": "n", "description": "d", "price": [1]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Hostile text is stored and returned as data, as JSON.
    let hostile = "</title><script>alert(1)</script>\"><img onerror=x>";
    let (status, first, _) =
        post(json!({"name": "Scale", "description": hostile, "price": "1"})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["description"], hostile);
    let (status, body, _) =
        post(json!({"name": "Scale", "description": "again", "price": "2"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["name"],
        json!(["An item with this name already exists."])
    );
    // Renaming onto a taken name is the same conflict.
    let (_, other, _) = post(json!({"name": "Funnel", "description": "d", "price": "2"})).await;
    let other_path = format!("/items/{}/", other["id"]);
    let (status, _, _) = items
        .call(
            Method::PATCH,
            &other_path,
            Some(&token),
            Some(json!({"name": "Scale"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body, _) = items
        .call(
            Method::PUT,
            &other_path,
            Some(&token),
            Some(json!({"name": "Funnel"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "PUT needs every field: {body}"
    );
    let (status, body, _) = items
        .call(
            Method::PATCH,
            &other_path,
            Some(&token),
            Some(json!({"price": null})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    for path in [
        "/items/abc/",
        "/items/-1/",
        "/items/1.5/",
        "/items/99999999999999999999/",
    ] {
        for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
            let (status, body, _) = items
                .call(
                    method.clone(),
                    path,
                    Some(&token),
                    Some(json!({"price": "1"})),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {body}");
            assert_eq!(body["detail"], "Item ids are whole numbers.");
        }
    }

    // Bodies that are not a JSON object or a form.
    let raw = |content_type: &'static str, body: Vec<u8>| {
        items
            .client
            .post(items.url("/items/"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (content_type, body, expected) in [
        (
            "application/json",
            b"{\"name\":".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            b"[1,2]".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "text/plain",
            b"name=x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "application/json",
            vec![b' '; 20_000],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let r = raw(content_type, body).await.unwrap();
        assert_eq!(r.status(), expected, "{content_type}");
        let json: Value = r.json().await.expect("a JSON answer");
        assert!(json["detail"].is_string(), "{json}");
    }
    // A form works as in the replaced API.
    let r = items
        .client
        .post(items.url("/items/"))
        .bearer_auth(&token)
        .form(&[
            ("name", "Flask"),
            ("description", "250 ml"),
            ("price", "4.5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Unknown routes and methods answer JSON too.
    let (status, body, _) = items.call(Method::GET, "/nothing/", None, None).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some("Not found."))
    );
    let (status, _, _) = items.call(Method::GET, "/users/signup/", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // The forwarded sign-up checks its fields before asking Gatehouse.
    let (status, body, _) = items
        .call(
            Method::POST,
            "/users/signup/",
            None,
            Some(json!({"email": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["email"], json!(["Not a valid string."]));
    assert_eq!(body["password"], json!(["This field is required."]));
}
