//! Portal paths, shared by the router, the links and the server's handlers.
//! The two protocol endpoints that are portal pages come from the core.

pub use gatehouse::oauth::paths::{AUTHORIZE, END_SESSION as RP_LOGOUT};

pub const HOME: &str = "/";
pub const SIGNUP: &str = "/accounts/signup/";
pub const LOGIN: &str = "/accounts/login/";
pub const LOGOUT: &str = "/accounts/logout/";
pub const PROFILE: &str = "/accounts/profile/";
pub const DEVICE: &str = "/device/";
pub const APPLICATIONS: &str = "/o/applications/";
pub const REGISTER_APP: &str = "/o/applications/register/";
pub const PLAYGROUND_CALLBACK: &str = "/o/playground/callback/";
pub const AUTHORIZED_TOKENS: &str = "/o/authorized_tokens/";
pub const ADMIN: &str = "/admin/";
pub const ACTIVITY: &str = "/accounts/activity/";
pub const AUDIT: &str = "/admin/audit/";

/// `/o/applications/<id>/`.
pub fn application(id: i64) -> String {
    format!("{APPLICATIONS}{id}/")
}

/// The grant types a developer can choose, with what each is for.
pub const GRANT_TYPES: &[(&str, &str, &str)] = &[
    (
        "authorization_code",
        "Authorization code",
        "Websites and apps that can open a browser: people sign in at Gatehouse and are sent back to a redirect URI.",
    ),
    (
        "refresh_token",
        "Refresh token",
        "Keep people signed in: swap a refresh token for new tokens without asking again.",
    ),
    (
        "client_credentials",
        "Client credentials",
        "A server acting for itself, not for a person (confidential apps only).",
    ),
    (
        "password",
        "Password",
        "Legacy: the app collects the person's password itself. Avoid for new apps.",
    ),
    (
        "device_code",
        "Device code",
        "Command-line tools and devices without a browser: people enter a code at /device/.",
    ),
];
