//! Sign-in limits under parallel attack and the privileges an open
//! registration must not hand out: the attempt discipline (reserved before
//! the hash, given back on success), people sharing one address, trusted
//! proxies, the bounded hashing queue, introspection rights, staff-only app
//! capabilities, deactivation, cookies and headers under https.

use reqwest::StatusCode;

use crate::support::{csrf_token, input_value, post, Browser, Page, TestServer};

const PASSWORD: &str = "correct horse battery";

/// A server that believes `X-Forwarded-For` from 127.0.0.1, so tests can
/// speak from many addresses.
async fn behind_proxy() -> TestServer {
    TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".into()]).await
}

/// Posts the sign-in form as a browser at `addr` (through the proxy).
async fn sign_in_from(browser: &Browser, addr: &str, login: &str, password: &str) -> StatusCode {
    let page = browser.get("/accounts/login/").await;
    let token = csrf_token(&page.body);
    browser
        .client
        .post(format!("{}/accounts/login/", browser.base))
        .header("origin", &browser.base)
        .header("x-forwarded-for", addr)
        .form(&[
            ("csrf_token", token.as_str()),
            ("login", login),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// Tries the pair counter may let through besides its five free ones when
/// a burst takes `elapsed` (after 5 failures: one more try after 2 s, then
/// after 4 s more, 8 s more…). A burst on a loaded machine can outlast the
/// first wait; the bound stays exact.
fn allowed_tries(elapsed: std::time::Duration) -> usize {
    let secs = elapsed.as_secs() + 1; // the clock counts whole seconds
    let (mut extra, mut at, mut wait) = (0, 0, 2);
    while at + wait <= secs {
        at += wait;
        wait *= 2;
        extra += 1;
    }
    5 + extra
}

/// Posts the portal's registration form: these grant types ticked, one
/// redirect URI (or none), and any `extra` fields.
async fn register_in_portal(
    browser: &Browser,
    name: &str,
    client_type: &str,
    grant_types: &[&str],
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> Page {
    let mut fields = vec![("name", name), ("client_type", client_type)];
    fields.extend(grant_types.iter().map(|g| ("grant_types", *g)));
    fields.extend([
        ("redirect_uris", redirect_uri),
        ("post_logout_redirect_uris", ""),
        ("allowed_origins", ""),
        ("algorithm", "RS256"),
    ]);
    fields.extend_from_slice(extra);
    browser
        .post_form("/o/applications/register/", &fields)
        .await
}

/// A confidential app staff allowed the password grant.
async fn password_app(server: &TestServer) -> (String, String) {
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["password", "refresh_token"])
        .await;
    (id, secret.unwrap())
}

async fn password_grant(
    server: &TestServer,
    app: &(String, String),
    username: &str,
    password: &str,
    addr: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(server.url("/o/token/"))
        .basic_auth(&app.0, Some(&app.1))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("scope", "read"),
        ]);
    if let Some(addr) = addr {
        req = req.header("x-forwarded-for", addr);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_parallel_guesses_at_the_password_grant_check_only_the_free_tries() {
    let server = behind_proxy().await;
    server.signed_up("ada", PASSWORD).await;
    let app = password_app(&server).await;
    let guesses = (0..100).map(|i| {
        let server = &server;
        let app = &app;
        async move {
            password_grant(
                server,
                app,
                "ada",
                &format!("guess {i}"),
                Some("198.51.100.1"),
            )
            .await
        }
    });
    let started = std::time::Instant::now();
    let answers = futures::future::join_all(guesses).await;
    let allowed = allowed_tries(started.elapsed());
    let mut checked = 0;
    let mut throttled = 0;
    for (status, json) in &answers {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{json}");
        assert_eq!(json["error"], "invalid_grant", "{json}");
        let description = json["error_description"].as_str().unwrap();
        if description.contains("too many attempts") {
            throttled += 1;
        } else {
            checked += 1;
        }
    }
    assert!(
        checked <= allowed,
        "{checked} guesses were checked against the hash (at most {allowed})"
    );
    assert_eq!(checked + throttled, 100);
    // The owner, in a browser elsewhere, still gets in during the attack.
    let owner = server.browser();
    assert_eq!(
        sign_in_from(&owner, "203.0.113.9", "ada", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // Through the attacked app, even the right password waits: the app
    // answers for everyone it signs in, wherever they are.
    for addr in ["198.51.100.1", "203.0.113.9"] {
        let (status, json) = password_grant(&server, &app, "ada", PASSWORD, Some(addr)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{addr}: {json}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confidential_app_signing_in_many_people_is_not_throttled_as_a_crowd() {
    // A resource server forwarding people's sign-ins (DOT's tutorial):
    // they all come from its one address.
    let server = TestServer::start().await;
    let app = password_app(&server).await;
    for i in 0..60 {
        let (status, json) =
            password_grant(&server, &app, &format!("person{i}"), "wrong password", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        let description = json["error_description"].as_str().unwrap();
        assert_eq!(description, "invalid username or password", "attempt {i}");
    }
    // Each account keeps its own limit through the app.
    server.signed_up("ada", PASSWORD).await;
    for _ in 0..5 {
        password_grant(&server, &app, "ada", "guess guess", None).await;
    }
    let (_, json) = password_grant(&server, &app, "ada", PASSWORD, None).await;
    assert!(
        json["error_description"]
            .as_str()
            .unwrap()
            .contains("too many attempts"),
        "{json}"
    );
    // The portal, from the same address, still counts the address: sixty
    // wrong sign-ins through the app did not spend it.
    let page = server.browser().sign_in("nobody", "wrong password").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_parallel_guesses_at_the_sign_in_form_check_only_the_free_tries() {
    let server = behind_proxy().await;
    server.signed_up("ada", PASSWORD).await;
    let attacker = server.browser();
    // Warm the CSRF cookie once.
    attacker.get("/accounts/login/").await;
    let guesses = (0..100).map(|i| {
        sign_in_from(
            &attacker,
            "198.51.100.1",
            "ada",
            if i == 99 { PASSWORD } else { "guess" },
        )
    });
    let started = std::time::Instant::now();
    let statuses = futures::future::join_all(guesses).await;
    let allowed = allowed_tries(started.elapsed());
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED || **s == StatusCode::SEE_OTHER)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= allowed,
        "{checked} guesses were checked (at most {allowed}): {statuses:?}"
    );
    assert_eq!(checked + throttled, 100, "{statuses:?}");
    let owner = server.browser();
    assert_eq!(
        sign_in_from(&owner, "203.0.113.9", "ada", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_people_behind_one_address_each_mistyping_twice_all_get_in() {
    let server = behind_proxy().await;
    let names: Vec<String> = (0..12).map(|i| format!("person{i}")).collect();
    for name in &names {
        server.signed_up(name, PASSWORD).await;
    }
    let nat = "192.0.2.44";
    let browsers: Vec<Browser> = names.iter().map(|_| server.browser()).collect();
    for (name, browser) in names.iter().zip(&browsers) {
        for _ in 0..2 {
            assert_eq!(
                sign_in_from(browser, nat, name, "mistyped password").await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    for (name, browser) in names.iter().zip(&browsers) {
        assert_eq!(
            sign_in_from(browser, nat, name, PASSWORD).await,
            StatusCode::SEE_OTHER,
            "{name} was held back by the others' typos"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_people_behind_one_address_signing_in_at_once_all_get_in() {
    // A class starting at the same minute behind one NAT: more people than
    // the address's free failures, all with the right password.
    let server = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        // Room for everyone in the hashing queue on any number of cores.
        c.password_hash_queue = 128;
    })
    .await;
    let names: Vec<String> = (0..80).map(|i| format!("pupil{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        // Each signed up from home (sign-ups are limited per address).
        let response = server
            .browser()
            .client
            .post(server.url("/users/signup/"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[
                ("username", name.as_str()),
                ("email", &format!("{name}@example.org")),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
    }
    let browsers: Vec<Browser> = names.iter().map(|_| server.browser()).collect();
    let mut tokens = Vec::new();
    for browser in &browsers {
        tokens.push(csrf_token(&browser.get("/accounts/login/").await.body));
    }
    // Every form posted at the same moment, from the one address.
    let posts = names
        .iter()
        .zip(&browsers)
        .zip(&tokens)
        .map(|((name, browser), token)| {
            browser
                .client
                .post(format!("{}/accounts/login/", browser.base))
                .header("origin", &browser.base)
                .header("x-forwarded-for", "192.0.2.80")
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("login", name.as_str()),
                    ("password", PASSWORD),
                ])
                .send()
        });
    let statuses: Vec<StatusCode> = futures::future::join_all(posts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{statuses:?}"
    );
    // Failures from that address are still counted: a guesser behind it
    // is held back after the address's fifty free failures.
    let guesser = server.browser();
    for i in 0..50 {
        assert_eq!(
            sign_in_from(&guesser, "192.0.2.80", &format!("nobody{i}"), "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&guesser, "192.0.2.80", "pupil1", "guess").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    // No trusted proxies: a client rotating X-Forwarded-For stays one address.
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let attacker = server.browser();
    for i in 0..5 {
        assert_eq!(
            sign_in_from(&attacker, &format!("198.51.100.{i}"), "ada", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&attacker, "198.51.100.200", "ada", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_answers_at_once() {
    let server = TestServer::start_with(|c| {
        c.password_hash_threads = 1;
        c.password_hash_queue = 1;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let app = password_app(&server).await;
    let attempts = (0..24).map(|i| {
        let server = &server;
        let app = &app;
        async move {
            password_grant(
                server,
                app,
                &format!("nobody{i}"),
                "guess",
                Some(&format!("198.51.100.{i}")),
            )
            .await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let busy = answers
        .iter()
        .filter(|(s, j)| {
            *s == StatusCode::SERVICE_UNAVAILABLE && j["error"] == "temporarily_unavailable"
        })
        .count();
    let checked = answers
        .iter()
        .filter(|(s, j)| *s == StatusCode::BAD_REQUEST && j["error"] == "invalid_grant")
        .count();
    assert!(busy > 0, "{answers:?}");
    assert_eq!(busy + checked, 24, "{answers:?}");
    // A refused attempt was never checked: it does not count against anyone.
    assert_eq!(
        server
            .scalar(
                "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM login_failures \
                 WHERE throttle_key LIKE 'pair:%'"
            )
            .await as usize,
        checked
    );
    // The sign-in page answers 503 with Retry-After under the same load.
    let pages = (0..12).map(|i| {
        let server = &server;
        async move {
            let b = server.browser();
            sign_in_from(&b, &format!("203.0.113.{i}"), &format!("ghost{i}"), "guess").await
        }
    });
    let statuses = futures::future::join_all(pages).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_see_only_their_own_tokens_without_the_introspection_permission() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let owner = password_app(&server).await;
    let (other_id, other_secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let (auditor_id, auditor_secret) = server
        .register(|f| {
            f.grant_types = vec!["client_credentials"];
            f.scopes = "read introspection";
        })
        .await;
    let (_, tokens) = password_grant(&server, &owner, "ada", PASSWORD, None).await;
    for token in [&tokens["access_token"], &tokens["refresh_token"]] {
        let token = token.as_str().unwrap();
        let own = post(
            &server,
            "/o/introspect/",
            Some((&owner.0, &owner.1)),
            &[("token", token)],
        )
        .await;
        assert_eq!(own.json["active"], true, "{}", own.json);
        let foreign = post(
            &server,
            "/o/introspect/",
            Some((&other_id, other_secret.as_deref().unwrap())),
            &[("token", token)],
        )
        .await;
        assert_eq!(foreign.status, StatusCode::OK);
        assert_eq!(foreign.json, serde_json::json!({"active": false}));
        let allowed = post(
            &server,
            "/o/introspect/",
            Some((&auditor_id, auditor_secret.as_deref().unwrap())),
            &[("token", token)],
        )
        .await;
        assert_eq!(allowed.json["active"], true, "{}", allowed.json);
    }
    // A foreign look at a refresh token does not trip reuse detection.
    let refreshed = post(
        &server,
        "/o/token/",
        Some((&owner.0, &owner.1)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_gives_no_privileges_to_people_who_are_not_staff() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    let done = register_in_portal(
        &dev,
        "Greedy",
        "confidential",
        &["authorization_code", "password"],
        "https://greedy.example/cb",
        &[("skip_consent", "on"), ("scopes", "read introspection")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let row = server
        .scalar(
            "SELECT COUNT(*) FROM applications WHERE name = 'Greedy' AND skip_consent = FALSE \
             AND grant_types NOT LIKE '%password%' AND scopes NOT LIKE '%introspection%'",
        )
        .await;
    assert_eq!(row, 1, "a non-staff app got a privilege");
    // Staff may give the password grant (to confidential apps only).
    let staff = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let done = register_in_portal(&staff, "Trusted", "confidential", &["password"], "", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let public =
        register_in_portal(&staff, "Public password", "public", &["password"], "", &[]).await;
    assert_eq!(public.status, StatusCode::BAD_REQUEST);
    assert!(public
        .body
        .contains("Public clients cannot use the password grant."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactivation_does_not_revive_old_sessions_or_tokens() {
    let server = TestServer::start().await;
    let admin = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let user = server.signed_up("ada", PASSWORD).await;
    let app = password_app(&server).await;
    let (_, tokens) = password_grant(&server, &app, "ada", PASSWORD, None).await;
    let ada_id = server
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await
        .to_string();
    for action in ["deactivate", "activate"] {
        let r = admin
            .post_form("/admin/", &[("user_id", &ada_id), ("action", action)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    assert!(!user.is_signed_in().await, "an old session came back");
    let refreshed = post(
        &server,
        "/o/token/",
        Some((&app.0, &app.1)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        refreshed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refreshed.json
    );
    let profile = reqwest::Client::new()
        .get(server.url("/profile/"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::UNAUTHORIZED);
    // The person signs in afresh.
    assert_eq!(
        server.browser().sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_https_cookies_are_host_only_and_hsts_is_sent() {
    let server = TestServer::start_with(|c| c.public_url = "https://id.example.org".into()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(server.url("/accounts/login/"))
        .send()
        .await
        .unwrap();
    let hsts = page.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(hsts, "max-age=31536000");
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-gatehouse_session_csrf="))
        .expect("a __Host- CSRF cookie");
    assert!(
        csrf_cookie.contains("; Secure") && csrf_cookie.contains("Path=/"),
        "{csrf_cookie}"
    );
    assert!(!csrf_cookie.contains("Domain"), "{csrf_cookie}");
    let body = page.text().await.unwrap();
    let token = csrf_token(&body);
    server
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
                &Default::default(),
            ),
        )
        .await
        .expect("account");
    let cookie_pair = csrf_cookie.split(';').next().unwrap().to_owned();
    let signed_in = client
        .post(server.url("/accounts/login/"))
        .header("origin", "https://id.example.org")
        .header("cookie", cookie_pair)
        .form(&[
            ("csrf_token", token.as_str()),
            ("login", "ada"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-gatehouse_session="))
        .expect("a __Host- session cookie");
    assert!(
        session.contains("; Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    // Over plain http: no HSTS, plain names.
    let plain = TestServer::start().await;
    let page = client
        .get(plain.url("/accounts/login/"))
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_content_security_policy_with_a_fresh_nonce() {
    let server = TestServer::start().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let r = reqwest::get(server.url("/accounts/login/")).await.unwrap();
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        for part in [
            "object-src 'none'",
            "base-uri 'none'",
            "'wasm-unsafe-eval'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce")
            .to_owned();
        let body = r.text().await.unwrap();
        assert!(
            body.contains(&format!("nonce=\"{nonce}\"")),
            "the scripts carry the nonce"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
    // Protocol answers get a closed policy.
    let r = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreviewed_apps_early_errors_stay_on_a_page_until_staff_review_it() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    let done = register_in_portal(
        &dev,
        "Fresh app",
        "confidential",
        &["authorization_code"],
        "https://fresh.example/cb",
        &[],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let client_id = server
        .scalar("SELECT id FROM applications WHERE name = 'Fresh app' AND NOT reviewed")
        .await;
    assert!(
        client_id > 0,
        "a portal app by someone who is not staff starts unreviewed"
    );
    let page = dev.get(done.location().unwrap()).await;
    let client_id = input_value(&page.body, "client_id").expect("client id shown");
    let bad = format!(
        "/o/authorize/?response_type=token&client_id={client_id}&redirect_uri=https%3A%2F%2Ffresh.example%2Fcb&state=x"
    );
    let silent = format!(
        "/o/authorize/?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Ffresh.example%2Fcb&scope=read&prompt=none"
    );
    let stranger = server.browser();
    for path in [&bad, &silent] {
        let page = stranger.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.location().is_none(), "{path}");
        assert!(page.body.contains("Fresh app"), "{}", page.body);
        assert!(
            page.body.contains("href=\"https://fresh.example\""),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("Return to https://fresh.example"),
            "{}",
            page.body
        );
    }
    // Staff review it: the same requests are answered at the redirect URI.
    let staff = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let id = server
        .scalar("SELECT id FROM applications WHERE name = 'Fresh app'")
        .await
        .to_string();
    let admin = staff.get("/admin/").await;
    assert!(
        admin.body.contains("Mark Fresh app reviewed"),
        "{}",
        admin.body
    );
    let r = staff
        .post_form("/admin/", &[("app_id", &id), ("action", "review")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Someone who is not staff cannot review.
    let r = dev
        .post_form("/admin/", &[("app_id", &id), ("action", "review")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for path in [&bad, &silent] {
        let page = stranger.get(path).await;
        assert_eq!(page.status, StatusCode::FOUND, "{path}");
        assert!(page
            .location()
            .unwrap()
            .starts_with("https://fresh.example/cb?error="));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_sign_ups_are_limited_per_address() {
    let server = behind_proxy().await;
    let sign_up = |name: String, addr: &'static str| {
        let browser = server.browser();
        async move {
            let page = browser.get("/accounts/signup/").await;
            let token = csrf_token(&page.body);
            browser
                .client
                .post(format!("{}/accounts/signup/", browser.base))
                .header("origin", &browser.base)
                .header("x-forwarded-for", addr)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("username", name.as_str()),
                    ("email", format!("{name}@example.org").as_str()),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for i in 0..20 {
        assert_eq!(
            sign_up(format!("new{i}"), "198.51.100.7").await,
            StatusCode::SEE_OTHER,
            "sign-up {i}"
        );
    }
    assert_eq!(
        sign_up("onemore".into(), "198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address is not held back.
    assert_eq!(
        sign_up("elsewhere".into(), "203.0.113.7").await,
        StatusCode::SEE_OTHER
    );
    // A taken username is refused (checked before the hash).
    assert_eq!(
        sign_up("elsewhere".into(), "203.0.113.8").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(server.count_rows("users").await, 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_whose_people_share_one_address_can_lift_the_sign_up_limit() {
    // Everyone reaches this site from one NAT: 25 sign-ups from 127.0.0.1
    // (past the default 20 an hour) all go through.
    let server = TestServer::start_with(|c| c.signups_per_address = 0).await;
    for i in 0..25 {
        server.signed_up(&format!("newcomer{i}"), PASSWORD).await;
    }
    assert_eq!(server.count_rows("users").await, 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_each_check_and_fails_once_the_database_is_gone() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.headers()["cache-control"], "no-store");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "database": "ok", "signing_keys": "ok"})
    );

    // The database is closed under the running server: not ready, and
    // /healthz says the database is unavailable too.
    server.state.accounts.store().close().await;
    let gone = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["database"], "unreachable");
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refresh_token_presented_twenty_times_at_once_is_used_once() {
    let server = TestServer::start().await;
    let app = password_app(&server).await;
    server.signed_up("ada", "correct horse battery").await;
    let (status, first) = password_grant(&server, &app, "ada", "correct horse battery", None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let attempts = (0..20).map(|_| {
        let (server, app, refresh) = (&server, &app, &refresh);
        async move {
            let r = reqwest::Client::new()
                .post(server.url("/o/token/"))
                .basic_auth(&app.0, Some(&app.1))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused = answers
        .iter()
        .filter(|(s, j)| *s == StatusCode::BAD_REQUEST && j["error"] == "invalid_grant")
        .count();
    assert_eq!((ok, refused), (1, 19), "{answers:?}");
    // The reuse revoked the family: the one successor is dead too.
    let successor = answers
        .iter()
        .find(|(s, _)| *s == StatusCode::OK)
        .map(|(_, j)| j["refresh_token"].as_str().unwrap().to_owned())
        .unwrap();
    let again = reqwest::Client::new()
        .post(server.url("/o/token/"))
        .basic_auth(&app.0, Some(&app.1))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &successor),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(server.count_rows("access_tokens").await, 0);
}
