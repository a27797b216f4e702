//! State-changing posts need the CSRF token and a same-origin browser.

use reqwest::StatusCode;

use crate::support::{csrf_token, TestServer};

const PASSWORD: &str = "correct horse battery";

fn signup_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("username", "ada"),
        ("email", "ada@example.org"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_token_changes_nothing() {
    let server = TestServer::start().await;
    let browser = server.browser();
    browser.get("/accounts/signup/").await; // has the cookie, not the token
    let page = browser
        .post_raw("/accounts/signup/", &signup_fields(), Some(&server.base))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // No account was created.
    let login = server.browser().sign_in("ada", PASSWORD).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_from_a_foreign_origin_is_refused_even_with_the_token() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let token = csrf_token(&browser.get("/accounts/signup/").await.body);
    let mut fields = signup_fields();
    fields.push(("csrf_token", &token));
    let page = browser
        .post_raw("/accounts/signup/", &fields, Some("https://evil.example"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let cross_site = browser
        .client
        .post(server.url("/accounts/signup/"))
        .header("sec-fetch-site", "cross-site")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    // The same post from our own origin goes through.
    let ok = browser
        .post_raw("/accounts/signup/", &fields, Some(&server.base))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_sign_out_and_profile_posts_are_refused() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let logout = browser
        .post_raw(
            "/accounts/logout/",
            &[("csrf_token", "forged")],
            Some(&server.base),
        )
        .await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert!(browser.is_signed_in().await);

    // With the real token: only the origin check can refuse it.
    let token = csrf_token(&browser.get("/accounts/profile/").await.body);
    let delete = browser
        .post_raw(
            "/accounts/profile/",
            &[
                ("csrf_token", &token),
                ("action", "delete"),
                ("delete_password", PASSWORD),
            ],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert!(browser.is_signed_in().await);
}
