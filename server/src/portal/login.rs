//! Signing in: POST `/accounts/login/` and the `sign_in` server function.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use gatehouse::account::{FieldErrors, SignInError};

use super::actions::{self, Decision, Outcome};
use super::extract::{Answer, CheckedForm, PortalError};
use super::render::Refusal;
use super::{current_session, sign_in_session};
use crate::http::{now, origin};
use crate::state::AppState;

pub use app::actions::SignInForm;

/// What the sign-in page says to the owner of an unverified address when
/// `require_verified_email` is on.
pub const UNVERIFIED: &str = "Confirm your email address first: follow the link in the message we \
     sent you when you signed up.";

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { parts, form }: CheckedForm<SignInForm>,
) -> Answer {
    let decision = decide(&state, &parts, form).await;
    actions::html(&state, parts, decision).await
}

pub async fn decide(state: &AppState, parts: &Parts, form: SignInForm) -> Decision {
    let values = vec![("login", form.login.clone()), ("next", form.next.clone())];
    let mut errors = FieldErrors::default();
    if form.login.trim().is_empty() {
        errors.add("login", "Enter your username or email.");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    let refused = |message: Option<String>, values, status| {
        Outcome::refused(Refusal {
            form: "login",
            errors: Default::default(),
            message,
            values,
            status,
        })
    };
    if !errors.is_empty() {
        return Ok(Outcome::refused(Refusal {
            form: "login",
            errors,
            message: None,
            values,
            status: StatusCode::BAD_REQUEST,
        }));
    }
    let result = state
        .accounts
        .sign_in(&form.login, &form.password, &origin(state, parts), now())
        .await;
    match result {
        Ok(user) => {
            tracing::info!(user = user.id, "signed in");
            let previous = current_session(parts);
            sign_in_session(state, previous.as_ref(), user.id, &form.next)
                .await
                .map(Outcome::Done)
        }
        Err(SignInError::InvalidCredentials) => Ok(refused(
            Some("That username or email and password do not match an account.".to_owned()),
            values,
            StatusCode::UNAUTHORIZED,
        )),
        Err(SignInError::Throttled(wait)) => Ok(Outcome::Refused {
            refusal: Refusal {
                form: "login",
                errors: Default::default(),
                message: Some(actions::too_many(wait)),
                values,
                status: StatusCode::TOO_MANY_REQUESTS,
            },
            retry_after: Some(wait),
        }),
        Err(SignInError::Unverified) => {
            let mut values = values;
            values.push(("unverified", "1".to_owned()));
            Ok(refused(
                Some(UNVERIFIED.to_owned()),
                values,
                StatusCode::FORBIDDEN,
            ))
        }
        Err(SignInError::Busy) => Err(PortalError::Busy),
        Err(SignInError::Internal(e)) => Err(PortalError::internal(e)),
    }
}
