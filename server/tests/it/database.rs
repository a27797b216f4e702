//! Opening the database: clear errors when it cannot be reached or was
//! migrated by a newer Gatehouse.

use std::time::Duration;

use gatehouse_server::store::{open, OpenError, PoolSettings};

use crate::support::{execute_at, TestDb};

fn settings() -> PoolSettings {
    PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_a_clear_error() {
    // Nothing listens on port 1.
    let e = open("postgres://postgres@127.0.0.1:1/none", &settings())
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, OpenError::Connect(_)), "{e}");
    assert!(e.to_string().starts_with("cannot open the database"), "{e}");
    let e = open("mysql://localhost/x", &settings())
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("postgres://"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_newer_than_the_binary_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh(dir.path()).await;
    drop(
        open(&db.url, &settings())
            .await
            .expect("first open migrates"),
    );
    // A migration from a future version of Gatehouse.
    execute_at(
        &db.url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', TRUE, '\\x00', 0)",
    )
    .await;
    let e = open(&db.url, &settings()).await.err().expect("refused");
    assert!(matches!(e, OpenError::SchemaNewer(99990101000000)), "{e}");
    assert!(e.to_string().contains("newer than this binary"), "{e}");
}

/// PostgreSQL refuses NUL in text; such input must be a 4xx on both
/// backends, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_refused_before_the_database() {
    let server = crate::support::TestServer::start().await;
    let client = reqwest::Client::new();
    let token = client
        .post(server.url("/o/token/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=a%00b")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), reqwest::StatusCode::BAD_REQUEST);
    let authorize = client
        .get(server.url("/o/authorize/?response_type=code&client_id=%00"))
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), reqwest::StatusCode::BAD_REQUEST);
    let browser = server.browser();
    let login = browser.sign_in("ada\0x", "whatever pass").await;
    assert_eq!(login.status, reqwest::StatusCode::UNAUTHORIZED);
    let signup = client
        .post(server.url("/api/signup/"))
        .json(&serde_json::json!({"username": "a\u{0}b", "email": "a@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), reqwest::StatusCode::BAD_REQUEST);
}
