//! Mail: password reset, address verification and the mail queue, against
//! a real SMTP server process (aiosmtpd from PyPI, installed by
//! `scripts/setup` into `.venv-mail`), which stores what it receives in a
//! Maildir the tests read.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Browser, TestServer};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a much better passphrase";

/// An SMTP server in its own process: aiosmtpd with its Maildir handler.
pub struct Sink {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn sink_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-mail/bin/python");
    assert!(
        venv.exists(),
        "the SMTP test server is missing: run scripts/setup (it installs aiosmtpd into .venv-mail)"
    );
    venv
}

impl Sink {
    pub fn start() -> Sink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut sink = Sink {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        sink.run();
        sink
    }

    fn run(&mut self) {
        let child = Command::new(sink_python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, keeping what it received.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Mail> {
        let dir = self.dir.path().join("maildir/new");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        // In the order received: Maildir names do not sort by time (their
        // microseconds are not zero-padded).
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .map(|e| {
                let modified = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (modified, e.path())
            })
            .collect();
        files.sort();
        let files: Vec<PathBuf> = files.into_iter().map(|(_, p)| p).collect();
        files
            .iter()
            .map(|p| Mail::parse(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    /// Waits until `n` messages have arrived (the sender works in the
    /// background).
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} message(s), got {}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A received message: its recipient, subject and decoded text part.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

fn decode(part: &str) -> (String, String) {
    let part = part.trim_start_matches(['\r', '\n']);
    let (head, body) = part
        .split_once("\r\n\r\n")
        .or_else(|| part.split_once("\n\n"))
        .unwrap_or((part, ""));
    let kind = header(head, "Content-Type").unwrap_or("").to_owned();
    let body = match header(head, "Content-Transfer-Encoding").map(str::to_ascii_lowercase) {
        Some(e) if e == "base64" => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined.trim_end_matches('-'))
                    .unwrap_or_default(),
            )
            .unwrap_or_default()
        }
        Some(e) if e == "quoted-printable" => body
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "="),
        _ => body.to_owned(),
    };
    (kind, body)
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let (head, _) = raw
            .split_once("\r\n\r\n")
            .or_else(|| raw.split_once("\n\n"))
            .unwrap();
        let to = header(head, "X-RcptTo").unwrap_or_default().to_owned();
        let subject = header(head, "Subject").unwrap_or_default().to_owned();
        let boundary = header(head, "Content-Type")
            .and_then(|v| v.split("boundary=").nth(1))
            .map(|b| b.trim_matches('"').to_owned())
            .or_else(|| {
                raw.lines()
                    .find_map(|l| l.trim().split("boundary=").nth(1))
                    .map(|b| b.trim_matches('"').to_owned())
            })
            .expect("a multipart message");
        let (mut text, mut html) = (String::new(), String::new());
        for part in raw.split(&format!("--{boundary}")).skip(1) {
            let (kind, body) = decode(part);
            if kind.starts_with("text/plain") {
                text = body;
            } else if kind.starts_with("text/html") {
                html = body;
            }
        }
        Mail {
            to,
            subject,
            text,
            html,
        }
    }

    /// The path of the first link to the server in the text part.
    pub fn link(&self, base: &str) -> String {
        let url = self
            .text
            .split_whitespace()
            .find(|w| w.starts_with(base))
            .unwrap_or_else(|| panic!("no link in {:?}", self.text));
        url[base.len()..].to_owned()
    }
}

/// A server that sends its mail to `sink`, retrying after a second.
async fn server(
    sink: &Sink,
    adjust: impl FnOnce(&mut gatehouse_server::config::Config),
) -> TestServer {
    let url = sink.url();
    TestServer::start_with(move |c| {
        c.smtp_url = Some(url);
        c.mail_retry_secs = 1;
        c.verify_email = true;
        adjust(c);
    })
    .await
}

/// An account made directly (no mail), with its address verified or not.
async fn account(server: &TestServer, username: &str, verified: bool) {
    server
        .state
        .accounts
        .create_account(
            gatehouse::account::NewAccount {
                username,
                email: &format!("{username}@example.org"),
                password: PASSWORD,
                is_staff: false,
                is_superuser: false,
            },
            Default::default(),
            &gatehouse::audit::Event::new(
                gatehouse::audit::EventKind::SignedUp,
                1,
                &Default::default(),
            ),
        )
        .await
        .expect("account");
    if verified {
        server
            .execute(&format!(
                "UPDATE users SET email_verified = TRUE WHERE username = '{username}'"
            ))
            .await;
    }
}

/// Posts the sign-up form.
async fn sign_up(browser: &Browser, username: &str, email: &str) -> crate::support::Page {
    browser
        .post_form(
            "/accounts/signup/",
            &[
                ("username", username),
                ("email", email),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await
}

async fn ask_reset(browser: &Browser, email: &str) -> crate::support::Page {
    browser
        .post_form("/accounts/password_reset/", &[("email", email)])
        .await
}

/// Sets a new password through a reset link's page.
async fn follow_reset(browser: &Browser, path: &str, password: &str) -> crate::support::Page {
    let form = browser.get(path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("New password"), "{}", form.body);
    browser
        .post_form(
            path,
            &[
                ("new_password", password),
                ("confirm_new_password", password),
            ],
        )
        .await
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let elsewhere = server.browser();
    assert_eq!(
        elsewhere.sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let (client_id, secret) = server
        .register(|f| f.grant_types = vec!["password", "refresh_token"])
        .await;
    let tokens = crate::support::post(
        &server,
        "/o/token/",
        Some((&client_id, secret.as_deref().unwrap())),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", PASSWORD),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.json);
    assert_eq!(server.count_rows("refresh_tokens").await, 1);

    let browser = server.browser();
    let asked = ask_reset(&browser, "ADA@example.org").await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    assert_eq!(asked.location(), Some("/accounts/password_reset/done/"));

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, "ada@example.org");
    assert!(
        mail.subject.contains("reset your password"),
        "{}",
        mail.subject
    );
    let path = mail.link(&server.base);
    assert!(path.starts_with("/accounts/reset/"), "{path}");
    assert!(mail.html.contains("href="), "{}", mail.html);

    let done = follow_reset(&browser, &path, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/accounts/reset/done/"));

    // Signed out everywhere, tokens revoked, the new password works.
    assert!(!elsewhere.is_signed_in().await);
    assert_eq!(server.count_rows("refresh_tokens").await, 0);
    assert_eq!(server.count_rows("access_tokens").await, 0);
    let fresh = server.browser();
    assert_eq!(
        fresh.sign_in("ada", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fresh.sign_in("ada", NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // The link works once.
    let again = browser.get(&path).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("This link does not work"),
        "{}",
        again.body
    );
    let reused = browser
        .post_form(
            &path,
            &[
                ("new_password", "yet another passphrase"),
                ("confirm_new_password", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'password_reset'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let browser = server.browser();
    let unknown = ask_reset(&browser, "nobody@example.org").await;
    let known = ask_reset(&browser, "ada@example.org").await;
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.location(), known.location());
    assert_eq!(unknown.body, known.body);
    let messages = sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "{messages:?}");
    assert_eq!(messages[0].to, "ada@example.org");

    // Bad input is answered beside the field.
    let bad = ask_reset(&browser, "not an address").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("email-error"), "{}", bad.body);
}

#[tokio::test]
async fn a_reset_link_dies_when_the_password_changes_or_it_expires() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let browser = server.browser();
    ask_reset(&browser, "ada@example.org").await;
    ask_reset(&browser, "ada@example.org").await;
    let mails = sink.wait_for(2).await;
    let (first, second) = (mails[0].link(&server.base), mails[1].link(&server.base));

    // The password changes another way: both links die.
    let me = server.browser();
    me.sign_in("ada", PASSWORD).await;
    let changed = me
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "password"),
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(browser.get(&first).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(browser.get(&second).await.status, StatusCode::BAD_REQUEST);

    // An expired link is refused with the same page.
    ask_reset(&browser, "ada@example.org").await;
    let third = sink
        .wait_for(3)
        .await
        .iter()
        .map(|m| m.link(&server.base))
        .find(|l| *l != first && *l != second)
        .expect("a third link");
    assert_eq!(browser.get(&third).await.status, StatusCode::OK);
    server
        .execute("UPDATE account_links SET expires_at = 1")
        .await;
    let expired = browser.get(&third).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(
        expired.body.contains("Ask for a new link"),
        "{}",
        expired.body
    );

    // Hostile link paths get the same page, never a 500.
    for path in [
        "/accounts/reset/%00/x/",
        "/accounts/reset/LTE/abc/",
        &format!("/accounts/reset/NDI/{}/", "A".repeat(10_000)),
        "/accounts/reset/%3Cscript%3E/%22%3E%3Cimg%20onerror%3D1%3E/",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(!page.body.contains("<script>"), "{path}");
    }
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_and_mail_per_account() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let browser = server.browser();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(ask_reset(&browser, "ada@example.org").await.status);
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{statuses:?}"
    );
    assert_eq!(statuses[11], StatusCode::TOO_MANY_REQUESTS);
    // Ten requests, but the account was mailed three times.
    sink.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 3);
}

#[tokio::test]
async fn the_account_api_asks_for_a_reset_alike_for_any_address() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let client = reqwest::Client::new();
    let ask = |email: &str| {
        client
            .post(server.url("/api/password-reset/"))
            .json(&serde_json::json!({ "email": email }))
            .send()
    };
    let known = ask("ada@example.org").await.unwrap();
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    let known: Value = known.json().await.unwrap();
    let unknown: Value = ask("bob@example.org").await.unwrap().json().await.unwrap();
    assert_eq!(known, unknown);
    let bad = ask("</title><script>").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad: Value = bad.json().await.unwrap();
    assert!(
        bad["fields"]["email"].is_array() || bad["fields"]["email"].is_string(),
        "{bad}"
    );
    let mail = sink.wait_for(1).await.remove(0);
    let done = follow_reset(&server.browser(), &mail.link(&server.base), NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
}

/// Verifies through the mailed link: open it, then press the button.
async fn confirm(browser: &Browser, path: &str) -> crate::support::Page {
    let page = browser.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Confirm email address"), "{}", page.body);
    browser.post_form(path, &[]).await
}

#[tokio::test]
async fn following_the_verification_link_makes_email_verified_true() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    let browser = server.browser();
    let signed_up = sign_up(&browser, "ada", "ada@example.org").await;
    assert_eq!(
        signed_up.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_up.body
    );
    assert_eq!(signed_up.location(), Some("/accounts/signup/done/"));
    assert!(
        !browser.is_signed_in().await,
        "not signed in before verifying"
    );

    let (client_id, secret) = server.register(|_| {}).await;
    let secret = secret.unwrap();
    let me = server.browser();
    assert_eq!(
        me.sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // A code flow with `openid email`: the id_token's and userinfo's claims.
    let claims = || async {
        let verifier = "v".repeat(43);
        let challenge = gatehouse::oauth::pkce::s256(&verifier);
        let allowed = me
            .post_form(
                "/o/authorize/",
                &[
                    ("response_type", "code"),
                    ("client_id", &client_id),
                    ("redirect_uri", crate::support::REDIRECT_URI),
                    ("scope", "openid email"),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                    ("decision", "allow"),
                ],
            )
            .await;
        let back = url::Url::parse(allowed.location().expect("redirected")).unwrap();
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .expect("code")
            .1
            .into_owned();
        let tokens = crate::support::post(
            &server,
            "/o/token/",
            Some((&client_id, &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", crate::support::REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.json);
        let id_token = tokens.json["id_token"].as_str().unwrap().to_owned();
        let payload = id_token.split('.').nth(1).unwrap();
        let id_claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        let userinfo: Value = reqwest::Client::new()
            .get(server.url("/o/userinfo/"))
            .bearer_auth(tokens.json["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (id_claims, userinfo)
    };
    let (id_claims, userinfo) = claims().await;
    assert_eq!(id_claims["email_verified"], false);
    assert_eq!(userinfo["email_verified"], false);

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, "ada@example.org");
    let path = mail.link(&server.base);
    let confirmed = confirm(&browser, &path).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert!(
        confirmed.body.contains("is confirmed"),
        "{}",
        confirmed.body
    );

    let (id_claims, userinfo) = claims().await;
    assert_eq!(id_claims["email_verified"], true);
    assert_eq!(userinfo["email_verified"], true);

    // Used: the link does not work again.
    let again = browser.get(&path).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn signing_up_with_a_taken_address_looks_the_same_and_tells_its_owner() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let taken = sign_up(&server.browser(), "mallory", "ada@example.org").await;
    let new = sign_up(&server.browser(), "bob", "bob@example.org").await;
    assert_eq!(taken.status, new.status);
    assert_eq!(taken.location(), new.location());
    assert_eq!(server.count_rows("users").await, 2, "ada and bob");
    let mails = sink.wait_for(2).await;
    let notice = mails.iter().find(|m| m.to == "ada@example.org").unwrap();
    assert!(
        notice.subject.contains("tried to sign up"),
        "{}",
        notice.subject
    );
    assert!(notice.link(&server.base).starts_with("/accounts/reset/"));
    // A taken username is still said: the person must choose another.
    let name_taken = sign_up(&server.browser(), "ada", "other@example.org").await;
    assert_eq!(name_taken.status, StatusCode::BAD_REQUEST);
    assert!(name_taken.body.contains("That username is taken."));
}

#[tokio::test]
async fn a_new_address_waits_for_verification_and_the_old_one_is_told() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let me = server.browser();
    me.sign_in("ada", PASSWORD).await;
    let saved = me
        .post_form(
            "/accounts/profile/",
            &[
                ("action", "profile"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", "ada@lab.example"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/accounts/profile/?saved=email"));
    let profile = me.get("/accounts/profile/").await;
    assert!(
        profile.body.contains("ada@lab.example is waiting"),
        "{}",
        profile.body
    );
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE email = 'ada@example.org' AND email_verified")
            .await,
        1,
        "the verified address stays until the new one is verified"
    );
    let mails = sink.wait_for(2).await;
    let link = mails.iter().find(|m| m.to == "ada@lab.example").unwrap();
    let notice = mails.iter().find(|m| m.to == "ada@example.org").unwrap();
    assert!(notice.text.contains("ada@lab.example"), "{}", notice.text);
    let confirmed = confirm(&me, &link.link(&server.base)).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE email = 'ada@lab.example' AND email_verified")
            .await,
        1
    );
}

#[tokio::test]
async fn resending_verification_is_throttled() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", false).await;
    let me = server.browser();
    me.sign_in("ada", PASSWORD).await;
    let profile = me.get("/accounts/profile/").await;
    assert!(
        profile.body.contains("Resend verification email"),
        "{}",
        profile.body
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            me.post_form("/accounts/profile/", &[("action", "resend")])
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    sink.wait_for(3).await;
}

#[tokio::test]
async fn with_required_verification_sign_in_waits_for_the_link() {
    let sink = Sink::start();
    let server = server(&sink, |c| c.require_verified_email = true).await;
    account(&server, "ada", false).await;
    let browser = server.browser();
    let refused = browser.sign_in("ada", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("Confirm your email address first"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Resend verification email"));
    // A wrong password still says only that.
    assert_eq!(
        browser.sign_in("ada", "wrong password!").await.status,
        StatusCode::UNAUTHORIZED
    );

    let resent = browser
        .post_form(
            "/accounts/confirm-email/resend/",
            &[("email", "ada@example.org")],
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let mail = sink.wait_for(1).await.remove(0);
    confirm(&browser, &mail.link(&server.base)).await;
    assert_eq!(
        browser.sign_in("ada", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn mail_waits_for_a_dead_smtp_server_and_survives_a_restart() {
    let mut sink = Sink::start();
    let mut server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    sink.stop();
    let browser = server.browser();
    let started = Instant::now();
    let asked = ask_reset(&browser, "ada@example.org").await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the request did not wait for SMTP"
    );
    // Tried and failed at least once, still queued. (A try counts in
    // `attempts` from the moment it is claimed; its error is written once
    // it failed.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .scalar("SELECT COUNT(*) FROM mail_queue WHERE attempts > 0 AND last_error <> ''")
        .await
        == 0
    {
        assert!(Instant::now() < deadline, "never tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Gatehouse restarts; then the mail server comes back.
    server.restart().await;
    assert_eq!(server.count_rows("mail_queue").await, 1);
    sink.restart();
    // Each failed try doubles the wait (1 s, 2 s, 4 s, …): tries made while
    // the restarted server came up before the mail server can push the
    // next one past the usual 20 s. And a server stopped while it held
    // the message (claimed for a try, not yet marked failed) leaves it
    // leased for two minutes, which the restarted one respects (another
    // replica might be sending it). So this waits longer than the lease,
    // and says where the message stood if it never came.
    let deadline = Instant::now() + Duration::from_secs(180);
    while sink.messages().is_empty() {
        if Instant::now() >= deadline {
            let attempts = server
                .scalar("SELECT CAST(MAX(attempts) AS BIGINT) FROM mail_queue")
                .await;
            let next = server
                .scalar("SELECT MAX(next_attempt_at) FROM mail_queue")
                .await;
            panic!(
                "never delivered: {attempts} tries, next at {next}, now {}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = sink.messages().remove(0);
    assert_eq!(mail.to, "ada@example.org");
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.count_rows("mail_queue").await != 0 {
        assert!(Instant::now() < deadline, "sent mail stays queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = follow_reset(&server.browser(), &mail.link(&server.base), NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_smtp_url_mail_is_written_to_the_outbox_and_its_link_works() {
    let server = TestServer::start_with(|c| c.verify_email = true).await;
    let outbox = PathBuf::from(&server.state.config.mail_outbox);
    let browser = server.browser();
    let signed_up = sign_up(&browser, "ada", "ada@example.org").await;
    assert_eq!(signed_up.location(), Some("/accounts/signup/done/"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let file = loop {
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let eml: Vec<_> = files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        if !eml.is_empty() {
            assert_eq!(eml.len(), 1);
            break eml[0].clone();
        }
        assert!(Instant::now() < deadline, "no .eml in {}", outbox.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let raw = std::fs::read_to_string(file).unwrap();
    let mail = Mail::parse(&format!("X-RcptTo: ada@example.org\r\n{raw}"));
    let confirmed = confirm(&browser, &mail.link(&server.base)).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM users WHERE email_verified")
            .await,
        1
    );
}

#[tokio::test]
async fn staff_send_a_reset_from_the_admin_page() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    account(&server, "root", true).await;
    server.make_staff("root").await;
    let staff = server.browser();
    staff.sign_in("root", PASSWORD).await;
    let admin = staff.get("/admin/").await;
    assert!(admin.body.contains("Send password reset"), "{}", admin.body);
    let ada: i64 = server
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await;
    let sent = staff
        .post_form(
            "/admin/",
            &[
                ("user_id", &ada.to_string()),
                ("action", "send_reset"),
                ("q", ""),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, "ada@example.org");
    assert_eq!(
        server
            .scalar(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'password_reset_requested' \
                 AND actor_username = 'root'"
            )
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_posted_many_times_at_once_works_once() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    account(&server, "ada", true).await;
    let browser = server.browser();
    ask_reset(&browser, "ada@example.org").await;
    let path = sink.wait_for(1).await[0].link(&server.base);
    let posts = (0..20).map(|i| {
        let (browser, path) = (&browser, &path);
        async move {
            let password = format!("{NEW_PASSWORD} {i}");
            browser
                .post_form(
                    path,
                    &[
                        ("new_password", &password),
                        ("confirm_new_password", &password),
                    ],
                )
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(posts).await;
    let done = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(done, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'password_reset'")
            .await,
        1
    );
}

#[tokio::test]
async fn account_api_sign_ups_are_sent_their_verification_link_too() {
    let sink = Sink::start();
    let server = server(&sink, |_| {}).await;
    let created = reqwest::Client::new()
        .post(server.url("/api/signup/"))
        .json(&serde_json::json!({
            "username": "ada",
            "email": "ada@example.org",
            "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["email_verified"], false);
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, "ada@example.org");
    let confirmed = confirm(&server.browser(), &mail.link(&server.base)).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    // Operators' accounts are not mailed.
    account(&server, "bob", false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);
}
