//! Signing keys for id_tokens: RS256 (RSA 2048), ES256 (P-256) and EdDSA
//! (Ed25519), from the RustCrypto crates. A key is stored as PKCS#8 DER
//! and published as a JWK whose `kid` is its RFC 7638 thumbprint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::oauth::client::SigningAlgorithm;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("stored key is unreadable: {0}")]
    Decode(String),
}

enum Inner {
    Rsa(Box<rsa::RsaPrivateKey>),
    Es(p256::ecdsa::SigningKey),
    Ed(ed25519_dalek::SigningKey),
}

/// A private signing key with its algorithm and key id.
pub struct KeyPair {
    kid: String,
    alg: SigningAlgorithm,
    inner: Inner,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({} {})", self.alg.as_str(), self.kid)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order.
pub fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => &["kty"],
    };
    let mut canonical = String::from("{");
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!(
            "\"{m}\":\"{}\"",
            jwk[*m].as_str().unwrap_or_default()
        ));
    }
    canonical.push('}');
    b64(&Sha256::digest(canonical.as_bytes()))
}

impl KeyPair {
    /// A new key. RSA generation takes a noticeable fraction of a second:
    /// call it off the async executor.
    pub fn generate(alg: SigningAlgorithm) -> Result<KeyPair, KeyError> {
        let inner = match alg {
            SigningAlgorithm::RS256 => Inner::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut OsRng, 2048)
                    .map_err(|e| KeyError::Generate(e.to_string()))?,
            )),
            SigningAlgorithm::ES256 => Inner::Es(p256::ecdsa::SigningKey::random(&mut OsRng)),
            SigningAlgorithm::EdDSA => Inner::Ed(ed25519_dalek::SigningKey::generate(&mut OsRng)),
        };
        Ok(Self::with_kid(alg, inner))
    }

    fn with_kid(alg: SigningAlgorithm, inner: Inner) -> KeyPair {
        let mut key = KeyPair {
            kid: String::new(),
            alg,
            inner,
        };
        key.kid = thumbprint(&key.public_jwk());
        key
    }

    /// Reads a stored key (PKCS#8 DER).
    pub fn from_pkcs8_der(alg: SigningAlgorithm, der: &[u8]) -> Result<KeyPair, KeyError> {
        let bad = |e: String| KeyError::Decode(e);
        let inner = match alg {
            SigningAlgorithm::RS256 => {
                use rsa::pkcs8::DecodePrivateKey;
                Inner::Rsa(Box::new(
                    rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| bad(e.to_string()))?,
                ))
            }
            SigningAlgorithm::ES256 => {
                use p256::pkcs8::DecodePrivateKey;
                Inner::Es(
                    p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| bad(e.to_string()))?,
                )
            }
            SigningAlgorithm::EdDSA => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                Inner::Ed(
                    ed25519_dalek::SigningKey::from_pkcs8_der(der)
                        .map_err(|e| bad(e.to_string()))?,
                )
            }
        };
        Ok(Self::with_kid(alg, inner))
    }

    /// The private key as PKCS#8 DER, for storage.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let bad = |e: String| KeyError::Generate(e);
        let doc = match &self.inner {
            Inner::Rsa(k) => {
                use rsa::pkcs8::EncodePrivateKey;
                k.to_pkcs8_der().map_err(|e| bad(e.to_string()))?
            }
            Inner::Es(k) => {
                use p256::pkcs8::EncodePrivateKey;
                k.to_pkcs8_der().map_err(|e| bad(e.to_string()))?
            }
            Inner::Ed(k) => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                k.to_pkcs8_der().map_err(|e| bad(e.to_string()))?
            }
        };
        Ok(doc.as_bytes().to_vec())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// The public half as a JWK (RFC 7517/7518/8037).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.inner {
            Inner::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                json!({
                    "kty": "RSA",
                    "n": b64(&k.n().to_bytes_be()),
                    "e": b64(&k.e().to_bytes_be()),
                })
            }
            Inner::Es(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(point.x().map(|x| x.as_slice()).unwrap_or_default()),
                    "y": b64(point.y().map(|y| y.as_slice()).unwrap_or_default()),
                })
            }
            Inner::Ed(k) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(k.verifying_key().as_bytes()),
            }),
        };
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.alg.as_str());
        if !self.kid.is_empty() {
            jwk["kid"] = json!(self.kid);
        }
        jwk
    }

    /// Whether `sig` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        use rsa::signature::Verifier;
        match &self.inner {
            Inner::Rsa(k) => {
                let v = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.to_public_key());
                rsa::pkcs1v15::Signature::try_from(sig).is_ok_and(|s| v.verify(message, &s).is_ok())
            }
            Inner::Es(k) => p256::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|s| k.verifying_key().verify(message, &s).is_ok()),
            Inner::Ed(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verifying_key().verify(message, &s).is_ok()),
        }
    }

    /// The JWS signature of `message` (RFC 7518 §3: PKCS#1 v1.5 for RS256,
    /// r‖s for ES256; RFC 8037 for EdDSA).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
        match &self.inner {
            Inner::Rsa(k) => {
                // Blinded (RUSTSEC-2023-0071): the private operation's
                // timing does not depend on the key alone.
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**k).clone());
                signer.sign_with_rng(&mut OsRng, message).to_vec()
            }
            Inner::Es(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            Inner::Ed(k) => k.sign(message).to_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_example_thumbprint() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    fn verify(key: &KeyPair, message: &[u8], sig: &[u8]) -> bool {
        key.verify(message, sig)
    }

    #[test]
    fn every_algorithm_signs_round_trips_and_publishes() {
        for alg in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
        ] {
            let key = KeyPair::generate(alg).unwrap();
            let sig = key.sign(b"header.claims");
            assert!(verify(&key, b"header.claims", &sig), "{alg:?}");
            assert!(!verify(&key, b"header.claimz", &sig), "{alg:?}");
            let jwk = key.public_jwk();
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["kid"], key.kid());
            assert!(jwk.get("d").is_none(), "no private part in the JWK");
            assert_eq!(key.kid().len(), 43);
            // Stored and read back: the same key.
            let der = key.to_pkcs8_der().unwrap();
            let back = KeyPair::from_pkcs8_der(alg, &der).unwrap();
            assert_eq!(back.kid(), key.kid());
            assert!(verify(&back, b"m", &key.sign(b"m")));
            assert!(KeyPair::from_pkcs8_der(alg, &der[1..]).is_err());
        }
        assert_eq!(
            KeyPair::generate(SigningAlgorithm::ES256)
                .unwrap()
                .sign(b"x")
                .len(),
            64
        );
        assert_eq!(
            KeyPair::generate(SigningAlgorithm::EdDSA)
                .unwrap()
                .sign(b"x")
                .len(),
            64
        );
    }
}
