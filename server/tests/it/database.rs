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
