//! The one state value every handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use gatehouse::account::AccountService;
use gatehouse::oauth::service::OAuthService;
use leptos::config::LeptosOptions;

use crate::config::Config;

#[derive(Clone, FromRef)]
pub struct AppState {
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
}
