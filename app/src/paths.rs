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

/// Password reset, on Django's URLs: the request form, its "check your
/// email" page, the link's prefix (`<uidb64>/<token>/` follows) and the
/// page after a new password is set.
pub const PASSWORD_RESET: &str = "/accounts/password_reset/";
pub const PASSWORD_RESET_DONE: &str = "/accounts/password_reset/done/";
pub const PASSWORD_RESET_LINK: &str = "/accounts/reset/";
pub const PASSWORD_RESET_COMPLETE: &str = "/accounts/reset/done/";
/// After a sign-up when addresses are verified: "check your email".
pub const SIGNUP_DONE: &str = "/accounts/signup/done/";
/// A verification link's prefix (`<uidb64>/<token>/` follows).
pub const CONFIRM_EMAIL_LINK: &str = "/accounts/confirm-email/";
/// Asks for a new verification link without signing in.
pub const CONFIRM_EMAIL_RESEND: &str = "/accounts/confirm-email/resend/";
