//! The authorization endpoint: consent remembered or skipped, refusals
//! shown as a page or sent to the client, prompt and max_age, posted requests.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_authorization_skips_consent_and_deny_is_access_denied() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|_| {}).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let pairs = request(&id, &[]);

    let denied = decide(&browser, &pairs, "deny").await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER);
    let p = params_of(denied.location().unwrap());
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], server.base);
    // Denying remembers nothing: the page is shown again.
    assert_eq!(authorize(&browser, &pairs).await.status, StatusCode::OK);

    decide(&browser, &pairs, "allow").await;
    let again = authorize(&browser, &pairs).await;
    assert_eq!(again.status, StatusCode::FOUND, "{}", again.body);
    assert!(params_of(again.location().unwrap()).contains_key("code"));
    // A subset of what was granted needs no consent either; more does.
    let read_only = request(&id, &[("scope", "read")]);
    assert_eq!(
        authorize(&browser, &read_only).await.status,
        StatusCode::FOUND
    );
    let more = request(&id, &[("scope", "read email")]);
    assert_eq!(authorize(&browser, &more).await.status, StatusCode::OK);
    // prompt=consent asks again; prompt=none answers consent_required.
    assert_eq!(
        authorize(&browser, &request(&id, &[("prompt", "consent")]))
            .await
            .status,
        StatusCode::OK
    );
    let none = authorize(
        &browser,
        &request(&id, &[("scope", "read email"), ("prompt", "none")]),
    )
    .await;
    assert_eq!(
        params_of(none.location().unwrap())["error"],
        "consent_required"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_consent_apps_and_signed_out_users() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|f| f.skip_consent = true).await;
    let browser = server.browser();
    let pairs = request(&id, &[]);
    let page = authorize(&browser, &pairs).await;
    assert_eq!(page.status, StatusCode::FOUND);
    let location = page.location().unwrap();
    assert!(
        location.starts_with("/accounts/login/?next=/o/authorize/%3F"),
        "{location}"
    );
    let none = authorize(&browser, &request(&id, &[("prompt", "none")])).await;
    assert_eq!(
        params_of(none.location().unwrap())["error"],
        "login_required"
    );

    // Signing in with that next comes back here, and no consent is asked.
    let next = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "next")
        .unwrap()
        .1
        .into_owned();
    server.signed_up("bob", PASSWORD).await;
    let signed_in = browser
        .post_form(
            "/accounts/login/",
            &[("login", "bob"), ("password", PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(signed_in.location(), Some(next.as_str()));
    let back = browser.get(&next).await;
    assert_eq!(back.status, StatusCode::FOUND);
    assert!(back.location().unwrap().starts_with(REDIRECT_URI));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_client_or_redirect_uri_is_an_error_page_never_a_redirect() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|_| {}).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    for pairs in [
        request("no-such-client", &[]),
        request("", &[]),
        request(&id, &[("redirect_uri", "https://evil.example/callback")]),
        request(&id, &[("redirect_uri", "http://127.0.0.1:9/callback/")]),
        request(&id, &[("redirect_uri", "http://127.0.0.1:9/callback?x=1")]),
        request(
            &id,
            &[("redirect_uri", "http://127.0.0.1.evil.example/callback")],
        ),
    ] {
        let page = authorize(&browser, &pairs).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{pairs:?}");
        assert!(page.location().is_none(), "{pairs:?}");
        assert!(page.body.contains("Authorization request refused"));
    }
    // A loopback redirect URI may use another port (RFC 8252).
    let other_port = authorize(
        &browser,
        &request(&id, &[("redirect_uri", "http://127.0.0.1:4567/callback")]),
    )
    .await;
    assert_eq!(other_port.status, StatusCode::OK);
    // Non-UTF-8 in the query: an error page too.
    let garbage = browser
        .get(&format!("/o/authorize/?client_id={id}&state=%FF"))
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_after_the_redirect_uri_is_known_go_to_the_client() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|_| {}).await;
    let (public, _) = server.register(|f| f.client_type = "public").await;
    let browser = server.signed_up("ada", PASSWORD).await;
    for (pairs, code) in [
        (
            request(&id, &[("response_type", "token")]),
            "unsupported_response_type",
        ),
        (request(&id, &[("scope", "read admin")]), "invalid_scope"),
        (request(&id, &[("scope", "introspection")]), "invalid_scope"),
        (
            request(&id, &[("code_challenge_method", "plain")]),
            "invalid_request",
        ),
        (
            request(
                &public,
                &[("code_challenge", ""), ("code_challenge_method", "")],
            ),
            "invalid_request",
        ),
    ] {
        let page = authorize(&browser, &pairs).await;
        assert_eq!(page.status, StatusCode::FOUND, "{pairs:?}");
        let p = params_of(page.location().unwrap());
        assert_eq!(p["error"], code, "{pairs:?}");
        assert_eq!(p["state"], "st-123");
        assert_eq!(p["iss"], server.base);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_and_max_age_send_the_user_to_sign_in_again() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|f| f.skip_consent = true).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    // Just signed up (signed in): a fresh sign-in satisfies max_age=60.
    let fresh = authorize(&browser, &request(&id, &[("max_age", "60")])).await;
    assert!(
        fresh.location().unwrap().starts_with(REDIRECT_URI),
        "{:?}",
        fresh.location()
    );
    for extra in [("prompt", "login"), ("max_age", "0")] {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let page = authorize(&browser, &request(&id, &[extra])).await;
        let location = page.location().unwrap().to_owned();
        assert!(
            location.starts_with("/accounts/login/?next="),
            "{extra:?}: {location}"
        );
        // The way back does not ask for prompt=login again.
        let next = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
            .find(|(k, _)| k == "next")
            .unwrap()
            .1
            .into_owned();
        assert!(!next.contains("prompt=login"), "{next}");
        let signed_in = browser
            .post_form(
                "/accounts/login/",
                &[("login", "ada"), ("password", PASSWORD), ("next", &next)],
            )
            .await;
        assert_eq!(signed_in.location(), Some(next.as_str()));
        let back = browser.get(&next).await;
        assert!(
            back.location().unwrap().starts_with(REDIRECT_URI),
            "{extra:?}: {:?}",
            back.location()
        );
    }
    // prompt=none cannot sign anyone in: login_required.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let none = authorize(
        &browser,
        &request(&id, &[("prompt", "none"), ("max_age", "0")]),
    )
    .await;
    assert_eq!(
        params_of(none.location().unwrap())["error"],
        "login_required"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_accepted_request_survives_signing_in() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|f| f.skip_consent = true).await;
    server.signed_up("ada", PASSWORD).await;
    let browser = server.browser();
    let state = "{\"return\":\"/a b/ü\"}".repeat(40);
    let state = &state[..state.len().min(1000)];
    let nonce = "n".repeat(1024);
    let pairs = request(&id, &[("state", state), ("nonce", &nonce)]);
    let to_login = authorize(&browser, &pairs).await;
    let location = to_login.location().unwrap().to_owned();
    let next = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "next")
        .unwrap()
        .1
        .into_owned();
    assert!(next.len() > 2048, "{}", next.len());
    let signed_in = browser
        .post_form(
            "/accounts/login/",
            &[("login", "ada"), ("password", PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(signed_in.location(), Some(next.as_str()));
    let back = browser.get(&next).await;
    let params = params_of(back.location().unwrap());
    assert_eq!(params["state"], state);
    assert!(params.contains_key("code"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_requests_may_be_posted() {
    let server = TestServer::start().await;
    let (id, _) = server.register(|_| {}).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let pairs = request(&id, &[]);
    // A form POST without a decision is an authorization request: it is
    // answered with the same request as a GET (a cross-site POST carries no
    // SameSite=Lax session cookie; the GET that follows does).
    let posted = browser.post_raw("/o/authorize/", &pairs, None).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let location = posted.location().unwrap().to_owned();
    assert!(location.starts_with("/o/authorize/?"), "{location}");
    let page = browser.get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Lab notebook"));
    // A bad posted request is refused like a bad GET.
    let bad = browser
        .post_raw("/o/authorize/", &request("no-such-client", &[]), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // But a decision needs the CSRF token.
    let mut forged = pairs.clone();
    forged.push(("decision", "allow"));
    let refused = browser.post_raw("/o/authorize/", &forged, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
