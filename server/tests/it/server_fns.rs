//! The portal's server functions (`/fn/…`) as plain HTTP endpoints: the
//! calls a hydrated page makes. Same checks as the form posts (CSRF token,
//! origin, throttles), JSON answers, and never a 500 for a bad body.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{csrf_token, post, Browser, TestServer};

const PASSWORD: &str = "correct horse battery";

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// Calls `/fn/<name>` as the hydrated page does: the form's fields
/// url-encoded, JSON asked for, from `origin`. Each call has a connection
/// of its own: once, in `malformed_calls_get_a_clear_error_never_a_500`,
/// a call got no answer at all, likely (not confirmed) on a pooled
/// connection the server was closing after refusing an earlier call.
async fn call_raw(browser: &Browser, name: &str, body: String, origin: Option<&str>) -> Reply {
    let mut request = browser
        .client
        .post(format!("{}/fn/{name}", browser.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("connection", "close")
        .body(body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{name}: no answer: {e:?}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}), status {status}: {text}"));
    Reply {
        status,
        headers,
        json,
    }
}

/// Calls with the browser's CSRF token and the server's origin.
async fn call(browser: &Browser, name: &str, fields: &[(&str, &str)]) -> Reply {
    let token = csrf_token(&browser.get("/accounts/login/").await.body);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let body = serde_urlencoded::to_string(&all).unwrap();
    call_raw(browser, name, body, Some(&browser.base.clone())).await
}

fn signup_fields<'a>(username: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("email", email),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_the_function_rotates_the_session() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let before = browser.get("/accounts/profile/").await;
    assert_eq!(before.status, StatusCode::OK);

    let wrong = call(
        &browser,
        "sign-in",
        &[("login", "ada"), ("password", "nope nope")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.json);
    assert_eq!(
        wrong.json["Refused"]["message"],
        "That username or email and password do not match an account."
    );
    assert_eq!(wrong.json["Refused"]["values"]["login"], "ada");

    let sessions = server.count_rows("sessions").await;
    let right = call(
        &browser,
        "sign-in",
        &[
            ("login", "ada@example.org"),
            ("password", PASSWORD),
            ("next", "/o/applications/"),
        ],
    )
    .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.json);
    assert_eq!(right.json["location"], "/o/applications/");
    let cookie = right
        .cookie("gatehouse_session")
        .expect("a new session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    // The old session ended: one session before and after.
    assert_eq!(server.count_rows("sessions").await, sessions);
    assert!(browser.is_signed_in().await);

    // `next` pointing elsewhere is ignored, as on the form.
    let elsewhere = call(
        &server.browser(),
        "sign-in",
        &[
            ("login", "ada"),
            ("password", PASSWORD),
            ("next", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(elsewhere.json["location"], "/accounts/profile/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_the_token_or_from_another_origin_is_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let token = csrf_token(&browser.get("/accounts/signup/").await.body);
    let fields = signup_fields("ada", "ada@example.org");

    // No token.
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let missing = call_raw(&browser, "sign-up", body, Some(&server.base)).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.json);
    assert!(missing.json["Failed"]["message"]
        .as_str()
        .unwrap()
        .contains("another site or has expired"));

    // The right token from a foreign origin, or a cross-site fetch.
    let mut with_token = fields.clone();
    with_token.push(("csrf_token", &token));
    let body = serde_urlencoded::to_string(&with_token).unwrap();
    let foreign = call_raw(
        &browser,
        "sign-up",
        body.clone(),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let cross_site = browser
        .client
        .post(server.url("/fn/sign-up"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("sec-fetch-site", "cross-site")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    // A token of another browser.
    let other = server.browser();
    let stranger = call_raw(&other, "sign-up", body.clone(), Some(&server.base)).await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);
    assert_eq!(server.count_rows("users").await, 0);

    // The same call from our own origin goes through.
    let ok = call_raw(&browser, "sign-up", body, Some(&server.base)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
    assert_eq!(ok.json["location"], "/accounts/profile/");
    assert_eq!(server.count_rows("users").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_calls_get_a_clear_error_never_a_500() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let token = csrf_token(&browser.get("/accounts/login/").await.body);
    let long = "x".repeat(10 * 1024);
    let bodies = [
        String::new(),
        "%%%".to_owned(),
        "login[a][b][c][d][e][f]=1".to_owned(),
        format!("csrf_token={token}&login[]=a&login[]=b"),
        format!("csrf_token={token}&login=%00&password=%00"),
        format!("csrf_token={token}&login={long}&password={long}"),
        format!("csrf_token={token}&login=%3C/title%3E%3Cscript%3E&password=x"),
        "\u{0}\u{1}binary".to_owned(),
        format!(
            "csrf_token={token}&action=register&name={long}&client_type=%00\
             &grant_types=%3Cscript%3E&redirect_uris=https://a.example/%00&allowed_origins={long}"
        ),
        format!("csrf_token={token}&action=edit&app_id=99999999999999999999999&name=x"),
        format!("csrf_token={token}&action=delete&app_id=abc&confirm=yes"),
        format!("csrf_token={token}&q={long}&page=%00"),
    ];
    for name in [
        "sign-in",
        "sign-up",
        "save-profile",
        "change-password",
        "delete-account",
        "revoke",
        "username-available",
        "device",
        "admin",
        "app",
        "admin-search",
    ] {
        for body in &bodies {
            let reply = call_raw(&browser, name, body.clone(), Some(&server.base)).await;
            assert!(
                reply.status.is_client_error(),
                "{name} {body:.40}: {} {}",
                reply.status,
                reply.json
            );
            assert!(
                reply.json.get("Failed").is_some() || reply.json.get("Refused").is_some(),
                "{name}: {}",
                reply.json
            );
        }
    }
    // Still signed in, still the same account.
    assert!(browser.is_signed_in().await);
    assert_eq!(server.count_rows("users").await, 1);

    // An unknown function, a GET, a body over the limit.
    let unknown = call(&browser, "drop-tables", &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let get = browser
        .client
        .get(server.url("/fn/sign-in"))
        .send()
        .await
        .unwrap();
    assert!(get.status().is_client_error(), "{}", get.status());
    let huge = format!("csrf_token={token}&login={}", "y".repeat(2 * 1024 * 1024));
    let too_large = call_raw(&browser, "sign-in", huge, Some(&server.base)).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_fields_like_the_form_does() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let mut fields = signup_fields("has space", "not-an-address");
    fields.retain(|(k, _)| *k != "password" && *k != "confirm");
    fields.push(("password", "short"));
    fields.push(("confirm", "other"));
    let reply = call(&browser, "sign-up", &fields).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let errors = &reply.json["Refused"]["errors"];
    assert_eq!(
        errors["username"],
        "Use only letters, digits and the characters . + - _"
    );
    assert_eq!(errors["email"], "Enter a valid email address.");
    assert_eq!(errors["password"], "Use at least 10 characters.");
    assert_eq!(errors["confirm"], "The two passwords do not match.");
    // What was typed comes back, never the passwords.
    assert_eq!(reply.json["Refused"]["values"]["username"], "has space");
    assert!(reply.json["Refused"]["values"].get("password").is_none());

    // The form without JavaScript says the same.
    let page = browser.post_form("/accounts/signup/", &fields).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Use at least 10 characters."));
    assert!(page.body.contains("aria-invalid=\"true\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_and_the_form_share_one_throttle() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let attacker = server.browser();
    // Five misses through the form, the sixth through the function.
    for _ in 0..5 {
        let page = attacker.sign_in("ada", "guess guess guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let reply = call(
        &attacker,
        "sign-in",
        &[("login", "ada"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.json
    );
    assert!(reply.json["Refused"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Too many attempts. Try again in"));
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn username_availability_says_only_free_or_taken_and_is_throttled() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let browser = server.browser();
    let ask = |name: &'static str| {
        let browser = &browser;
        async move { call(browser, "username-available", &[("username", name)]).await }
    };
    let taken = ask("ada").await;
    assert_eq!(taken.status, StatusCode::OK);
    assert_eq!(taken.json, Value::Bool(false));
    assert_eq!(ask("ADA").await.json, Value::Bool(false));
    assert_eq!(ask("grace").await.json, Value::Bool(true));
    // An email address is not a username (and reveals nothing about it).
    let invalid = ask("ada@example.org").await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.json["Refused"]["errors"]["username"].is_string());

    // 120 questions an hour from one address, then waits.
    let mut throttled = None;
    for i in 0..130 {
        let reply = call(&browser, "username-available", &[("username", "someone")]).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(i);
            assert!(reply.headers.contains_key("retry-after"));
            break;
        }
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    }
    // Three questions above already counted (the invalid one did not).
    assert_eq!(throttled, Some(117));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_actions_answer_in_place() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let saved = call(
        &browser,
        "save-profile",
        &[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "ada@example.org"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.json);
    assert_eq!(saved.json["location"], Value::Null);
    assert_eq!(saved.json["message"], "Your profile was saved.");
    assert_eq!(saved.json["user"]["first_name"], "Ada");
    assert!(saved.json["user"].get("password_hash").is_none());

    let invalid = call(
        &browser,
        "save-profile",
        &[("first_name", "A\u{7}"), ("email", "nope")],
    )
    .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json["Refused"]["errors"]["email"],
        "Enter a valid email address."
    );

    let changed = call(
        &browser,
        "change-password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
            ("confirm_new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.json);
    assert_eq!(changed.json["location"], Value::Null);
    assert!(browser.is_signed_in().await);

    let wrong = call(&browser, "delete-account", &[("delete_password", PASSWORD)]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.json);
    let deleted = call(
        &browser,
        "delete-account",
        &[("delete_password", "a brand new passphrase")],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.json);
    assert_eq!(deleted.json["location"], "/accounts/login/?deleted=1");
    assert!(deleted.cookie("gatehouse_session").is_some());
    assert_eq!(server.count_rows("users").await, 0);

    // Signed out now: the profile's functions send to sign in.
    let signed_out = call(&browser, "save-profile", &[("email", "x@example.org")]).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        signed_out.json["SignIn"]["location"],
        "/accounts/login/?next=/accounts/profile/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_through_the_function_ends_the_apps_tokens() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| {
            f.name = "Notebook";
            f.grant_types = vec!["password", "refresh_token"];
        })
        .await;
    let secret = secret.unwrap();
    let user = server.signed_up("ada", PASSWORD).await;
    let tokens = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
            ("scope", "read"),
        ],
    )
    .await;
    let access = tokens.json["access_token"].as_str().unwrap().to_owned();
    let app_id = server
        .scalar(&format!(
            "SELECT id FROM applications WHERE client_id = '{id}'"
        ))
        .await
        .to_string();
    let reply = call(&user, "revoke", &[("app_id", &app_id)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["message"], "Access for Notebook was revoked.");
    let inactive = post(
        &server,
        "/o/introspect/",
        Some((&id, &secret)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(inactive.json["active"], false);
    assert_eq!(server.count_rows("grants").await, 0);
    // Not a number: the form could not be read.
    let bad = call(&user, "revoke", &[("app_id", "1 OR 1=1")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_confirmed_through_the_function() {
    let server = TestServer::start().await;
    let (client_id, _) = server
        .register(|f| {
            f.client_type = "public";
            f.grant_types = vec!["device_code"];
            f.redirect_uris = vec![];
        })
        .await;
    let started = post(
        &server,
        "/o/device-authorization/",
        None,
        &[("client_id", &client_id), ("scope", "read")],
    )
    .await;
    let code = started.json["user_code"].as_str().unwrap().to_owned();
    let person = server.signed_up("ada", PASSWORD).await;

    // A wrong code: the message beside the field, as on the page.
    let wrong = call(&person, "device", &[("user_code", "BCDF-GHJK")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.json);
    assert!(wrong.json["Refused"]["errors"]["user_code"]
        .as_str()
        .unwrap()
        .starts_with("This code is not valid."));

    // The right one: the device sign-in to confirm, nothing decided yet.
    let found = call(&person, "device", &[("user_code", &code)]).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.json);
    assert_eq!(found.json["device"]["user_code"], code.as_str());
    assert_eq!(found.json["location"], Value::Null);
    let pending = server
        .scalar("SELECT COUNT(*) FROM device_codes WHERE status = 'pending'")
        .await;
    assert_eq!(pending, 1);

    let allowed = call(
        &person,
        "device",
        &[("user_code", &code), ("decision", "allow")],
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.json);
    assert_eq!(allowed.json["location"], "/device/?result=approved");
    // Used once: the same decision again is refused, for the whole form.
    let again = call(
        &person,
        "device",
        &[("user_code", &code), ("decision", "allow")],
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.json["Refused"]["message"].is_string(),
        "{}",
        again.json
    );
    let odd = call(
        &person,
        "device",
        &[("user_code", &code), ("decision", "maybe")],
    )
    .await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_change_accounts_through_the_function_and_others_find_nothing() {
    let server = TestServer::start().await;
    let boss = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let ada = server.signed_up("ada", PASSWORD).await;
    let ada_id = server
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await
        .to_string();
    let boss_id = server
        .scalar("SELECT id FROM users WHERE username = 'boss'")
        .await
        .to_string();

    // Not staff: the action does not exist for them.
    let nosy = call(
        &ada,
        "admin",
        &[("user_id", &boss_id), ("action", "deactivate")],
    )
    .await;
    assert_eq!(nosy.status, StatusCode::NOT_FOUND, "{}", nosy.json);
    assert!(boss.is_signed_in().await);

    let own = call(
        &boss,
        "admin",
        &[("user_id", &boss_id), ("action", "deactivate")],
    )
    .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        own.json["Refused"]["message"],
        "You cannot deactivate your own account."
    );
    let staffing = call(
        &boss,
        "admin",
        &[("user_id", &ada_id), ("action", "make_staff")],
    )
    .await;
    assert_eq!(staffing.status, StatusCode::FORBIDDEN);

    let done = call(
        &boss,
        "admin",
        &[("user_id", &ada_id), ("action", "deactivate"), ("q", "ad")],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert!(done.json["message"]
        .as_str()
        .unwrap()
        .starts_with("ada was deactivated"));
    // Her session ended at once.
    assert!(!ada.is_signed_in().await);
    let back = call(
        &boss,
        "admin",
        &[("user_id", &ada_id), ("action", "activate")],
    )
    .await;
    assert_eq!(back.json["message"], "ada can sign in again.");
    let unknown = call(
        &boss,
        "admin",
        &[("user_id", &ada_id), ("action", "explode")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_are_registered_changed_and_deleted_through_the_function() {
    let server = TestServer::start().await;
    let ada = server.signed_up("ada", PASSWORD).await;
    let eve = server.signed_up("eve", PASSWORD).await;

    // Refused: errors beside the fields, what was typed kept, nothing stored.
    let bad = call(
        &ada,
        "app",
        &[
            ("action", "register"),
            ("name", "Lab notebook"),
            ("client_type", "public"),
            ("grant_types", "authorization_code refresh_token"),
            ("redirect_uris", "http://lab.example.org/cb"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.json);
    assert!(bad.json["Refused"]["errors"]["redirect_uris"].is_string());
    assert_eq!(
        bad.json["Refused"]["values"]["grant_types"],
        "authorization_code refresh_token"
    );
    assert_eq!(server.count_rows("applications").await, 0);

    // Registered: the next page is the app's, the secret rides in a
    // cookie scoped to it, never in the answer's body.
    let made = call(
        &ada,
        "app",
        &[
            ("action", "register"),
            ("name", "Lab notebook"),
            ("client_type", "confidential"),
            ("grant_types", "authorization_code client_credentials"),
            ("redirect_uris", "https://lab.example.org/cb"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.json);
    let location = made.json["location"].as_str().unwrap().to_owned();
    assert!(location.starts_with("/o/applications/"), "{location}");
    let secret_cookie = made.cookie("gatehouse_new_secret").expect("the secret");
    assert!(
        secret_cookie.contains(&format!("Path={location}")),
        "{secret_cookie}"
    );
    let grants = server
        .scalar("SELECT COUNT(*) FROM applications WHERE grant_types LIKE '%client_credentials%'")
        .await;
    assert_eq!(grants, 1, "both ticked grant types were kept");
    let app_id = location
        .trim_start_matches("/o/applications/")
        .trim_end_matches('/')
        .to_owned();

    // Someone else's app does not exist for them.
    let nosy = call(&eve, "app", &[("action", "rotate"), ("app_id", &app_id)]).await;
    assert_eq!(nosy.status, StatusCode::NOT_FOUND, "{}", nosy.json);

    let rotated = call(&ada, "app", &[("action", "rotate"), ("app_id", &app_id)]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.json);
    assert!(rotated.cookie("gatehouse_new_secret").is_some());

    let tried = call(
        &ada,
        "app",
        &[
            ("action", "try"),
            ("app_id", &app_id),
            ("redirect_uri", "https://lab.example.org/cb"),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.json);
    let url = tried.json["try_it"]["authorize_url"].as_str().unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(tried.cookie("gatehouse_try").is_some());

    let unconfirmed = call(&ada, "app", &[("action", "delete"), ("app_id", &app_id)]).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unconfirmed.json["Refused"]["message"],
        "Tick the box to confirm the deletion."
    );
    let unknown = call(&ada, "app", &[("action", "explode"), ("app_id", &app_id)]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let deleted = call(
        &ada,
        "app",
        &[
            ("action", "delete"),
            ("app_id", &app_id),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.json);
    assert_eq!(deleted.json["location"], "/o/applications/");
    assert_eq!(server.count_rows("applications").await, 0);

    // Signed out: told where to sign in, nothing done.
    let stranger = call(&server.browser(), "app", &[("action", "register")]).await;
    assert_eq!(
        stranger.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        stranger.json
    );
    assert!(stranger.json["SignIn"]["location"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_search_answers_staff_only() {
    let server = TestServer::start().await;
    let boss = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let ada = server.signed_up("ada", PASSWORD).await;
    server.signed_up("adam", PASSWORD).await;

    let found = call(&boss, "admin-search", &[("q", "ada"), ("page", "1")]).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.json);
    let names: Vec<&str> = found.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.contains(&"ada") && names.contains(&"adam"),
        "{names:?}"
    );
    assert_eq!(found.json["query"], "ada");
    assert_eq!(found.json["has_next"], false);
    // A page that is not a number is the first.
    let odd = call(&boss, "admin-search", &[("q", "ada"), ("page", "-3x")]).await;
    assert_eq!(odd.json["page"], 1);

    let nosy = call(&ada, "admin-search", &[("q", "")]).await;
    assert_eq!(nosy.status, StatusCode::NOT_FOUND, "{}", nosy.json);
    let forged = call_raw(
        &boss,
        "admin-search",
        "q=ada".to_owned(),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.json);
}
