//! Client authentication and the grants each kind of client may use.

use super::*;

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

    // Grants the app is not registered for, unknown grants, scopes it
    // may not hold: each refused with its RFC 6749 §5.2 code.
    let refused: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("grant_type", "password"),
                ("username", "x"),
                ("password", "y"),
            ],
            "unauthorized_client",
        ),
        (&[("grant_type", "implicit")], "unsupported_grant_type"),
        (
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read superuser"),
            ],
            "invalid_scope",
        ),
        (
            &[("grant_type", "client_credentials"), ("scope", "openid")],
            "invalid_scope",
        ),
    ];
    for (form, code) in refused {
        let a = post(&server, "/o/token/", Some((&id, &secret)), form).await;
        assert_error(&a, StatusCode::BAD_REQUEST, code);
    }
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
        .delete_application(
            app.id,
            &gatehouse::audit::Event::new(
                gatehouse::audit::EventKind::AppDeleted,
                1,
                &Default::default(),
            ),
        )
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
