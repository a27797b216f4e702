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

/// One scope as the consent page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
}

/// What the consent page asks the user about: the app, the scopes, and the
/// authorization request itself (posted back with the decision, so the
/// decision applies to exactly the request the user saw).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    pub app_name: String,
    pub scopes: Vec<ScopeView>,
    /// Scheme and host the browser will be sent back to.
    pub redirect_origin: String,
    pub request: Vec<(String, String)>,
}

/// The RP-initiated logout confirmation: which app asks (if known) and the
/// request to post back with the confirmation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutView {
    pub app_name: Option<String>,
    pub request: Vec<(String, String)>,
}

/// The device page's confirmation step: which app the entered code
/// belongs to and what it asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub app_name: String,
    pub scopes: Vec<ScopeView>,
    /// As the device shows it (`XXXX-XXXX`).
    pub user_code: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalState {
    pub user: Option<UserView>,
    /// Echoed in every form post; the server compares it with its cookie.
    pub csrf_token: String,
    pub feedback: FormFeedback,
    /// Set on the consent page only.
    pub consent: Option<ConsentView>,
    /// Set on the logout confirmation page only.
    pub logout: Option<LogoutView>,
    /// Set on the device page once a valid code was entered.
    pub device: Option<DeviceView>,
}

/// The id of the `<script type="application/json">` element in the page's
/// head that carries the state to the browser for hydration.
pub const STATE_ELEMENT_ID: &str = "gatehouse-state";

/// The state of this request: on the server from the request the portal
/// middleware annotated, in the browser from the JSON the server embedded.
/// Synchronous on both sides, so pages need no `Suspense` to show it.
pub fn initial_portal_state() -> PortalState {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PortalState>().cloned())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .get_element_by_id(STATE_ELEMENT_ID)
            .and_then(|el| el.text_content())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }
}

/// The state as JSON safe to place inside a `<script>` element.
pub fn state_json(state: &PortalState) -> String {
    serde_json::to_string(state)
        .unwrap_or_else(|_| "{}".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Makes the state available to every component of this page.
pub fn provide_portal_state() {
    provide_context(initial_portal_state());
}

pub fn use_portal_state() -> PortalState {
    use_context::<PortalState>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let state = PortalState {
            csrf_token: "</script><script>alert(1)</script>".into(),
            ..Default::default()
        };
        let json = state_json(&state);
        assert!(!json.contains("</script"));
        let back: PortalState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
    }
}
