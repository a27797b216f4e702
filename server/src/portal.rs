//! The account portal's server side: the middleware that tells every page
//! who is signed in, and the handlers of its form posts.
//!
//! Pages are Leptos components (crate `app`). Their forms post here; a
//! handler either redirects (303) on success or renders the same page again
//! with the errors beside the fields and the typed values kept.

mod actions;
mod activity;
mod admin;
mod apps;
mod authorize;
mod context;
mod cookies;
mod csrf;
mod device;
mod extract;
mod grants;
mod login;
mod logout;
mod playground;
mod profile;
mod recovery;
mod render;
mod rp_logout;
mod signup;
mod views;

use axum::routing::{get, post};
use axum::Router;

use crate::http::now;
use crate::state::AppState;

pub use actions::{backend, limit_body};
pub use context::{portal_context, CurrentSession};

/// The form-post routes (the GET side of their paths is Leptos's), and the
/// authorization endpoint, whose GET decides before rendering.
pub fn form_routes() -> Router<AppState> {
    Router::new()
        .route("/fn/{*name}", axum::routing::any(actions::unknown))
        .route(app::paths::SIGNUP, post(signup::submit))
        .route(app::paths::LOGIN, post(login::submit))
        .route(app::paths::PASSWORD_RESET, post(recovery::request_reset))
        .route(
            "/accounts/reset/{uidb64}/{token}/",
            get(recovery::show_reset).post(recovery::reset),
        )
        .route(app::paths::CONFIRM_EMAIL_RESEND, post(recovery::resend))
        .route(
            "/accounts/confirm-email/{uidb64}/{token}/",
            get(recovery::show_confirm).post(recovery::confirm),
        )
        .route(app::paths::LOGOUT, post(logout::submit))
        .route(app::paths::PROFILE, post(profile::submit))
        .route(app::paths::DEVICE, post(device::submit))
        .route(app::paths::APPLICATIONS, get(apps::list))
        .route(
            app::paths::REGISTER_APP,
            get(apps::register_form).post(apps::register),
        )
        .route("/o/applications/{id}/", get(apps::show).post(apps::act))
        .route(
            app::paths::PLAYGROUND_CALLBACK,
            get(playground::show).post(playground::exchange),
        )
        .route(
            app::paths::AUTHORIZED_TOKENS,
            get(grants::show).post(grants::revoke),
        )
        .route(app::paths::ADMIN, get(admin::show).post(admin::act))
        .route(app::paths::ACTIVITY, get(activity::show))
        .route(app::paths::AUDIT, get(activity::audit))
        .route(
            app::paths::AUTHORIZE,
            get(authorize::show).post(authorize::decide),
        )
        .route(
            app::paths::RP_LOGOUT,
            get(rp_logout::show).post(rp_logout::submit),
        )
}

/// Whether the GET of `path` (as Leptos lists it) is served by a handler
/// here, which prepares the page state and then renders the page.
pub fn renders_itself(path: &str) -> bool {
    path == app::paths::AUTHORIZE
        || path == app::paths::RP_LOGOUT
        || path.starts_with(app::paths::APPLICATIONS)
        || path == app::paths::PLAYGROUND_CALLBACK
        || path == app::paths::AUTHORIZED_TOKENS
        || path == app::paths::ADMIN
        || path == app::paths::ACTIVITY
        || path == app::paths::AUDIT
        || (path.starts_with(app::paths::PASSWORD_RESET_LINK)
            && path != app::paths::PASSWORD_RESET_COMPLETE)
        || (path.starts_with(app::paths::CONFIRM_EMAIL_LINK)
            && path != app::paths::CONFIRM_EMAIL_RESEND)
}

/// Checks the post's origin and CSRF token against the cookie; returns the
/// refusal page when they fail.
pub(crate) fn csrf_refusal(
    state: &AppState,
    parts: &axum::http::request::Parts,
    form_token: &str,
) -> Option<axum::response::Response> {
    let cookie = parts
        .extensions
        .get::<context::CsrfCookie>()
        .and_then(|c| c.0.as_deref());
    csrf::check(
        &parts.headers,
        state.config.public_origin(),
        cookie,
        form_token,
    )
    .err()
    .map(|why| {
        tracing::info!(?why, path = %parts.uri.path(), "form post refused by CSRF check");
        render::csrf_rejected()
    })
}

/// The session the middleware found for this request.
pub(crate) fn current_session(parts: &axum::http::request::Parts) -> Option<CurrentSession> {
    parts
        .extensions
        .get::<Option<CurrentSession>>()
        .cloned()
        .flatten()
}

/// Signs `user_id` in: ends the session the browser had (the id is never
/// reused across a sign-in), starts a new one, and goes to `next`.
pub(crate) async fn sign_in_session(
    state: &AppState,
    previous: Option<&CurrentSession>,
    user_id: i64,
    next: &str,
) -> Result<actions::Success, extract::PortalError> {
    if let Some(old) = previous {
        state.accounts.store().delete_session(&old.digest).await?;
    }
    let secret = state
        .accounts
        .start_session(user_id, now())
        .await
        .map_err(extract::PortalError::internal)?;
    let cookie = cookies::set(
        &state.config.session_cookie(),
        secret.expose(),
        state.config.secure_cookies(),
        None,
    );
    Ok(actions::Success {
        cookies: vec![cookie],
        ..actions::Success::go(gatehouse::next::next_or_default(Some(next)))
    })
}

/// The app with this id (as typed in the path) if `user_id` owns it.
pub(crate) async fn owned_app(
    state: &AppState,
    user_id: i64,
    id: &str,
) -> Result<Option<gatehouse::oauth::client::Application>, gatehouse::store::StoreError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let app = state.oauth.store().application_by_id(id).await?;
    Ok(app.filter(|a| a.owner_id == Some(user_id)))
}
