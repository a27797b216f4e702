//! `gatehouse import django`, run as an operator would, from a database
//! shaped as django-oauth-toolkit 3 makes it on SQLite (the hashes are
//! Django 5.2's own), into a running Gatehouse on either backend.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{answer, TestServer};

const SOURCE_SCHEMA: &str = "
CREATE TABLE auth_user (id integer PRIMARY KEY AUTOINCREMENT, password varchar(128) NOT NULL,
  last_login datetime NULL, is_superuser bool NOT NULL, username varchar(150) NOT NULL UNIQUE,
  last_name varchar(150) NOT NULL, email varchar(254) NOT NULL, is_staff bool NOT NULL,
  is_active bool NOT NULL, date_joined datetime NOT NULL, first_name varchar(150) NOT NULL);
CREATE TABLE oauth2_provider_application (id integer PRIMARY KEY AUTOINCREMENT,
  client_id varchar(100) NOT NULL UNIQUE, redirect_uris text NOT NULL,
  client_type varchar(32) NOT NULL, authorization_grant_type varchar(32) NOT NULL,
  client_secret varchar(255) NOT NULL, name varchar(255) NOT NULL, user_id integer NULL,
  skip_authorization bool NOT NULL, created datetime NOT NULL, updated datetime NOT NULL,
  algorithm varchar(5) NOT NULL, post_logout_redirect_uris text NOT NULL,
  hash_client_secret bool NOT NULL, allowed_origins text NOT NULL);
CREATE TABLE oauth2_provider_accesstoken (id integer PRIMARY KEY AUTOINCREMENT,
  token text NOT NULL, expires datetime NOT NULL, scope text NOT NULL,
  application_id bigint NULL, user_id integer NULL, created datetime NOT NULL,
  updated datetime NOT NULL, source_refresh_token_id bigint NULL UNIQUE,
  id_token_id bigint NULL UNIQUE, token_checksum varchar(64) NOT NULL UNIQUE);
CREATE TABLE oauth2_provider_refreshtoken (id integer PRIMARY KEY AUTOINCREMENT,
  token varchar(255) NOT NULL, access_token_id bigint NULL UNIQUE,
  application_id bigint NOT NULL, user_id integer NOT NULL, created datetime NOT NULL,
  updated datetime NOT NULL, revoked datetime NULL);
";

const ADA: &str =
    "pbkdf2_sha256$1000$2ebwyu5GJSy8Do7MT2PFd4$hTWsMa8oqSR78JoGOJynjURIJGrzPSP9AjPdjDx8tqw=";
const GRACE: &str = "argon2$argon2id$v=19$m=64,t=1,p=2$VXpmMXVYN2pTRk5NMmVzaTVLT2pCdQ$BHEnvjJkC0RYrejb69yfkGkE8fbv4uXS1kBfvEVb2/0";
const LINUS: &str = "bcrypt_sha256$$2b$04$WnlXe9RorrksN6uoltk/NODKVCkgMqo0EZPmg5USY9jyfKtP2LhdS";
/// Django's hash of `NOTEBOOK_SECRET`, as DOT stores hashed client secrets.
const NOTEBOOK_HASH: &str =
    "pbkdf2_sha256$1000$I3adPTotNBDNNIrq6BSe5L$h9t2CEzwAjFP4wQvndfXzj+TbxGIzlzto3ahID5beIA=";
const NOTEBOOK_SECRET: &str = "dot-hashed-secret-0123456789";
const SVC_SECRET: &str = "svc-secret-long-enough-0123456789abcdef";

fn source_rows() -> String {
    format!(
        "
INSERT INTO auth_user VALUES
 (1, '{ADA}', '2026-11-01 10:00:00.123456', 0, 'ada', 'Lovelace', 'ada@lab.example', 1, 1, '2020-01-02 03:04:05.000001', 'Ada'),
 (2, '{GRACE}', NULL, 0, 'grace', 'Hopper', 'grace@lab.example', 0, 1, '2021-05-06 07:08:09', 'Grace'),
 (3, '{LINUS}', NULL, 0, 'linus', '', '', 0, 1, '2022-01-01 00:00:00', ''),
 (4, '!unusablemarker', NULL, 0, 'old.timer@lab.example', '', '', 0, 1, '2019-01-01 00:00:00', ''),
 (5, '{ADA}', NULL, 0, 'dup', '', 'ADA@lab.example', 0, 1, '2023-01-01 00:00:00', ''),
 (7, '{ADA}', NULL, 0, 'gone', '', 'gone@lab.example', 0, 0, '2023-01-01 00:00:00', '');
INSERT INTO oauth2_provider_application VALUES
 (10, 'notebook', 'http://consumer.example/cb https://notebook.example/cb', 'confidential', 'authorization-code', '{NOTEBOOK_HASH}', 'Notebook', 1, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '', '', 1, ''),
 (11, 'rs', '', 'confidential', 'password', 'rs-secret', 'Items API', 1, 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '', '', 0, 'https://items.example'),
 (12, 'cli-tool', 'http://127.0.0.1:8765/cb', 'public', 'authorization-code', 'ignored', 'CLI', NULL, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'HS256', '', 1, ''),
 (13, 'svc', '', 'confidential', 'client-credentials', '{SVC_SECRET}', 'Service', NULL, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '', '', 0, '');
INSERT INTO oauth2_provider_accesstoken VALUES
 (100, 'dot-access-ada-live', datetime('now', '+1 hour'), 'read write', 10, 1, datetime('now'), datetime('now'), NULL, NULL, 'c100'),
 (101, 'dot-access-expired', datetime('now', '-1 hour'), 'read', 10, 2, datetime('now'), datetime('now'), NULL, NULL, 'c101'),
 (102, 'dot-access-svc', datetime('now', '+1 hour'), 'read groups', 13, NULL, datetime('now'), datetime('now'), NULL, NULL, 'c102');
INSERT INTO oauth2_provider_refreshtoken VALUES
 (200, 'dot-refresh-ada', 100, 10, 1, datetime('now'), datetime('now'), NULL),
 (201, 'dot-refresh-revoked', 101, 10, 2, datetime('now'), datetime('now'), datetime('now'));
"
    )
}

async fn source_db(path: &std::path::Path) -> String {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::raw_sql(SOURCE_SCHEMA).execute(&pool).await.unwrap();
    sqlx::raw_sql(&source_rows()).execute(&pool).await.unwrap();
    pool.close().await;
    path.display().to_string()
}

async fn change_source(path: &str, sql: &str) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn import(server: &TestServer, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["import", "django", "--json"])
        .args(args)
        .env("GATEHOUSE_DATABASE_URL", &server.state.config.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gatehouse");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn counts(run: &Run, kind: &str) -> [u64; 5] {
    let c = &run.json[kind];
    ["new", "updated", "unchanged", "removed", "skipped"].map(|k| c[k].as_u64().unwrap())
}

async fn token(
    server: &TestServer,
    form: &[(&str, &str)],
    basic: (&str, &str),
) -> crate::support::Answer {
    answer(
        reqwest::Client::new()
            .post(server.url("/o/token/"))
            .basic_auth(basic.0, Some(basic.1))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn profile(server: &TestServer, bearer: &str) -> crate::support::Answer {
    answer(
        reqwest::Client::new()
            .get(server.url("/profile/"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn stored_text(server: &TestServer, sql: &str) -> String {
    let url = &server.state.config.database_url;
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let v: String = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        v
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let v: String = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        v
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dot_site_is_imported_and_its_people_apps_and_tokens_keep_working() {
    let server = TestServer::start_with(|c| c.password_hash_threads = 1).await;
    let dir = tempfile::tempdir().unwrap();
    let source = source_db(&dir.path().join("dot.sqlite3")).await;

    // A dry run writes nothing.
    let dry = import(&server, &["--database", &source, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.json["dry_run"], true);
    assert_eq!(counts(&dry, "users"), [6, 0, 0, 0, 0]);
    assert_eq!(server.count_rows("users").await, 0);

    let run = import(&server, &["--database", &source]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(counts(&run, "users"), [6, 0, 0, 0, 0]);
    assert_eq!(counts(&run, "applications"), [4, 0, 0, 0, 0]);
    assert_eq!(
        counts(&run, "access_tokens"),
        [2, 0, 0, 0, 1],
        "{}",
        run.json
    );
    assert_eq!(
        counts(&run, "refresh_tokens"),
        [1, 0, 0, 0, 1],
        "{}",
        run.json
    );
    assert_eq!(run.json["grants"], 1);
    let warnings = run.json["warnings"].to_string();
    for expected in [
        "account 5 (dup) shares its email with account 1",
        "short secret (9 characters)",
        "keeps plain-http redirect URIs",
        "\\\"HS256\\\"",
        "left out of imported tokens: groups",
    ] {
        assert!(warnings.contains(expected), "{expected} not in {warnings}");
    }
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE id IN (1, 2, 3, 4, 5, 7)")
            .await,
        6
    );

    // The access token DOT issued reads the profile, with the same id.
    let me = profile(&server, "dot-access-ada-live").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["id"], 1);
    assert_eq!(me.json["username"], "ada");

    // DOT's refresh token refreshes, and the app's Django-hashed secret
    // works once, and is then stored as its SHA-256.
    let refreshed = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "dot-refresh-ada"),
        ],
        ("notebook", NOTEBOOK_SECRET),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.json);
    assert_eq!(refreshed.json["scope"], "read write");
    let digest = stored_text(
        &server,
        "SELECT secret_digest FROM applications WHERE id = 10",
    )
    .await;
    assert_eq!(digest.len(), 64, "{digest}");
    let wrong = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "dot-refresh-ada"),
        ],
        ("notebook", "not-the-secret"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // People sign in with their old passwords, which become argon2id.
    let grace = token(
        &server,
        &[
            ("grant_type", "password"),
            ("username", "grace"),
            ("password", "grace's old password"),
            ("scope", "read"),
        ],
        ("rs", "rs-secret"),
    )
    .await;
    assert_eq!(grace.status, StatusCode::OK, "{}", grace.json);
    let hash = stored_text(&server, "SELECT password_hash FROM users WHERE id = 2").await;
    assert!(hash.starts_with("$argon2id$v=19$m=19456"), "{hash}");
    for (login, password) in [
        ("ada", "correct horse battery"),
        ("linus", "linus old password"),
    ] {
        let browser = server.browser();
        browser.sign_in(login, password).await;
        assert!(browser.is_signed_in().await, "{login}");
    }

    // Ada owns both imported apps: their pages say what to fix, and an edit
    // keeps the plain-http redirect URI the app came with (adds none).
    let ada = server.browser();
    ada.sign_in("ada", "correct horse battery").await;
    let notebook = ada.get("/o/applications/10/").await;
    assert!(
        notebook.body.contains("Plain-http redirect URIs"),
        "{}",
        notebook.body
    );
    assert!(notebook.body.contains("http://consumer.example/cb"));
    // Its Django-hashed secret turned out, at its first use, to be 28
    // characters long: marked as weak since.
    assert!(notebook.body.contains("Weak client secret"));
    let items = ada.get("/o/applications/11/").await;
    assert!(items.body.contains("Weak client secret"), "{}", items.body);
    let edit = |uris: &'static str| {
        let ada = &ada;
        async move {
            ada.post_form(
                "/o/applications/10/",
                &[
                    ("action", "edit"),
                    ("name", "Notebook, renamed"),
                    ("grant_types", "authorization_code"),
                    ("grant_types", "refresh_token"),
                    ("redirect_uris", uris),
                    ("algorithm", "RS256"),
                ],
            )
            .await
        }
    };
    let saved = edit("http://consumer.example/cb\nhttps://notebook.example/cb").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let refused = edit("http://consumer.example/cb\nhttp://elsewhere.example/cb").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("http://elsewhere.example/cb: must use https"),
        "{}",
        refused.body
    );

    // Unusable stays unusable; an inactive account stays inactive.
    for (login, password) in [
        ("old.timer@lab.example", "!unusablemarker"),
        ("gone", "correct horse battery"),
    ] {
        let browser = server.browser();
        browser.sign_in(login, password).await;
        assert!(!browser.is_signed_in().await, "{login}");
    }
    let svc = token(
        &server,
        &[("grant_type", "client_credentials")],
        ("svc", SVC_SECRET),
    )
    .await;
    assert_eq!(svc.status, StatusCode::OK, "{}", svc.json);

    // A second run changes nothing; after changes in the source, it
    // updates them and removes what was removed there, keeping the
    // password Gatehouse upgraded.
    let again = import(&server, &["--database", &source]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(counts(&again, "users"), [0, 0, 6, 0, 0]);
    change_source(
        &source,
        "UPDATE auth_user SET first_name = 'Amazing Grace' WHERE id = 2;
         DELETE FROM oauth2_provider_refreshtoken WHERE access_token_id = 100;
         DELETE FROM oauth2_provider_accesstoken WHERE id = 100;
         DELETE FROM auth_user WHERE id = 7;",
    )
    .await;
    let cutover = import(&server, &["--database", &source]);
    assert_eq!(cutover.code, 0, "{}", cutover.stderr);
    assert_eq!(counts(&cutover, "users"), [0, 1, 4, 1, 0]);
    assert_eq!(counts(&cutover, "access_tokens")[3], 1);
    assert_eq!(
        profile(&server, "dot-access-ada-live").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        stored_text(&server, "SELECT first_name FROM users WHERE id = 2").await,
        "Amazing Grace"
    );
    let hash = stored_text(&server, "SELECT password_hash FROM users WHERE id = 2").await;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE id = 7")
            .await,
        0
    );

    // Accounts made afterwards get ids after every imported one, even
    // one removed since (a client may still know it).
    server.signed_up("newcomer", "correct horse battery").await;
    assert!(server.scalar("SELECT MAX(id) FROM users").await > 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sources_and_conflicts_are_clear_errors_that_write_nothing() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();

    let missing = import(&server, &["--database", "/nonexistent/dot.sqlite3"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.json["error"]
            .as_str()
            .unwrap()
            .contains("no SQLite database file"),
        "{}",
        missing.json
    );

    // A database that is not DOT's: here, Gatehouse's own.
    let other = dir.path().join("other.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", other.display()))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE auth_user (id integer PRIMARY KEY, password text, email text)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let not_dot = import(&server, &["--database", other.to_str().unwrap()]);
    assert_eq!(not_dot.code, 1);
    let message = not_dot.json["error"].as_str().unwrap();
    assert!(
        message.contains("not a django-oauth-toolkit database"),
        "{message}"
    );
    assert!(message.contains("oauth2_provider_application"), "{message}");

    let source = source_db(&dir.path().join("dot.sqlite3")).await;
    let hostile = import(
        &server,
        &[
            "--database",
            &source,
            "--user-table",
            "auth_user; DROP TABLE x",
        ],
    );
    assert_eq!(hostile.code, 1);
    assert!(hostile.json["error"]
        .as_str()
        .unwrap()
        .contains("is not a table name"));
    let unsupported = import(&server, &["--database", "mysql://root@127.0.0.1/dot"]);
    assert_eq!(unsupported.code, 1);
    assert!(unsupported.json["error"]
        .as_str()
        .unwrap()
        .contains("unsupported database URL"));

    // Someone already made account "ada" in Gatehouse: nothing is written.
    server.signed_up("ada", "correct horse battery").await;
    let apps_before = server.count_rows("applications").await;
    let conflict = import(&server, &["--database", &source]);
    assert_eq!(conflict.code, 1, "{}", conflict.json);
    let message = conflict.json["error"].as_str().unwrap();
    assert!(message.contains("nothing was imported"), "{message}");
    assert!(
        message.contains("account id 1 is \"ada\" in Gatehouse"),
        "{message}"
    );
    assert_eq!(server.count_rows("users").await, 1);
    assert_eq!(server.count_rows("applications").await, apps_before);
    assert_eq!(server.count_rows("django_imports").await, 0);
}
