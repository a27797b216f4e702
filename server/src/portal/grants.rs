//! `/o/authorized_tokens/`: the apps the signed-in user granted; a POST
//! with `app_id` revokes one (the grant and every token the app holds for
//! the user).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Answer, PortalError, SignedIn, SignedInForm};
use super::render;
use super::views::grant_view;
use crate::http::now;
use crate::state::AppState;

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

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    app_id: String,
}

pub async fn revoke(State(state): State<AppState>, post: SignedInForm<RevokeForm>) -> Answer {
    let SignedInForm {
        form,
        session,
        parts,
    } = post;
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
        return Ok(render::see_other(app::paths::AUTHORIZED_TOKENS, &[]));
    };
    let event = gatehouse::audit::Event::new(
        gatehouse::audit::EventKind::ConsentWithdrawn,
        now(),
        &crate::http::origin(&state, &parts),
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
    Ok(render::see_other(&done, &[]))
}
