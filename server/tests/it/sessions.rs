//! Session cookies: attributes, rotation, sign-out, expiry, configuration.

use reqwest::StatusCode;

use crate::support::TestServer;

const PASSWORD: &str = "correct horse battery";

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_id_is_rotated_at_sign_in() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let first = browser.sign_in("ada", PASSWORD).await;
    let second = browser.sign_in("ada", PASSWORD).await;
    let a = cookie_value(&first.cookie("gatehouse_session").unwrap());
    let b = cookie_value(&second.cookie("gatehouse_session").unwrap());
    assert_ne!(a, b, "each sign-in gets a fresh session id");

    // The replaced session no longer works.
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap()
        .get(server.url("/accounts/profile/"))
        .header("cookie", format!("gatehouse_session={a}"))
        .send()
        .await
        .unwrap();
    assert!(stale.status().is_redirection());
    // And the browser is told to forget it.
    let cleared = stale
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("gatehouse_session=;"));
    assert!(cleared);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_ends_the_session() {
    let server = TestServer::start().await;
    let browser = server.signed_up("ada", PASSWORD).await;
    let out = browser.post_form("/accounts/logout/", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/accounts/login/?signed_out=1"));
    assert!(out
        .cookie("gatehouse_session")
        .unwrap()
        .contains("Max-Age=0"));
    assert!(!browser.is_signed_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle() {
    // Times are whole seconds: 2 s of idleness allowed, 3.1 s waited.
    let server = TestServer::start_with(|c| c.session_idle_timeout_secs = 2).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    assert!(browser.is_signed_in().await);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert!(!browser.is_signed_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_after_the_absolute_lifetime() {
    let server = TestServer::start_with(|c| c.session_absolute_timeout_secs = 2).await;
    let browser = server.signed_up("ada", PASSWORD).await;
    assert!(browser.is_signed_in().await);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert!(!browser.is_signed_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_name_is_configurable_and_secure_behind_https() {
    let server = TestServer::start_with(|c| {
        c.session_cookie_name = "institute_sid".into();
    })
    .await;
    let browser = server.browser();
    let page = browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", "ada"),
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert!(page.cookie("institute_sid").is_some());
    assert!(page.cookie("gatehouse_session").is_none());

    let https = TestServer::start_with(|c| {
        c.public_url = "https://id.example.org".into();
    })
    .await;
    // Reached over plain http here (the cookie jar would not send Secure
    // cookies back), so carry the cookie and token by hand.
    let first = https.browser().get("/accounts/login/").await;
    // Under https the names carry the __Host- prefix.
    let csrf = first.cookie("__Host-gatehouse_session_csrf").unwrap();
    assert!(csrf.contains("Secure"), "{csrf}");
    let token = crate::support::csrf_token(&first.body);
    let signed_up = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(https.url("/accounts/signup/"))
        .header("origin", "https://id.example.org")
        .header("cookie", format!("__Host-gatehouse_session_csrf={token}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "grace"),
            ("email", "grace@example.org"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), StatusCode::SEE_OTHER);
    let session = signed_up
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-gatehouse_session="))
        .expect("session cookie");
    assert!(session.contains("Secure"), "{session}");
}
