//! The authorization-code flow end to end: consent, tokens, the protected
//! profile, refresh and revocation, and what is refused along the way.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_pkce_gives_tokens_for_the_profile() {
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
}

/// An app, a person who consented, and the answer to the code exchange.
async fn granted(server: &TestServer) -> (String, String, Value) {
    let (id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let browser = server.signed_up("ada", PASSWORD).await;
    let code = code_for(server, &browser, &id).await;
    let tokens = exchange(server, &id, &secret, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.json);
    (id, secret, tokens.json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_may_only_narrow_the_scope() {
    let server = TestServer::start().await;
    let (id, secret, tokens) = granted(&server).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_access_token_or_a_whole_grant() {
    let server = TestServer::start().await;
    let (id, secret, tokens) = granted(&server).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // A second access token of the same grant, revoked alone first.
    let refreshed = post(
        &server,
        "/o/token/",
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.json);
    let access2 = refreshed.json["access_token"].as_str().unwrap().to_owned();
    let refresh2 = refreshed.json["refresh_token"].as_str().unwrap().to_owned();

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
