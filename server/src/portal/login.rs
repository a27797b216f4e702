//! POST `/accounts/login/`.

use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse::account::{FieldErrors, SignInError};
use serde::Deserialize;

use super::render::{self, Refusal};
use super::{client_addr, csrf_refusal, current_session, now, signed_in_redirect};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    csrf_token: String,
    login: String,
    password: String,
    next: String,
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, form) = match render::read_form::<LoginForm>(req, state.config.max_body_bytes).await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
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
        return render::refused(&state, parts, refusal).await;
    }
    let addr = client_addr(&state, &parts);
    let result = state
        .accounts
        .sign_in(&form.login, &form.password, &addr, now())
        .await;
    match result {
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
        Err(SignInError::Busy) => render::busy(),
        Err(SignInError::Internal(e)) => render::internal_error(e),
    }
}
