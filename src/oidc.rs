//! OpenID Connect: id_tokens and their claims, and the signing keys
//! (created, rotated, sealed at rest, published as a JWKS).

pub mod id_token;
pub mod keyring;
pub mod keys;
pub mod sealing;
