//! Sign-up, sign-in, profile edit, password change and deletion over HTTP.

use reqwest::StatusCode;

use crate::support::TestServer;

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_pages_answer() {
    let server = TestServer::start().await;
    let browser = server.browser();
    assert_eq!(browser.get("/healthz").await.status, StatusCode::OK);
    for path in ["/", "/accounts/signup/", "/accounts/login/"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
    }
    let missing = browser.get("/no/such/page/").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_creates_the_account_and_signs_in() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let response = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "ada"),
                ("email", "Ada@Example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/accounts/profile/"));
    let cookie = response
        .cookie("gatehouse_session")
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    // 256 random bits, base64url.
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert_eq!(value.len(), 43);

    let profile = browser.get("/accounts/profile/").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("Signed in as"));
    assert!(
        profile.body.contains("Ada@example.org"),
        "email domain is lower-cased"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_honours_a_safe_next_only() {
    let server = TestServer::start().await;
    let safe = server
        .browser()
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "grace"),
                ("email", "grace@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("next", "/o/authorize/?client_id=x&scope=read%20write"),
            ],
        )
        .await;
    assert_eq!(
        safe.location(),
        Some("/o/authorize/?client_id=x&scope=read%20write")
    );
    let unsafe_next = server
        .browser()
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "alan"),
                ("email", "alan@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(unsafe_next.location(), Some("/accounts/profile/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_username_or_email_is_refused_beside_the_field() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;

    let browser = server.browser();
    let same_name = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "ADA"),
                ("email", "other@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(same_name.status, StatusCode::BAD_REQUEST);
    assert!(same_name.body.contains("id=\"username-error\""));
    assert!(same_name.body.contains("That username is taken."));
    assert!(
        same_name.body.contains("value=\"other@example.org\""),
        "typed email kept"
    );
    assert!(
        !same_name.body.contains(PASSWORD),
        "passwords are never echoed"
    );
    assert!(same_name.cookie("gatehouse_session").is_none());

    let same_email = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "ada2"),
                ("email", "ADA@EXAMPLE.ORG"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(same_email.status, StatusCode::BAD_REQUEST);
    assert!(same_email.body.contains("id=\"email-error\""));
    assert!(same_email
        .body
        .contains("An account with this email address already exists."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_sign_up_lists_every_problem_and_creates_nothing() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "bad name"),
                ("email", "nope"),
                ("password", "password123"),
                ("confirm", "different"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    for id in [
        "username-error",
        "email-error",
        "password-error",
        "confirm-error",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(page.body.contains("value=\"bad name\""));
    // Nothing was stored: the refused name cannot sign in; a valid sign-up
    // from the same browser then goes through.
    let login = server.browser().sign_in("bad name", "password123").await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    let again = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "goodname"),
                ("email", "nope@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_are_errors_not_crashes() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.post_form("/accounts/signup/", &[]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Enter a username."));
    let page = browser.post_form("/accounts/login/", &[]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Enter your username or email."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let huge = "x".repeat(200 * 1024);
    let page = browser
        .post_form("/accounts/login/", &[("login", &huge), ("password", "x")])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_username_or_email_and_a_generic_error() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    let browser = server.browser();

    let wrong = browser.sign_in("ada", "wrong password!").await;
    let unknown = browser.sign_in("nobody", "wrong password!").await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page
            .body
            .contains("That username or email and password do not match an account."));
        assert!(page.cookie("gatehouse_session").is_none());
    }
    // The typed login is kept, the password is not.
    assert!(wrong.body.contains("value=\"ada\""));

    let by_email = browser.sign_in("ADA@example.org", PASSWORD).await;
    assert_eq!(by_email.status, StatusCode::SEE_OTHER);
    assert_eq!(by_email.location(), Some("/accounts/profile/"));
    assert!(browser.is_signed_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_redirects_only_to_same_site_paths() {
    let server = TestServer::start().await;
    server.signed_up("ada", PASSWORD).await;
    for (next, expected) in [
        ("/accounts/profile/?tab=1", "/accounts/profile/?tab=1"),
        ("//evil.example", "/accounts/profile/"),
        ("https://evil.example/", "/accounts/profile/"),
        ("/\\evil.example", "/accounts/profile/"),
        ("/%2F%2Fevil.example", "/accounts/profile/"),
    ] {
        let page = server
            .browser()
            .post_form(
                "/accounts/login/",
                &[("login", "ada"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(page.location(), Some(expected), "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_requires_sign_in_and_saves_edits() {
    let server = TestServer::start().await;
    let anonymous = server.browser().get("/accounts/profile/").await;
    assert!(anonymous.status.is_redirection(), "{}", anonymous.status);
    assert_eq!(
        anonymous.location(),
        Some("/accounts/login/?next=/accounts/profile/")
    );

    let browser = server.signed_up("ada", PASSWORD).await;
    let saved = browser
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", " Ada "),
                ("last_name", "Lovelace"),
                ("email", "ada@analytical.example"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location(), Some("/accounts/profile/?saved=profile"));
    let profile = browser.get("/accounts/profile/?saved=profile").await;
    assert!(profile.body.contains("Signed in as"));
    assert!(profile.body.contains("Ada Lovelace"));
    assert!(profile.body.contains("value=\"ada@analytical.example\""));
    assert!(profile.body.contains("Your profile was saved."));

    // An email another account uses is refused beside the field.
    server.signed_up("bob", PASSWORD).await;
    let taken = browser
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", "Ada"),
                ("last_name", "L"),
                ("email", "BOB@example.org"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(taken.body.contains("id=\"email-error\""));
    assert!(taken.body.contains("value=\"BOB@example.org\""));
    let still = browser.get("/accounts/profile/").await;
    assert!(still.body.contains("value=\"ada@analytical.example\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_signs_out_other_sessions() {
    let server = TestServer::start().await;
    let here = server.signed_up("ada", PASSWORD).await;
    let elsewhere = server.browser();
    assert_eq!(
        elsewhere.sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(elsewhere.is_signed_in().await);

    let wrong = here
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "password"),
                ("current_password", "not my password"),
                ("new_password", "a brand new secret"),
                ("confirm_new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("id=\"current_password-error\""));
    assert!(
        elsewhere.is_signed_in().await,
        "a refused change signs no one out"
    );

    let changed = here
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
    assert!(
        here.is_signed_in().await,
        "the session that changed it stays"
    );
    assert!(
        !elsewhere.is_signed_in().await,
        "other sessions are signed out"
    );

    let old = server.browser().sign_in("ada", PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = server.browser().sign_in("ada", "a brand new secret").await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_account_needs_the_password_and_removes_it() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let refused = browser
        .post_form(
            "/accounts/profile/",
            &[("action", "delete"), ("delete_password", "wrong one!")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("id=\"delete_password-error\""));
    assert!(browser.is_signed_in().await);

    let deleted = browser
        .post_form(
            "/accounts/profile/",
            &[("action", "delete"), ("delete_password", PASSWORD)],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), Some("/accounts/login/?deleted=1"));
    assert!(!browser.is_signed_in().await);
    let again = server.browser().sign_in("ada", PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    // The name is free again.
    server.signed_up("ada", PASSWORD).await;
}
