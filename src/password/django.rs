//! Password hashes in the formats Django stores (`algorithm$…`), checked as
//! they are so people imported from a Django site sign in with their old
//! password; a match asks for a rehash, so each is replaced by argon2id at
//! its first successful use.
//!
//! Costs read from a stored hash are bounded, so a corrupt or hostile row
//! cannot make a hashing thread run for minutes or allocate without limit.

use base64::Engine;
use subtle::ConstantTimeEq;

/// The formats recognised, by their Django algorithm name.
const ALGORITHMS: [&str; 6] = [
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "argon2",
    "bcrypt_sha256",
    "bcrypt",
    "scrypt",
];

/// Upper bounds on a stored hash's cost.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_BCRYPT_COST: u32 = 16;
/// scrypt memory is 128 · r · N bytes: at most 256 MiB.
const MAX_SCRYPT_BYTES: u64 = 256 * 1024 * 1024;

/// Whether `stored` is in one of Django's formats this module checks.
pub fn is_django(stored: &str) -> bool {
    stored
        .split_once('$')
        .is_some_and(|(algorithm, _)| ALGORITHMS.contains(&algorithm))
}

/// Checks `password` against a Django-format hash. `None` when the hash is
/// not one this module reads (an unknown algorithm, a malformed or
/// too-costly hash): the caller treats that as a mismatch.
pub fn verify(password: &str, stored: &str) -> Option<bool> {
    let (algorithm, rest) = stored.split_once('$')?;
    match algorithm {
        "pbkdf2_sha256" => pbkdf2(::pbkdf2::pbkdf2_hmac::<sha2::Sha256>, password, rest),
        "pbkdf2_sha1" => pbkdf2(::pbkdf2::pbkdf2_hmac::<sha1::Sha1>, password, rest),
        // Django writes the PHC string without its leading `$`.
        "argon2" => argon2(password, &format!("${rest}")),
        "bcrypt_sha256" => {
            let prehashed = hex(&<sha2::Sha256 as sha2::Digest>::digest(password.as_bytes()));
            bcrypt(&prehashed, rest)
        }
        "bcrypt" => bcrypt(password, rest),
        "scrypt" => scrypt(password, rest),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A PBKDF2-HMAC key derivation: password, salt, iterations, output.
type Derive = fn(&[u8], &[u8], u32, &mut [u8]);

/// `iterations$salt$base64(derived key)`; the key is as long as the digest.
fn pbkdf2(derive: Derive, password: &str, rest: &str) -> Option<bool> {
    let mut parts = rest.split('$');
    let iterations: u32 = parts.next()?.parse().ok()?;
    let salt = parts.next()?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(parts.next()?)
        .ok()?;
    if parts.next().is_some()
        || iterations == 0
        || iterations > MAX_PBKDF2_ITERATIONS
        || expected.is_empty()
        || expected.len() > 64
    {
        return None;
    }
    let mut out = vec![0u8; expected.len()];
    derive(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    Some(same(&out, &expected))
}

fn argon2(password: &str, phc: &str) -> Option<bool> {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let parsed = PasswordHash::new(phc).ok()?;
    let params = argon2::Params::try_from(&parsed).ok()?;
    // Same bound as for Gatehouse's own hashes: 256 MiB.
    if params.block_count() > 256 * 1024 {
        return None;
    }
    Some(
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
    )
}

/// A modular-crypt bcrypt string (`$2b$12$…`).
fn bcrypt(password: &str, stored: &str) -> Option<bool> {
    let cost: u32 = stored.split('$').nth(2)?.parse().ok()?;
    if cost > MAX_BCRYPT_COST {
        return None;
    }
    ::bcrypt::verify(password, stored).ok()
}

/// `N$salt$r$p$base64(64-byte key)`.
fn scrypt(password: &str, rest: &str) -> Option<bool> {
    let mut parts = rest.split('$');
    let n: u64 = parts.next()?.parse().ok()?;
    let salt = parts.next()?;
    let r: u32 = parts.next()?.parse().ok()?;
    let p: u32 = parts.next()?.parse().ok()?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(parts.next()?)
        .ok()?;
    if parts.next().is_some() || !n.is_power_of_two() || n < 2 || expected.is_empty() {
        return None;
    }
    if 128u64.checked_mul(u64::from(r))?.checked_mul(n)? > MAX_SCRYPT_BYTES || p > 16 {
        return None;
    }
    let params = ::scrypt::Params::new(n.trailing_zeros() as u8, r, p, expected.len()).ok()?;
    let mut out = vec![0u8; expected.len()];
    ::scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out).ok()?;
    Some(same(&out, &expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery";

    /// Made by Django 5.2's own hashers (cheap settings, so the tests are
    /// quick; the formats are the defaults').
    const DJANGO: [&str; 6] = [
        "pbkdf2_sha256$1000$2ebwyu5GJSy8Do7MT2PFd4$hTWsMa8oqSR78JoGOJynjURIJGrzPSP9AjPdjDx8tqw=",
        "pbkdf2_sha1$1000$EKrpgCO9bVgby8oFkNyqZ0$wEQ0FXDs23K9cpho7UaWChI39+s=",
        "argon2$argon2id$v=19$m=64,t=1,p=2$VlJWY2Y2NlR6VlJBejJOV3NMVDJoeg$VKZmE7yqznW2mYVF19bTaDGH/Qt3TNlo4LdNlUG9SgI",
        "bcrypt_sha256$$2b$04$OrnS2VhNfSbWeOIBNuCRpujJXYNm3K3J2KSiEMtpI/EiglsBOgsP6",
        "scrypt$1024$iMJ9t2McEWYHszC4iB5cAB$8$5$d80VhCG2/QfNsfUQVxLUspO4rXb7IhsQP4NoDq1eJv+JrGuiQL4yVpyuLIHsMr+yyR7WpbU4ca8s1+kzHn78nw==",
        "bcrypt$$2b$04$03TxDQ4rHmPPr2zk32ulHeTril4OSuWpsh7/yxF/e5X7vrUMPZDMO",
    ];

    #[test]
    fn hashes_made_by_django_match_their_password_only() {
        for stored in DJANGO {
            assert!(is_django(stored), "{stored}");
            assert_eq!(verify(PASSWORD, stored), Some(true), "{stored}");
            assert_eq!(
                verify("correct horse battery!", stored),
                Some(false),
                "{stored}"
            );
            assert_eq!(verify("", stored), Some(false), "{stored}");
        }
    }

    #[test]
    fn django_default_pbkdf2_cost_is_read() {
        // Django 5.2's default: 1,000,000 iterations.
        let stored =
            "pbkdf2_sha256$1000000$fixedsalt1234567$T+G+rqXZv7jAoMjchNwBaqqzEWyUEEyWIal76rjKeDc=";
        if cfg!(debug_assertions) {
            // A million HMAC rounds take seconds unoptimised: check the
            // parse only.
            assert!(is_django(stored));
        } else {
            assert_eq!(verify(PASSWORD, stored), Some(true));
        }
    }

    #[test]
    fn unusable_unknown_malformed_and_too_costly_hashes_never_match() {
        for stored in [
            "!unusablepasswordmarker",
            "",
            "md5$abc$40eaa17bc072b9d380164b78044bdfa0",
            "pbkdf2_sha256$",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$abc$salt$aGVsbG8=",
            "pbkdf2_sha256$0$salt$aGVsbG8=",
            "pbkdf2_sha256$4000000000$salt$aGVsbG8=",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$aGVsbG8=$extra",
            "argon2$argon2id$v=19$m=4000000,t=1,p=1$c2FsdHNhbHQ$aGVsbG8",
            "argon2$garbage",
            "bcrypt_sha256$$2b$31$OrnS2VhNfSbWeOIBNuCRpujJXYNm3K3J2KSiEMtpI/EiglsBOgsP6",
            "bcrypt$$2b$04$short",
            "scrypt$1000$salt$8$1$aGVsbG8=",
            "scrypt$1073741824$salt$8$1$aGVsbG8=",
            "scrypt$1024$salt$8$1",
        ] {
            assert_ne!(verify(PASSWORD, stored), Some(true), "{stored}");
        }
        assert!(!is_django("!unusable"));
        assert!(!is_django("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
        assert!(!is_django("md5$abc$40eaa17bc072b9d380164b78044bdfa0"));
    }
}
