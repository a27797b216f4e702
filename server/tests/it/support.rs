//! A running server and a browser-like client for the tests.

use std::sync::Arc;

use gatehouse_server::config::Config;
use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;

pub struct TestServer {
    pub base: String,
    /// Where `/metrics` is served (its own listener, as `metrics_bind`).
    pub metrics_base: String,
    pub state: gatehouse_server::state::AppState,
    task: tokio::task::JoinHandle<()>,
    // Dropped after the server (fields drop in order).
    _db: TestDb,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The PostgreSQL server the HTTP tests use instead of SQLite, from
/// `TEST_POSTGRES_URL` (`postgres://USER@HOST:PORT`), if set.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .map(|s| s.trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
}

/// A database of its own for one test: a SQLite file in `dir`, or a fresh
/// database on the PostgreSQL test server, dropped afterwards.
pub struct TestDb {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn fresh(dir: &std::path::Path) -> TestDb {
        let Some(server) = postgres_server() else {
            return TestDb {
                url: format!("sqlite://{}/gatehouse.db", dir.display()),
                postgres: None,
            };
        };
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "gh_it_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            rand::random::<u32>()
        );
        let admin = sqlx::PgPool::connect(&format!("{server}/postgres"))
            .await
            .expect("connect to the PostgreSQL test server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create a test database");
        admin.close().await;
        TestDb {
            url: format!("{server}/{name}"),
            postgres: Some((server, name)),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&format!("{server}/postgres")).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                    admin.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

/// The one integer `sql` returns from the database at `url`.
pub async fn scalar_at(url: &str, sql: &str) -> i64 {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("open db");
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("scalar");
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open db");
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("scalar");
        pool.close().await;
        n
    }
}

/// Runs one statement on the database at `url`.
pub async fn execute_at(url: &str, sql: &str) -> u64 {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("open db");
        let n = sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("execute")
            .rows_affected();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open db");
        let n = sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("execute")
            .rows_affected();
        pool.close().await;
        n
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let db = TestDb::fresh(dir.path()).await;
        let mut config = Config {
            bind: addr,
            public_url: format!("http://{addr}"),
            database_url: db.url.clone(),
            // Most tests sign up and go on signed in; tests/it/mail.rs
            // turns verification on.
            verify_email: false,
            mail_outbox: dir.path().join("outbox").display().to_string(),
            ..Config::default()
        };
        adjust(&mut config);
        let options = gatehouse_server::leptos_options(&config).expect("leptos options");
        let state = gatehouse_server::build_state(config, options)
            .await
            .expect("state");
        let shared = state.clone();
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind metrics");
        let metrics_addr = metrics.local_addr().unwrap();
        let task = tokio::spawn(async move {
            gatehouse_server::serve_with(state, listener, Some(metrics), std::future::pending())
                .await
                .expect("serve");
        });
        Self {
            base: format!("http://{addr}"),
            metrics_base: format!("http://{metrics_addr}"),
            state: shared,
            task,
            _db: db,
            _dir: dir,
        }
    }

    /// Stops serving and starts again on the same address and database,
    /// as a restarted process would (nothing kept in memory survives).
    pub async fn restart(&mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        let config = (*self.state.config).clone();
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .expect("bind again");
        let options = gatehouse_server::leptos_options(&config).expect("leptos options");
        let state = gatehouse_server::build_state(config, options)
            .await
            .expect("state");
        self.state = state.clone();
        self.task = tokio::spawn(async move {
            gatehouse_server::serve_with(state, listener, None, std::future::pending())
                .await
                .expect("serve");
        });
    }

    /// Registers an app (adjusted from a confidential code-flow app with a
    /// loopback redirect URI); returns its client id and secret.
    pub async fn register(
        &self,
        adjust: impl FnOnce(&mut gatehouse::oauth::registration::Registration<'static>),
    ) -> (String, Option<String>) {
        let mut form = gatehouse::oauth::registration::Registration {
            name: "Lab notebook",
            client_type: "confidential",
            grant_types: vec!["authorization_code", "refresh_token"],
            redirect_uris: vec![REDIRECT_URI],
            scopes: "openid profile email read write",
            ..Default::default()
        };
        adjust(&mut form);
        let (app, secret) = gatehouse::oauth::registration::validate(&form, 0).expect("valid app");
        let app = self
            .state
            .oauth
            .store()
            .create_application(
                &app,
                &gatehouse::audit::Event::new(
                    gatehouse::audit::EventKind::AppCreated,
                    1,
                    &Default::default(),
                ),
            )
            .await
            .expect("stored app");
        (app.client_id, secret)
    }

    /// Runs one SQL statement on the server's database directly (tests use
    /// it to move stored times into the past instead of sleeping).
    pub async fn execute(&self, sql: &str) -> u64 {
        execute_at(&self.state.config.database_url, sql).await
    }

    /// Rows in a table of the server's database, read directly.
    pub async fn count_rows(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// The one integer a query returns, read directly from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar_at(&self.state.config.database_url, sql).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with its own cookie jar that does not follow redirects.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            // A hung request fails its test instead of the whole run.
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap();
        Browser {
            client,
            base: self.base.clone(),
        }
    }

    /// Creates an account through the sign-up form; returns its browser,
    /// signed in.
    /// Gives an existing account staff rights (the admin page, staff actions).
    pub async fn make_staff(&self, username: &str) {
        // Test usernames only: letters and digits, nothing to quote.
        assert!(username.chars().all(|c| c.is_ascii_alphanumeric()));
        let sql = format!("UPDATE users SET is_staff = TRUE WHERE username = '{username}'");
        assert_eq!(self.execute(&sql).await, 1, "no account {username}");
    }

    pub async fn signed_up(&self, username: &str, password: &str) -> Browser {
        let browser = self.browser();
        let response = browser
            .post_form(
                "/accounts/signup/",
                &[
                    ("username", username),
                    ("email", &format!("{username}@example.org")),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        browser
    }
}

/// The redirect URI test apps register (nothing listens there).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v: &HeaderValue| v.to_str().ok().map(str::to_owned))
            .collect()
    }
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

async fn page(response: reqwest::Response) -> Page {
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap_or_default(),
    }
}

/// The value of the input with this id in a page.
pub fn input_value(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[at..tag_end];
    let v = tag.find("value=\"")? + 7;
    Some(tag[v..v + tag[v..].find('"')?].to_owned())
}

/// The value of the hidden `csrf_token` field in a page.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a csrf_token field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl Browser {
    pub async fn get(&self, path: &str) -> Page {
        page(
            self.client
                .get(format!("{}{}", self.base, path))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a form the way a browser does: the CSRF token from the page
    /// (fetched first) and the `Origin` of the server.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        // The token is per browser (cookie-bound), the same on every page.
        let form_page = self.get("/accounts/login/").await;
        let token = csrf_token(&form_page.body);
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, Some(&self.base.clone())).await
    }

    /// Posts exactly these fields, with the given `Origin` (if any).
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut request = self
            .client
            .post(format!("{}{}", self.base, path))
            .form(fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        page(request.send().await.unwrap()).await
    }

    pub async fn sign_in(&self, login: &str, password: &str) -> Page {
        self.post_form(
            "/accounts/login/",
            &[("login", login), ("password", password)],
        )
        .await
    }

    /// The person's part of an authorization: opens `auth_url` (the consent
    /// page must show), clicks Allow, and returns the parameters the
    /// browser was sent back with.
    pub async fn consent(&self, auth_url: &url::Url) -> std::collections::HashMap<String, String> {
        let path = format!("{}?{}", auth_url.path(), auth_url.query().unwrap_or(""));
        let page = self.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let mut fields: Vec<(String, String)> = auth_url.query_pairs().into_owned().collect();
        fields.push(("decision".into(), "allow".into()));
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let allowed = self.post_form("/o/authorize/", &fields).await;
        let back = url::Url::parse(allowed.location().expect("redirected")).unwrap();
        back.query_pairs().into_owned().collect()
    }

    /// Whether the profile page opens (true) or redirects to sign in.
    pub async fn is_signed_in(&self) -> bool {
        let profile = self.get("/accounts/profile/").await;
        match profile.status {
            StatusCode::OK => true,
            StatusCode::FOUND | StatusCode::SEE_OTHER => false,
            other => panic!("unexpected profile status {other}: {}", profile.body),
        }
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

/// Posts a form to a protocol endpoint, authenticating with Basic when a
/// secret is given.
pub async fn post(
    server: &TestServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Answer {
    let client = reqwest::Client::new();
    let mut req = client.post(server.url(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    answer(req.send().await.unwrap()).await
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    Answer {
        status,
        headers,
        json,
    }
}

pub fn assert_error(a: &Answer, status: StatusCode, code: &str) {
    assert_eq!(a.status, status, "{}", a.json);
    assert_eq!(a.json["error"], code, "{}", a.json);
    assert!(a.json["error_description"].is_string(), "{}", a.json);
}
