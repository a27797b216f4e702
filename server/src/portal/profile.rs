//! POST `/accounts/profile/`: the profile, password and delete forms, told
//! apart by their hidden `action` field.

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse::account::{FieldErrors, FormError};
use serde::Deserialize;

use super::cookies;
use super::extract::{Answer, PortalError, SignedInForm};
use super::render::{self, Refusal};
use crate::http::{now, origin};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    action: String,
    first_name: String,
    last_name: String,
    email: String,
    current_password: String,
    new_password: String,
    confirm_new_password: String,
    delete_password: String,
}

pub async fn submit(State(state): State<AppState>, post: SignedInForm<ProfileForm>) -> Answer {
    let SignedInForm {
        parts,
        form,
        session,
    } = post;
    let user = &session.user;
    let origin = origin(&state, &parts);
    let (name, values, result) = match form.action.as_str() {
        "profile" => (
            "profile",
            vec![
                ("first_name", form.first_name.clone()),
                ("last_name", form.last_name.clone()),
                ("email", form.email.clone()),
            ],
            state
                .accounts
                .update_profile(
                    user,
                    &form.first_name,
                    &form.last_name,
                    &form.email,
                    &origin,
                    now(),
                )
                .await
                .map(|pending| {
                    if pending.is_some() {
                        format!("{}?saved=email", app::paths::PROFILE)
                    } else {
                        format!("{}?saved=profile", app::paths::PROFILE)
                    }
                }),
        ),
        "password" => (
            "password",
            Vec::new(),
            state
                .accounts
                .change_password(
                    user,
                    Some(&session.digest),
                    gatehouse::account::PasswordChange {
                        current: &form.current_password,
                        new: &form.new_password,
                        confirm: &form.confirm_new_password,
                    },
                    &origin,
                    now(),
                )
                .await
                .map(|()| format!("{}?saved=password", app::paths::PROFILE)),
        ),
        "resend" => (
            "resend",
            Vec::new(),
            state
                .accounts
                .resend_verification(user, &origin, now())
                .await
                .map(|()| format!("{}?saved=verification", app::paths::PROFILE)),
        ),
        "delete" => {
            let result = state
                .accounts
                .delete_account(user, &form.delete_password, &origin, now())
                .await;
            let result = result.map(|()| String::new());
            if result.is_ok() {
                tracing::info!(user = user.id, "account deleted");
                let clear = cookies::clear(
                    &state.config.session_cookie(),
                    state.config.secure_cookies(),
                );
                let signed_out = format!("{}?deleted=1", app::paths::LOGIN);
                return Ok(render::see_other(&signed_out, &[clear]));
            }
            ("delete", Vec::new(), result)
        }
        _ => (
            "profile",
            Vec::new(),
            Err(FormError::Invalid(FieldErrors::default())),
        ),
    };
    let (errors, message, status) = match result {
        Ok(done) => return Ok(render::see_other(&done, &[])),
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
        Err(FormError::Busy) => return Err(PortalError::Busy),
        // Not a sign-up: never returned here.
        Err(FormError::Closed) => return Err(PortalError::BadForm),
        Err(FormError::Internal(e)) => return Err(PortalError::internal(e)),
    };
    let refusal = Refusal {
        form: name,
        errors,
        message,
        values,
        status,
    };
    Ok(render::refused(&state, parts, refusal).await)
}
