//! OAuth 2 over HTTP: the authorization endpoint and consent, every grant
//! at the token endpoint, client authentication, revocation,
//! introspection, the protected profile and CORS — with the negative cases
//! and the races the SPEC names.

use std::collections::HashMap;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{answer, assert_error, post, Answer, Browser, Page, TestServer, REDIRECT_URI};

const PASSWORD: &str = "correct horse battery";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn params_of(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).expect("absolute location");
    url.query_pairs().into_owned().collect()
}

/// The usual authorization request of the tests: code + PKCE S256.
fn request<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "read write"),
        ("state", "st-123"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    pairs
}

async fn authorize(browser: &Browser, pairs: &[(&str, &str)]) -> Page {
    browser
        .get(&format!("/o/authorize/?{}", query(pairs)))
        .await
}

async fn decide(browser: &Browser, pairs: &[(&str, &str)], decision: &str) -> Page {
    let mut fields = pairs.to_vec();
    fields.push(("decision", decision));
    browser.post_form("/o/authorize/", &fields).await
}

/// Signs up, authorizes (consenting) and returns the code.
async fn code_for(server: &TestServer, browser: &Browser, client_id: &str) -> String {
    let pairs = request(client_id, &[]);
    let page = authorize(browser, &pairs).await;
    let page = if page.status == StatusCode::OK {
        decide(browser, &pairs, "allow").await
    } else {
        page
    };
    let location = page
        .location()
        .unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let params = params_of(location);
    assert_eq!(params.get("state").map(String::as_str), Some("st-123"));
    let _ = server;
    params["code"].clone()
}

async fn exchange(server: &TestServer, id: &str, secret: &str, code: &str) -> Answer {
    post(
        server,
        "/o/token/",
        Some((id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn introspect(server: &TestServer, id: &str, secret: &str, token: &str) -> Value {
    let a = post(
        server,
        "/o/introspect/",
        Some((id, secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json
}

async fn profile(server: &TestServer, token: &str) -> Answer {
    let r = reqwest::Client::new()
        .get(server.url("/profile/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    answer(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_pkce_refresh_introspect_revoke() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let browser = server.signed_up("ada", PASSWORD).await;

    // Consent page: the app's name and each scope's description.
    let pairs = request(&id, &[]);
    let page = authorize(&browser, &pairs).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Lab notebook"));
    assert!(page.body.contains("Read your account details"));
    assert!(page.body.contains("Change your account details"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));

    let allowed = decide(&browser, &pairs, "allow").await;
    assert_eq!(allowed.status, StatusCode::SEE_OTHER);
    let answer_params = params_of(allowed.location().unwrap());
    // RFC 9207: the answer names who gave it.
    assert_eq!(answer_params["iss"], server.base);
    let code = answer_params["code"].clone();

    let tokens = exchange(&server, &id, &secret, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.json);
    assert_eq!(tokens.headers["cache-control"], "no-store");
    assert_eq!(tokens.json["token_type"], "Bearer");
    assert_eq!(tokens.json["expires_in"], 3600);
    assert_eq!(tokens.json["scope"], "read write");
    // No openid scope, no id_token.
    assert!(tokens.json.get("id_token").is_none(), "{}", tokens.json);
    let access = tokens.json["access_token"].as_str().unwrap().to_owned();
    // Nor userinfo.
    let info = reqwest::Client::new()
        .get(server.url("/o/userinfo/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(info).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );
    let refresh = tokens.json["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.len() >= 43 && refresh.len() >= 43);

    // The protected resource.
    let me = profile(&server, &access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["username"], "ada");
    assert_eq!(me.json["email"], "ada@example.org");
    for key in ["id", "user_id", "first_name", "last_name", "date_joined"] {
        assert!(me.json.get(key).is_some(), "{key}");
    }
    let api = reqwest::Client::new()
        .get(server.url("/api/profile/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);

    let info = introspect(&server, &id, &secret, &access).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], id.as_str());
    assert_eq!(info["username"], "ada");
    assert_eq!(info["scope"], "read write");
    assert!(info["exp"].as_i64().unwrap() > info["iat"].as_i64().unwrap());

    // Refresh rotates; a narrower scope is allowed.
    let refreshed = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.json);
    assert_eq!(refreshed.json["scope"], "read");
    let refresh2 = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    let access2 = refreshed.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(&server, &id, &secret, &refresh).await,
        serde_json::json!({"active": false})
    );
    // Widening is not.
    let wider = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
            ("scope", "read write email"),
        ],
    )
    .await;
    assert_error(&wider, StatusCode::BAD_REQUEST, "invalid_scope");

    // Revocation (RFC 7009): the access token, then unknown ones.
    let revoked = post(
        &server,
        "/o/revoke_token/",
        Some((&id, &secret)),
        &[("token", &access2), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(
        introspect(&server, &id, &secret, &access2).await,
        serde_json::json!({"active": false})
    );
    let unknown = post(
        &server,
        "/o/revoke_token/",
        Some((&id, &secret)),
        &[("token", "no-such-token")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK);
    let bad_hint = post(
        &server,
        "/o/revoke_token/",
        Some((&id, &secret)),
        &[("token", "x"), ("token_type_hint", "id_token")],
    )
    .await;
    assert_error(&bad_hint, StatusCode::BAD_REQUEST, "unsupported_token_type");
    // Revoking the refresh token takes its whole grant with it.
    assert_eq!(
        introspect(&server, &id, &secret, &access).await["active"],
        true
    );
    let r = post(
        &server,
        "/o/revoke_token/",
        Some((&id, &secret)),
        &[("token", &refresh2), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        introspect(&server, &id, &secret, &access).await["active"],
        false
    );
    let dead = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
        ],
    )
    .await;
    assert_error(&dead, StatusCode::BAD_REQUEST, "invalid_grant");
}

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
async fn pkce_and_code_binding_are_enforced() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let (other, other_secret) = server.register(|f| f.name = "Other").await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(&server, &browser, &id).await;
    let wrong_verifier = "x".repeat(43);
    for form in [
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &wrong_verifier),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:10/callback"),
            ("code_verifier", VERIFIER),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    ] {
        let a = post(&server, "/o/token/", Some((&id, &secret)), &form).await;
        assert_error(&a, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    // Another client cannot redeem it.
    let a = exchange(&server, &other, other_secret.as_deref().unwrap(), &code).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_grant");
    // Failed attempts changed nothing: the code still works once.
    assert_eq!(
        exchange(&server, &id, &secret, &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_reuse_fails_and_revokes_the_first_tokens() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(&server, &browser, &id).await;
    let first = exchange(&server, &id, &secret, &code).await;
    assert_eq!(first.status, StatusCode::OK);
    let access = first.json["access_token"].as_str().unwrap();
    let refresh = first.json["refresh_token"].as_str().unwrap();
    let second = exchange(&server, &id, &secret, &code).await;
    assert_error(&second, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        introspect(&server, &id, &secret, access).await["active"],
        false
    );
    assert_eq!(
        introspect(&server, &id, &secret, refresh).await["active"],
        false
    );
    assert_eq!(
        profile(&server, access).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_codes_are_refused() {
    let server = TestServer::start_with(|c| c.code_lifetime_secs = 1).await;
    let (id, secret) = server.register(|_| {}).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(&server, &browser, &id).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let a = exchange(&server, &id, secret.as_deref().unwrap(), &code).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_redemptions_yield_exactly_one_success() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(&server, &browser, &id).await;
    let form = owned(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ]);
    let answers = all_at_once(&server, "/o/token/", &id, &secret, form, 20).await;
    let ok: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .collect();
    assert_eq!(
        ok.len(),
        1,
        "statuses: {:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_error(a, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    // The losers' replays revoked the winner's tokens.
    let access = ok[0].json["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(&server, &id, &secret, access).await["active"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reuse_revokes_the_family_and_races_have_one_winner_at_most() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(&server, &browser, &id).await;
    let first = exchange(&server, &id, &secret, &code).await;
    let refresh = first.json["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = |t: &str| {
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), t.to_owned()),
        ]
    };

    let rotated = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &as_refs(&refresh_form(&refresh)),
    )
    .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_access = rotated.json["access_token"].as_str().unwrap().to_owned();
    let new_refresh = rotated.json["refresh_token"].as_str().unwrap().to_owned();
    // Replaying the old one revokes everything descended from the grant.
    let replay = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &as_refs(&refresh_form(&refresh)),
    )
    .await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        introspect(&server, &id, &secret, &new_access).await["active"],
        false
    );
    let after = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &as_refs(&refresh_form(&new_refresh)),
    )
    .await;
    assert_error(&after, StatusCode::BAD_REQUEST, "invalid_grant");

    // Twenty at once with one fresh refresh token: at most one succeeds.
    let code = code_for(&server, &browser, &id).await;
    let fresh = exchange(&server, &id, &secret, &code).await.json["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let answers = all_at_once(&server, "/o/token/", &id, &secret, refresh_form(&fresh), 20).await;
    let ok = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    assert!(ok <= 1, "{ok} refreshes succeeded");
    for a in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_error(a, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}
fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Sends the same form `n` times concurrently (one task each, released
/// together by a barrier) and collects the answers.
async fn all_at_once(
    server: &TestServer,
    path: &str,
    id: &str,
    secret: &str,
    form: Vec<(String, String)>,
    n: usize,
) -> Vec<Answer> {
    let client = reqwest::Client::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let request = client
                .post(server.url(path))
                .basic_auth(id, Some(secret))
                .form(&form);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                answer(request.send().await.unwrap()).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_methods_and_failures() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let secret = secret.unwrap();
    let cc = [("grant_type", "client_credentials"), ("scope", "read")];

    // client_secret_basic and client_secret_post.
    let basic = post(&server, "/o/token/", Some((&id, &secret)), &cc).await;
    assert_eq!(basic.status, StatusCode::OK, "{}", basic.json);
    assert!(basic.json.get("refresh_token").is_none());
    let mut body = cc.to_vec();
    body.extend([
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ]);
    assert_eq!(
        post(&server, "/o/token/", None, &body).await.status,
        StatusCode::OK
    );
    // A secret that is percent-encoded in Basic (RFC 6749 §2.3.1) works too.
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let r = reqwest::Client::new()
        .post(server.url("/o/token/"))
        .header("authorization", format!("Basic {encoded}"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Wrong secret, unknown client, no authentication: 401 + challenge.
    for auth in [
        Some((id.as_str(), "wrong")),
        Some(("nobody", secret.as_str())),
        None,
    ] {
        let a = post(&server, "/o/token/", auth, &cc).await;
        assert_error(&a, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(a.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
    }
    // Two methods at once.
    let a = post(&server, "/o/token/", Some((&id, &secret)), &body).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_request");

    // Grants the app is not registered for, and unknown grants.
    let a = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "x"),
            ("password", "y"),
        ],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "unauthorized_client");
    let a = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "implicit")],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let a = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "read superuser"),
        ],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_scope");
    let a = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_clients_authenticate_with_their_id_and_pkce() {
    let server = TestServer::start().await;
    let (id, secret) = server.register(|f| f.client_type = "public").await;
    assert!(secret.is_none());
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(&server, &browser, &id).await;
    let a = post(
        &server,
        "/o/token/",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    // A public client cannot introspect.
    let token = a.json["access_token"].as_str().unwrap();
    let i = post(
        &server,
        "/o/introspect/",
        None,
        &[("client_id", &id), ("token", token)],
    )
    .await;
    assert_error(&i, StatusCode::UNAUTHORIZED, "invalid_client");
    // But it can revoke its own token with its id alone.
    let r = post(
        &server,
        "/o/revoke_token/",
        None,
        &[("client_id", &id), ("token", token)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        profile(&server, token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_only_for_apps_granted_it() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["password", "refresh_token"])
        .await;
    let secret = secret.unwrap();
    server.signed_up("ada", PASSWORD).await;
    let ok = post(
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
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
    assert!(ok.json["refresh_token"].is_string());
    assert_eq!(
        profile(&server, ok.json["access_token"].as_str().unwrap())
            .await
            .json["username"],
        "ada"
    );
    let bad = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", "wrong password"),
        ],
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_grant");
    let missing = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "password"), ("username", "ada")],
    )
    .await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_errors_follow_rfc_6750() {
    let server = TestServer::start().await;
    let (id, secret) = server
        .register(|f| {
            f.grant_types = vec!["client_credentials", "password"];
            f.scopes = "read write introspection";
        })
        .await;
    let secret = secret.unwrap();
    server.signed_up("ada", PASSWORD).await;

    let none = reqwest::Client::new()
        .get(server.url("/profile/"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"gatehouse\""
    );

    let bad = profile(&server, "not-a-token").await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(bad.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));

    let write_only = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
            ("scope", "write"),
        ],
    )
    .await;
    let token = write_only.json["access_token"].as_str().unwrap();
    let insufficient = profile(&server, token).await;
    assert_error(&insufficient, StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(insufficient.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"read\""));

    // A resource server may introspect with a token holding `introspection`.
    let rs = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "introspection"),
        ],
    )
    .await;
    let rs_token = rs.json["access_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(server.url("/o/introspect/"))
        .bearer_auth(rs_token)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.json["active"], true, "{}", a.json);
    assert_eq!(a.json["scope"], "write");
    // GET works as well as POST.
    let r = reqwest::Client::new()
        .get(server.url(&format!("/o/introspect/?token={token}")))
        .bearer_auth(rs_token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer(r).await.json["active"], true);
    // Without that scope, no.
    let r = reqwest::Client::new()
        .post(server.url("/o/introspect/"))
        .bearer_auth(token)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(r).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );
    // Inactive tokens say only that.
    assert_eq!(
        introspect(&server, &id, &secret, "no-such-token").await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_json_error_and_changes_nothing() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 16 * 1024).await;
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let secret = secret.unwrap();
    let client = reqwest::Client::new();
    let raw = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(server.url("/o/token/"))
            .basic_auth(&id, Some(&secret))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    for (body, ctype) in [
        (b"grant_type=client_credentials&scope=%FF%FE".to_vec(), form),
        (b"grant_type=\xff\xfe".to_vec(), form),
        (b"\x00\x01\x02garbage".to_vec(), form),
        (
            b"{\"grant_type\":\"client_credentials\"}".to_vec(),
            "application/json",
        ),
        (
            format!(
                "grant_type=client_credentials&scope={}",
                "read+".repeat(2000)
            )
            .into_bytes(),
            form,
        ),
        (
            format!("grant_type=client_credentials&x={}", "a".repeat(8000)).into_bytes(),
            form,
        ),
        (
            (0..100)
                .map(|i| format!("p{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            form,
        ),
    ] {
        let a = answer(raw(body, ctype).await.unwrap()).await;
        assert!(a.status.is_client_error(), "{} {}", a.status, a.json);
        assert!(a.json["error"].is_string());
    }
    let huge = raw(vec![b'a'; 20 * 1024], form).await.unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let a = answer(huge).await;
    assert_eq!(a.json["error"], "invalid_request");
    // Nothing was issued by any of it.
    assert_eq!(server.count_rows("access_tokens").await, 0);
    // And a good request still works.
    let ok = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(server.count_rows("access_tokens").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_follows_each_apps_registered_origins() {
    let server = TestServer::start().await;
    let spa = "http://127.0.0.1:5173";
    let (with_origin, secret_a) = server
        .register(|f| {
            f.allowed_origins = vec![spa];
            f.grant_types = vec!["client_credentials"];
        })
        .await;
    let (without, secret_b) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let client = reqwest::Client::new();
    // Preflights cannot name the client: any app's origin passes them.
    for (origin, allowed) in [(spa, true), ("https://evil.example", false)] {
        let pre = client
            .request(reqwest::Method::OPTIONS, server.url("/o/token/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(pre.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            pre.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            allowed.then_some(origin),
            "{origin}"
        );
    }
    // The response itself is readable only for the app that registered it.
    for (id, secret, origin, allowed) in [
        (&with_origin, &secret_a, spa, true),
        (&without, &secret_b, spa, false),
        (&with_origin, &secret_a, "https://evil.example", false),
    ] {
        let r = client
            .post(server.url("/o/token/"))
            .header("origin", origin)
            .basic_auth(id, secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers().get("access-control-allow-origin").is_some(),
            allowed,
            "{id} from {origin}"
        );
        assert!(r.headers()["vary"].to_str().unwrap().contains("Origin"));
        let token = answer(r).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let p = client
            .get(server.url("/profile/"))
            .header("origin", origin)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        // A client token has no profile, but the error is readable by the
        // right origin.
        assert_eq!(p.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            p.headers().get("access-control-allow-origin").is_some(),
            allowed
        );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_8414_metadata_names_every_endpoint() {
    let server = TestServer::start().await;
    let r = reqwest::get(server.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], server.base.as_str());
    // Every advertised endpoint exists and answers as documented.
    let (id, secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let secret = secret.unwrap();
    let token_url = m["token_endpoint"].as_str().unwrap();
    let t = reqwest::Client::new()
        .post(token_url)
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), StatusCode::OK);
    for key in ["revocation_endpoint", "introspection_endpoint"] {
        let r = reqwest::Client::new()
            .post(m[key].as_str().unwrap())
            .basic_auth(&id, Some(&secret))
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{key}");
    }
    let authorize = reqwest::get(m["authorization_endpoint"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(authorize.status(), StatusCode::BAD_REQUEST);
    for grant in [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
    ] {
        assert!(m["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == grant));
    }
    assert_eq!(m["code_challenge_methods_supported"][0], "S256");
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_grant_does_not_fail_the_others_in_its_batch() {
    // A long app cache, so a deleted app still passes authentication and
    // its tokens then fail to store (as when another process deletes it).
    let server = TestServer::start_with(|c| c.application_cache_secs = 600).await;
    let (gone, gone_secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let (kept, kept_secret) = server
        .register(|f| f.grant_types = vec!["client_credentials"])
        .await;
    let (gone_secret, kept_secret) = (gone_secret.unwrap(), kept_secret.unwrap());
    let form = owned(&[("grant_type", "client_credentials")]);
    // Both apps are now cached.
    assert_eq!(
        all_at_once(&server, "/o/token/", &gone, &gone_secret, form.clone(), 1).await[0].status,
        StatusCode::OK
    );
    assert_eq!(
        all_at_once(&server, "/o/token/", &kept, &kept_secret, form.clone(), 1).await[0].status,
        StatusCode::OK
    );
    let app = server
        .state
        .oauth
        .store()
        .application_by_client_id(&gone)
        .await
        .unwrap()
        .unwrap();
    server
        .state
        .oauth
        .store()
        .delete_application(app.id)
        .await
        .unwrap();

    let (doomed, fine) = tokio::join!(
        all_at_once(&server, "/o/token/", &gone, &gone_secret, form.clone(), 20),
        all_at_once(&server, "/o/token/", &kept, &kept_secret, form.clone(), 20),
    );
    assert!(
        fine.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        fine.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    // The deleted app is an unknown client, as it would be uncached.
    for a in &doomed {
        assert_error(a, StatusCode::UNAUTHORIZED, "invalid_client");
    }
}
