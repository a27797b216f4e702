//! The device authorization grant (RFC 8628) over HTTP: the device's
//! requests, the person's `/device/` page, and every answer the polling
//! device can get, in the order a real sign-in meets them.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{assert_error, post, Answer, Browser, TestServer};

const PASSWORD: &str = "correct horse battery";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public device app (no secret), as a command-line tool registers.
async fn device_app(server: &TestServer) -> String {
    let (id, _) = server
        .register(|f| {
            f.client_type = "public";
            f.grant_types = vec!["device_code", "refresh_token"];
            f.redirect_uris = vec![];
        })
        .await;
    id
}

async fn start(server: &TestServer, client_id: &str, scope: &str) -> Answer {
    post(
        server,
        "/o/device-authorization/",
        None,
        &[("client_id", client_id), ("scope", scope)],
    )
    .await
}

async fn poll(server: &TestServer, client_id: &str, device_code: &str) -> Answer {
    post(
        server,
        "/o/token/",
        None,
        &[
            ("grant_type", GRANT),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
    )
    .await
}

/// Moves the last poll into the past, as if the device had waited.
async fn wait_interval(server: &TestServer) {
    server
        .execute("UPDATE device_codes SET last_polled_at = last_polled_at - 60")
        .await;
}

/// Enters `code` at `/device/`; returns the page.
async fn enter(browser: &Browser, code: &str) -> crate::support::Page {
    browser.post_form("/device/", &[("user_code", code)]).await
}

async fn decide(browser: &Browser, code: &str, decision: &str) -> crate::support::Page {
    browser
        .post_form("/device/", &[("user_code", code), ("decision", decision)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_signs_in_through_every_answer_in_order() {
    let server = TestServer::start().await;
    let client_id = device_app(&server).await;
    let started = start(&server, &client_id, "openid profile read").await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.json);
    assert_eq!(started.headers["cache-control"], "no-store");
    let d = &started.json;
    let user_code = d["user_code"].as_str().unwrap().to_owned();
    let device_code = d["device_code"].as_str().unwrap().to_owned();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(d["verification_uri"], server.url("/device/"));
    assert_eq!(
        d["verification_uri_complete"],
        server.url(&format!("/device/?user_code={user_code}"))
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 5);

    // Nobody has entered the code yet.
    assert_error(
        &poll(&server, &client_id, &device_code).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
    // Polling again at once is too fast: slow down, and 5 s more from now on.
    assert_error(
        &poll(&server, &client_id, &device_code).await,
        StatusCode::BAD_REQUEST,
        "slow_down",
    );
    let interval = server
        .scalar("SELECT poll_interval FROM device_codes")
        .await;
    assert_eq!(interval, 10);
    wait_interval(&server).await;
    assert_error(
        &poll(&server, &client_id, &device_code).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );

    // The person opens the link: signed out, they are sent to sign in and back.
    let browser = server.signed_up("ada", PASSWORD).await;
    let anonymous = server.browser();
    let page = anonymous
        .get(&format!("/device/?user_code={user_code}"))
        .await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert!(page
        .location()
        .unwrap()
        .starts_with("/accounts/login/?next="));
    let page = browser
        .get(&format!("/device/?user_code={user_code}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("value=\"{user_code}\"")),
        "prefilled"
    );

    // Typed in lower case without the dash; the confirmation shows the app.
    let typed = user_code.replace('-', "").to_lowercase();
    let confirm = enter(&browser, &typed).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("Lab notebook"));
    assert!(confirm.body.contains("Confirm who you are"));
    assert!(confirm.body.contains("Read your account details"));
    assert!(confirm.body.contains(&user_code));
    assert!(
        confirm.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"),
        "{:?}",
        confirm.headers["content-security-policy"]
    );
    // Still pending until the person decides.
    wait_interval(&server).await;
    assert_error(
        &poll(&server, &client_id, &device_code).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
    let allowed = decide(&browser, &typed, "allow").await;
    assert_eq!(allowed.status, StatusCode::SEE_OTHER);
    assert_eq!(allowed.location(), Some("/device/?result=approved"));
    let done = browser.get("/device/?result=approved").await;
    assert!(done.body.contains("return to your device"));

    wait_interval(&server).await;
    let tokens = poll(&server, &client_id, &device_code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.json);
    assert_eq!(tokens.json["scope"], "openid profile read");
    assert!(tokens.json["refresh_token"].is_string());
    assert!(tokens.json["id_token"].is_string());
    let access = tokens.json["access_token"].as_str().unwrap();
    let me = reqwest::Client::new()
        .get(server.url("/api/me/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "ada");

    // The device code is spent, and so is the user code.
    wait_interval(&server).await;
    assert_error(
        &poll(&server, &client_id, &device_code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let again = enter(&browser, &user_code).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("This code is not valid"));
    // The approval is remembered like a consent (authorized apps list it).
    assert_eq!(server.count_rows("grants").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_expired_device_codes() {
    let server = TestServer::start().await;
    let client_id = device_app(&server).await;
    let browser = server.signed_up("ada", PASSWORD).await;

    let denied = start(&server, &client_id, "read").await.json;
    let code = denied["user_code"].as_str().unwrap();
    assert_eq!(enter(&browser, code).await.status, StatusCode::OK);
    let page = decide(&browser, code, "deny").await;
    assert_eq!(page.location(), Some("/device/?result=denied"));
    let device_code = denied["device_code"].as_str().unwrap();
    assert_error(
        &poll(&server, &client_id, device_code).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    );
    // A decided code cannot be decided again.
    let late = decide(&browser, code, "allow").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.count_rows("access_tokens").await, 0);
    assert_eq!(server.count_rows("grants").await, 0);

    let expiring = start(&server, &client_id, "read").await.json;
    server
        .execute("UPDATE device_codes SET expires_at = created_at - 1 WHERE status = 'pending'")
        .await;
    assert_error(
        &poll(
            &server,
            &client_id,
            expiring["device_code"].as_str().unwrap(),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "expired_token",
    );
    let page = enter(&browser, expiring["user_code"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_limited_per_session() {
    let server = TestServer::start().await;
    let client_id = device_app(&server).await;
    let real = start(&server, &client_id, "read").await.json;
    let real_code = real["user_code"].as_str().unwrap();
    let browser = server.signed_up("ada", PASSWORD).await;
    for wrong in [
        "BBBB-BBBB",
        "CCCC-CCCC",
        "not a code",
        "DDDD-DDDD",
        "FFFF-FFFF",
    ] {
        let page = enter(&browser, wrong).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{wrong}");
        assert!(page.body.contains("This code is not valid"));
    }
    // Past the free tries even the right code must wait.
    let page = enter(&browser, real_code).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.body.contains("Too many wrong codes"));
    // A decision post is checked (and limited) the same way.
    let page = decide(&browser, real_code, "allow").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // Another person's session is not held up by this one's typos.
    let other = server.signed_up("grace", PASSWORD).await;
    assert_eq!(enter(&other, real_code).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_checks_the_client_and_scope() {
    let server = TestServer::start().await;
    let client_id = device_app(&server).await;
    let (code_only, secret) = server.register(|_| {}).await;

    // The app must be registered for the device grant.
    let a = post(
        &server,
        "/o/device-authorization/",
        Some((&code_only, secret.as_deref().unwrap())),
        &[],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "unauthorized_client");
    let a = start(&server, "no-such-client", "read").await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(a.headers.contains_key("www-authenticate"));
    let a = start(&server, &client_id, "read admin").await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_scope");
    let a = start(&server, &client_id, "introspection").await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_scope");
    // Nothing was stored for the refused requests.
    assert_eq!(server.count_rows("device_codes").await, 0);

    // Without scope: the app's default scopes.
    let ok = start(&server, &client_id, "").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
    let device_code = ok.json["device_code"].as_str().unwrap();
    // Another client cannot use this device code; unknown codes are invalid.
    let (other, _) = server
        .register(|f| {
            f.client_type = "public";
            f.grant_types = vec!["device_code"];
            f.redirect_uris = vec![];
        })
        .await;
    assert_error(
        &poll(&server, &other, device_code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &poll(&server, &client_id, "made-up").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let a = post(
        &server,
        "/o/token/",
        None,
        &[("grant_type", GRANT), ("client_id", &client_id)],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_request");

    // Discovery advertises the endpoint and the grant.
    let meta: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["device_authorization_endpoint"],
        server.url("/o/device-authorization/")
    );
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(GRANT)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_gets_no_more_than_the_free_tries() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    // Prime the CSRF cookie once, then fire 20 wrong codes at the same time.
    let token = crate::support::csrf_token(&browser.get("/accounts/login/").await.body);
    let mut handles = Vec::new();
    for i in 0..20 {
        let request = browser
            .client
            .post(format!("{}/device/", browser.base))
            .header("origin", browser.base.clone())
            .form(&[
                ("csrf_token", token.clone()),
                (
                    "user_code",
                    format!("BBBB-BBB{}", ["C", "D", "F", "G"][i % 4]),
                ),
            ]);
        handles.push(tokio::spawn(async move {
            request.send().await.unwrap().status()
        }));
    }
    let mut looked_up = 0;
    for h in handles {
        match h.await.unwrap() {
            StatusCode::BAD_REQUEST => looked_up += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(looked_up <= 5, "{looked_up} guesses were looked up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_elsewhere_never_locks_out_a_person_with_the_right_code() {
    let server = TestServer::start().await;
    let client_id = device_app(&server).await;
    let code = start(&server, &client_id, "read").await.json["user_code"]
        .as_str()
        .unwrap()
        .to_owned();
    // The server-wide counter is far past its limit (guessing elsewhere).
    server
        .execute(&format!(
            "INSERT INTO login_failures (throttle_key, failures, last_failure_at) \
             VALUES ('device:global', 100000, {})",
            gatehouse_server::http::now()
        ))
        .await;
    let honest = server.signed_up("ada", PASSWORD).await;
    assert_eq!(enter(&honest, &code).await.status, StatusCode::OK);
    // A session that has just guessed wrong is held back by it.
    let guesser = server.signed_up("mallory", PASSWORD).await;
    assert_eq!(
        enter(&guesser, "BBBB-BBBB").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        enter(&guesser, &code).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
