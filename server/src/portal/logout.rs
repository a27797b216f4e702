//! POST `/accounts/logout/`.

use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;

use super::render;
use super::{cookies, csrf_refusal, current_session};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogoutForm {
    csrf_token: String,
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, form) =
        match render::read_form::<LogoutForm>(req, state.config.max_body_bytes).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
    if let Some(session) = current_session(&parts) {
        if let Err(e) = state.accounts.store().delete_session(&session.digest).await {
            return render::internal_error(e);
        }
        tracing::info!(user = session.user.id, "signed out");
    }
    let clear = cookies::clear(
        &state.config.session_cookie(),
        state.config.secure_cookies(),
    );
    render::see_other(&format!("{}?signed_out=1", app::paths::LOGIN), &[clear])
}
