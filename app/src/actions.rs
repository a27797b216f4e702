//! The portal's actions as Leptos server functions, and the types they
//! share with the server.
//!
//! Each form of the portal is one of these types. The same value reaches
//! the server by two roads, and both end in the same server code
//! ([`backend::PortalBackend`], implemented by the server crate):
//! - without JavaScript the browser posts the form to its page's own URL
//!   (`/accounts/login/`…); the server decodes it as this type, acts, and
//!   answers with a redirect or the page again with the errors;
//! - once the page has hydrated, [`crate::components::form::PortalForm`]
//!   calls the server function (`/fn/…`) with the same fields and shows the
//!   answer in place, without a page load.
//!
//! Every form carries `csrf_token`; the server checks it, and the request's
//! `Origin` and `Sec-Fetch-Site`, on both roads alike.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::state::FormFeedback;

/// Where the server functions live.
pub const PREFIX: &str = "/fn";

/// `/accounts/login/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    pub csrf_token: String,
    /// A username or an email address.
    pub login: String,
    pub password: String,
    /// Where to go once signed in (a local path; anything else is ignored).
    pub next: String,
}

/// `/accounts/signup/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignUpForm {
    pub csrf_token: String,
    /// Empty when accounts are named by their email.
    pub username: String,
    pub email: String,
    pub password: String,
    pub confirm: String,
    pub next: String,
}

/// The profile form of `/accounts/profile/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub csrf_token: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// The password form of `/accounts/profile/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    pub csrf_token: String,
    pub current_password: String,
    pub new_password: String,
    pub confirm_new_password: String,
}

/// The delete form of `/accounts/profile/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteAccountForm {
    pub csrf_token: String,
    pub delete_password: String,
}

/// A form that carries nothing but its token (`Resend verification email`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    pub csrf_token: String,
}

/// `/o/authorized_tokens/`: take back what an app was allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    pub csrf_token: String,
    /// The app's id, as the page lists it.
    pub app_id: String,
}

/// `/device/`: the code a device shows, then (with `decision` `allow` or
/// `deny`) the person's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceForm {
    pub csrf_token: String,
    pub user_code: String,
    pub decision: String,
}

/// `/admin/`: what staff do to an account (`user_id`) or an app
/// (`app_id`): `activate`, `deactivate`, `signout`, `make_staff`,
/// `remove_staff`, `send_reset`, `review`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminForm {
    pub csrf_token: String,
    pub user_id: String,
    pub app_id: String,
    pub action: String,
    /// The search the page shows, kept across the action.
    pub q: String,
}

/// `/admin/`'s search: one page of the accounts matching `q`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminQuery {
    pub csrf_token: String,
    pub q: String,
    /// From 1; anything else reads as 1.
    pub page: String,
}

/// The developer portal's forms: `/o/applications/register/` and each
/// app's page (`/o/applications/<id>/`). `action` says which: `register`,
/// `edit`, `add_playground`, `rotate`, `delete` or `try`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppForm {
    pub csrf_token: String,
    /// The app's id as its page shows it (empty when registering).
    pub app_id: String,
    pub action: String,
    pub name: String,
    pub client_type: String,
    /// The ticked grant types, space-separated: the checkboxes repeat
    /// `grant_types`, and both roads join them into this one value.
    pub grant_types: String,
    /// One URI per line.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_origins: String,
    pub algorithm: String,
    /// `on` when ticked (staff only).
    pub skip_consent: String,
    /// `yes` when the deletion was confirmed.
    pub confirm: String,
    /// The Try-it panel: which redirect URI, which scope.
    pub redirect_uri: String,
    pub scope: String,
}

impl AppForm {
    /// The form's fields whose values repeat (checkboxes), which the
    /// browser joins with spaces before calling the server function.
    pub const REPEATED: &'static [&'static str] = &["grant_types"];

    /// The ticked grant types.
    pub fn grant_list(&self) -> Vec<&str> {
        self.grant_types.split_whitespace().collect()
    }
}

/// Is this username free? Asked by the sign-up page while typing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsernameQuery {
    pub csrf_token: String,
    pub username: String,
}

/// One of the portal's actions, as the server's code receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SignIn(SignInForm),
    SignUp(SignUpForm),
    SaveProfile(ProfileForm),
    ChangePassword(PasswordForm),
    ResendVerification(TokenForm),
    DeleteAccount(DeleteAccountForm),
    Revoke(RevokeForm),
    Device(DeviceForm),
    Admin(AdminForm),
    App(AppForm),
}

impl Action {
    /// The token the form carried.
    pub fn csrf_token(&self) -> &str {
        match self {
            Action::SignIn(f) => &f.csrf_token,
            Action::SignUp(f) => &f.csrf_token,
            Action::SaveProfile(f) => &f.csrf_token,
            Action::ChangePassword(f) => &f.csrf_token,
            Action::ResendVerification(f) => &f.csrf_token,
            Action::DeleteAccount(f) => &f.csrf_token,
            Action::Revoke(f) => &f.csrf_token,
            Action::Device(f) => &f.csrf_token,
            Action::Admin(f) => &f.csrf_token,
            Action::App(f) => &f.csrf_token,
        }
    }
}

/// An action that succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// The page to load next (sign-in, sign-up, deletion), if any.
    pub location: Option<String>,
    /// What to say in place when the person stays on the page.
    pub message: Option<String>,
    /// The signed-in person as they are now, when the action changed them.
    pub user: Option<crate::state::UserView>,
    /// The device sign-in an entered code names, to confirm (`/device/`).
    pub device: Option<crate::state::DeviceView>,
    /// The authorization request the Try-it panel built.
    pub try_it: Option<crate::state::TryItView>,
}

/// An action that did not happen, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ActionError {
    /// The form was refused: messages beside its fields, or one for the
    /// whole form (wrong password, throttling). HTTP 400, 401, 403 or 429.
    #[error("{}", .0.message.clone().unwrap_or_else(|| "Check the fields marked.".to_owned()))]
    Refused(FormFeedback),
    /// Nobody is signed in (401): sign in at `location`, then come back.
    #[error("Sign in first.")]
    SignIn { location: String },
    /// Anything else, in one sentence for the whole form: a refused origin
    /// or token (403), a body that is not this form (400), too much load
    /// (503), a failure on the server (500), the network.
    #[error("{message}")]
    Failed { message: String },
}

/// What the server says when the arguments cannot be read as the form.
pub const UNREADABLE: &str = "The form could not be read. Reload the page and try again.";

impl FromServerFnError for ActionError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = match value {
            // The body was not this form: the client's fault, so 400, never
            // the 500 the server-function layer would send.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                #[cfg(feature = "ssr")]
                backend::set_status(400);
                UNREADABLE.to_owned()
            }
            ServerFnErrorErr::Request(_) => {
                "Gatehouse could not be reached. Check your connection and try again.".to_owned()
            }
            ServerFnErrorErr::Registration(_) => "This action does not exist.".to_owned(),
            _ => "Gatehouse could not complete this request. Please try again in a moment."
                .to_owned(),
        };
        ActionError::Failed { message }
    }
}

impl ActionError {
    /// The feedback a form shows for this error.
    pub fn feedback(&self, form: &str) -> FormFeedback {
        match self {
            ActionError::Refused(feedback) => FormFeedback {
                form: form.to_owned(),
                ..feedback.clone()
            },
            other => FormFeedback {
                form: form.to_owned(),
                message: Some(other.to_string()),
                ..Default::default()
            },
        }
    }
}

#[server(prefix = "/fn", endpoint = "sign-in")]
pub async fn sign_in(#[server(flatten)] form: SignInForm) -> Result<Done, ActionError> {
    backend::act(Action::SignIn(form)).await
}

#[server(prefix = "/fn", endpoint = "sign-up")]
pub async fn sign_up(#[server(flatten)] form: SignUpForm) -> Result<Done, ActionError> {
    backend::act(Action::SignUp(form)).await
}

#[server(prefix = "/fn", endpoint = "save-profile")]
pub async fn save_profile(#[server(flatten)] form: ProfileForm) -> Result<Done, ActionError> {
    backend::act(Action::SaveProfile(form)).await
}

#[server(prefix = "/fn", endpoint = "change-password")]
pub async fn change_password(#[server(flatten)] form: PasswordForm) -> Result<Done, ActionError> {
    backend::act(Action::ChangePassword(form)).await
}

#[server(prefix = "/fn", endpoint = "resend-verification")]
pub async fn resend_verification(#[server(flatten)] form: TokenForm) -> Result<Done, ActionError> {
    backend::act(Action::ResendVerification(form)).await
}

#[server(prefix = "/fn", endpoint = "delete-account")]
pub async fn delete_account(
    #[server(flatten)] form: DeleteAccountForm,
) -> Result<Done, ActionError> {
    backend::act(Action::DeleteAccount(form)).await
}

#[server(prefix = "/fn", endpoint = "revoke")]
pub async fn revoke(#[server(flatten)] form: RevokeForm) -> Result<Done, ActionError> {
    backend::act(Action::Revoke(form)).await
}

#[server(prefix = "/fn", endpoint = "device")]
pub async fn device(#[server(flatten)] form: DeviceForm) -> Result<Done, ActionError> {
    backend::act(Action::Device(form)).await
}

#[server(prefix = "/fn", endpoint = "admin")]
pub async fn admin(#[server(flatten)] form: AdminForm) -> Result<Done, ActionError> {
    backend::act(Action::Admin(form)).await
}

/// Registers, edits, rotates the secret of, deletes or tries an app.
#[server(prefix = "/fn", endpoint = "app")]
pub async fn change_app(#[server(flatten)] form: AppForm) -> Result<Done, ActionError> {
    backend::act(Action::App(form)).await
}

/// One page of `/admin/`'s account list, for the search answered in place.
#[server(prefix = "/fn", endpoint = "admin-search")]
pub async fn admin_search(
    #[server(flatten)] query: AdminQuery,
) -> Result<crate::state::AdminView, ActionError> {
    backend::admin_search(query).await
}

/// Whether `username` is free. Answers only that (and a format error), and
/// is throttled per client address like sign-up.
#[server(prefix = "/fn", endpoint = "username-available")]
pub async fn username_available(
    #[server(flatten)] query: UsernameQuery,
) -> Result<bool, ActionError> {
    backend::username_available(query).await
}

/// The server's side of the server functions: the server crate provides a
/// [`PortalBackend`] as context when it runs them.
#[cfg(feature = "ssr")]
pub mod backend {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use leptos::prelude::*;

    use super::{Action, ActionError, AdminQuery, Done, UsernameQuery};

    pub type Reply<'a, T> = Pin<Box<dyn Future<Output = Result<T, ActionError>> + Send + 'a>>;

    /// What the server does for each action. `parts` is the request, as
    /// the portal's middleware annotated it (session, CSRF cookie).
    pub trait PortalBackend: Send + Sync + 'static {
        fn act(&self, parts: http::request::Parts, action: Action) -> Reply<'_, Done>;
        fn username_available(
            &self,
            parts: http::request::Parts,
            query: UsernameQuery,
        ) -> Reply<'_, bool>;
        fn admin_search(
            &self,
            parts: http::request::Parts,
            query: AdminQuery,
        ) -> Reply<'_, crate::state::AdminView>;
    }

    /// The backend as context.
    #[derive(Clone)]
    pub struct Backend(pub Arc<dyn PortalBackend>);

    fn context() -> Result<(Backend, http::request::Parts), ActionError> {
        let failed = || ActionError::Failed {
            message: "Gatehouse could not complete this request.".to_owned(),
        };
        let backend = use_context::<Backend>().ok_or_else(failed)?;
        let parts = use_context::<http::request::Parts>().ok_or_else(failed)?;
        Ok((backend, parts))
    }

    pub async fn act(action: Action) -> Result<Done, ActionError> {
        let (backend, parts) = context()?;
        backend.0.act(parts, action).await
    }

    pub async fn username_available(query: UsernameQuery) -> Result<bool, ActionError> {
        let (backend, parts) = context()?;
        backend.0.username_available(parts, query).await
    }

    pub async fn admin_search(query: AdminQuery) -> Result<crate::state::AdminView, ActionError> {
        let (backend, parts) = context()?;
        backend.0.admin_search(parts, query).await
    }

    /// Sets the status of the server function's response.
    pub fn set_status(status: u16) {
        if let (Some(options), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(status),
        ) {
            options.set_status(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_fields_and_take_the_form_name() {
        let mut feedback = FormFeedback::default();
        feedback
            .errors
            .insert("password".into(), "Use at least 10 characters.".into());
        let error = ActionError::Refused(feedback);
        let shown = error.feedback("signup");
        assert_eq!(shown.form, "signup");
        assert_eq!(
            shown.error("password").as_deref(),
            Some("Use at least 10 characters.")
        );
        let failed = ActionError::Failed {
            message: "Busy".into(),
        };
        assert_eq!(failed.feedback("login").message.as_deref(), Some("Busy"));
    }

    #[test]
    fn errors_travel_as_json() {
        let error = ActionError::SignIn {
            location: "/accounts/login/?next=%2F".into(),
        };
        let bytes = error.ser();
        assert_eq!(ActionError::de(bytes), error);
        // Anything that is not one of these reads as a failure, not a panic.
        let garbage = ActionError::de(leptos::server_fn::Bytes::from_static(b"<html>"));
        assert!(matches!(garbage, ActionError::Failed { .. }));
    }
}
