//! The portal's actions, decided once and answered two ways.
//!
//! Each action (sign-in, sign-up, the profile's forms, revoking an app)
//! is one `decide` function taking the app crate's form type and giving an
//! [`Outcome`]. A form posted without JavaScript gets it as a page
//! ([`html`]: 303, or the page again with the errors); the hydrated page's
//! server-function call gets it as data ([`Backend`]: the same status
//! code, `Set-Cookie` and `Retry-After`, with a JSON body).

use std::collections::BTreeMap;
use std::sync::Arc;

use app::actions::backend::{PortalBackend, Reply};
use app::actions::{Action, ActionError, Done, UsernameQuery};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse::account::{FieldErrors, FormError};

use super::extract::{Answer, PortalError};
use super::render::{self, Refusal};
use super::{admin, apps, csrf_refusal, device, grants, login, profile, signup};
use crate::http::{now, origin};
use crate::state::AppState;

/// A success: where to go and the cookies to set on the way.
pub struct Success {
    /// The next page (the 303's `Location` without JavaScript).
    pub location: String,
    pub cookies: Vec<String>,
    /// Said in place to a hydrated page, which then stays where it is
    /// (`location` is for the page load without JavaScript).
    pub in_place: Option<String>,
    /// The signed-in person after the change, for a page that stays.
    pub user: Option<app::state::UserView>,
}

impl Success {
    /// Go to `location`, with or without JavaScript.
    pub fn go(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            cookies: Vec::new(),
            in_place: None,
            user: None,
        }
    }

    /// Without JavaScript go to `location`; with it, say `message` in place.
    pub fn stay(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            in_place: Some(message.into()),
            ..Self::go(location)
        }
    }
}

/// What an action came to.
pub enum Outcome {
    Done(Success),
    /// The device page's second step: confirm this device sign-in.
    ConfirmDevice(app::state::DeviceView),
    /// The Try-it panel's authorization request, with the cookie that
    /// keeps its state and verifier for the playground callback.
    TryIt {
        view: app::state::TryItView,
        cookie: String,
    },
    /// The form was refused; `retry_after` (seconds) with throttling.
    Refused {
        refusal: Refusal<'static>,
        retry_after: Option<i64>,
    },
}

pub type Decision = Result<Outcome, PortalError>;

impl Outcome {
    pub fn refused(refusal: Refusal<'static>) -> Self {
        Self::Refused {
            refusal,
            retry_after: None,
        }
    }

    /// The usual answer to a core form error on `form`, keeping `values`.
    pub fn form_error(
        form: &'static str,
        values: Vec<(&'static str, String)>,
        error: FormError,
    ) -> Decision {
        let (errors, message, status, retry_after) = match error {
            FormError::Invalid(errors) => {
                let message = errors
                    .is_empty()
                    .then(|| app::actions::UNREADABLE.to_owned());
                (errors, message, StatusCode::BAD_REQUEST, None)
            }
            FormError::Throttled(wait) => (
                FieldErrors::default(),
                Some(too_many(wait)),
                StatusCode::TOO_MANY_REQUESTS,
                Some(wait),
            ),
            FormError::Closed => (
                FieldErrors::default(),
                Some(app::state::SIGNUP_CLOSED.to_owned()),
                StatusCode::FORBIDDEN,
                None,
            ),
            FormError::Busy => return Err(PortalError::Busy),
            FormError::Internal(e) => return Err(PortalError::internal(e)),
        };
        Ok(Outcome::Refused {
            refusal: Refusal {
                form,
                errors,
                message,
                values,
                status,
            },
            retry_after,
        })
    }
}

/// What every throttled form says.
pub fn too_many(wait: i64) -> String {
    format!("Too many attempts. Try again in {wait} s.")
}

/// The refusal as the page shows it.
pub fn feedback(refusal: Refusal<'_>) -> app::state::FormFeedback {
    app::state::FormFeedback {
        form: refusal.form.to_owned(),
        errors: refusal
            .errors
            .0
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        values: refusal
            .values
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<BTreeMap<_, _>>(),
        message: refusal.message,
    }
}

/// The decision as a browser without JavaScript expects it.
pub async fn html(state: &AppState, parts: Parts, decision: Decision) -> Answer {
    match decision? {
        Outcome::Done(success) => Ok(render::see_other(&success.location, &success.cookies)),
        Outcome::ConfirmDevice(view) => {
            let mut parts = parts;
            if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
                page.device = Some(view);
            }
            let mut response = render::page(state, parts, StatusCode::OK).await;
            // Clickjacking defence: this page's button grants access.
            response.headers_mut().insert(
                axum::http::header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            );
            Ok(response)
        }
        Outcome::TryIt { view, cookie } => {
            let mut parts = parts;
            if let Some(page) = parts
                .extensions
                .get_mut::<app::state::PortalState>()
                .and_then(|p| p.app.as_mut())
            {
                page.try_it = Some(view);
            }
            let mut response = render::page(state, parts, StatusCode::OK).await;
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
            Ok(response)
        }
        Outcome::Refused {
            refusal,
            retry_after,
        } => {
            let mut response = render::refused(state, parts, refusal).await;
            if let Some(wait) = retry_after {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(wait.max(1) as u64));
            }
            Ok(response)
        }
    }
}

/// The server functions' side of the portal (see `app::actions`).
pub struct Backend(pub AppState);

/// Sets the server function's status and headers.
fn respond(status: StatusCode, headers: &[(axum::http::HeaderName, String)]) {
    if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                options.append_header(name.clone(), value);
            }
        }
    }
}

/// The page each action's form is on.
fn page_of(action: &Action) -> &'static str {
    match action {
        Action::SignIn(_) => app::paths::LOGIN,
        Action::SignUp(_) => app::paths::SIGNUP,
        Action::SaveProfile(_)
        | Action::ChangePassword(_)
        | Action::ResendVerification(_)
        | Action::DeleteAccount(_) => app::paths::PROFILE,
        Action::Revoke(_) => app::paths::AUTHORIZED_TOKENS,
        Action::Device(_) => app::paths::DEVICE,
        Action::Admin(_) => app::paths::ADMIN,
        Action::App(_) => app::paths::APPLICATIONS,
    }
}

/// A portal error as the server function's answer.
fn failed(error: PortalError, page: &str) -> ActionError {
    let (status, message) = match error {
        PortalError::SignIn { .. } => {
            let location = format!(
                "{}?next={}",
                app::paths::LOGIN,
                gatehouse::next::encode_next(page)
            );
            respond(StatusCode::UNAUTHORIZED, &[]);
            return ActionError::SignIn { location };
        }
        PortalError::Csrf => (
            StatusCode::FORBIDDEN,
            "This form was sent from another site or has expired. Reload the page and try again.",
        ),
        PortalError::BadForm => (StatusCode::BAD_REQUEST, app::actions::UNREADABLE),
        PortalError::NotFound => (StatusCode::NOT_FOUND, "This action does not exist."),
        PortalError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form was larger than Gatehouse accepts.",
        ),
        PortalError::Busy => {
            respond(
                StatusCode::SERVICE_UNAVAILABLE,
                &[(RETRY_AFTER, "2".to_owned())],
            );
            return ActionError::Failed {
                message:
                    "Gatehouse is busy checking other sign-ins. Please try again in a few seconds."
                        .to_owned(),
            };
        }
        PortalError::Internal(e) => {
            tracing::error!(error = %e, "portal action failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Gatehouse could not complete this request. Please try again in a moment.",
            )
        }
    };
    respond(status, &[]);
    ActionError::Failed {
        message: message.to_owned(),
    }
}

/// The decision as the server function's answer.
fn reply(decision: Decision, page: &str) -> Result<Done, ActionError> {
    match decision {
        Ok(Outcome::Done(success)) => {
            let cookies: Vec<_> = success
                .cookies
                .into_iter()
                .map(|c| (SET_COOKIE, c))
                .collect();
            respond(StatusCode::OK, &cookies);
            Ok(match success.in_place {
                Some(message) => Done {
                    message: Some(message),
                    user: success.user,
                    ..Done::default()
                },
                None => Done {
                    location: Some(success.location),
                    ..Done::default()
                },
            })
        }
        Ok(Outcome::TryIt { view, cookie }) => {
            respond(StatusCode::OK, &[(SET_COOKIE, cookie)]);
            Ok(Done {
                try_it: Some(view),
                ..Done::default()
            })
        }
        Ok(Outcome::ConfirmDevice(view)) => Ok(Done {
            device: Some(view),
            ..Done::default()
        }),
        Ok(Outcome::Refused {
            refusal,
            retry_after,
        }) => {
            let status = refusal.status;
            let headers: Vec<_> = retry_after
                .map(|wait| (RETRY_AFTER, wait.max(1).to_string()))
                .into_iter()
                .collect();
            respond(status, &headers);
            Err(ActionError::Refused(feedback(refusal)))
        }
        Err(error) => Err(failed(error, page)),
    }
}

impl PortalBackend for Backend {
    fn act(&self, parts: Parts, action: Action) -> Reply<'_, Done> {
        Box::pin(async move {
            let state = &self.0;
            let page = page_of(&action);
            if csrf_refusal(state, &parts, action.csrf_token()).is_some() {
                return Err(failed(PortalError::Csrf, page));
            }
            let decision = match action {
                Action::SignIn(form) => login::decide(state, &parts, form).await,
                Action::SignUp(form) => signup::decide(state, &parts, form).await,
                Action::SaveProfile(form) => profile::save(state, &parts, form).await,
                Action::ChangePassword(form) => profile::change_password(state, &parts, form).await,
                Action::ResendVerification(_) => profile::resend(state, &parts).await,
                Action::DeleteAccount(form) => profile::delete(state, &parts, form).await,
                Action::Revoke(form) => grants::decide(state, &parts, form).await,
                Action::Device(form) => device::decide(state, &parts, form).await,
                Action::Admin(form) => admin::decide(state, &parts, form).await,
                Action::App(form) => apps::decide(state, &parts, form).await,
            };
            reply(decision, page)
        })
    }

    fn admin_search(
        &self,
        parts: Parts,
        query: app::actions::AdminQuery,
    ) -> Reply<'_, app::state::AdminView> {
        Box::pin(async move {
            let state = &self.0;
            if csrf_refusal(state, &parts, &query.csrf_token).is_some() {
                return Err(failed(PortalError::Csrf, app::paths::ADMIN));
            }
            admin::search(state, &parts, query)
                .await
                .map_err(|error| failed(error, app::paths::ADMIN))
        })
    }

    fn username_available(&self, parts: Parts, query: UsernameQuery) -> Reply<'_, bool> {
        Box::pin(async move {
            let state = &self.0;
            if csrf_refusal(state, &parts, &query.csrf_token).is_some() {
                return Err(failed(PortalError::Csrf, app::paths::SIGNUP));
            }
            let result = state
                .accounts
                .username_available(&query.username, &origin(state, &parts), now())
                .await;
            match result {
                Ok(free) => Ok(free),
                Err(error) => {
                    let values = vec![("username", query.username)];
                    let decision = Outcome::form_error("signup", values, error);
                    reply(decision, app::paths::SIGNUP).map(|_| false)
                }
            }
        })
    }
}

/// The server functions' backend, for the context of every request
/// Leptos handles (pages and server functions alike).
pub fn backend(state: &AppState) -> app::actions::backend::Backend {
    app::actions::backend::Backend(Arc::new(Backend(state.clone())))
}

/// In front of the server functions (`/fn/…`, registered by
/// `leptos_routes`): the body limit the forms have (`max_body_bytes`),
/// answered in the functions' JSON format.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(PATH_PREFIX) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form was larger than Gatehouse accepts.",
        );
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Where the server functions live.
const PATH_PREFIX: &str = "/fn/";

/// `/fn/<anything else>`.
pub async fn unknown() -> Response {
    json_error(StatusCode::NOT_FOUND, "This action does not exist.")
}

/// An error answer in the server functions' format.
fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::to_string(&ActionError::Failed {
        message: message.to_owned(),
    })
    .unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
