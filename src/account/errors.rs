//! What account use cases answer when they refuse: field messages for a
//! form, throttling, a busy hashing pool, or an internal failure the web
//! layer hides behind a generic page.

use std::collections::BTreeMap;

use crate::password::PasswordError;
use crate::store::StoreError;

/// Messages keyed by form field name, shown beside that field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, message);
        e
    }
}

/// A form that could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("too many attempts; retry in {0} s")]
    Throttled(i64),
    /// Too many password hashes waiting: try again in a moment.
    #[error("busy; retry shortly")]
    Busy,
    /// Sign-up is closed (`signup = "closed"`).
    #[error("sign-up is closed")]
    Closed,
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// Failures that are not the user's doing: logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl From<StoreError> for FormError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}
impl From<PasswordError> for FormError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => Self::Busy,
            e => Self::Internal(e.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown account, wrong password or deactivated account: one answer.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many attempts; retry in {0} s")]
    Throttled(i64),
    /// Too many password hashes waiting: try again in a moment.
    #[error("busy; retry shortly")]
    Busy,
    /// The right password, but `require_verified_email` is on and the
    /// account's address is not verified yet.
    #[error("email address not verified")]
    Unverified,
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}
impl From<PasswordError> for SignInError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => Self::Busy,
            e => Self::Internal(e.into()),
        }
    }
}
