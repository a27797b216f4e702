//! Gatehouse core: the rules of the account and protocol domain, free of any
//! web framework. The browser bundle may use the validation modules; the
//! `server` feature adds password hashing, token generation, the storage
//! traits and the use cases that need them.

pub mod account;
pub mod audit;
#[cfg(feature = "server")]
pub mod mail;
pub mod next;
pub mod oauth;
#[cfg(feature = "server")]
pub mod oidc;
pub mod throttle;

#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod tally;
