//! The Gatehouse server: configuration, storage, the portal's form handlers,
//! the HTTP router and the command line.

pub mod access;
pub mod api;
pub mod cli;
pub mod config;
mod cors;
pub mod http;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod net;
pub mod oauth;
pub mod portal;
pub mod site;
mod slash;
pub mod state;
pub mod store;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use gatehouse::account::{AccountService, SessionPolicy};
use gatehouse::oauth::service::{Lifetimes, OAuthService};
use gatehouse::password::{Cost, PasswordHasher, Pool};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::config::Config;
use crate::state::AppState;
use crate::store::PoolSettings;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] store::OpenError),
    #[error("password hasher: {0}")]
    Hasher(#[from] gatehouse::password::PasswordError),
    #[error("leptos configuration: {0}")]
    Leptos(String),
    #[error("start-up task failed: {0}")]
    Task(String),
    #[error("signing keys: {0}")]
    Keys(#[from] gatehouse::oidc::keyring::KeyRingError),
}

/// Opens (and migrates) the database and builds the shared state.
pub async fn build_state(
    config: Config,
    mut leptos_options: LeptosOptions,
) -> Result<AppState, StartError> {
    // A release binary serves the site built into it, and its pages link
    // to the bundle under its content-hashed names.
    let site = site::Site::embedded(&leptos_options.output_name, &leptos_options.site_pkg_dir);
    if let Some(site) = &site {
        leptos_options.output_name = site.hashed_output_name().into();
    }
    let pool = PoolSettings {
        max_connections: config.database_max_connections,
        acquire_timeout: Duration::from_secs(config.database_acquire_timeout_secs),
    };
    let store = store::open(&config.database_url, &pool).await?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    // Its constructor computes one hash: keep it off the async executor.
    let mut hash_pool = Pool::for_cores(cores);
    if config.password_hash_threads > 0 {
        hash_pool = Pool::for_cores(config.password_hash_threads);
    }
    if config.password_hash_queue > 0 {
        hash_pool.queue = config.password_hash_queue;
    }
    let proxies = net::ProxyList::parse(&config.trusted_proxies).map_err(StartError::Task)?;
    let hasher =
        tokio::task::spawn_blocking(move || PasswordHasher::new(Cost::default(), hash_pool))
            .await
            .map_err(|e| StartError::Task(e.to_string()))??;
    let sessions = SessionPolicy {
        idle_timeout: config.session_idle_timeout_secs,
        absolute_timeout: config.session_absolute_timeout_secs,
    };
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    let bell = mail_wake.clone();
    let accounts = AccountService::new(store.clone(), hasher, sessions)
        .with_identifier(config.account_identifier)
        .with_signup(config.signup, &config.signup_email_domains)
        .with_signups_per_address(config.signups_per_address)
        .with_mail(gatehouse::account::recovery::MailSettings {
            site: gatehouse::mail::Site {
                name: config.site_name.trim().to_owned(),
            },
            base_url: config.public_origin().to_owned(),
            verify_email: config.verify_email,
            require_verified_email: config.require_verified_email,
            verify_lifetime: config.verify_email_lifetime_secs,
            reset_lifetime: config.password_reset_lifetime_secs,
            queued: Arc::new(move || bell.notify_one()),
        });
    let app_cache = Duration::from_secs(config.application_cache_secs);
    let metadata = serde_json::to_string(&gatehouse::oauth::metadata::metadata(&config.public_url))
        .map_err(|e| StartError::Task(e.to_string()))?;
    let lifetimes = Lifetimes {
        code: config.code_lifetime_secs,
        access_token: config.access_token_lifetime_secs,
        refresh_token: config.refresh_token_lifetime_secs,
        refresh_token_max: config.refresh_token_max_lifetime_secs,
        device_code: config.device_code_lifetime_secs,
        device_interval: config.device_poll_interval_secs,
    };
    let sealer =
        gatehouse::oidc::sealing::Sealer::from_config(config.key_encryption_key.as_deref())
            .map_err(StartError::Task)?;
    let keys = gatehouse::oidc::keyring::load_or_create(&store, http::now(), &sealer).await?;
    let oauth = OAuthService::new(
        &config.public_url,
        store,
        accounts.clone(),
        lifetimes,
        app_cache,
        keys,
    );
    Ok(AppState::new(state::Shared {
        leptos_options,
        config: Arc::new(config),
        oauth,
        metadata: metadata.into(),
        sealer,
        accounts,
        metrics: Default::default(),
        proxies,
        site: site.map(Arc::new),
        mail_wake,
    }))
}

/// Leptos options for the site built by cargo-leptos (`target/site` unless
/// `LEPTOS_SITE_ROOT` says otherwise), listening where the config says.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, StartError> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| StartError::Leptos(e.to_string()))?
        .leptos_options;
    options.site_addr = config.bind;
    Ok(options)
}

/// Every route: the portal (Leptos pages and the handlers of their form
/// posts, behind the session/CSRF middleware), the protocol endpoints, the
/// account API, health and static files.
pub fn build_router(state: AppState) -> Router {
    // Walking the route tree flips process-wide Leptos state (it suppresses
    // resource loading while it runs), so do it once per process, never
    // while another server in the same process is rendering.
    type Listing = (Vec<leptos_axum::AxumRouteListing>, Vec<String>);
    static ROUTES: std::sync::OnceLock<Listing> = std::sync::OnceLock::new();
    let (routes, page_paths) = ROUTES
        .get_or_init(|| {
            let mut routes = generate_route_list(app::App);
            let paths = routes.iter().map(|r| r.path().to_owned()).collect();
            // Their GET handlers check the request or load the page's data
            // before rendering (see `portal::form_routes`).
            routes.retain(|r| !portal::renders_itself(r.path()));
            (routes, paths)
        })
        .clone();
    let slashed = std::sync::Arc::new(slash::Known::new(
        page_paths
            .iter()
            .map(String::as_str)
            .chain(oauth::PATHS.iter().copied())
            .chain(api::PATHS.iter().copied()),
    ));
    let options = state.leptos_options.clone();
    // Pages and the server functions (which `leptos_routes` registers
    // under `/fn/`) get the portal's backend as context.
    let backend = portal::backend(&state);
    let portal = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::prelude::provide_context(backend.clone()),
            move || app::shell(options.clone()),
        )
        .merge(portal::form_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            portal::limit_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            portal::portal_context,
        ));
    let not_found = {
        let options = state.leptos_options.clone();
        leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            || {},
            move |_| app::shell(options.clone()),
        )
    };
    // A path served with a trailing slash, asked for without it, is
    // redirected to it (as Django's APPEND_SLASH does); anything else is a
    // static file or the 404 page.
    let fallback = move |uri: axum::http::Uri,
                         state: axum::extract::State<AppState>,
                         req: axum::extract::Request| {
        let (slashed, not_found) = (slashed.clone(), not_found.clone());
        async move {
            if let Some(redirect) = slashed.redirect(req.method(), &uri) {
                return redirect;
            }
            let embedded = state
                .site
                .as_ref()
                .and_then(|site| site.respond(req.method(), uri.path(), req.headers()));
            match embedded {
                Some(file) => file,
                None => not_found(uri, state, req).await,
            }
        }
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(oauth::routes())
        .merge(api::routes(state.clone()))
        .merge(portal)
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::log,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// Headers every response carries. HTML pages get a Content-Security-Policy
/// whose script nonce is new for each response (the page's hydration
/// scripts carry it, see `app::shell`); `form-action` is left out on
/// purpose, as Chromium applies it to the redirects after a form post
/// (consent, sign-in) that end at a client's redirect URI.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use base64::Engine as _;
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    req.extensions_mut()
        .insert(app::state::CspNonce(nonce.clone()));
    let mut response = next.run(req).await;
    let html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = response.headers_mut();
    h.entry(X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    let csp = if html {
        HeaderValue::from_str(&format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        ))
        .ok()
    } else {
        Some(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ))
    };
    if let Some(csp) = csp {
        h.insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    if let Some(hsts) = state.config.hsts() {
        if let Ok(v) = HeaderValue::from_str(&hsts) {
            h.insert(axum::http::header::STRICT_TRANSPORT_SECURITY, v);
        }
    }
    response
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.accounts.store().failure_counts(&["healthz"]).await {
        Ok(_) => (axum::http::StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}

/// `/readyz`: ready to serve traffic — the database answers, its schema is
/// the one this binary knows (not older, not newer: another replica may
/// have migrated it), and signing keys are loaded. 200 or 503, with each
/// check's outcome as JSON. `/healthz` only says the process is alive and
/// its database reachable.
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    let store = state.accounts.store();
    let expected = store::latest_migration();
    let database = match store.schema_version().await {
        Ok(v) if v == expected => "ok".to_owned(),
        Ok(v) => format!("schema at migration {v}, this binary expects {expected}"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check: database unreachable");
            "unreachable".to_owned()
        }
    };
    let ring = state.oauth.key_ring();
    let keys = if ring.published().is_empty() {
        "no signing keys loaded"
    } else {
        "ok"
    };
    let ready = database == "ok" && keys == "ok";
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": database,
        "signing_keys": keys,
    });
    http::json(status, body.to_string())
}

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests; also
/// serves `/metrics` on `metrics_bind` when that is set.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let metrics = match state.config.metrics_bind {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on metrics_bind {addr}: {e}"),
            )
        })?),
        None => None,
    };
    serve_with(state, listener, metrics, shutdown_signal()).await
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(state, listener, None, shutdown).await
}

/// The public listener, and `/metrics` alone on `metrics` (an address only
/// the monitoring reaches): metrics never share the public port.
pub async fn serve_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The background tasks live as long as this call: stopped when it
    // returns or is dropped (an in-process restart must not leave the old
    // sender running).
    let mut tasks = BackgroundTasks(Vec::new());
    tasks.0.push(tokio::spawn(housekeeping(
        state.accounts.clone(),
        state.oauth.clone(),
        state.config.audit_retention_days,
    )));
    tasks.0.push(tokio::spawn(reload_keys(state.clone())));
    match mail::transport(&state.config) {
        Ok(transport) => {
            let sender = mail::Sender {
                store: state.accounts.store().clone(),
                transport,
                from: state
                    .config
                    .mail_from
                    .parse()
                    .map_err(|e| std::io::Error::other(format!("mail_from: {e}")))?,
                retry_secs: state.config.mail_retry_secs,
                wake: state.mail_wake.clone(),
                base_url: state.config.public_origin().to_owned(),
            };
            tasks.0.push(tokio::spawn(sender.run()));
        }
        Err(e) => return Err(std::io::Error::other(format!("smtp_url: {e}"))),
    }
    if let Some(metrics) = metrics {
        let router = Router::new()
            .route("/metrics", get(metrics::serve))
            .with_state(state.clone());
        tracing::info!(bind = ?metrics.local_addr().ok(), "serving /metrics");
        tasks.0.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        }));
    }
    let store = state.accounts.store().clone();
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    let app = build_router(state);
    // Graceful shutdown waits for every open request; a client that never
    // finishes its own (a stalled upload) would hold the process forever.
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = signalled.send(());
    };
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .into_future();
    let served = tokio::select! {
        served = serving => served,
        () = async {
            if on_signal.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "requests still open after the shutdown grace period: stopping anyway"
            );
            Ok(())
        }
    };
    // In-flight requests are done: close the database cleanly (SQLite
    // checkpoints its WAL as its last connection closes).
    drop(tasks);
    store.close().await;
    tracing::info!("stopped: requests finished, database connections closed");
    served
}

/// Aborts its tasks when dropped.
struct BackgroundTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Every ten minutes, removes expired sessions, forgotten throttle
/// counters and expired tokens, so the tables only hold what is in force,
/// and audit events older than the retention period.
async fn housekeeping(accounts: AccountService, oauth: OAuthService, retention_days: i64) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        match accounts.delete_expired(http::now()).await {
            Ok((sessions, failures)) if sessions + failures > 0 => {
                tracing::info!(sessions, failures, "removed expired rows")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
        match oauth.clear_expired(http::now()).await {
            Ok(0) => {}
            Ok(tokens) => tracing::info!(tokens, "removed expired tokens and codes"),
            Err(e) => tracing::warn!(error = %e, "token housekeeping failed"),
        }
        match accounts.store().delete_expired_links(http::now()).await {
            Ok(0) => {}
            Ok(links) => tracing::info!(links, "removed expired mailed links"),
            Err(e) => tracing::warn!(error = %e, "link housekeeping failed"),
        }
        let before = http::now() - retention_days * 24 * 3600;
        match accounts.store().delete_events_before(before).await {
            Ok(0) => {}
            Ok(events) => tracing::info!(events, retention_days, "removed old audit events"),
            Err(e) => tracing::warn!(error = %e, "audit housekeeping failed"),
        }
    }
}

/// Reloads the signing keys every `key_refresh_secs`, so a rotation made
/// by another process (the CLI, another replica) is published and used.
async fn reload_keys(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(state.config.key_refresh_secs));
    every.tick().await;
    loop {
        every.tick().await;
        let store = state.oauth.store();
        match store
            .signing_keys(http::now())
            .await
            .map(|keys| gatehouse::oidc::keyring::KeyRing::from_stored(&keys, &state.sealer))
        {
            Ok(Ok(ring)) => state.oauth.set_key_ring(ring),
            Ok(Err(e)) => tracing::warn!(error = %e, "reloading signing keys failed"),
            Err(e) => tracing::warn!(error = %e, "reloading signing keys failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
