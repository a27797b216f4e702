//! The developer portal, authorized apps and the admin page over HTTP:
//! registration rules, ownership (404 for others), the secret shown once
//! and stored hashed, rotation, deletion, revoking a grant, deactivation.

use reqwest::StatusCode;

use crate::support::{input_value, post, Browser, TestServer};

const PASSWORD: &str = "correct horse battery";

fn app_fields<'a>(name: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("client_type", "confidential"),
        ("grant_types", "authorization_code"),
        ("grant_types", "refresh_token"),
        ("grant_types", "client_credentials"),
        ("redirect_uris", redirect),
        ("post_logout_redirect_uris", ""),
        ("allowed_origins", ""),
        ("algorithm", "RS256"),
    ]
}

/// Registers an app through the form; returns its page path and the
/// secret the page showed (once).
async fn register(browser: &Browser, name: &str) -> (String, String, String) {
    let done = browser
        .post_form(
            "/o/applications/register/",
            &app_fields(
                name,
                "https://app.example.org/callback\nhttp://127.0.0.1/cb",
            ),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let path = done.location().unwrap().to_owned();
    assert!(path.starts_with("/o/applications/"), "{path}");
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let secret = input_value(&page.body, "client_secret").expect("secret shown");
    let client_id = input_value(&page.body, "client_id").expect("client id shown");
    assert!(page.body.contains("it will not be shown again"));
    (path, client_id, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_show_once_rotate_and_delete() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    // Signed out: sent to sign in.
    let anonymous = server.browser();
    let page = anonymous.get("/o/applications/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page
        .location()
        .unwrap()
        .starts_with("/accounts/login/?next="));

    let (path, client_id, secret) = register(&dev, "Lab notebook").await;
    // Stored only as a hash; shown once.
    let stored = server
        .scalar(&format!(
            "SELECT COUNT(*) FROM applications WHERE client_id = '{client_id}' \
             AND secret_digest IS NOT NULL AND secret_digest <> '{secret}' AND length(secret_digest) = 64"
        ))
        .await;
    assert_eq!(stored, 1);
    let again = dev.get(&path).await;
    assert!(input_value(&again.body, "client_secret").is_none());
    assert!(!again.body.contains(&secret));
    let list = dev.get("/o/applications/").await;
    assert!(list.body.contains("Lab notebook"));

    // The secret works at the token endpoint (client credentials).
    let token = |secret: String| {
        let server = &server;
        let client_id = client_id.clone();
        async move {
            post(
                server,
                "/o/token/",
                Some((&client_id, &secret)),
                &[("grant_type", "client_credentials"), ("scope", "read")],
            )
            .await
        }
    };
    assert_eq!(token(secret.clone()).await.status, StatusCode::OK);

    // Rotation: new secret shown once, the old one refused.
    let rotated = dev.post_form(&path, &[("action", "rotate")]).await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER);
    let page = dev.get(&path).await;
    let new_secret = input_value(&page.body, "client_secret").expect("new secret shown");
    assert_ne!(new_secret, secret);
    assert_eq!(token(secret).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(token(new_secret.clone()).await.status, StatusCode::OK);

    // Deletion needs the confirmation box; then the app and its tokens go.
    let refused = dev.post_form(&path, &[("action", "delete")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("Tick the box"));
    assert!(server.count_rows("access_tokens").await > 0);
    let deleted = dev
        .post_form(&path, &[("action", "delete"), ("confirm", "yes")])
        .await;
    assert_eq!(deleted.location(), Some("/o/applications/"));
    assert_eq!(server.count_rows("applications").await, 0);
    assert_eq!(server.count_rows("access_tokens").await, 0);
    assert_eq!(dev.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_peoples_apps_are_not_found() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    let (path, _, _) = register(&dev, "Mine").await;
    let other = server.signed_up("mallory", PASSWORD).await;
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    for action in ["rotate", "edit", "try", "add_playground"] {
        let r = other.post_form(&path, &[("action", action)]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    let r = other
        .post_form(&path, &[("action", "delete"), ("confirm", "yes")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!other.get("/o/applications/").await.body.contains("Mine"));
    assert_eq!(
        other.get("/o/applications/999/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get("/o/applications/abc/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.count_rows("applications").await, 1);
    // A cross-site post is refused before anything else.
    let forged = other
        .post_raw(
            &path,
            &[("action", "delete"), ("confirm", "yes")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_is_checked_and_kept_on_error() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    // (fields changed, field refused, message shown)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("name", "")], "name", "Enter a name."),
        (
            vec![("client_type", "secretive")],
            "client_type",
            "Choose confidential or public.",
        ),
        (
            vec![("redirect_uris", "http://example.org/cb")],
            "redirect_uris",
            "http://example.org/cb",
        ),
        (
            vec![("redirect_uris", "https://example.org/cb#frag")],
            "redirect_uris",
            "#frag",
        ),
        (
            vec![("redirect_uris", "not a uri")],
            "redirect_uris",
            "not a uri",
        ),
        (
            vec![("redirect_uris", "")],
            "redirect_uris",
            "needs at least one redirect URI",
        ),
        (
            vec![("post_logout_redirect_uris", "http://example.org/after")],
            "post_logout_redirect_uris",
            "http://example.org/after",
        ),
        (
            vec![("allowed_origins", "https://ok.example/path")],
            "allowed_origins",
            "https://ok.example/path",
        ),
        (
            vec![("algorithm", "HS256")],
            "algorithm",
            "Choose RS256, ES256 or EdDSA.",
        ),
    ];
    for (changes, field, message) in cases {
        let mut fields = app_fields("Checked", "https://app.example.org/cb");
        for (k, v) in &changes {
            fields.retain(|(name, _)| name != k);
            fields.push((k, v));
        }
        let page = dev.post_form("/o/applications/register/", &fields).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{field}: {changes:?}");
        // The field is marked and points at its message.
        let marked = [
            format!("aria-describedby=\"{field}-error\""),
            format!("aria-describedby=\"{field}-hint {field}-error\""),
        ];
        let beside = format!("class=\"field-error\">{}", message.replace('&', "&amp;"));
        let shown = marked.iter().any(|m| page.body.contains(m)) || page.body.contains(&beside);
        assert!(shown, "{field}: no error shown");
        assert!(
            page.body.contains(&message.replace('&', "&amp;")),
            "{field}: {message} not in page"
        );
    }
    // No grant type at all; a public app with client credentials.
    let mut fields = app_fields("Checked", "https://app.example.org/cb");
    fields.retain(|(k, _)| *k != "grant_types");
    let page = dev.post_form("/o/applications/register/", &fields).await;
    assert!(page.body.contains("Choose at least one grant type."));
    let mut fields = app_fields("Checked", "https://app.example.org/cb");
    fields.retain(|(k, _)| *k != "client_type");
    fields.push(("client_type", "public"));
    fields.push(("grant_types", "client_credentials"));
    let page = dev.post_form("/o/applications/register/", &fields).await;
    assert!(page
        .body
        .contains("Public clients cannot use client credentials"));
    // What was typed is kept.
    assert!(page.body.contains("https://app.example.org/cb"));
    assert_eq!(server.count_rows("applications").await, 0);

    // Names may repeat (even for one owner): the client id tells apps apart.
    register(&dev, "Twin").await;
    register(&dev, "Twin").await;
    assert_eq!(server.count_rows("applications").await, 2);

    // Skip consent is for staff only: ignored for others.
    let mut fields = app_fields("Sneaky", "https://app.example.org/cb");
    fields.push(("skip_consent", "on"));
    let done = dev.post_form("/o/applications/register/", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM applications WHERE skip_consent")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_saved_and_checked() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    let (path, client_id, _) = register(&dev, "Before").await;
    let mut fields = app_fields("After", "https://new.example.org/cb");
    fields.push(("action", "edit"));
    fields.push(("allowed_origins", "https://new.example.org"));
    let saved = dev.post_form(&path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = dev.get(&path).await;
    assert!(page.body.contains("After") && page.body.contains("https://new.example.org/cb"));
    let app = server
        .state
        .oauth
        .store()
        .application_by_client_id(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.allowed_origins, vec!["https://new.example.org"]);
    assert!(server
        .state
        .oauth
        .store()
        .origin_allowed("https://new.example.org")
        .await
        .unwrap());

    let mut bad = app_fields("After", "javascript:alert(1)");
    bad.push(("action", "edit"));
    let refused = dev.post_form(&path, &bad).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("Nothing was saved"));
    let app = server
        .state
        .oauth
        .store()
        .application_by_client_id(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.redirect_uris, vec!["https://new.example.org/cb"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_authorized_app_ends_its_tokens() {
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
    let page = user.get("/o/authorized_tokens/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Notebook"));
    assert!(page.body.contains("Read your account details"));
    assert!(page.body.contains("Last used: ") && !page.body.contains("not recently"));

    // Someone else revoking it changes nothing for ada.
    let app_id = server
        .scalar(&format!(
            "SELECT id FROM applications WHERE client_id = '{id}'"
        ))
        .await
        .to_string();
    let other = server.signed_up("grace", PASSWORD).await;
    other
        .post_form("/o/authorized_tokens/", &[("app_id", &app_id)])
        .await;
    let active = post(
        &server,
        "/o/introspect/",
        Some((&id, &secret)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(active.json["active"], true);

    let revoked = user
        .post_form("/o/authorized_tokens/", &[("app_id", &app_id)])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(revoked.location().unwrap().contains("revoked=Notebook"));
    let inactive = post(
        &server,
        "/o/introspect/",
        Some((&id, &secret)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(inactive.json["active"], false);
    assert_eq!(server.count_rows("refresh_tokens").await, 0);
    assert_eq!(server.count_rows("grants").await, 0);
    assert!(!user
        .get("/o/authorized_tokens/")
        .await
        .body
        .contains("Notebook"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_deactivate_accounts_whose_tokens_stop_at_once() {
    let server = TestServer::start().await;
    let admin = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let user = server.signed_up("ada", PASSWORD).await;
    let (id, secret) = server.register(|f| f.grant_types = vec!["password"]).await;
    let secret = secret.unwrap();
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

    // Not staff: the page does not exist.
    assert_eq!(user.get("/admin/").await.status, StatusCode::NOT_FOUND);
    let ada_id = server
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await
        .to_string();
    let r = user
        .post_form("/admin/", &[("user_id", &ada_id), ("action", "deactivate")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let page = admin.get("/admin/?q=AD").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-username=\"ada\""));
    assert!(
        !page.body.contains("data-username=\"boss\""),
        "search filters"
    );
    let done = admin
        .post_form(
            "/admin/",
            &[("user_id", &ada_id), ("action", "deactivate"), ("q", "ad")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let profile = reqwest::Client::new()
        .get(server.url("/profile/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::UNAUTHORIZED);
    assert!(!user.is_signed_in().await);
    assert_eq!(
        server.browser().sign_in("ada", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Reactivated: the account signs in again.
    admin
        .post_form("/admin/", &[("user_id", &ada_id), ("action", "activate")])
        .await;
    assert_eq!(
        server.browser().sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // Staff cannot lock themselves out.
    let boss_id = server
        .scalar("SELECT id FROM users WHERE username = 'boss'")
        .await
        .to_string();
    let r = admin
        .post_form(
            "/admin/",
            &[("user_id", &boss_id), ("action", "deactivate")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Staff who are not superusers cannot change a superuser's account.
    server.signed_up("root", PASSWORD).await;
    server
        .execute("UPDATE users SET is_staff = TRUE, is_superuser = TRUE WHERE username = 'root'")
        .await;
    let root_id = server
        .scalar("SELECT id FROM users WHERE username = 'root'")
        .await
        .to_string();
    let refused = admin
        .post_form(
            "/admin/",
            &[("user_id", &root_id), ("action", "deactivate")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE username = 'root' AND is_active")
            .await,
        1
    );
    // Shown on the page itself (not only in the state embedded in its head).
    let page = &r.body[r.body.find("<main").expect("page")..];
    assert!(page.contains("You cannot deactivate your own account."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_account_list_pages_through_every_account() {
    let server = TestServer::start().await;
    let admin = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    // 120 accounts written directly (a sign-up each would cost a hash).
    for i in 0..120 {
        server
            .execute(&format!(
                "INSERT INTO users (username, email, password_hash, date_joined) \
                 VALUES ('user{i:03}', 'user{i:03}@example.org', 'x', 1)"
            ))
            .await;
    }
    let rows = |body: &str| body.matches("<tr data-username=").count();
    let first = admin.get("/admin/").await;
    assert_eq!(rows(&first.body), 50);
    assert!(first.body.contains("Next page"));
    assert!(!first.body.contains("Previous page"));
    let third = admin.get("/admin/?page=3").await;
    // 121 accounts: 50 + 50 + 21.
    assert_eq!(rows(&third.body), 21);
    assert!(third.body.contains("Previous page"));
    assert!(!third.body.contains("Next page"));
    assert!(third.body.contains("data-username=\"user119\""));
    // The search pages too, and its links keep it.
    let search = admin.get("/admin/?q=user0").await;
    assert_eq!(rows(&search.body), 50, "user000 to user099: two pages");
    assert!(
        search.body.contains("href=\"/admin/?page=2&amp;q=user0\""),
        "{}",
        search.body
    );
    let second = admin.get("/admin/?page=2&q=user0").await;
    assert_eq!(rows(&second.body), 50);
    assert!(!second.body.contains("Next page"));
    let beyond = admin.get("/admin/?page=99&q=user0").await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(rows(&beyond.body), 0);
    let nonsense = admin.get("/admin/?page=-1").await;
    assert_eq!(rows(&nonsense.body), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_people_out_and_only_superusers_change_staff_rights() {
    let server = TestServer::start().await;
    let boss = server.signed_up("boss", PASSWORD).await;
    server.make_staff("boss").await;
    let ada = server.signed_up("ada", PASSWORD).await;
    assert!(ada.is_signed_in().await);
    let id = |name: &'static str| {
        let server = &server;
        async move {
            server
                .scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
                .await
                .to_string()
        }
    };
    let ada_id = id("ada").await;
    let page = boss.get("/admin/").await;
    assert!(page.body.contains("aria-label=\"Sign ada out everywhere\""));
    // Staff who are not superusers see no staff buttons and may not use them.
    assert!(!page.body.contains("Make ada staff"));
    let out = boss
        .post_form("/admin/", &[("user_id", &ada_id), ("action", "signout")])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(!ada.is_signed_in().await, "ada's session ended");
    let refused = boss
        .post_form("/admin/", &[("user_id", &ada_id), ("action", "make_staff")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused
        .body
        .contains("Only a superuser can give or remove staff rights."));

    server
        .execute("UPDATE users SET is_superuser = TRUE WHERE username = 'boss'")
        .await;
    let page = boss.get("/admin/").await;
    assert!(page.body.contains("aria-label=\"Make ada staff\""));
    assert!(
        !page.body.contains("Remove staff from boss"),
        "not for oneself"
    );
    let made = boss
        .post_form("/admin/", &[("user_id", &ada_id), ("action", "make_staff")])
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let ada = server.browser();
    ada.sign_in("ada", PASSWORD).await;
    assert_eq!(ada.get("/admin/").await.status, StatusCode::OK);
    let removed = boss
        .post_form(
            "/admin/",
            &[("user_id", &ada_id), ("action", "remove_staff")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(ada.get("/admin/").await.status, StatusCode::NOT_FOUND);
    let boss_id = id("boss").await;
    let own = boss
        .post_form(
            "/admin/",
            &[("user_id", &boss_id), ("action", "remove_staff")],
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    // Each action is in the trail with who did it.
    let events = server
        .state
        .accounts
        .store()
        .events(
            &gatehouse::audit::EventFilter {
                username: Some("ada".into()),
                oldest_first: true,
                ..Default::default()
            },
            100,
        )
        .await
        .unwrap();
    let staff_events: Vec<_> = events
        .iter()
        .filter(|e| e.actor_username == "boss")
        .map(|e| (e.kind.as_str(), e.detail.as_str()))
        .collect();
    assert_eq!(
        staff_events,
        [
            ("signed_out_everywhere", "1 session(s) ended"),
            ("staff_granted", ""),
            ("staff_removed", ""),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_try_started_in_the_browser_is_finished_by_the_page_for_public_apps_only() {
    let server = TestServer::start().await;
    let dev = server.signed_up("dev", PASSWORD).await;
    let mut fields = app_fields("Single page", "https://spa.example.org/cb");
    fields.retain(|(_, v)| *v != "client_credentials");
    for (k, v) in fields.iter_mut() {
        if *k == "client_type" {
            *v = "public";
        }
    }
    let done = dev.post_form("/o/applications/register/", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let path = done.location().unwrap().to_owned();
    let added = dev.post_form(&path, &[("action", "add_playground")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = dev.get(&path).await;
    // The public app's panel offers the in-browser run (disabled until
    // the page has hydrated), and Gatehouse's origin became an allowed one.
    assert!(page.body.contains("Try it in this browser"));
    let own_origin = server.url("");
    let own_origin = own_origin.trim_end_matches('/');
    let origins = server
        .scalar(&format!(
            "SELECT COUNT(*) FROM applications WHERE allowed_origins LIKE '%{own_origin}%'"
        ))
        .await;
    assert_eq!(origins, 1, "{own_origin} allowed");
    let id = path
        .trim_start_matches("/o/applications/")
        .trim_end_matches('/');

    let callback = format!("/o/playground/callback/?code=abc&state=b.{id}.xyz");
    let shown = dev.get(&callback).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains("Exchanging the code in this browser"));
    // Nothing is exchanged by the server: there is no form to post.
    assert!(!shown.body.contains("Exchange code"));
    // What comes back in the address reaches the page as data only.
    let hostile = dev
        .get(&format!(
            "/o/playground/callback/?code=%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E\
             &state=b.{id}.%22%3E%3Cimg%20src=x%20onerror=alert(2)%3E"
        ))
        .await;
    assert_eq!(hostile.status, StatusCode::OK);
    assert!(
        !hostile.body.contains("<script>alert(1)"),
        "{}",
        hostile.body
    );
    assert!(!hostile.body.contains("<img src=x"), "{}", hostile.body);

    // Someone else's app, or a state naming no app, finds nothing.
    let other = server.signed_up("mallory", PASSWORD).await;
    let theirs = other.get(&callback).await;
    assert_eq!(theirs.status, StatusCode::BAD_REQUEST);
    assert!(!theirs.body.contains("Single page"));
    let junk = dev
        .get("/o/playground/callback/?code=abc&state=b.nothing")
        .await;
    assert_eq!(junk.status, StatusCode::BAD_REQUEST);

    // A confidential app keeps the server-side exchange only.
    let (confidential, _, _) = register(&dev, "Server app").await;
    let cid = confidential
        .trim_start_matches("/o/applications/")
        .trim_end_matches('/');
    let refused = dev
        .get(&format!(
            "/o/playground/callback/?code=abc&state=b.{cid}.xyz"
        ))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(!refused.body.contains("Exchanging the code in this browser"));
}
