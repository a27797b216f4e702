//! What the server tells every page: the signed-in user, the CSRF token and
//! the outcome of a refused form post. Plain data, safe for the browser.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in user as pages show it. No password hash, no ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
}

impl UserView {
    /// "First Last" when set, else the username.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name, self.last_name);
        let full = full.trim();
        if full.is_empty() {
            self.username.clone()
        } else {
            full.to_owned()
        }
    }
}

/// A form the server refused: which form, the message per field, and what
/// the user typed (never passwords), so the page can show them again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormFeedback {
    pub form: String,
    pub errors: BTreeMap<String, String>,
    pub values: BTreeMap<String, String>,
    /// A message about the form as a whole (e.g. throttling).
    pub message: Option<String>,
}

impl FormFeedback {
    /// Feedback for `form`, or empty when it concerns another form.
    pub fn for_form(&self, form: &str) -> FormFeedback {
        if self.form == form {
            self.clone()
        } else {
            FormFeedback::default()
        }
    }
    pub fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).cloned()
    }
    pub fn value(&self, field: &str) -> Option<String> {
        self.values.get(field).cloned()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalState {
    pub user: Option<UserView>,
    /// Echoed in every form post; the server compares it with its cookie.
    pub csrf_token: String,
    pub feedback: FormFeedback,
}

/// Reads the state the server's portal middleware attached to the request.
#[server(prefix = "/_portal", endpoint = "state")]
pub async fn fetch_portal_state() -> Result<PortalState, ServerFnError> {
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request context"))?;
    Ok(parts
        .extensions
        .get::<PortalState>()
        .cloned()
        .unwrap_or_default())
}

pub type PortalResource = Resource<Result<PortalState, ServerFnError>>;

/// One fetch per page load, shared by the header and the page.
pub fn provide_portal_state() {
    let resource: PortalResource = Resource::new(|| (), |_| fetch_portal_state());
    provide_context(resource);
}

pub fn use_portal_state() -> PortalResource {
    expect_context::<PortalResource>()
}
