//! Creating an account: POST `/accounts/signup/` and the `sign_up` server
//! function.

use axum::extract::State;
use axum::http::request::Parts;
use gatehouse::account::service::SignUp;

use super::actions::{self, Decision, Outcome, Success};
use super::extract::{Answer, CheckedForm};
use super::{current_session, sign_in_session};
use crate::http::{now, origin};
use crate::state::AppState;

pub use app::actions::SignUpForm;

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { parts, form }: CheckedForm<SignUpForm>,
) -> Answer {
    let decision = decide(&state, &parts, form).await;
    actions::html(&state, parts, decision).await
}

/// Creates the account. Without `verify_email` the new account is signed
/// in at once; with it, the person follows the link mailed to them first,
/// and a new account and an address that already has one get the same
/// "check your email" page.
pub async fn decide(state: &AppState, parts: &Parts, form: SignUpForm) -> Decision {
    let origin = origin(state, parts);
    let values = vec![
        ("username", form.username.clone()),
        ("email", form.email.clone()),
        ("next", form.next.clone()),
    ];
    let fields = SignUp {
        username: &form.username,
        email: &form.email,
        password: &form.password,
        confirm: &form.confirm,
    };
    if state.config.verify_email {
        return match state
            .accounts
            .sign_up_verified(fields, &origin, now())
            .await
        {
            Ok(outcome) => {
                if let gatehouse::account::recovery::SignUpOutcome::Created(user) = &outcome {
                    tracing::info!(user = user.id, "account created; verification link sent");
                }
                Ok(Outcome::Done(Success::go(app::paths::SIGNUP_DONE)))
            }
            Err(e) => Outcome::form_error("signup", values, e),
        };
    }
    match state.accounts.sign_up(fields, &origin, now()).await {
        Ok(user) => {
            tracing::info!(user = user.id, "account created");
            let previous = current_session(parts);
            sign_in_session(state, previous.as_ref(), user.id, &form.next)
                .await
                .map(Outcome::Done)
        }
        Err(e) => Outcome::form_error("signup", values, e),
    }
}
