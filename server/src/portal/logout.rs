//! POST `/accounts/logout/`.

use axum::extract::State;

use super::extract::{Answer, CheckedForm};
use super::{cookies, current_session, render};
use crate::state::AppState;

/// Signing out needs nothing but the CSRF token every form carries.
#[derive(serde::Deserialize)]
pub struct LogoutForm {}

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { parts, form: _ }: CheckedForm<LogoutForm>,
) -> Answer {
    if let Some(session) = current_session(&parts) {
        state
            .accounts
            .store()
            .delete_session(&session.digest)
            .await?;
        tracing::info!(user = session.user.id, "signed out");
    }
    let clear = cookies::clear(
        &state.config.session_cookie(),
        state.config.secure_cookies(),
    );
    let signed_out = format!("{}?signed_out=1", app::paths::LOGIN);
    Ok(render::see_other(&signed_out, &[clear]))
}
