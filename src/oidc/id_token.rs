//! id_tokens (OpenID Connect Core §2, §3.1.3.6): the claims, `at_hash`,
//! and the compact JWS signed with the app's algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::keys::KeyPair;
use crate::oauth::client::SigningAlgorithm;
use crate::oauth::{Scope, ScopeSet};
use crate::store::User;

/// What an id_token says, and about whom.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    pub scopes: ScopeSet,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    /// The access token issued with it (for `at_hash`).
    pub access_token: &'a str,
    pub now: i64,
    pub lifetime: i64,
}

/// The subject: the account's id, stable and never the username (which
/// a user may not change today, but an operator could).
pub fn subject(user: &User) -> String {
    user.id.to_string()
}

/// OIDC Core §3.1.3.6: the left half of the hash of the access token, with
/// the hash of the signing algorithm (SHA-512 for Ed25519).
pub fn at_hash(alg: SigningAlgorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::ES256 => {
            Sha256::digest(access_token.as_bytes()).to_vec()
        }
        SigningAlgorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The user's claims for the granted scopes (Core §5.4), also what
/// userinfo answers.
pub fn scope_claims(user: &User, scopes: ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(subject(user)));
    if scopes.contains(Scope::Profile) {
        let name = format!("{} {}", user.first_name, user.last_name);
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert("name".into(), json!(name.trim()));
        claims.insert("given_name".into(), json!(user.first_name));
        claims.insert("family_name".into(), json!(user.last_name));
    }
    if scopes.contains(Scope::Email) {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}

/// Every claim of the id_token.
pub fn claims(input: &IdTokenInput<'_>, alg: SigningAlgorithm) -> Value {
    let mut claims = scope_claims(input.user, input.scopes);
    claims.insert("iss".into(), json!(input.issuer));
    claims.insert("aud".into(), json!(input.client_id));
    claims.insert("azp".into(), json!(input.client_id));
    claims.insert("iat".into(), json!(input.now));
    claims.insert("exp".into(), json!(input.now + input.lifetime));
    claims.insert("auth_time".into(), json!(input.auth_time));
    claims.insert("at_hash".into(), json!(at_hash(alg, input.access_token)));
    if let Some(nonce) = input.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    Value::Object(claims)
}

/// The compact JWS of `claims`, signed by `key` (header: alg, kid, typ).
pub fn sign(key: &KeyPair, claims: &Value) -> String {
    let header = json!({ "alg": key.alg().as_str(), "kid": key.kid(), "typ": "JWT" });
    let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(jws.as_bytes());
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
    jws
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordHash;

    fn user() -> User {
        User {
            id: 7,
            username: "ada".into(),
            email: "ada@example.org".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            password_hash: PasswordHash::from_stored(String::new()),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            email_verified: false,
            date_joined: 0,
            last_login: None,
        }
    }

    #[test]
    fn at_hash_follows_the_spec_example() {
        // OIDC Core A.3/A.4 (RS256): access token and its at_hash.
        assert_eq!(
            at_hash(
                SigningAlgorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash(SigningAlgorithm::EdDSA, "x").len(), 43);
    }

    #[test]
    fn claims_follow_the_granted_scopes() {
        let u = user();
        let openid = ScopeSet::parse("openid").unwrap();
        let bare = scope_claims(&u, openid);
        assert_eq!(Value::Object(bare.clone()), json!({ "sub": "7" }));
        let all = scope_claims(&u, ScopeSet::parse("openid profile email").unwrap());
        assert_eq!(all["preferred_username"], "ada");
        assert_eq!(all["name"], "Ada Lovelace");
        assert_eq!(all["email"], "ada@example.org");
        assert_eq!(all["email_verified"], false);
        let input = IdTokenInput {
            issuer: "https://id.example",
            client_id: "app",
            user: &u,
            scopes: openid,
            nonce: Some("n-1"),
            auth_time: 90,
            access_token: "tok",
            now: 100,
            lifetime: 3600,
        };
        let c = claims(&input, SigningAlgorithm::ES256);
        assert_eq!(c["iss"], "https://id.example");
        assert_eq!(c["aud"], "app");
        assert_eq!(c["exp"], 3700);
        assert_eq!(c["auth_time"], 90);
        assert_eq!(c["nonce"], "n-1");
        assert_eq!(c["at_hash"], at_hash(SigningAlgorithm::ES256, "tok"));
        assert!(c.get("email").is_none());
    }

    #[test]
    fn signed_tokens_have_three_parts_and_name_the_key() {
        let key = KeyPair::generate(SigningAlgorithm::EdDSA).unwrap();
        let jws = sign(&key, &json!({ "sub": "7" }));
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["alg"], "EdDSA");
        use ed25519_dalek::Verifier;
        let jwk = key.public_jwk();
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .unwrap();
        assert!(vk
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .is_ok());
    }
}
