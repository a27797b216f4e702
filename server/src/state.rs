//! The one state value every handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use gatehouse::account::AccountService;
use gatehouse::oauth::service::OAuthService;
use leptos::config::LeptosOptions;

use crate::config::Config;

/// What every handler shares, behind one `Arc`: axum's `State` extractor
/// and each middleware clone the state on every request, and a clone of
/// the fields themselves (the Leptos options' strings, the services'
/// handles) cost several allocations each time (perf: ~5% of the server's
/// CPU on the token endpoint). A clone is now one atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub accounts: AccountService,
    pub oauth: OAuthService,
    /// Seals and opens stored signing keys.
    pub sealer: gatehouse::oidc::sealing::Sealer,
    /// RFC 8414 metadata, serialised once at start.
    pub metadata: Arc<str>,
    /// Request counts for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Peers whose `X-Forwarded-For` is believed (`trusted_proxies`).
    pub proxies: crate::net::ProxyList,
    /// The site built into a release binary (None: read from disk).
    pub site: Option<Arc<crate::site::Site>>,
    /// Rung after a message is queued: wakes the mail sender.
    pub mail_wake: Arc<tokio::sync::Notify>,
}
