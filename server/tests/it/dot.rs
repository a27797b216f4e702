//! What clients of the replaced django-oauth-toolkit site rely on beyond
//! the code flow: bearer tokens in the query or a form body, paths without
//! their trailing slash, and the `/users/…` account endpoints in that
//! site's shape.

use reqwest::header::{CACHE_CONTROL, LOCATION};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{answer, assert_error, post, TestServer};

const PASSWORD: &str = "correct horse battery";

/// A token for `ada` from an app allowed the password grant.
async fn token_for_ada(server: &TestServer, scope: &str) -> String {
    let (id, secret) = server.register(|f| f.grant_types = vec!["password"]).await;
    server.signed_up("ada", PASSWORD).await;
    let tokens = post(
        server,
        "/o/token/",
        Some((&id, secret.as_deref().unwrap())),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.json);
    tokens.json["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_in_the_query_or_a_form_body() {
    let server = TestServer::start().await;
    let token = token_for_ada(&server, "openid profile read").await;
    let client = reqwest::Client::new();

    // RFC 6750 §2.3, as django-allauth's providers send it.
    for path in ["/profile/", "/api/profile/"] {
        let r = client
            .get(server.url(&format!("{path}?access_token={token}")))
            .send()
            .await
            .unwrap();
        let a = answer(r).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.json);
        assert_eq!(a.json["username"], "ada");
        assert_eq!(a.headers[CACHE_CONTROL], "private, no-store", "{path}");
    }
    let r = client
        .get(server.url(&format!("/o/userinfo/?access_token={token}")))
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.json["preferred_username"], "ada");
    assert_eq!(a.headers[CACHE_CONTROL], "private, no-store");
    // RFC 6750 §2.2: a form body of a POST.
    let r = client
        .post(server.url("/o/userinfo/"))
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.headers[CACHE_CONTROL], "no-store");

    // Two ways at once is refused (RFC 6750 §3.1), whichever two.
    let header_and_query = client
        .get(server.url(&format!("/profile/?access_token={token}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(header_and_query).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let body_and_query = client
        .post(server.url(&format!("/o/userinfo/?access_token={token}")))
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(body_and_query).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // A wrong token in the query is an invalid token, as in the header.
    let r = client
        .get(server.url("/profile/?access_token=nope"))
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(a.headers[CACHE_CONTROL], "private, no-store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_without_their_slash_redirect_to_it() {
    let server = TestServer::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, to) in [
        (
            "/o/authorize?client_id=a&state=x%20y",
            "/o/authorize/?client_id=a&state=x%20y",
        ),
        ("/accounts/login", "/accounts/login/"),
        ("/profile", "/profile/"),
        ("/o/applications/12", "/o/applications/12/"),
    ] {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(r.headers()[LOCATION], to, "{path}");
    }
    // Other methods keep their body: 308, which clients repeat as it was.
    let r = client
        .post(server.url("/o/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers()[LOCATION], "/o/token/");
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let followed = reqwest::Client::new()
        .post(server.url("/o/token"))
        .basic_auth(&id, secret.as_deref())
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    let a = answer(followed).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    // Unknown paths, and files, are still 404.
    for path in ["/nothing", "/o/token/extra", "/pkg/missing.css"] {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = request.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_signup_takes_a_form_or_json_and_answers_like_drf() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let url = server.url("/users/signup/");
    let (status, body) = send(client.post(&url).form(&[
        ("username", "ada"),
        ("email", "ada@example.org"),
        ("password", PASSWORD),
        ("password2", PASSWORD),
    ]))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["username"], "ada");
    assert_eq!(body["email"], "ada@example.org");
    assert!(body["id"].as_i64().is_some());
    let (status, body) = send(client.post(&url).json(&json!({
        "username": "grace",
        "email": "grace@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Each refusal names its fields, with a list of messages each.
    for (sent, field) in [
        (
            json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD}),
            "password2",
        ),
        (
            json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD,
                   "password2": "something else entirely"}),
            "password2",
        ),
        (
            json!({"username": "ada", "email": "bob@example.org", "password": PASSWORD,
                   "password2": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "bob", "email": "not-an-email", "password": PASSWORD,
                   "password2": PASSWORD}),
            "email",
        ),
        (
            json!({"username": "bob", "email": "bob@example.org", "password": "short",
                   "password2": "short"}),
            "password",
        ),
        (
            json!({"username": 7, "email": "bob@example.org", "password": PASSWORD,
                   "password2": PASSWORD}),
            "username",
        ),
        (json!(["not", "an", "object"]), "non_field_errors"),
    ] {
        let (status, body) = send(client.post(&url).json(&sent)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sent}: {body}");
        let messages = body[field]
            .as_array()
            .unwrap_or_else(|| panic!("{sent}: {body}"));
        assert!(messages.iter().all(Value::is_string), "{body}");
    }
    let (status, body) = send(
        client
            .post(&url)
            .body("username=x")
            .header("content-type", "text/plain"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body["detail"].is_string());
    // Nothing refused was created.
    assert_eq!(server.count_rows("users").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_password_changes_it_with_a_write_token() {
    let server = TestServer::start().await;
    let token = token_for_ada(&server, "read write").await;
    let client = reqwest::Client::new();
    let url = server.url("/users/password/");
    let new = "a brand new passphrase";

    let (status, body) = send(client.put(&url).form(&[
        ("old_password", PASSWORD),
        ("password", new),
        ("password2", new),
    ]))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    for (form, field) in [
        (
            vec![
                ("old_password", "wrong password"),
                ("password", new),
                ("password2", new),
            ],
            "old_password",
        ),
        (
            vec![
                ("old_password", PASSWORD),
                ("password", new),
                ("password2", "other"),
            ],
            "password2",
        ),
        (
            vec![("old_password", PASSWORD), ("password", new)],
            "password2",
        ),
    ] {
        let (status, body) = send(client.put(&url).bearer_auth(&token).form(&form)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
        assert!(body[field].is_array(), "{form:?}: {body}");
    }

    let (status, body) = send(client.put(&url).bearer_auth(&token).json(&json!({
        "old_password": PASSWORD,
        "password": new,
        "password2": new,
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["detail"].is_string());
    // The new password signs in; the old one no longer does.
    let browser = server.browser();
    assert_eq!(
        browser.sign_in("ada", new).await.status,
        StatusCode::SEE_OTHER
    );
    assert_ne!(
        server.browser().sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // A token without `write` may not.
    let read_only = {
        let (id, secret) = server.register(|f| f.grant_types = vec!["password"]).await;
        let t = post(
            &server,
            "/o/token/",
            Some((&id, secret.as_deref().unwrap())),
            &[
                ("grant_type", "password"),
                ("username", "ada"),
                ("password", new),
                ("scope", "read"),
            ],
        )
        .await;
        t.json["access_token"].as_str().unwrap().to_owned()
    };
    let r = client
        .put(&url)
        .bearer_auth(&read_only)
        .form(&[
            ("old_password", new),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(r).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_for_every_origin_only_when_the_operator_allows_it() {
    let origin = "https://anywhere.example";
    for allow_all in [false, true] {
        let server = TestServer::start_with(|c| c.cors_allow_all_origins = allow_all).await;
        let token = token_for_ada(&server, "read write").await;
        let client = reqwest::Client::new();
        let preflight = client
            .request(reqwest::Method::OPTIONS, server.url("/o/token/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        let allowed = preflight
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allowed.as_deref(), allow_all.then_some(origin));
        for request in [
            client.get(server.url("/api/me/")).bearer_auth(&token),
            client.get(server.url("/profile/")).bearer_auth(&token),
            client
                .post(server.url("/o/introspect/"))
                .form(&[("token", "x")]),
        ] {
            let r = request.header("origin", origin).send().await.unwrap();
            let read = r.headers().get("access-control-allow-origin").cloned();
            assert_eq!(read.is_some(), allow_all, "{}", r.url());
            assert!(r
                .headers()
                .get("access-control-allow-credentials")
                .is_none());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_an_app_forwards_with_its_credentials_skip_the_address_limit() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|f| f.grant_types = vec!["password"]).await;
    let secret = secret.unwrap();
    let client = reqwest::Client::new();
    let url = server.url("/users/signup/");
    let form = |i: usize| {
        vec![
            ("username", format!("person{i}")),
            ("email", format!("person{i}@example.org")),
            ("password", PASSWORD.to_owned()),
            ("password2", PASSWORD.to_owned()),
        ]
    };
    // More than the 20 an address may make in an hour, all from here.
    for i in 0..25 {
        let (status, body) = send(
            client
                .post(&url)
                .basic_auth(&id, Some(&secret))
                .form(&form(i)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "sign-up {i}: {body}");
    }
    // Wrong credentials are refused, not ignored.
    let (status, body) = send(
        client
            .post(&url)
            .basic_auth(&id, Some("wrong"))
            .form(&form(99)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Without them, the address keeps its limit.
    let mut limited = None;
    for i in 100..125 {
        let (status, _) = send(client.post(&url).form(&form(i))).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(i - 100);
            break;
        }
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(limited, Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_only_accounts_are_named_by_their_email_everywhere() {
    use gatehouse::account::AccountIdentifier;
    let server = TestServer::start_with(|c| c.account_identifier = AccountIdentifier::Email).await;
    let client = reqwest::Client::new();

    // The resource server's forwarded sign-up: email and passwords only.
    let (status, body) = send(client.post(server.url("/users/signup/")).form(&[
        ("email", "Ada@Lab.example"),
        ("password", PASSWORD),
        ("password2", PASSWORD),
    ]))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["username"], "Ada@lab.example");
    assert_eq!(body["email"], "Ada@lab.example");
    // The same email again is refused on its field.
    let (status, body) = send(client.post(server.url("/users/signup/")).json(&json!({
        "email": "ada@lab.example", "password": PASSWORD, "password2": PASSWORD,
    })))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["email"].is_array(), "{body}");

    // The account API and the portal ask for no username either.
    let (status, body) = send(client.post(server.url("/api/signup/")).json(&json!({
        "email": "grace@lab.example", "password": PASSWORD,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["username"], "grace@lab.example");
    let browser = server.browser();
    let page = browser.get("/accounts/signup/").await;
    assert!(
        !page.body.contains("name=\"username\""),
        "no username field"
    );
    let page = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("email", "linus@lab.example"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(browser
        .get("/accounts/login/")
        .await
        .body
        .contains(">Email<"));

    // The password grant takes the email; introspection's username and
    // /profile/ carry it, as DOT's resource servers key their users on it.
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec!["password"];
            f.scopes = "read write introspection";
        })
        .await;
    let secret = secret.unwrap();
    let tokens = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "ada@lab.example"),
            ("password", PASSWORD),
            ("scope", "read write"),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.json);
    let token = tokens.json["access_token"].as_str().unwrap();
    let seen = post(
        &server,
        "/o/introspect/",
        Some((&id, &secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(seen.json["active"], true, "{}", seen.json);
    assert_eq!(seen.json["username"], "Ada@lab.example");
    let (_, me) = send(client.get(server.url("/profile/")).bearer_auth(token)).await;
    assert_eq!(me["username"], "Ada@lab.example");

    // Changing the email renames the account with it.
    let ada = server.browser();
    ada.sign_in("ada@lab.example", PASSWORD).await;
    let saved = ada
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", "Ada"),
                ("last_name", ""),
                ("email", "countess@lab.example"),
            ],
        )
        .await;
    assert!(
        saved.status.is_redirection() || saved.status.is_success(),
        "{}",
        saved.body
    );
    let (_, me) = send(client.get(server.url("/profile/")).bearer_auth(token)).await;
    assert_eq!(me["username"], "countess@lab.example");
    assert_eq!(me["email"], "countess@lab.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_usernames_a_sign_up_without_one_is_refused_on_its_field() {
    let server = TestServer::start().await;
    let (status, body) = send(
        reqwest::Client::new()
            .post(server.url("/users/signup/"))
            .form(&[
                ("email", "ada@lab.example"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"username": ["This field is required."]}));
}
