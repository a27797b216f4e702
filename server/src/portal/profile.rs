//! POST `/accounts/profile/`: the profile, password and delete forms, told
//! apart by their hidden `action` field.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse::account::{FieldErrors, FormError};
use serde::Deserialize;

use super::render::{self, Refusal};
use super::{cookies, csrf_refusal, current_session, now};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    csrf_token: String,
    action: String,
    first_name: String,
    last_name: String,
    email: String,
    current_password: String,
    new_password: String,
    confirm_new_password: String,
    delete_password: String,
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, form) =
        match render::read_form::<ProfileForm>(req, state.config.max_body_bytes).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
    let Some(session) = current_session(&parts) else {
        let login = format!("{}?next={}", app::paths::LOGIN, app::paths::PROFILE);
        return render::see_other(&login, &[]);
    };
    let user = &session.user;
    let (name, values, result, done) = match form.action.as_str() {
        "profile" => (
            "profile",
            vec![
                ("first_name", form.first_name.clone()),
                ("last_name", form.last_name.clone()),
                ("email", form.email.clone()),
            ],
            state
                .accounts
                .update_profile(user, &form.first_name, &form.last_name, &form.email)
                .await,
            format!("{}?saved=profile", app::paths::PROFILE),
        ),
        "password" => (
            "password",
            Vec::new(),
            state
                .accounts
                .change_password(
                    user,
                    Some(&session.digest),
                    &form.current_password,
                    &form.new_password,
                    &form.confirm_new_password,
                    now(),
                )
                .await,
            format!("{}?saved=password", app::paths::PROFILE),
        ),
        "delete" => {
            let result = state
                .accounts
                .delete_account(user, &form.delete_password, now())
                .await;
            if result.is_ok() {
                tracing::info!(user = user.id, "account deleted");
                let clear = cookies::clear(
                    &state.config.session_cookie(),
                    state.config.secure_cookies(),
                );
                return render::see_other(&format!("{}?deleted=1", app::paths::LOGIN), &[clear]);
            }
            ("delete", Vec::new(), result, String::new())
        }
        _ => (
            "profile",
            Vec::new(),
            Err(FormError::Invalid(FieldErrors::default())),
            String::new(),
        ),
    };
    let (errors, message, status) = match result {
        Ok(()) => return render::see_other(&done, &[]),
        Err(FormError::Invalid(errors)) => {
            let message = errors
                .is_empty()
                .then(|| "This form could not be read. Reload the page and try again.".to_owned());
            (errors, message, StatusCode::BAD_REQUEST)
        }
        Err(FormError::Throttled(wait)) => (
            FieldErrors::default(),
            Some(format!("Too many attempts. Try again in {wait} s.")),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(FormError::Busy) => return render::busy(),
        Err(FormError::Internal(e)) => return render::internal_error(e),
    };
    let refusal = Refusal {
        form: name,
        errors,
        message,
        values,
        status,
    };
    render::refused(&state, parts, refusal).await
}
