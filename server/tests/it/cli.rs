//! The `gatehouse` binary's account commands, run as a script would.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::support::TestServer;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gatehouse(db: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatehouse");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn createsuperuser_and_user_create_provision_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());

    let migrate = gatehouse(&db, &["migrate"], "");
    assert_eq!(migrate.code, 0, "{}", migrate.stderr);

    let admin = gatehouse(
        &db,
        &[
            "createsuperuser",
            "--username",
            "root",
            "--email",
            "root@example.org",
            "--password-stdin",
            "--json",
        ],
        "correct horse battery\n",
    );
    assert_eq!(admin.code, 0, "{}", admin.stderr);
    let json: serde_json::Value = serde_json::from_str(&admin.stdout).unwrap();
    assert_eq!(json["username"], "root");
    assert_eq!(json["is_superuser"], true);
    assert_eq!(json["is_staff"], true);
    assert!(json.get("password_hash").is_none());

    let staff = gatehouse(
        &db,
        &[
            "user",
            "create",
            "--username",
            "mary",
            "--email",
            "mary@example.org",
            "--password-stdin",
            "--staff",
        ],
        "another fine secret",
    );
    assert_eq!(staff.code, 0, "{}", staff.stderr);
    assert!(
        staff.stdout.contains("Created staff user mary"),
        "{}",
        staff.stdout
    );

    // The accounts work in the portal.
    let server = TestServer::start_with(move |c| c.database_url = db.clone()).await;
    let page = server
        .browser()
        .sign_in("root", "correct horse battery")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());

    let no_stdin_flag = gatehouse(
        &db,
        &[
            "user",
            "create",
            "--username",
            "a",
            "--email",
            "a@example.org",
        ],
        "",
    );
    assert_ne!(no_stdin_flag.code, 0);
    assert!(
        no_stdin_flag.stderr.contains("--password-stdin"),
        "{}",
        no_stdin_flag.stderr
    );

    let invalid = gatehouse(
        &db,
        &[
            "user",
            "create",
            "--username",
            "bad name",
            "--email",
            "nope",
            "--password-stdin",
            "--json",
        ],
        "password123\n",
    );
    assert_eq!(invalid.code, 1);
    let json: serde_json::Value = serde_json::from_str(&invalid.stdout).unwrap();
    assert_eq!(json["error"], "invalid account details");
    assert!(json["fields"]["username"].is_string());
    assert!(json["fields"]["email"].is_string());
    assert!(json["fields"]["password"].is_string());
    assert!(invalid
        .stderr
        .contains("email: Enter a valid email address."));

    let args = [
        "user",
        "create",
        "--username",
        "dup",
        "--email",
        "dup@example.org",
        "--password-stdin",
    ];
    assert_eq!(gatehouse(&db, &args, "correct horse battery").code, 0);
    let same_name = args.map(|a| {
        if a == "dup@example.org" {
            "dup2@example.org"
        } else if a == "dup" {
            "DUP"
        } else {
            a
        }
    });
    let again = gatehouse(&db, &same_name, "correct horse battery");
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("That username is taken."),
        "{}",
        again.stderr
    );

    let unknown = gatehouse(&db, &["frobnicate"], "");
    assert_ne!(unknown.code, 0);

    let bad_config = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("migrate")
        .env("GATEHOUSE_DATABASE_URL", &db)
        .env("GATEHOUSE_PUBLIC_URL", "ftp://nowhere")
        .output()
        .unwrap();
    assert_ne!(bad_config.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bad_config.stderr).contains("public_url"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_command_it_serves() {
    // `cargo leptos serve` (the README's run command) starts the binary with
    // no arguments.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .env(
            "GATEHOUSE_DATABASE_URL",
            format!("sqlite://{}/s.db", dir.path().display()),
        )
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            healthy = r.status() == StatusCode::OK;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy, "gatehouse without arguments did not serve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_create_prints_credentials_once_and_they_work_at_the_token_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let created = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Batch jobs",
            "--client-type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "read introspection",
            "--json",
        ],
        "",
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    let app: serde_json::Value = serde_json::from_str(&created.stdout).unwrap();
    let id = app["client_id"].as_str().unwrap().to_owned();
    let secret = app["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43);
    assert_eq!(app["scopes"], "read introspection");

    // Only the secret's SHA-256 is stored.
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let stored: String =
        sqlx::query_scalar("SELECT secret_digest FROM applications WHERE client_id = ?")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_ne!(stored, secret);
    assert_eq!(
        stored,
        gatehouse::secret::SecretDigest::of(&secret).as_str()
    );

    // Operator-chosen credentials, and a taken client id.
    let chosen = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Legacy",
            "--client-type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--client-id",
            "legacy-app",
            "--client-secret",
            "a-long-operator-chosen-secret-0123456789",
        ],
        "",
    );
    assert_eq!(chosen.code, 0, "{}", chosen.stderr);
    assert!(chosen.stdout.contains("client_id: legacy-app"));
    assert!(chosen.stdout.contains("cannot show it again"));
    let taken = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Again",
            "--client-type",
            "public",
            "--grant-types",
            "authorization_code",
            "--redirect-uris",
            "http://127.0.0.1/cb",
            "--client-id",
            "legacy-app",
            "--json",
        ],
        "",
    );
    assert_eq!(taken.code, 1);
    let err: serde_json::Value = serde_json::from_str(&taken.stdout).unwrap();
    assert!(err["fields"]["client_id"].is_string(), "{err}");

    // A short secret an existing client already has: only when the
    // operator says so, and the app is marked for a rotation.
    let short = |allow: bool| {
        let mut args = vec![
            "app",
            "create",
            "--name",
            "Items API",
            "--client-type",
            "confidential",
            "--grant-types",
            "password",
            "--client-id",
            "rs",
            "--client-secret",
            "rs-secret",
            "--json",
        ];
        if allow {
            args.push("--allow-weak-secret");
        }
        gatehouse(&db, &args, "")
    };
    let refused = short(false);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stdout.contains("client_secret"),
        "{}",
        refused.stdout
    );
    let weak = short(true);
    assert_eq!(weak.code, 0, "{}", weak.stderr);
    let app: serde_json::Value = serde_json::from_str(&weak.stdout).unwrap();
    assert_eq!(app["weak_secret"], true);
    assert_eq!(app["client_secret"], "rs-secret");
    let rotated = gatehouse(&db, &["app", "rotate-secret", "rs", "--json"], "");
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let shown = gatehouse(&db, &["app", "show", "rs", "--json"], "");
    let app: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(app["weak_secret"], false, "a rotation clears the mark");

    // Bad input: every wrong field is named, nothing is stored.
    let bad = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Bad",
            "--client-type",
            "public",
            "--grant-types",
            "authorization_code,client_credentials",
            "--redirect-uris",
            "http://evil.example/cb",
            "--scopes",
            "read root",
        ],
        "",
    );
    assert_eq!(bad.code, 1);
    for field in ["grant_types", "redirect_uris", "scopes"] {
        assert!(bad.stderr.contains(field), "{field}: {}", bad.stderr);
    }

    // The printed credentials work against a server on that database.
    let server = TestServer::start_with(|c| c.database_url = db.clone()).await;
    let token = reqwest::Client::new()
        .post(server.url("/o/token/"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let legacy = reqwest::Client::new()
        .post(server.url("/o/token/"))
        .basic_auth(
            "legacy-app",
            Some("a-long-operator-chosen-secret-0123456789"),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartokens_removes_expired_tokens_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let created = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Jobs",
            "--client-type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "read",
            "--json",
        ],
        "",
    );
    let app: serde_json::Value = serde_json::from_str(&created.stdout).unwrap();
    let (id, secret) = (
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    );
    {
        let server = TestServer::start_with(|c| c.database_url = db.clone()).await;
        for _ in 0..3 {
            let r = reqwest::Client::new()
                .post(server.url("/o/token/"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    // Two of the three expire in the past.
    sqlx::query("UPDATE access_tokens SET expires_at = 1 WHERE rowid IN (SELECT rowid FROM access_tokens LIMIT 2)")
        .execute(&pool)
        .await
        .unwrap();
    let cleared = gatehouse(&db, &["cleartokens", "--json"], "");
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    let out: serde_json::Value = serde_json::from_str(&cleared.stdout).unwrap();
    assert_eq!(out["removed"], 2);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 1);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_list_show_rotate_secret_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let json = |run: &Run| -> serde_json::Value {
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    };
    let created = json(&gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Jobs",
            "--client-type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "read",
            "--json",
        ],
        "",
    ));
    let id = created["client_id"].as_str().unwrap().to_owned();
    let old_secret = created["client_secret"].as_str().unwrap().to_owned();

    let listed = json(&gatehouse(&db, &["app", "list", "--json"], ""));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["client_id"], id.as_str());
    // Nothing secret is ever shown again, not even the hash.
    assert!(listed[0].get("client_secret").is_none());
    assert!(!gatehouse(&db, &["app", "list", "--json"], "")
        .stdout
        .contains("digest"));
    let shown = json(&gatehouse(&db, &["app", "show", &id, "--json"], ""));
    assert_eq!(shown["name"], "Jobs");
    assert!(gatehouse(&db, &["app", "show", &id], "")
        .stdout
        .contains("client_type: confidential"));
    let missing = gatehouse(&db, &["app", "show", "nope"], "");
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no application"),
        "{}",
        missing.stderr
    );

    // A running server (no app cache, so another process's change shows at once).
    let server = TestServer::start_with(|c| {
        c.database_url = db.clone();
        c.application_cache_secs = 0;
    })
    .await;
    let token = |secret: String| {
        let url = server.url("/o/token/");
        let id = id.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
        }
    };
    let first = token(old_secret.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let access = first.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let rotated = json(&gatehouse(
        &db,
        &["app", "rotate-secret", &id, "--json"],
        "",
    ));
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    assert_eq!(token(old_secret).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(token(new_secret.clone()).await.status(), StatusCode::OK);

    // Deleting the app revokes what it holds.
    let deleted = gatehouse(&db, &["app", "delete", &id], "");
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(deleted.stdout.contains("Deleted Jobs"));
    assert_eq!(token(new_secret).await.status(), StatusCode::UNAUTHORIZED);
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE digest = ?")
        .bind(gatehouse::secret::SecretDigest::of(&access).as_str())
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(left, 0);
    assert_eq!(
        json(&gatehouse(&db, &["app", "list", "--json"], "")),
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_made_at_first_start_and_rotation_keeps_old_ones_published() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let server = TestServer::start_with(|c| {
        c.database_url = db.clone();
        c.key_refresh_secs = 1;
    })
    .await;
    let jwks = || async {
        let r = reqwest::get(server.url("/o/.well-known/jwks.json"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<serde_json::Value>().await.unwrap()
    };
    let kids = |doc: &serde_json::Value| -> Vec<String> {
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = jwks().await;
    let keys = first["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    for k in keys {
        assert_eq!(k["use"], "sig");
        // Public parts only.
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "{private} in {k}");
        }
    }
    let before = kids(&first);

    let rotated = gatehouse(
        &db,
        &["keys", "rotate", "--algorithm", "ES256", "--json"],
        "",
    );
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let new_kid = serde_json::from_str::<serde_json::Value>(&rotated.stdout).unwrap()[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = gatehouse(&db, &["keys", "rotate", "--algorithm", "HS256"], "");
    assert_eq!(bad.code, 1);

    // The running server publishes the new key within key_refresh_secs,
    // and the old ES256 key stays published.
    let mut after = Vec::new();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = kids(&jwks().await);
        if after.contains(&new_kid) {
            break;
        }
    }
    assert!(after.contains(&new_kid), "{after:?}");
    for kid in &before {
        assert!(after.contains(kid), "{kid} no longer published");
    }
    assert_eq!(after.len(), 4);

    // A restart keeps the same keys: they live in the database.
    drop(server);
    let again = TestServer::start_with(|c| c.database_url = db.clone()).await;
    let r = reqwest::get(again.url("/o/.well-known/jwks.json"))
        .await
        .unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    let (mut now_kids, mut expected) = (kids(&doc), after);
    now_kids.sort();
    expected.sort();
    assert_eq!(now_kids, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_are_encrypted_at_rest_when_a_key_is_configured() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let kek = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let server = TestServer::start_with(|c| {
        c.database_url = db.clone();
        c.key_encryption_key = Some(kek.clone());
    })
    .await;
    let jwks: serde_json::Value = reqwest::get(server.url("/o/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    drop(server);

    // In the database: sealed, not PKCS#8 (which starts with a DER SEQUENCE, 0x30).
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let rows: Vec<(Vec<u8>, bool)> = sqlx::query_as("SELECT private_key, sealed FROM signing_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(rows.len(), 3);
    for (blob, sealed) in &rows {
        assert!(sealed);
        assert!(
            blob[0] != 0x30 || blob[1] != 0x82,
            "looks like plain PKCS#8"
        );
    }

    // Without the key (or with another), Gatehouse refuses to start and says why.
    let no_key = gatehouse(&db, &["migrate"], "");
    assert_ne!(no_key.code, 0);
    assert!(
        no_key.stderr.contains("key_encryption_key"),
        "{}",
        no_key.stderr
    );
    // With it, commands work and rotated keys are sealed too.
    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["keys", "rotate", "--algorithm", "EdDSA", "--json"])
        .env("GATEHOUSE_DATABASE_URL", &db)
        .env("GATEHOUSE_KEY_ENCRYPTION_KEY", &kek)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let unsealed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE sealed = 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(unsealed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ids_starting_with_a_dash_are_not_taken_for_options() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let created = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Dashing",
            "--client-type",
            "public",
            "--grant-types",
            "device_code",
            "--client-id",
            "-dashing-tool",
            "--json",
        ],
        "",
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    let shown = gatehouse(&db, &["app", "show", "-dashing-tool", "--json"], "");
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("\"client_id\":\"-dashing-tool\""),
        "{}",
        shown.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_stored_before_encryption_was_turned_on_are_sealed_at_start() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    {
        let db = db.clone();
        let server = TestServer::start_with(|c| c.database_url = db).await;
        drop(server);
    }
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM signing_keys WHERE sealed = 0").await,
        3
    );
    let kek = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let server = TestServer::start_with(|c| {
        c.database_url = db.clone();
        c.key_encryption_key = Some(kek.clone());
    })
    .await;
    // The same keys are published (none was replaced), now sealed on disk.
    let jwks: serde_json::Value = reqwest::get(server.url("/o/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    drop(server);
    assert_eq!(
        count("SELECT COUNT(*) FROM signing_keys WHERE sealed = 0").await,
        0
    );
    assert_eq!(count("SELECT COUNT(*) FROM signing_keys").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_app_never_gets_the_password_grant() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let refused = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Phone app",
            "--client-type",
            "public",
            "--grant-types",
            "password",
            "--json",
        ],
        "",
    );
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stdout
            .contains("Public clients cannot use the password grant."),
        "{}",
        refused.stdout
    );
    // A confidential app may be given it by the operator.
    let allowed = gatehouse(
        &db,
        &[
            "app",
            "create",
            "--name",
            "Trusted service",
            "--client-type",
            "confidential",
            "--grant-types",
            "password",
            "--json",
        ],
        "",
    );
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
}

/// SIGTERM stops `gatehouse serve` once in-flight requests finish, and no
/// later than `shutdown_grace_secs` when one never does (a stalled upload).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_within_the_grace_period_despite_a_stalled_request() {
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "GATEHOUSE_DATABASE_URL",
            format!("sqlite://{}/grace.db", dir.path().display()),
        )
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_PUBLIC_URL", &base)
        .env("GATEHOUSE_SHUTDOWN_GRACE_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gatehouse serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A request whose body never arrives in full.
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stalled
        .write_all(
            b"POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 100\r\n\r\ngrant_type=",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("still running 15 s after SIGTERM with a 1 s grace period");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_millis(900),
        "it waited for the open request ({took:?})"
    );
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_show_set_password_deactivate_and_reactivate() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    for name in ["ada", "bob"] {
        let made = gatehouse(
            &db,
            &[
                "user",
                "create",
                "--username",
                name,
                "--email",
                &format!("{name}@example.org"),
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        assert_eq!(made.code, 0, "{}", made.stderr);
    }
    let listed = gatehouse(&db, &["user", "list", "--json"], "");
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let users: Vec<serde_json::Value> = listed
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<_> = users.iter().map(|u| u["username"].clone()).collect();
    assert_eq!(names, ["ada", "bob"]);
    assert!(!listed.stdout.contains("argon2"), "no hash is printed");
    let found = gatehouse(&db, &["user", "list", "--search", "BO"], "");
    assert_eq!(found.stdout, "bob <bob@example.org> (id 2)\n");

    let shown = gatehouse(&db, &["user", "show", "ada", "--json"], "");
    let ada: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(ada["is_active"], true);
    assert_eq!(ada["last_login"], serde_json::Value::Null);
    assert_eq!(ada["authorized_apps"], serde_json::json!([]));
    let missing = gatehouse(&db, &["user", "show", "nobody"], "");
    assert_eq!(missing.code, 1);
    assert!(missing
        .stderr
        .contains("no account has username \"nobody\""));

    // A weak password is refused with the field's reason; a good one is set.
    let weak = gatehouse(
        &db,
        &["user", "set-password", "ada", "--password-stdin"],
        "ada\n",
    );
    assert_eq!(weak.code, 1);
    assert!(weak.stderr.contains("password: "), "{}", weak.stderr);
    let set = gatehouse(
        &db,
        &["user", "set-password", "ada", "--password-stdin", "--json"],
        "a brand new secret\n",
    );
    assert_eq!(set.code, 0, "{}", set.stderr);

    let off = gatehouse(&db, &["user", "deactivate", "bob"], "");
    assert_eq!(off.code, 0, "{}", off.stderr);
    let shown = gatehouse(&db, &["user", "list"], "");
    assert!(shown
        .stdout
        .contains("bob <bob@example.org> (id 2) [deactivated]"));

    let server = TestServer::start_with({
        let db = db.clone();
        move |c| c.database_url = db
    })
    .await;
    let browser = server.browser();
    let old = browser.sign_in("ada", "correct horse battery").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = browser.sign_in("ada", "a brand new secret").await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
    let bob = server
        .browser()
        .sign_in("bob", "correct horse battery")
        .await;
    assert_eq!(bob.status, StatusCode::UNAUTHORIZED);
    let on = gatehouse(&db, &["user", "reactivate", "bob"], "");
    assert_eq!(on.code, 0, "{}", on.stderr);
    let bob = server
        .browser()
        .sign_in("bob", "correct horse battery")
        .await;
    assert_eq!(bob.status, StatusCode::SEE_OTHER);

    // Each change is in the trail, made on the command line.
    let exported = gatehouse(&db, &["audit", "export", "--json"], "");
    let kinds: Vec<String> = exported
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .collect();
    for kind in [
        "password_changed",
        "account_deactivated",
        "account_reactivated",
    ] {
        assert!(kinds.contains(&format!("\"{kind}\"")), "{kind}: {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_send_reset_queues_a_link_the_server_mails() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    for name in ["ada", "bob"] {
        let made = gatehouse(
            &db,
            &[
                "user",
                "create",
                "--username",
                name,
                "--email",
                &format!("{name}@example.org"),
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        assert_eq!(made.code, 0, "{}", made.stderr);
    }
    let sent = gatehouse(&db, &["user", "send-reset", "ada", "--json"], "");
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let sent: serde_json::Value = serde_json::from_str(&sent.stdout).unwrap();
    assert_eq!(sent["sent_to"], "ada@example.org");
    // Bad input: an unknown account, a deactivated one, no name at all.
    let missing = gatehouse(&db, &["user", "send-reset", "nobody"], "");
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("no account has username \"nobody\""),
        "{}",
        missing.stderr
    );
    assert_eq!(gatehouse(&db, &["user", "deactivate", "bob"], "").code, 0);
    let off = gatehouse(&db, &["user", "send-reset", "bob"], "");
    assert_eq!(off.code, 1);
    assert!(off.stderr.contains("deactivated"), "{}", off.stderr);
    let none = gatehouse(&db, &["user", "send-reset"], "");
    assert_eq!(none.code, 2, "{}", none.stderr);

    // A server on that database sends what the command queued.
    let sink = crate::mail::Sink::start();
    let server = TestServer::start_with({
        let db = db.clone();
        let url = sink.url();
        move |c| {
            c.database_url = db;
            c.smtp_url = Some(url);
        }
    })
    .await;
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, "ada@example.org");
    let path = mail.link("http://127.0.0.1:3000");
    assert!(path.starts_with("/accounts/reset/"), "{path}");
    drop(server);
}
