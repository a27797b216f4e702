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
