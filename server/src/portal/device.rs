//! POST `/device/`: the code a person typed, then their decision.
//!
//! Without `decision` the post looks the code up and, when it names a
//! pending device sign-in, renders the confirmation (app and scopes). With
//! `decision=allow|deny` it looks the code up again and records the
//! decision. Both lookups count wrong codes against the session, the
//! address and the whole server (see `OAuthService::find_device`).

use axum::extract::{Request, State};
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse::account::FieldErrors;
use gatehouse::oauth::service::{DeviceEntryError, PendingDevice};
use serde::Deserialize;

use super::render::{self, Refusal};
use super::{client_addr, csrf_refusal, current_session, now};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeviceForm {
    csrf_token: String,
    user_code: String,
    decision: String,
}

fn device_view(device: &PendingDevice) -> app::state::DeviceView {
    app::state::DeviceView {
        app_name: device.app.name.clone(),
        scopes: device
            .scopes
            .iter()
            .map(|s| app::state::ScopeView {
                name: s.as_str().to_owned(),
                description: s.description().to_owned(),
            })
            .collect(),
        user_code: device.display_code.clone(),
    }
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, form) =
        match render::read_form::<DeviceForm>(req, state.config.max_body_bytes).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
    let Some(session) = current_session(&parts) else {
        let next = gatehouse::next::encode_next(app::paths::DEVICE);
        return render::see_other(&format!("{}?next={next}", app::paths::LOGIN), &[]);
    };
    let decision = match form.decision.as_str() {
        "" => None,
        "allow" => Some(true),
        "deny" => Some(false),
        _ => return render::bad_form(),
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
            return render::refused(&state, parts, refusal).await;
        }
        Err(DeviceEntryError::Throttled(wait)) => {
            let message = format!("Too many wrong codes. Try again in {wait} s.");
            let refusal = refuse(Some(message), None, StatusCode::TOO_MANY_REQUESTS);
            return render::refused(&state, parts, refusal).await;
        }
        Err(DeviceEntryError::Internal(e)) => return render::internal_error(e),
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
        return response;
    };
    let approved_by = allow.then_some((session.user.id, session.signed_in_at));
    match state.oauth.decide_device(&device, approved_by, now()).await {
        Ok(true) => {
            let result = if allow { "approved" } else { "denied" };
            tracing::info!(client_id = %device.app.client_id, result, "device sign-in decided");
            render::see_other(&format!("{}?result={result}", app::paths::DEVICE), &[])
        }
        Ok(false) => {
            let refusal = refuse(
                None,
                Some("This code has expired or was already used. Start again on your device."),
                StatusCode::BAD_REQUEST,
            );
            render::refused(&state, parts, refusal).await
        }
        Err(e) => render::internal_error(e),
    }
}
