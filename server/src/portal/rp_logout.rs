//! `/o/logout/`: OpenID Connect RP-Initiated Logout 1.0.
//!
//! With an `id_token_hint` we issued to the signed-in user, the session
//! ends at once; without one (or for someone else), the user confirms on a
//! page first, so a stray link cannot sign anyone out. The browser then
//! goes to `post_logout_redirect_uri` (with `state`) only when that URI is
//! registered for the app the request names; otherwise to the sign-in
//! page.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::redirect;

use super::{cookies, csrf_refusal, current_session, render};
use crate::state::AppState;

pub async fn show(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match Params::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        Ok(params) => logout(&state, parts, &params, false).await,
        Err(_) => render::bad_form(),
    }
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
        return render::bad_form();
    };
    let Ok(params) = Params::parse(&bytes) else {
        return render::bad_form();
    };
    if params.get("confirm").ok().flatten() != Some("yes") {
        // A logout request sent as a form: the same request as a GET, which
        // carries the SameSite=Lax session cookie a cross-site POST lacks.
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.pairs())
            .finish();
        return render::see_other(&format!("{}?{query}", app::paths::RP_LOGOUT), &[]);
    }
    let token = params.get("csrf_token").ok().flatten().unwrap_or("");
    if let Some(refusal) = csrf_refusal(&state, &parts, token) {
        return refusal;
    }
    logout(&state, parts, &params, true).await
}

async fn logout(state: &AppState, mut parts: Parts, params: &Params, confirmed: bool) -> Response {
    let Ok(logout_state) = params.get("state").map(|v| v.map(str::to_owned)) else {
        return render::bad_form();
    };
    let single = |name: &str| params.get(name).ok().flatten().map(str::to_owned);
    // The hint counts only if we signed it and issued it here.
    let hint = single("id_token_hint")
        .and_then(|h| state.oauth.key_ring().verify(&h))
        .filter(|c| c["iss"].as_str() == Some(state.oauth.issuer()));
    let hint_client = hint
        .as_ref()
        .and_then(|c| c["aud"].as_str().map(str::to_owned));
    let client_id = match (single("client_id"), hint_client) {
        (Some(a), Some(b)) if a != b => {
            return render::plain_page(
                StatusCode::BAD_REQUEST,
                "Sign-out request refused",
                "The request names one application and its id_token_hint another.",
            )
        }
        (a, b) => a.or(b),
    };
    let app = match &client_id {
        Some(id) => match state.oauth.application(id).await {
            Ok(app) => app,
            Err(e) => return render::internal_error(e),
        },
        None => None,
    };
    let requested = single("post_logout_redirect_uri");
    let redirect_to = match (&app, &requested) {
        (Some(app), Some(uri)) if app.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            Some(uri.clone())
        }
        (_, Some(uri)) => {
            tracing::info!(
                uri,
                "post_logout_redirect_uri not registered: not redirecting"
            );
            None
        }
        _ => None,
    };

    let Some(session) = current_session(&parts) else {
        return done(state, redirect_to.as_deref(), logout_state.as_deref());
    };
    // Issued to this user for this very session (its sign-in time): an
    // id_token from an older session, leaked or not, only gets a question.
    let hint_is_this_session = hint.as_ref().is_some_and(|c| {
        c["sub"].as_str() == Some(session.user.id.to_string().as_str())
            && c["auth_time"].as_i64() == Some(session.signed_in_at)
    });
    if hint_is_this_session || confirmed {
        if let Err(e) = state.accounts.store().delete_session(&session.digest).await {
            return render::internal_error(e);
        }
        tracing::info!(user = session.user.id, client_id = ?client_id, "signed out by relying party");
        return done(state, redirect_to.as_deref(), logout_state.as_deref());
    }
    // Ask first. The confirmation carries the request minus the hint.
    let mut request: Vec<(String, String)> = Vec::new();
    for name in ["client_id", "post_logout_redirect_uri", "state"] {
        let value = if name == "client_id" {
            client_id.clone()
        } else {
            single(name)
        };
        if let Some(v) = value {
            request.push((name.to_owned(), v));
        }
    }
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.logout = Some(app::state::LogoutView {
            app_name: app.map(|a| a.name.clone()),
            request,
        });
    }
    parts.uri = axum::http::Uri::from_static(app::paths::RP_LOGOUT);
    render::page(state, parts, StatusCode::OK).await
}

/// Signed out: to the registered post-logout URI (with `state`), or to the
/// sign-in page.
fn done(state: &AppState, redirect_to: Option<&str>, logout_state: Option<&str>) -> Response {
    let clear = cookies::clear(
        &state.config.session_cookie(),
        state.config.secure_cookies(),
    );
    let location = match redirect_to {
        Some(uri) => match logout_state {
            Some(s) => redirect::with_query(uri, &[("state", s)]),
            None => uri.to_owned(),
        },
        None => format!("{}?signed_out=1", app::paths::LOGIN),
    };
    render::see_other(&location, &[clear])
}
