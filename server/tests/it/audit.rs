//! The audit trail: events written with the changes they record, a
//! person's own activity page, staff's search, and `audit export`.

use std::process::Command;

use gatehouse::account::NewAccount;
use gatehouse::audit::{Event, EventFilter, EventKind, Origin};
use reqwest::StatusCode;

use crate::support::{Browser, TestServer};

const PASSWORD: &str = "correct horse battery";

async fn events(server: &TestServer, filter: EventFilter) -> Vec<Event> {
    server
        .state
        .accounts
        .store()
        .events(&filter, 1000)
        .await
        .unwrap()
}

async fn kinds_of(server: &TestServer, username: &str) -> Vec<EventKind> {
    let filter = EventFilter {
        username: Some(username.into()),
        oldest_first: true,
        ..Default::default()
    };
    events(server, filter)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn staff(server: &TestServer, username: &str) -> Browser {
    server
        .state
        .accounts
        .create_account(
            NewAccount {
                username,
                email: &format!("{username}@example.org"),
                password: PASSWORD,
                is_staff: true,
                is_superuser: false,
            },
            Default::default(),
            &Event::new(EventKind::SignedUp, 1, &Origin::command_line()),
        )
        .await
        .expect("staff account");
    let browser = server.browser();
    let signed_in = browser.sign_in(username, PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_their_own_events_in_words() {
    let server = TestServer::start().await;
    let ada = server.signed_up("ada", PASSWORD).await;
    let _bob = server.signed_up("bob", PASSWORD).await;
    // A failed sign-in from a hostile user agent, then the right password.
    let hostile = "</title><script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let form = [("login", "ada"), ("password", "not the password")];
    let page = ada.get("/accounts/login/").await;
    let token = crate::support::csrf_token(&page.body);
    let refused = ada
        .client
        .post(server.url("/accounts/login/"))
        .header("user-agent", hostile)
        .header("origin", server.url(""))
        .form(&[("csrf_token", token.as_str()), form[0], form[1]])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let changed = ada
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "password"),
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
                ("confirm_new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);

    assert_eq!(
        kinds_of(&server, "ada").await,
        [
            EventKind::SignedUp,
            EventKind::SignInFailed,
            EventKind::PasswordChanged
        ]
    );
    let page = ada.get("/accounts/activity/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Account activity"), "{}", page.body);
    assert!(page.body.contains("Password changed from 127.0.0.1"));
    assert!(page.body.contains("Failed sign-in from 127.0.0.1"));
    assert!(page.body.contains("Account created from 127.0.0.1"));
    // Newest first.
    let newest = page.body.find("Password changed").unwrap();
    assert!(newest < page.body.find("Account created").unwrap());
    // What the hostile agent sent is text, never markup.
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(!page.body.contains("<img src=x"), "{}", page.body);
    // Only ada's own events.
    let bob_page = server.browser();
    assert_eq!(
        bob_page.sign_in("bob", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let bobs = bob_page.get("/accounts/activity/").await;
    assert!(!bobs.body.contains("Password changed"), "{}", bobs.body);
    assert!(bobs.body.contains("Signed in from 127.0.0.1"));
    // Signed out: to the sign-in page, and back here after.
    let anonymous = server.browser().get("/accounts/activity/").await;
    assert!(anonymous.status.is_redirection(), "{}", anonymous.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_apps_and_staff_actions_are_recorded_with_who_did_them() {
    let server = TestServer::start().await;
    let (client_id, _) = server.register(|_| {}).await;
    let ada = server.signed_up("ada", PASSWORD).await;
    let auth = url::Url::parse(&server.url(&format!(
        "/o/authorize/?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&\
         code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        crate::support::REDIRECT_URI
    )))
    .unwrap();
    let back = ada.consent(&auth).await;
    assert!(back.contains_key("code"), "{back:?}");
    let app_id = server
        .scalar(&format!(
            "SELECT id FROM applications WHERE client_id = '{client_id}'"
        ))
        .await
        .to_string();
    let revoked = ada
        .post_form("/o/authorized_tokens/", &[("app_id", &app_id)])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);

    let root = staff(&server, "root").await;
    let ada_id = server
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await
        .to_string();
    let off = root
        .post_form(
            "/admin/",
            &[("user_id", &ada_id), ("action", "deactivate"), ("q", "")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);

    let about_ada = events(
        &server,
        EventFilter {
            username: Some("ADA".into()),
            oldest_first: true,
            ..Default::default()
        },
    )
    .await;
    let kinds: Vec<_> = about_ada.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::SignedUp,
            EventKind::ConsentGiven,
            EventKind::ConsentWithdrawn,
            EventKind::AccountDeactivated
        ]
    );
    assert_eq!(about_ada[1].client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(about_ada[1].detail, "scopes: openid");
    assert_eq!(about_ada[3].actor_username, "root");
    assert!(about_ada[3].sentence().contains("by root"));

    // Exactly one event per change, whatever the number of rows it touched.
    let all = events(&server, EventFilter::default()).await;
    assert_eq!(
        all.iter()
            .filter(|e| e.kind == EventKind::AccountDeactivated)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_search_the_trail_and_page_through_it() {
    let server = TestServer::start().await;
    let _ada = server.signed_up("ada", PASSWORD).await;
    let bob = server.signed_up("bob", PASSWORD).await;
    // Not staff: no such page.
    assert_eq!(bob.get("/admin/audit/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.browser().get("/admin/audit/").await.status,
        StatusCode::NOT_FOUND
    );
    // Sixty failed sign-ins for ada from elsewhere (written directly: the
    // throttle would stop a real run long before).
    let store = server.state.accounts.store();
    let ada_id = server
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await;
    for i in 0..60 {
        let origin = Origin::new(format!("198.51.100.{i}"), "curl/8.5.0");
        let event =
            Event::new(EventKind::SignInFailed, 1_800_000_000 + i, &origin).user(ada_id, "ada");
        store.record_event(&event).await.unwrap();
    }
    let root = staff(&server, "root").await;
    let page = root
        .get("/admin/audit/?user=ada&kind=sign_in_failed&client_id=&since=&until=")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows = page
        .body
        .matches("<tr data-kind=\"sign_in_failed\"")
        .count();
    assert_eq!(rows, 50, "one page of 50");
    assert!(page.body.contains("198.51.100.59"), "newest first");
    assert!(!page.body.contains("198.51.100.9<"));
    assert!(!page.body.contains("data-kind=\"signed_up\""));
    let marker = "href=\"/admin/audit/?";
    let at = page.body.find(marker).expect("a link to older events") + marker.len() - 1;
    let older = &page.body[at..at + page.body[at..].find('"').unwrap()];
    let older = older.replace("&amp;", "&");
    let next = root.get(&format!("/admin/audit/{older}")).await;
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(
        next.body
            .matches("<tr data-kind=\"sign_in_failed\"")
            .count(),
        10
    );
    assert!(next.body.contains("198.51.100.0<"));
    assert!(!next.body.contains("Older events"));
    // A time window, by date: the day holds them all (a full page), the
    // day after none, and ada's sign-up today is outside both.
    let window = root
        .get("/admin/audit/?user=ada&since=2027-01-15&until=2027-01-15")
        .await;
    assert_eq!(window.status, StatusCode::OK);
    assert_eq!(
        window
            .body
            .matches("<tr data-kind=\"sign_in_failed\"")
            .count(),
        50
    );
    assert!(!window.body.contains("data-kind=\"signed_up\""));
    let after = root.get("/admin/audit/?user=ada&since=2027-01-16").await;
    assert!(after.body.contains("No event matches."), "{}", after.body);
    // A date that is not one is shown beside its field.
    let bad = root.get("/admin/audit/?since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Enter a date as YYYY-MM-DD."));
    // Hostile search values are echoed as text.
    let hostile = root
        .get("/admin/audit/?user=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
        .await;
    assert_eq!(hostile.status, StatusCode::OK);
    assert!(!hostile.body.contains("<img src=x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_export_writes_json_lines_oldest_first() {
    let server = TestServer::start().await;
    let _ada = server.signed_up("ada", PASSWORD).await;
    let bad = server.browser();
    bad.sign_in("ada", "wrong wrong wrong").await;
    let db = server.state.config.database_url.clone();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .env("GATEHOUSE_DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run gatehouse");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["audit", "export", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<Event> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one event per line"))
        .collect();
    let kinds: Vec<_> = lines.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::SignedUp, EventKind::SignInFailed]);
    assert_eq!(lines[1].username, "ada");
    assert_eq!(lines[1].address, "127.0.0.1");

    let (code, out, _) = run(&["audit", "export", "--kind", "sign_in_failed"]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.contains("sign_in_failed ada Failed sign-in from 127.0.0.1"),
        "{out}"
    );

    let (code, out, _) = run(&["audit", "export", "--since", "2999-01-01"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let (code, _, err) = run(&["audit", "export", "--since", "soon"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("is not a time"), "{err}");
    let (code, _, err) = run(&["audit", "export", "--kind", "nope"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("unknown event kind"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_pruned() {
    let server = TestServer::start().await;
    let store = server.state.accounts.store();
    // Recent times: the server's own housekeeping (180 days) keeps them.
    let now = 1_900_000_000;
    for at in [now - 300, now - 200, now - 100] {
        let event = Event::new(EventKind::SignInFailed, at, &Origin::default());
        store.record_event(&event).await.unwrap();
    }
    assert_eq!(store.delete_events_before(now - 150).await.unwrap(), 2);
    let left = events(&server, EventFilter::default()).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].at, now - 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_writes_no_event() {
    let server = TestServer::start().await;
    let ada = server.signed_up("ada", PASSWORD).await;
    let refusals: [&[(&str, &str)]; 3] = [
        &[
            ("action", "password"),
            ("current_password", "not my password"),
            ("new_password", "a brand new secret"),
            ("confirm_new_password", "a brand new secret"),
        ],
        &[
            ("action", "profile"),
            ("first_name", "Ada"),
            ("last_name", ""),
            ("email", "not an address"),
        ],
        &[("action", "delete"), ("delete_password", "")],
    ];
    for fields in refusals {
        let page = ada.post_form("/accounts/profile/", fields).await;
        assert!(
            page.status.is_client_error(),
            "{:?}: {}",
            fields,
            page.status
        );
    }
    let root = staff(&server, "root").await;
    let root_id = server
        .scalar("SELECT id FROM users WHERE username = 'root'")
        .await
        .to_string();
    let own = root
        .post_form(
            "/admin/",
            &[("user_id", &root_id), ("action", "deactivate"), ("q", "")],
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    assert_eq!(kinds_of(&server, "ada").await, [EventKind::SignedUp]);
    assert_eq!(
        kinds_of(&server, "root").await,
        [EventKind::SignedUp, EventKind::SignedIn]
    );
}

/// The event is part of the change: when it cannot be written, the change
/// does not happen either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_event_cannot_be_written_does_not_happen() {
    let server = TestServer::start().await;
    let ada = server.signed_up("ada", PASSWORD).await;
    server
        .execute("CREATE TABLE hash_before AS SELECT password_hash FROM users")
        .await;
    server.execute("DROP TABLE audit_events").await;
    let page = ada
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", "Changed"),
                ("last_name", ""),
                ("email", "ada@example.org"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE first_name = 'Changed'")
            .await,
        0
    );
    let changed = ada
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "password"),
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
                ("confirm_new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::INTERNAL_SERVER_ERROR);
    // The password is still the old one.
    let same = server
        .scalar(
            "SELECT COUNT(*) FROM users u JOIN hash_before h \
             ON h.password_hash = u.password_hash WHERE u.username = 'ada'",
        )
        .await;
    assert_eq!(same, 1);
}
