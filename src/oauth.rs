//! The OAuth 2 protocol core (RFC 6749, 6750, 7009, 7636, 7662, RFC 9700):
//! parsing and validating what clients send, and deciding what to answer.
//! Nothing here knows about HTTP frameworks; the server hands in the
//! decoded parameters and headers and turns the results into responses.

pub mod client;
pub mod device;
pub mod error;
pub mod header;
pub mod introspection;
pub mod metadata;
pub mod params;
pub mod paths;
pub mod redirect;
pub mod scope;

#[cfg(feature = "server")]
pub mod authorize;
#[cfg(feature = "pkce")]
pub mod pkce;
#[cfg(feature = "server")]
pub mod registration;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod token;

pub use error::{ErrorCode, OAuthError};
pub use scope::{Scope, ScopeSet};
