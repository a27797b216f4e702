//! RFC 8628 device authorization grant: user codes and the device
//! authorization response.
//!
//! A user code is 8 letters from an alphabet of 20 consonants (RFC 8628
//! §6.1): no vowels, so no words; no digits, so nothing to confuse with
//! letters. That is about 34.6 bits; together with the code's short life
//! and the throttling of wrong entries, guessing one is hopeless. People
//! see it as `XXXX-XXXX` and may type it in any case, with or without the
//! dash or spaces.

use serde::Serialize;

/// The letters user codes are made of.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code (without the dash).
pub const USER_CODE_LEN: usize = 8;

/// A fresh user code, normalised (no dash).
#[cfg(feature = "server")]
pub fn generate_user_code() -> String {
    use rand::Rng as _;
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LEN)
        .map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char)
        .collect()
}

/// `BCDFGHJK` → `BCDF-GHJK`, as people are shown it.
pub fn format_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

/// What a person typed, as stored: upper case, without dashes and white
/// space. None when it cannot be a user code (wrong length or letters),
/// so such input is refused without a lookup.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the person to enter the code and decide.
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Redeemed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Redeemed => "redeemed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            DeviceStatus::Denied,
            DeviceStatus::Redeemed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// As shown to people: `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "server")]
    #[test]
    fn user_codes_use_the_alphabet_and_look_random() {
        let codes: Vec<String> = (0..200).map(|_| generate_user_code()).collect();
        for c in &codes {
            assert_eq!(c.len(), USER_CODE_LEN);
            assert!(c.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{c}");
            assert_eq!(normalize_user_code(c).as_deref(), Some(c.as_str()));
        }
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
        // Every letter turns up: the choice is not biased to a few.
        let used: std::collections::HashSet<u8> = codes.iter().flat_map(|c| c.bytes()).collect();
        assert_eq!(used.len(), USER_CODE_ALPHABET.len());
    }

    #[test]
    fn typed_codes_ignore_case_dashes_and_spaces() {
        assert_eq!(
            normalize_user_code("wdjb-mjht").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code(" WDJB MJHT ").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code("W-D-J-B-M-J-H-T").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(format_user_code("WDJBMJHT"), "WDJB-MJHT");
    }

    #[test]
    fn impossible_codes_are_refused_without_lookup() {
        for bad in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTX",
            "WDJB-MJH1",
            "AEIO-UAEI",
            "WDJB_MJHT",
            "ẞDJB-MJHT",
            &"-".repeat(100),
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            DeviceStatus::Denied,
            DeviceStatus::Redeemed,
        ] {
            assert_eq!(DeviceStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeviceStatus::parse("other"), None);
    }
}
