//! POST `/accounts/signup/`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse::account::service::SignUp;
use gatehouse::account::FormError;
use serde::Deserialize;

use super::render::{self, Refusal};
use super::{client_addr, csrf_refusal, current_session, now, signed_in_redirect};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignupForm {
    csrf_token: String,
    username: String,
    email: String,
    password: String,
    confirm: String,
    next: String,
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, form) =
        match render::read_form::<SignupForm>(req, state.config.max_body_bytes).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
    let addr = client_addr(&state, &parts);
    let result = state
        .accounts
        .sign_up(
            SignUp {
                username: &form.username,
                email: &form.email,
                password: &form.password,
                confirm: &form.confirm,
            },
            &addr,
            now(),
        )
        .await;
    let values = vec![
        ("username", form.username.clone()),
        ("email", form.email.clone()),
        ("next", form.next.clone()),
    ];
    match result {
        Ok(user) => {
            tracing::info!(user = user.id, "account created");
            let previous = current_session(&parts);
            signed_in_redirect(&state, previous.as_ref(), user.id, &form.next).await
        }
        Err(FormError::Invalid(errors)) => {
            render::refused(
                &state,
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
        Err(FormError::Throttled(wait)) => {
            render::refused(
                &state,
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
        Err(FormError::Busy) => render::busy(),
        Err(FormError::Internal(e)) => render::internal_error(e),
    }
}
