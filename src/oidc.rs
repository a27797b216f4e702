//! OpenID Connect: signing keys (and, as it grows, id_tokens and claims).

pub mod id_token;
pub mod keyring;
pub mod keys;
pub mod sealing;
