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
    /// The owner followed a verification link sent to `email`.
    #[serde(default)]
    pub email_verified: bool,
    /// A new address waiting for its verification link to be followed
    /// (the profile page only).
    #[serde(default)]
    pub pending_email: Option<String>,
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

/// A registered app as the developer portal and the admin page show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub scopes: String,
    pub algorithm: String,
    pub skip_consent: bool,
    /// False until staff review an app someone who is not staff registered.
    pub reviewed: bool,
    /// The owner's username (admin page).
    pub owner: Option<String>,
    /// Its secret is shorter than 32 characters (imported, or chosen by an
    /// operator): it should be rotated.
    pub weak_secret: bool,
    /// Redirect URIs in plain http on a public host, kept from an import.
    pub plain_http_redirect_uris: Vec<String>,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub created: String,
}

/// What starts a `state` the Try-it panel made in the browser, followed
/// by the app's id and a dot: `b.<id>.<random>`.
pub const BROWSER_TRY_STATE: &str = "b.";

/// An authorization URL the Try-it panel built, with its PKCE verifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TryItView {
    pub authorize_url: String,
    pub code_verifier: String,
}

/// `/o/applications/<id>/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPage {
    pub app: AppView,
    /// The client secret in clear, right after registration or rotation:
    /// shown this once.
    pub secret: Option<String>,
    pub try_it: Option<TryItView>,
    /// Gatehouse's own callback for the Try-it panel.
    pub playground_uri: String,
}

/// What the playground callback shows after exchanging a code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaygroundResult {
    /// The token endpoint's JSON answer, pretty-printed.
    pub token_response: String,
    /// The id_token's payload, pretty-printed (when there is one).
    pub id_token_claims: Option<String>,
    /// The userinfo answer, pretty-printed (when the token holds `openid`).
    pub userinfo: Option<String>,
}

/// `/o/playground/callback/`: the Try-it panel's way back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaygroundView {
    pub app_id: i64,
    pub app_name: String,
    /// The code to exchange (step two), if the authorization succeeded.
    pub code: Option<String>,
    pub state: String,
    /// Confidential apps: the exchange needs the client secret.
    pub needs_secret: bool,
    /// The request was built by the Try-it panel in the browser (a public
    /// app): the page itself exchanges the code, as a single-page app
    /// would. Its verifier never left the browser.
    pub in_browser: bool,
    pub error: Option<String>,
    pub result: Option<PlaygroundResult>,
}

/// One app on the authorized-apps page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub app_id: i64,
    pub app_name: String,
    pub scopes: Vec<ScopeView>,
    pub granted: String,
    pub last_used: Option<String>,
}

/// One account on the admin page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserView {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub is_active: bool,
    pub is_staff: bool,
    #[serde(default)]
    pub email_verified: bool,
    pub joined: String,
}

/// `/admin/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminView {
    pub query: String,
    /// Which page of the account list (from 1), and whether one follows.
    pub page: u32,
    pub has_next: bool,
    /// The viewer is a superuser: may give and remove staff rights.
    pub can_manage_staff: bool,
    pub users: Vec<AdminUserView>,
    pub apps: Vec<AppView>,
}

/// One audit event as a page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub id: i64,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub when: String,
    /// The event's name (`signed_in`), for staff and for styling.
    pub kind: String,
    /// The event in words: "Signed in from 192.0.2.4, Firefox on Linux".
    pub sentence: String,
    pub username: String,
    pub client_id: Option<String>,
    pub address: String,
    pub detail: String,
}

/// The staff search on `/admin/audit/`, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSearch {
    pub user: String,
    pub client_id: String,
    pub kind: String,
    pub since: String,
    pub until: String,
}

/// A page of events: `/accounts/activity/` (the person's own) or
/// `/admin/audit/` (a staff search).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityView {
    pub events: Vec<EventView>,
    /// The query string of the next (older) page, if there is one.
    pub older: Option<String>,
    pub search: AuditSearch,
    /// Every event kind, `(name, words)`, for the search's choice.
    pub kinds: Vec<(String, String)>,
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
    /// The developer's apps (`/o/applications/`).
    pub apps: Option<Vec<AppView>>,
    /// One app (`/o/applications/<id>/`).
    pub app: Option<AppPage>,
    pub playground: Option<PlaygroundView>,
    /// The apps the user granted (`/o/authorized_tokens/`).
    pub grants: Option<Vec<GrantView>>,
    pub admin: Option<AdminView>,
    /// The signed-in person's own events (`/accounts/activity/`).
    pub activity: Option<ActivityView>,
    /// Staff's audit search (`/admin/audit/`).
    pub audit: Option<ActivityView>,
    /// Accounts are named by their email alone: sign-up asks for no
    /// username, sign-in for the email.
    pub email_accounts: bool,
    /// Nobody may sign up themselves (`signup = "closed"`).
    pub signup_closed: bool,
    /// With `signup = "domains"`: the email domains that may sign up.
    pub signup_domains: Vec<String>,
    /// New addresses are verified by mail (`verify_email`).
    pub verify_email: bool,
    /// A mailed link's page (password reset, address verification).
    pub link: Option<LinkView>,
}

/// The page a mailed link opens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    /// The link works (unused, unexpired, for an active account).
    pub valid: bool,
    /// The account it is for (when valid).
    pub username: String,
    /// The address it verifies (verification links).
    pub email: String,
    /// What following it did, once the form was posted.
    pub outcome: Option<String>,
}

/// What a link page says when the link does not work.
pub const LINK_INVALID: &str =
    "This link does not work: it was already used, it has expired, or it was copied incompletely.";

/// What the authorized-apps page says once an app's access is revoked.
pub fn revoked_message(app_name: &str) -> String {
    format!("Access for {app_name} was revoked.")
}

/// What the sign-up page says when sign-up is closed.
pub const SIGNUP_CLOSED: &str = "Sign-up is closed here: ask an administrator for an account.";

/// The Content-Security-Policy nonce of this response, set by the server
/// on the request; the hydration scripts carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

/// The state of this request, read from the request the portal
/// middleware annotated. Pages are rendered on the server only (the
/// browser hydrates islands, which get what they need as props), so the
/// browser has no state of its own.
pub fn initial_portal_state() -> PortalState {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PortalState>().cloned())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    PortalState::default()
}

/// Makes the state available to every component of this page.
pub fn provide_portal_state() {
    provide_context(initial_portal_state());
}

pub fn use_portal_state() -> PortalState {
    use_context::<PortalState>().unwrap_or_default()
}
