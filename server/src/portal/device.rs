//! `/device/`: the code a person typed, then their decision; as a form
//! post and as the `device` server function.
//!
//! Without `decision` the code is looked up and, when it names a pending
//! device sign-in, the confirmation (app and scopes) is shown. With
//! `decision=allow|deny` it is looked up again and the decision recorded.
//! Both lookups count wrong codes against the session, the address and the
//! whole server (see `OAuthService::find_device`).

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use gatehouse::account::FieldErrors;
use gatehouse::oauth::service::DeviceEntryError;

use super::actions::{self, Decision, Outcome, Success};
use super::extract::{signed_in, Answer, PortalError, SignedInForm};
use super::render::Refusal;
use super::views::device_view;
use crate::http::{client_addr, now, origin};
use crate::state::AppState;
use gatehouse::audit::{Event, EventKind};

pub use app::actions::DeviceForm;

pub async fn submit(State(state): State<AppState>, post: SignedInForm<DeviceForm>) -> Answer {
    let SignedInForm { parts, form, .. } = post;
    let decision = decide(&state, &parts, form).await;
    actions::html(&state, parts, decision).await
}

pub async fn decide(state: &AppState, parts: &Parts, form: DeviceForm) -> Decision {
    let session = signed_in(parts)?;
    let decision = match form.decision.as_str() {
        "" => None,
        "allow" => Some(true),
        "deny" => Some(false),
        _ => return Err(PortalError::BadForm),
    };
    let addr = client_addr(state, parts);
    let typed: String = form.user_code.chars().take(64).collect();
    // Beside the code while it is being entered; for the whole form at
    // the decision, whose form shows no code field.
    let refuse = |why: &'static str| {
        let (errors, message) = match decision {
            None => (FieldErrors::one("user_code", why), None),
            Some(_) => (FieldErrors::default(), Some(why.to_owned())),
        };
        Outcome::refused(Refusal {
            form: "device",
            errors,
            message,
            values: vec![("user_code", typed.clone())],
            status: StatusCode::BAD_REQUEST,
        })
    };
    let found = state
        .oauth
        .find_device(&form.user_code, session.digest.as_str(), &addr, now())
        .await;
    let device = match found {
        Ok(d) => d,
        Err(DeviceEntryError::Invalid) => {
            let why = if form.user_code.trim().is_empty() {
                "Enter the code your device shows."
            } else {
                "This code is not valid. Check it against your device; codes expire after a few minutes and work once."
            };
            return Ok(refuse(why));
        }
        Err(DeviceEntryError::Throttled(wait)) => {
            return Ok(Outcome::Refused {
                refusal: Refusal {
                    form: "device",
                    errors: FieldErrors::default(),
                    message: Some(format!("Too many wrong codes. Try again in {wait} s.")),
                    values: vec![("user_code", typed)],
                    status: StatusCode::TOO_MANY_REQUESTS,
                },
                retry_after: Some(wait),
            });
        }
        Err(DeviceEntryError::Internal(e)) => return Err(PortalError::internal(e)),
    };
    let Some(allow) = decision else {
        return Ok(Outcome::ConfirmDevice(device_view(&device)));
    };
    let approved_by = allow.then_some((session.user.id, session.signed_in_at));
    let event = Event::new(EventKind::DeviceApproved, now(), &origin(state, parts))
        .user(session.user.id, &session.user.username);
    if !state
        .oauth
        .decide_device(&device, approved_by, &event)
        .await?
    {
        return Ok(refuse(
            "This code has expired or was already used. Start again on your device.",
        ));
    }
    let result = if allow { "approved" } else { "denied" };
    tracing::info!(client_id = %device.app.client_id, result, "device sign-in decided");
    Ok(Outcome::Done(Success::go(format!(
        "{}?result={result}",
        app::paths::DEVICE
    ))))
}
