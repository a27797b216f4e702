//! Encryption at rest of signing keys: AES-256-GCM under a key from the
//! configuration, the key id as associated data (a sealed key cannot be
//! moved to another row), a fresh 96-bit nonce per key. Stored form:
//! nonce ‖ ciphertext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore;

use super::keys::KeyError;

/// The configured key-encryption key, if any.
#[derive(Clone, Default)]
pub struct Sealer(Option<Aes256Gcm>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Sealer(on)"
        } else {
            "Sealer(off)"
        })
    }
}

impl Sealer {
    /// From the configuration: base64 of 32 random bytes, or nothing.
    pub fn from_config(value: Option<&str>) -> Result<Sealer, String> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Sealer(None));
        };
        let bytes = STANDARD
            .decode(value)
            .map_err(|_| "key_encryption_key must be base64".to_string())?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| {
            "key_encryption_key must be 32 bytes (base64 of 32 random bytes)".to_string()
        })?;
        Ok(Sealer(Some(cipher)))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Seals `der` for storage; returns it unchanged when no key is set.
    /// The flag says whether it was sealed.
    pub fn seal(&self, kid: &str, der: &[u8]) -> Result<(Vec<u8>, bool), KeyError> {
        let Some(cipher) = &self.0 else {
            return Ok((der.to_vec(), false));
        };
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: der,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Generate("sealing the key failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((out, true))
    }

    /// Opens a stored key.
    /// With a key_encryption_key set, an unencrypted key is refused: keys
    /// are sealed at start ([`crate::oidc::keyring::load_or_create`]), so
    /// one found later was planted or restored from an old backup.
    pub fn open(&self, kid: &str, stored: &[u8], sealed: bool) -> Result<Vec<u8>, KeyError> {
        if !sealed {
            if self.is_on() {
                return Err(KeyError::Decode(format!(
                    "signing key {kid} is stored unencrypted although key_encryption_key is set"
                )));
            }
            return Ok(stored.to_vec());
        }
        let cipher = self.0.as_ref().ok_or_else(|| {
            KeyError::Decode("the signing keys are encrypted: set key_encryption_key".into())
        })?;
        if stored.len() < 12 {
            return Err(KeyError::Decode("sealed key too short".into()));
        }
        let (nonce, body) = stored.split_at(12);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| {
                KeyError::Decode("cannot decrypt a signing key: wrong key_encryption_key?".into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        STANDARD.encode([7u8; 32])
    }

    #[test]
    fn seals_and_opens_bound_to_the_kid() {
        let s = Sealer::from_config(Some(&key())).unwrap();
        let (sealed, flag) = s.seal("kid-1", b"private der").unwrap();
        assert!(flag && sealed != b"private der");
        assert_eq!(s.open("kid-1", &sealed, true).unwrap(), b"private der");
        assert!(s.open("kid-2", &sealed, true).is_err());
        let other = Sealer::from_config(Some(&STANDARD.encode([8u8; 32]))).unwrap();
        assert!(other.open("kid-1", &sealed, true).is_err());
        assert!(Sealer::default().open("kid-1", &sealed, true).is_err());
        assert!(s.open("kid-1", &sealed[..5], true).is_err());
        // With a key set, an unencrypted key is never read.
        assert!(s.open("kid-1", b"private der", false).is_err());
        assert_eq!(
            Sealer::default()
                .open("kid-1", b"private der", false)
                .unwrap(),
            b"private der"
        );
    }

    #[test]
    fn off_stores_plainly_and_bad_config_is_refused() {
        let off = Sealer::from_config(None).unwrap();
        assert_eq!(off.seal("k", b"der").unwrap(), (b"der".to_vec(), false));
        assert!(!Sealer::from_config(Some("  ")).unwrap().is_on());
        assert!(Sealer::from_config(Some("not base64!")).is_err());
        assert!(Sealer::from_config(Some(&STANDARD.encode([1u8; 16]))).is_err());
    }
}
