//! `/o/authorized_tokens/`: the apps the signed-in user granted; a POST
//! with `app_id` revokes one (the grant and every token the app holds for
//! the user).

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::actions::{self, Decision, Outcome, Success};
use super::extract::{signed_in, Answer, PortalError, SignedIn, SignedInForm};
use super::render;
use super::views::grant_view;
use crate::http::now;
use crate::state::AppState;

pub use app::actions::RevokeForm;

pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    req: Request,
) -> Answer {
    let (mut parts, _) = req.into_parts();
    let grants = state.oauth.user_grants(session.user.id).await?;
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.grants = Some(grants.iter().map(grant_view).collect());
    }
    Ok(render::page(&state, parts, StatusCode::OK).await)
}

pub async fn revoke(State(state): State<AppState>, post: SignedInForm<RevokeForm>) -> Answer {
    let SignedInForm { form, parts, .. } = post;
    let decision = decide(&state, &parts, form).await;
    actions::html(&state, parts, decision).await
}

/// Withdraws the consent the signed-in person gave the app, and every
/// token it holds for them.
pub async fn decide(state: &AppState, parts: &Parts, form: RevokeForm) -> Decision {
    let session = signed_in(parts)?;
    let app_id = form
        .app_id
        .parse::<i64>()
        .map_err(|_| PortalError::BadForm)?;
    // Only apps this user granted: another app's name is not revealed.
    let grants = state.oauth.user_grants(session.user.id).await?;
    let Some((name, client_id)) = grants
        .into_iter()
        .find(|g| g.application_id == app_id)
        .map(|g| (g.app_name, g.client_id))
    else {
        return Ok(Outcome::Done(Success::stay(
            app::paths::AUTHORIZED_TOKENS,
            "That application no longer has access.",
        )));
    };
    let event = gatehouse::audit::Event::new(
        gatehouse::audit::EventKind::ConsentWithdrawn,
        now(),
        &crate::http::origin(state, parts),
    )
    .user(session.user.id, &session.user.username)
    .client(&client_id);
    state
        .oauth
        .revoke_grant(session.user.id, app_id, &event)
        .await?;
    tracing::info!(
        user = session.user.id,
        app = app_id,
        at = now(),
        "grant revoked by the user"
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("revoked", &name)
        .finish();
    let done = format!("{}?{query}", app::paths::AUTHORIZED_TOKENS);
    Ok(Outcome::Done(Success::stay(
        done,
        app::state::revoked_message(&name),
    )))
}
