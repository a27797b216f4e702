//! The JSON account API: sign-up, reading and changing one's account and
//! password with a bearer token, its errors, and its OpenAPI document.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{post, TestServer};

const PASSWORD: &str = "correct horse battery";

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = reqwest::Client::new().request(method, server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    Reply {
        status,
        headers,
        json,
    }
}

fn assert_api_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.json);
    assert_eq!(r.json["error"], code, "{}", r.json);
    assert!(r.json["error_description"].is_string(), "{}", r.json);
}

/// A token for `username` with `scope`, through the password grant.
async fn token(server: &TestServer, app: &(String, String), username: &str, scope: &str) -> String {
    let a = post(
        server,
        "/o/token/",
        Some((&app.0, &app.1)),
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json["access_token"].as_str().unwrap().to_owned()
}

async fn password_app(server: &TestServer) -> (String, String) {
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec!["password"];
            f.redirect_uris = vec![];
            f.scopes = "read write";
        })
        .await;
    (id, secret.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_then_read_and_change_the_account() {
    let server = TestServer::start().await;
    let signup = json!({"username": "ada", "email": "Ada@Example.ORG", "password": PASSWORD});
    let r = call(
        &server,
        reqwest::Method::POST,
        "/api/signup/",
        None,
        Some(signup),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["username"], "ada");
    assert_eq!(r.json["email"], "Ada@example.org");
    assert!(r.json["id"].is_i64() && r.json["date_joined"].is_string());
    assert!(r.json.get("password").is_none() && r.json.get("password_hash").is_none());

    let app = password_app(&server).await;
    let read = token(&server, &app, "ada", "read").await;
    let write = token(&server, &app, "ada", "read write").await;

    let me = call(&server, reqwest::Method::GET, "/api/me/", Some(&read), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["username"], "ada");
    assert_eq!(me.headers["cache-control"], "no-store");

    // Changing needs `write`.
    let patch = json!({"first_name": "Ada", "last_name": "Lovelace"});
    let r = call(
        &server,
        reqwest::Method::PATCH,
        "/api/me/",
        Some(&read),
        Some(patch.clone()),
    )
    .await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(r.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"write\""));
    let r = call(
        &server,
        reqwest::Method::PATCH,
        "/api/me/",
        Some(&write),
        Some(patch),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["first_name"], "Ada");
    assert_eq!(r.json["last_name"], "Lovelace");
    assert_eq!(
        r.json["email"], "Ada@example.org",
        "fields left out keep their value"
    );

    // Per-field messages; nothing is saved.
    let bad = json!({"email": "not an address", "first_name": "x".repeat(200)});
    let r = call(
        &server,
        reqwest::Method::PATCH,
        "/api/me/",
        Some(&write),
        Some(bad),
    )
    .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    assert!(r.json["fields"]["email"].is_string(), "{}", r.json);
    assert!(r.json["fields"]["first_name"].is_string(), "{}", r.json);
    let me = call(&server, reqwest::Method::GET, "/api/me/", Some(&read), None).await;
    assert_eq!(me.json["first_name"], "Ada");

    // A duplicate email is a field error too.
    let other = json!({"username": "grace", "email": "grace@example.org", "password": PASSWORD});
    let r = call(
        &server,
        reqwest::Method::POST,
        "/api/signup/",
        None,
        Some(other),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let taken = json!({"email": "GRACE@example.org"});
    let r = call(
        &server,
        reqwest::Method::PATCH,
        "/api/me/",
        Some(&write),
        Some(taken),
    )
    .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    assert!(r.json["fields"]["email"]
        .as_str()
        .unwrap()
        .contains("already"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_errors_name_their_fields() {
    let server = TestServer::start().await;
    let post_json = |body: Value| {
        call(
            &server,
            reqwest::Method::POST,
            "/api/signup/",
            None,
            Some(body),
        )
    };
    let r = post_json(json!({"username": "ada", "email": "ada@example.org", "password": PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let r = post_json(json!({"username": "ADA", "email": "x", "password": "short"})).await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    for field in ["email", "password"] {
        assert!(r.json["fields"][field].is_string(), "{field}: {}", r.json);
    }
    let r =
        post_json(json!({"username": "ADA", "email": "ada2@example.org", "password": PASSWORD}))
            .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    assert_eq!(r.json["fields"]["username"], "That username is taken.");
    // Only ASCII letters fold, on SQLite and PostgreSQL alike.
    for (name, email) in [("Émile", "e1@example.org"), ("émile", "e2@example.org")] {
        let r = post_json(json!({"username": name, "email": email, "password": PASSWORD})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.json);
    }
    let r =
        post_json(json!({"username": "", "email": "b@example.org", "password": PASSWORD})).await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    assert_eq!(r.json["fields"]["username"], "Enter a username.");
    // Missing fields are named.
    let r = post_json(json!({"username": "bob"})).await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.json["error_description"]
            .as_str()
            .unwrap()
            .contains("email"),
        "{}",
        r.json
    );
    let r = post_json(json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD, "is_staff": true})).await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(r.json["error_description"]
        .as_str()
        .unwrap()
        .contains("is_staff"));
    let r = post_json(json!(["not", "an", "object"])).await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_request");

    // Not JSON at all, or not saying so.
    let url = server.url("/api/signup/");
    let raw = |body: &'static str, content_type: &'static str| {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let r = raw("{\"username\":", "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = raw("username=x", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    // Only the accounts created above exist.
    assert_eq!(server.count_rows("users").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_rate_limited_per_address() {
    let server = TestServer::start().await;
    // Invalid input costs no hash and does not count (the format checks
    // come first); every attempt that reaches the hash does, even if the
    // account could not be created.
    for i in 0..5 {
        let body = json!({"username": format!("bad{i}"), "email": "bad", "password": PASSWORD});
        let r = call(
            &server,
            reqwest::Method::POST,
            "/api/signup/",
            None,
            Some(body),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    }
    for i in 0..20 {
        let body = json!({
            "username": format!("user{i}"),
            "email": format!("user{i}@example.org"),
            "password": PASSWORD,
        });
        let r = call(
            &server,
            reqwest::Method::POST,
            "/api/signup/",
            None,
            Some(body),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "attempt {i}: {}", r.json);
    }
    let body = json!({"username": "late", "email": "late@example.org", "password": PASSWORD});
    let r = call(
        &server,
        reqwest::Method::POST,
        "/api/signup/",
        None,
        Some(body),
    )
    .await;
    assert_api_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(server.count_rows("users").await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_checks_on_every_endpoint() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let me = call(&server, reqwest::Method::GET, "/api/me/", None, None).await;
    assert_api_error(&me, StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(me.headers["www-authenticate"], "Bearer realm=\"gatehouse\"");
    let r = call(
        &server,
        reqwest::Method::GET,
        "/api/me/",
        Some("forged"),
        None,
    )
    .await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_token");
    let r = call(
        &server,
        reqwest::Method::PUT,
        "/api/password/",
        Some("forged"),
        Some(json!({})),
    )
    .await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_token");

    // A client's own token (no user) is not an account.
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec!["client_credentials"];
            f.redirect_uris = vec![];
            f.scopes = "read write";
        })
        .await;
    let a = post(
        &server,
        "/o/token/",
        Some((&id, secret.as_deref().unwrap())),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let machine = a.json["access_token"].as_str().unwrap();
    let r = call(
        &server,
        reqwest::Method::GET,
        "/api/me/",
        Some(machine),
        None,
    )
    .await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_token");

    // Revoked tokens stop at once.
    let app = password_app(&server).await;
    let t = token(&server, &app, "ada", "read write").await;
    let revoked = post(
        &server,
        "/o/revoke_token/",
        Some((&app.0, &app.1)),
        &[("token", &t)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let r = call(&server, reqwest::Method::GET, "/api/me/", Some(&t), None).await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_checks_the_current_one() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let app = password_app(&server).await;
    let write = token(&server, &app, "ada", "read write").await;
    let read = token(&server, &app, "ada", "read").await;
    let put = |token: String, body: Value| {
        let server = &server;
        async move {
            call(
                server,
                reqwest::Method::PUT,
                "/api/password/",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let new = "a much newer passphrase";
    let r = put(
        read.clone(),
        json!({"current_password": PASSWORD, "new_password": new}),
    )
    .await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "insufficient_scope");
    let r = put(
        write.clone(),
        json!({"current_password": "wrong", "new_password": new}),
    )
    .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    assert_eq!(
        r.json["fields"]["current_password"],
        "Your password is not correct."
    );
    let r = put(
        write.clone(),
        json!({"current_password": PASSWORD, "new_password": "ada"}),
    )
    .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "validation_failed");
    assert!(r.json["fields"]["new_password"].is_string());

    let r = put(
        write.clone(),
        json!({"current_password": PASSWORD, "new_password": new}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    // The old password no longer signs in; the new one does; browser
    // sessions were ended; the token used keeps working.
    let old = post(
        &server,
        "/o/token/",
        Some((&app.0, &app.1)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    let fresh = post(
        &server,
        "/o/token/",
        Some((&app.0, &app.1)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", new),
        ],
    )
    .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.json);
    assert!(!browser.is_signed_in().await);
    let me = call(
        &server,
        reqwest::Method::GET,
        "/api/me/",
        Some(&write),
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);

    // Wrong current passwords are throttled like sign-ins.
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        last = put(
            write.clone(),
            json!({"current_password": "wrong", "new_password": "another passphrase here"}),
        )
        .await
        .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_describes_the_api() {
    let server = TestServer::start().await;
    let r = reqwest::get(server.url("/api/openapi.json")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["title"], "Gatehouse account API");
    for path in [
        "/api/signup/",
        "/api/me/",
        "/api/password/",
        "/api/profile/",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let user = &doc["components"]["schemas"]["UserBody"]["properties"];
    for field in [
        "id",
        "user_id",
        "username",
        "email",
        "first_name",
        "last_name",
        "date_joined",
    ] {
        assert!(user[field].is_object(), "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_sign_up_is_refused_everywhere_but_on_the_command_line() {
    let server =
        TestServer::start_with(|c| c.signup = gatehouse::account::SignupPolicy::Closed).await;
    let page = server.browser().get("/accounts/signup/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Sign-up is closed here"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Create account</button>"));
    let form = server
        .browser()
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
    assert_eq!(form.status, StatusCode::FORBIDDEN);
    assert!(form.body.contains("Sign-up is closed here"));
    let api = call(
        &server,
        reqwest::Method::POST,
        "/api/signup/",
        None,
        Some(json!({"username": "ada", "email": "ada@example.org", "password": PASSWORD})),
    )
    .await;
    assert_api_error(&api, StatusCode::FORBIDDEN, "signup_closed");
    let dot = reqwest::Client::new()
        .post(server.url("/users/signup/"))
        .form(&[
            ("username", "ada"),
            ("email", "ada@example.org"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(dot.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.count_rows("users").await, 0);
    // Operators still create accounts.
    let made = server
        .state
        .accounts
        .create_account(
            gatehouse::account::NewAccount {
                username: "ada",
                email: "ada@example.org",
                password: PASSWORD,
                is_staff: false,
                is_superuser: false,
            },
            Default::default(),
            &gatehouse::audit::Event::new(
                gatehouse::audit::EventKind::SignedUp,
                1,
                &gatehouse::audit::Origin::command_line(),
            ),
        )
        .await;
    assert!(made.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_sign_up_admits_only_its_domains() {
    let server = TestServer::start_with(|c| {
        c.signup = gatehouse::account::SignupPolicy::Domains;
        c.signup_email_domains = vec!["lab.example".into()];
    })
    .await;
    let page = server.browser().get("/accounts/signup/").await;
    assert!(page
        .body
        .contains("Only addresses at lab.example can create an account here."));
    let outsider = call(
        &server,
        reqwest::Method::POST,
        "/api/signup/",
        None,
        Some(json!({"username": "eve", "email": "eve@lab.example.evil", "password": PASSWORD})),
    )
    .await;
    assert_api_error(&outsider, StatusCode::BAD_REQUEST, "validation_failed");
    assert!(outsider.json["fields"]["email"]
        .as_str()
        .unwrap()
        .contains("Only addresses at lab.example"));
    let form = server
        .browser()
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "eve"),
                ("email", "eve@sub.lab.example"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
    assert!(form
        .body
        .contains("Only addresses at lab.example can create an account here."));
    let member = call(
        &server,
        reqwest::Method::POST,
        "/api/signup/",
        None,
        Some(json!({"username": "ada", "email": "Ada@LAB.example", "password": PASSWORD})),
    )
    .await;
    assert_eq!(member.status, StatusCode::CREATED, "{}", member.json);
}
