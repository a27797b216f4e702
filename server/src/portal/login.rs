//! POST `/accounts/login/`.

use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use gatehouse::account::{FieldErrors, SignInError};
use serde::Deserialize;

use super::extract::{Answer, CheckedForm, PortalError};
use super::render::{self, Refusal};
use super::{current_session, signed_in_redirect};
use crate::http::{now, origin};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    login: String,
    password: String,
    next: String,
}

/// What the sign-in page says to the owner of an unverified address when
/// `require_verified_email` is on.
pub const UNVERIFIED: &str = "Confirm your email address first: follow the link in the message we \
     sent you when you signed up.";

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { parts, form }: CheckedForm<LoginForm>,
) -> Answer {
    let values = vec![("login", form.login.clone()), ("next", form.next.clone())];
    let mut errors = FieldErrors::default();
    if form.login.trim().is_empty() {
        errors.add("login", "Enter your username or email.");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    if !errors.is_empty() {
        let refusal = Refusal {
            form: "login",
            errors,
            message: None,
            values,
            status: StatusCode::BAD_REQUEST,
        };
        return Ok(render::refused(&state, parts, refusal).await);
    }
    let origin = origin(&state, &parts);
    let result = state
        .accounts
        .sign_in(&form.login, &form.password, &origin, now())
        .await;
    let answer = match result {
        Ok(user) => {
            tracing::info!(user = user.id, "signed in");
            let previous = current_session(&parts);
            signed_in_redirect(&state, previous.as_ref(), user.id, &form.next).await
        }
        Err(SignInError::InvalidCredentials) => {
            let refusal = Refusal {
                form: "login",
                errors: Default::default(),
                message: Some(
                    "That username or email and password do not match an account.".to_owned(),
                ),
                values,
                status: StatusCode::UNAUTHORIZED,
            };
            render::refused(&state, parts, refusal).await
        }
        Err(SignInError::Throttled(wait)) => {
            let refusal = Refusal {
                form: "login",
                errors: Default::default(),
                message: Some(format!("Too many attempts. Try again in {wait} s.")),
                values,
                status: StatusCode::TOO_MANY_REQUESTS,
            };
            let mut response = render::refused(&state, parts, refusal).await;
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait.max(1) as u64));
            response
        }
        Err(SignInError::Unverified) => {
            let mut values = values;
            values.push(("unverified", "1".to_owned()));
            let refusal = Refusal {
                form: "login",
                errors: Default::default(),
                message: Some(UNVERIFIED.to_owned()),
                values,
                status: StatusCode::FORBIDDEN,
            };
            render::refused(&state, parts, refusal).await
        }
        Err(SignInError::Busy) => return Err(PortalError::Busy),
        Err(SignInError::Internal(e)) => return Err(PortalError::internal(e)),
    };
    Ok(answer)
}
