//! Protect an axum API with Gatehouse access tokens.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use gatehouse::oauth::Scope;
//! use gatehouse_resource::{Auth, IntrospectionConfig, Token};
//!
//! async fn hello(token: Token) -> String {
//!     format!("hello, {}", token.username.as_deref().unwrap_or("app"))
//! }
//!
//! # fn main() -> Result<(), gatehouse_resource::ConfigError> {
//! let auth = Auth::introspection(IntrospectionConfig::new(
//!     "https://id.example.org", "my-api", "its-secret",
//! ))?;
//! let app: Router = Router::new()
//!     .route("/hello/", get(hello))
//!     .layer(auth.require(Scope::Read));
//! # Ok(()) }
//! ```
//!
//! Each request's bearer token is checked by RFC 7662 introspection at
//! Gatehouse with the API's own client credentials. Answers are cached by
//! the token's SHA-256 (never the token itself): an active token until the
//! earlier of its `exp` and the cache TTL (default 30 s: the longest a
//! revoked token keeps working here), an inactive one for a few seconds.
//! Concurrent checks of one token make one introspection call. When
//! Gatehouse cannot answer, requests fail closed with 503.
//!
//! Refusals are RFC 6750 answers: 401 `invalid_token`, 403
//! `insufficient_scope` naming the scope, each with its
//! `WWW-Authenticate` challenge and an RFC 6749 error body.
//!
//! Where tokens come from is the [`TokenSource`] trait: introspection
//! ([`Introspector`]) wrapped in a cache ([`Cached`]) today; local
//! validation of JWT access tokens can be another source without any
//! change to handlers.

mod cache;
mod introspection;
mod layer;
mod source;

pub use cache::{CacheConfig, Cached};
pub use introspection::{ConfigError, IntrospectionConfig, Introspector};
pub use layer::{Auth, Rejection, RequireScope, Requirement, Token};
pub use source::{Checked, SourceError, TokenInfo, TokenSource};
