//! Single use of codes and refresh tokens, PKCE binding, expiry, and the
//! races: many redemptions at once have one winner at most.

use super::*;

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
    // The reuse is in the audit trail, about ada and the app.
    let filter = gatehouse::audit::EventFilter {
        kind: Some(gatehouse::audit::EventKind::TokenReused),
        ..Default::default()
    };
    let events = server
        .state
        .accounts
        .store()
        .events(&filter, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].username, "ada");
    assert_eq!(events[0].client_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        events[0].detail,
        "authorization code used twice; 2 tokens revoked"
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
