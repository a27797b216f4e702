//! POST `/accounts/signup/`.

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse::account::service::SignUp;
use gatehouse::account::FormError;
use serde::Deserialize;

use super::extract::{Answer, CheckedForm, PortalError};
use super::render::{self, Refusal};
use super::{current_session, signed_in_redirect};
use crate::http::{now, origin};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignupForm {
    username: String,
    email: String,
    password: String,
    confirm: String,
    next: String,
}

/// What the sign-up page says when sign-up is closed.
pub const SIGNUP_CLOSED: &str = app::state::SIGNUP_CLOSED;

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { parts, form }: CheckedForm<SignupForm>,
) -> Answer {
    let origin = origin(&state, &parts);
    if state.config.verify_email {
        return verified_sign_up(state, parts, form, origin).await;
    }
    let result = state
        .accounts
        .sign_up(
            SignUp {
                username: &form.username,
                email: &form.email,
                password: &form.password,
                confirm: &form.confirm,
            },
            &origin,
            now(),
        )
        .await;
    let values = vec![
        ("username", form.username.clone()),
        ("email", form.email.clone()),
        ("next", form.next.clone()),
    ];
    let answer = match result {
        Ok(user) => {
            tracing::info!(user = user.id, "account created");
            let previous = current_session(&parts);
            signed_in_redirect(&state, previous.as_ref(), user.id, &form.next).await
        }
        Err(e) => return refusal(&state, parts, values, e).await,
    };
    Ok(answer)
}

/// With `verify_email`: a new account is not signed in; the person follows
/// the link mailed to them first. A new account and an address that
/// already has one get the same "check your email" page.
async fn verified_sign_up(
    state: AppState,
    parts: axum::http::request::Parts,
    form: SignupForm,
    origin: gatehouse::audit::Origin,
) -> Answer {
    let result = state
        .accounts
        .sign_up_verified(
            SignUp {
                username: &form.username,
                email: &form.email,
                password: &form.password,
                confirm: &form.confirm,
            },
            &origin,
            now(),
        )
        .await;
    let values = vec![
        ("username", form.username.clone()),
        ("email", form.email.clone()),
        ("next", form.next.clone()),
    ];
    match result {
        Ok(outcome) => {
            if let gatehouse::account::recovery::SignUpOutcome::Created(user) = &outcome {
                tracing::info!(user = user.id, "account created; verification link sent");
            }
            Ok(render::see_other(app::paths::SIGNUP_DONE, &[]))
        }
        Err(e) => refusal(&state, parts, values, e).await,
    }
}

/// The sign-up page again, with why.
async fn refusal(
    state: &AppState,
    parts: axum::http::request::Parts,
    values: Vec<(&'static str, String)>,
    error: FormError,
) -> Answer {
    let answer = match error {
        FormError::Invalid(errors) => {
            render::refused(
                state,
                parts,
                Refusal {
                    form: "signup",
                    errors,
                    message: None,
                    values,
                    status: StatusCode::BAD_REQUEST,
                },
            )
            .await
        }
        FormError::Throttled(wait) => {
            render::refused(
                state,
                parts,
                Refusal {
                    form: "signup",
                    errors: Default::default(),
                    message: Some(format!("Too many attempts. Try again in {wait} s.")),
                    values,
                    status: StatusCode::TOO_MANY_REQUESTS,
                },
            )
            .await
        }
        FormError::Closed => {
            render::refused(
                state,
                parts,
                Refusal {
                    form: "signup",
                    errors: Default::default(),
                    message: Some(SIGNUP_CLOSED.to_owned()),
                    values,
                    status: StatusCode::FORBIDDEN,
                },
            )
            .await
        }
        FormError::Busy => return Err(PortalError::Busy),
        FormError::Internal(e) => return Err(PortalError::internal(e)),
    };
    Ok(answer)
}
