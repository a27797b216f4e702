//! The Gatehouse portal: Leptos pages, server-rendered and then hydrated.
//!
//! Forms are plain HTML forms posting to the server's form handlers, so they
//! work with JavaScript off and after hydration alike. What a page needs
//! from the server — who is signed in, the CSRF token, the errors and
//! values of a refused form — is [`state::PortalState`], read from the
//! request on the server.
//!
//! Pages are Leptos islands: rendered on the server only, with the parts
//! that do something in the browser — forms, fields that check as you
//! type, copy buttons, in-place lists — marked `#[island]`. Only those
//! are compiled to wasm and hydrated, each with its props serialized into
//! the page, so the bundle carries no router and no page code.

// Pages nest many views: without type erasure (`--cfg erase_components`,
// set in .cargo/config.toml, which a RUSTFLAGS variable replaces) their
// types exceed the default depth of 128.
#![recursion_limit = "256"]

pub mod actions;
pub mod components;
pub mod pages;
pub mod paths;
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use components::header::Header;
use components::title::PageTitle;
use pages::{
    ActivityPage, AdminPage, AppDetailPage, AppsPage, AuditPage, AuthorizedAppsPage,
    ConfirmEmailPage, ConsentPage, DevicePage, HomePage, LoginPage, LogoutPage, NotFound,
    PasswordResetCompletePage, PasswordResetConfirmPage, PasswordResetDonePage, PasswordResetPage,
    PlaygroundPage, ProfilePage, RegisterAppPage, ResendVerificationPage, SignupDonePage,
    SignupPage,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The response's CSP nonce (the server sends the matching header), so
    // the hydration scripts may run under `script-src 'nonce-…'`.
    #[cfg(feature = "ssr")]
    if let Some(nonce) = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<state::CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    // The stylesheet is the bundle's: `{pkg}/{output name}.css`, where a
    // release binary's output name carries the content hash.
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href=stylesheet />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    state::provide_portal_state();

    // In-order (async) rendering: every page is complete HTML, so forms work
    // without JavaScript (out-of-order streaming may leave "Loading…").
    view! {
        <PageTitle text="Gatehouse" />
        <Router>
            <Header />
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/accounts/signup/") view=SignupPage ssr=SsrMode::Async />
                    <Route path=path!("/accounts/signup/done/") view=SignupDonePage ssr=SsrMode::Async />
                    <Route path=path!("/accounts/login/") view=LoginPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/accounts/password_reset/")
                        view=PasswordResetPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/accounts/password_reset/done/")
                        view=PasswordResetDonePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/accounts/reset/done/")
                        view=PasswordResetCompletePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/accounts/reset/:uidb64/:token/")
                        view=PasswordResetConfirmPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/accounts/confirm-email/resend/")
                        view=ResendVerificationPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/accounts/confirm-email/:uidb64/:token/")
                        view=ConfirmEmailPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/accounts/profile/") view=ProfilePage ssr=SsrMode::Async />
                    <Route path=path!("/accounts/activity/") view=ActivityPage ssr=SsrMode::Async />
                    <Route path=path!("/o/authorize/") view=ConsentPage ssr=SsrMode::Async />
                    <Route path=path!("/o/logout/") view=LogoutPage ssr=SsrMode::Async />
                    <Route path=path!("/device/") view=DevicePage ssr=SsrMode::Async />
                    <Route path=path!("/o/applications/") view=AppsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/o/applications/register/")
                        view=RegisterAppPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/o/applications/:id/") view=AppDetailPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/o/playground/callback/")
                        view=PlaygroundPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/o/authorized_tokens/")
                        view=AuthorizedAppsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/admin/") view=AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit/") view=AuditPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
