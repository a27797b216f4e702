//! The items API, protected by Gatehouse through the `gatehouse-resource`
//! kit. Configured by environment variables (README, "Protecting your
//! API"):
//!
//! ```text
//! ITEMS_ISSUER=http://127.0.0.1:3000 ITEMS_CLIENT_ID=... ITEMS_CLIENT_SECRET=... \
//!   cargo run --release -p gatehouse-resource --example items
//! ```

mod app;

use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run().await {
        eprintln!("items: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let settings = app::Settings::from_env()?;
    let router = app::router(&settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    tracing::info!(
        "items API on http://{}, tokens checked at {} (cached up to {} s)",
        settings.bind,
        settings.issuer,
        settings.cache_ttl.as_secs()
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = interrupt => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
    })
    .await
    .map_err(|e| e.to_string())
}
