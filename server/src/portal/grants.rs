//! `/o/authorized_tokens/`: the apps the signed-in user granted; a POST
//! with `app_id` revokes one (the grant and every token the app holds for
//! the user).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::apps::{date, signed_in};
use super::render;
use super::{csrf_refusal, now};
use crate::state::AppState;

pub async fn show(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let session = match signed_in(&parts) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let grants = match state.oauth.user_grants(session.user.id).await {
        Ok(g) => g,
        Err(e) => return render::internal_error(e),
    };
    let views = grants
        .iter()
        .map(|g| app::state::GrantView {
            app_id: g.application_id,
            app_name: g.app_name.clone(),
            scopes: g
                .scopes
                .iter()
                .map(|s| app::state::ScopeView {
                    name: s.as_str().to_owned(),
                    description: s.description().to_owned(),
                })
                .collect(),
            granted: date(g.granted_at),
            last_used: g.last_used_at.map(date),
        })
        .collect();
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.grants = Some(views);
    }
    render::page(&state, parts, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeForm {
    csrf_token: String,
    app_id: String,
}

pub async fn revoke(State(state): State<AppState>, req: Request) -> Response {
    let (parts, form) =
        match render::read_form::<RevokeForm>(req, state.config.max_body_bytes).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
    let session = match signed_in(&parts) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(app_id) = form.app_id.parse::<i64>() else {
        return render::bad_form();
    };
    // Only apps this user granted: another app's name is not revealed.
    let name = match state.oauth.user_grants(session.user.id).await {
        Ok(grants) => match grants.into_iter().find(|g| g.application_id == app_id) {
            Some(g) => g.app_name,
            None => return render::see_other(app::paths::AUTHORIZED_TOKENS, &[]),
        },
        Err(e) => return render::internal_error(e),
    };
    match state.oauth.revoke_grant(session.user.id, app_id).await {
        Ok(_) => {
            tracing::info!(
                user = session.user.id,
                app = app_id,
                at = now(),
                "grant revoked by the user"
            );
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("revoked", &name)
                .finish();
            render::see_other(&format!("{}?{query}", app::paths::AUTHORIZED_TOKENS), &[])
        }
        Err(e) => render::internal_error(e),
    }
}
