//! Account rules shared by the portal, the CLI and the account API:
//! what makes a username, an email address and a new password acceptable.

mod common_passwords;
pub mod validation;

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
pub use service::{AccountService, NewAccount, SessionPolicy, SignUp};
