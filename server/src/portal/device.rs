//! POST `/device/`: the code a person typed, then their decision.
//!
//! Without `decision` the post looks the code up and, when it names a
//! pending device sign-in, renders the confirmation (app and scopes). With
//! `decision=allow|deny` it looks the code up again and records the
//! decision. Both lookups count wrong codes against the session, the
//! address and the whole server (see `OAuthService::find_device`).

use axum::extract::State;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderValue, StatusCode};
use gatehouse::account::FieldErrors;
use gatehouse::oauth::service::DeviceEntryError;
use serde::Deserialize;

use super::extract::{Answer, PortalError, SignedInForm};
use super::render::{self, Refusal};
use super::views::device_view;
use crate::http::{client_addr, now, origin};
use crate::state::AppState;
use gatehouse::audit::{Event, EventKind};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeviceForm {
    user_code: String,
    decision: String,
}

pub async fn submit(State(state): State<AppState>, post: SignedInForm<DeviceForm>) -> Answer {
    let SignedInForm {
        mut parts,
        form,
        session,
    } = post;
    let decision = match form.decision.as_str() {
        "" => None,
        "allow" => Some(true),
        "deny" => Some(false),
        _ => return Err(PortalError::BadForm),
    };
    let addr = client_addr(&state, &parts);
    let refuse = |message: Option<String>, error: Option<&'static str>, status| Refusal {
        form: "device",
        errors: error
            .map(|e| FieldErrors::one("user_code", e))
            .unwrap_or_default(),
        message,
        values: vec![("user_code", form.user_code.chars().take(64).collect())],
        status,
    };
    let device = match state
        .oauth
        .find_device(&form.user_code, session.digest.as_str(), &addr, now())
        .await
    {
        Ok(d) => d,
        Err(DeviceEntryError::Invalid) => {
            let why = if form.user_code.trim().is_empty() {
                "Enter the code your device shows."
            } else {
                "This code is not valid. Check it against your device; codes expire after a few minutes and work once."
            };
            let refusal = refuse(None, Some(why), StatusCode::BAD_REQUEST);
            return Ok(render::refused(&state, parts, refusal).await);
        }
        Err(DeviceEntryError::Throttled(wait)) => {
            let message = format!("Too many wrong codes. Try again in {wait} s.");
            let refusal = refuse(Some(message), None, StatusCode::TOO_MANY_REQUESTS);
            return Ok(render::refused(&state, parts, refusal).await);
        }
        Err(DeviceEntryError::Internal(e)) => return Err(PortalError::internal(e)),
    };
    let Some(allow) = decision else {
        if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
            page.device = Some(device_view(&device));
        }
        let mut response = render::page(&state, parts, StatusCode::OK).await;
        // Clickjacking defence: this page's button grants access.
        response.headers_mut().insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        return Ok(response);
    };
    let approved_by = allow.then_some((session.user.id, session.signed_in_at));
    let event = Event::new(EventKind::DeviceApproved, now(), &origin(&state, &parts))
        .user(session.user.id, &session.user.username);
    if !state
        .oauth
        .decide_device(&device, approved_by, &event)
        .await?
    {
        let refusal = refuse(
            None,
            Some("This code has expired or was already used. Start again on your device."),
            StatusCode::BAD_REQUEST,
        );
        return Ok(render::refused(&state, parts, refusal).await);
    }
    let result = if allow { "approved" } else { "denied" };
    tracing::info!(client_id = %device.app.client_id, result, "device sign-in decided");
    let done = format!("{}?result={result}", app::paths::DEVICE);
    Ok(render::see_other(&done, &[]))
}
