//! Account rules shared by the portal, the CLI and the account API:
//! what makes a username, an email address and a new password acceptable.

mod common_passwords;
pub mod validation;

/// What names an account: a username (and an email), or the email alone.
/// With `Email`, sign-up asks for no username: the account's username *is*
/// its email (so `/profile/`, introspection and `preferred_username` carry
/// it), it follows the email when that changes, and people sign in with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountIdentifier {
    #[default]
    Username,
    Email,
}

pub use validation::{
    normalize_email, validate_email, validate_name, validate_new_password, validate_username,
    FieldError, PASSWORD_MIN_CHARS,
};

#[cfg(feature = "server")]
mod errors;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub use errors::{FieldErrors, FormError, InternalError, SignInError};
#[cfg(feature = "server")]
pub use service::{AccountService, NewAccount, PasswordChange, SessionPolicy, SignUp};
