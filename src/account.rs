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

/// Who may create an account themselves (the portal's sign-up, the account
/// API, `/users/signup/`); operators always may, with the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupPolicy {
    /// Anyone.
    #[default]
    Open,
    /// Nobody: accounts are made by operators.
    Closed,
    /// People with an email address at one of `signup_email_domains`.
    Domains,
}

/// Whether `email`'s domain (after its last `@`) is one of `domains`, in
/// any case; subdomains are not included.
pub fn email_domain_allowed(email: &str, domains: &[String]) -> bool {
    let Some((_, domain)) = email.trim().rsplit_once('@') else {
        return false;
    };
    domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

pub use validation::{
    normalize_email, validate_email, validate_name, validate_new_password, validate_username,
    FieldError, PASSWORD_MIN_CHARS,
};

#[cfg(feature = "server")]
mod errors;
#[cfg(feature = "server")]
pub mod recovery;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub use errors::{FieldErrors, FormError, InternalError, SignInError};
#[cfg(feature = "server")]
pub use service::{AccountService, NewAccount, PasswordChange, SessionPolicy, SignUp};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_up_domains_match_exactly_in_any_case() {
        let domains = vec!["lab.example".to_owned(), "example.org".to_owned()];
        assert!(email_domain_allowed("ada@lab.example", &domains));
        assert!(email_domain_allowed("Ada@LAB.Example", &domains));
        assert!(email_domain_allowed("a@b@example.org", &domains));
        assert!(!email_domain_allowed("ada@sub.lab.example", &domains));
        assert!(!email_domain_allowed("ada@lab.example.evil", &domains));
        assert!(!email_domain_allowed("lab.example", &domains));
        assert!(!email_domain_allowed("ada@", &domains));
    }
}
