//! The `next` parameter of the sign-in page: where to go after signing in.
//!
//! Only a same-site relative path is honoured. Anything that a browser could
//! read as another origin — `//host`, `/\host`, `https://…`, or the same
//! after percent-decoding — falls back to the default page.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Where a user lands after signing in when `next` is absent or refused.
pub const DEFAULT_NEXT: &str = "/accounts/profile/";

/// Returns `next` when it is a safe same-site path, otherwise `None`.
/// The longest `next` kept: enough for an encoded authorization request
/// with the largest `state`, `nonce` and redirect URI Gatehouse accepts.
pub const MAX_NEXT_LEN: usize = 16 * 1024;

pub fn safe_next(next: &str) -> Option<&str> {
    // Non-ASCII cannot go into a Location header as is; browsers send
    // such paths percent-encoded anyway.
    if next.is_empty() || next.len() > MAX_NEXT_LEN || !next.is_ascii() {
        return None;
    }
    if !is_safe_raw(next) {
        return None;
    }
    // A browser (or a proxy) may decode once more; the decoded form must be
    // safe as well. Decode repeatedly so `%252F%252F` cannot sneak through.
    let mut current = next.to_owned();
    let mut settled = false;
    for _ in 0..4 {
        let decoded = match percent_decode_str(&current).decode_utf8() {
            Ok(d) => d.into_owned(),
            Err(_) => return None,
        };
        if !starts_same_site(&decoded) {
            return None;
        }
        if decoded == current {
            settled = true;
            break;
        }
        current = decoded;
    }
    // Still changing after four rounds of decoding: refuse rather than guess.
    settled.then_some(next)
}

/// What to escape when a path travels as the `next` query value:
/// everything but unreserved characters and `/`.
const NEXT_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encodes `path` (with its query) for use as the value of `?next=`.
pub fn encode_next(path: &str) -> String {
    utf8_percent_encode(path, NEXT_ENCODE).to_string()
}

/// `next` if safe, else [`DEFAULT_NEXT`].
pub fn next_or_default(next: Option<&str>) -> &str {
    next.and_then(safe_next).unwrap_or(DEFAULT_NEXT)
}

/// The raw value: a path, no control characters, whitespace or backslashes
/// (browsers strip or rewrite those, turning `/\t/host` into `//host`).
fn is_safe_raw(path: &str) -> bool {
    starts_same_site(path)
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// Starts with one `/` that is not followed by `/` or `\` once the
/// characters browsers silently drop (tab, CR, LF) are removed.
fn starts_same_site(path: &str) -> bool {
    let mut chars = path.chars().filter(|c| !matches!(c, '\t' | '\r' | '\n'));
    chars.next() == Some('/') && !matches!(chars.next(), Some('/') | Some('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_relative_paths() {
        assert_eq!(safe_next("/accounts/profile/"), Some("/accounts/profile/"));
        assert_eq!(
            safe_next("/o/authorize/?client_id=a&state=x%20y"),
            Some("/o/authorize/?client_id=a&state=x%20y")
        );
        assert_eq!(safe_next("/"), Some("/"));
        // Encoded spaces and URLs inside the query are ordinary.
        let authorize =
            "/o/authorize/?scope=read%20write&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
        assert_eq!(safe_next(authorize), Some(authorize));
    }

    #[test]
    fn refuses_other_origins() {
        for bad in [
            "//evil.example",
            "//evil.example/path",
            "https://evil.example",
            "http://evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            " /x",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn refuses_encoded_forms() {
        for bad in [
            "/%2Fevil.example",
            "/%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "%2F%2Fevil.example",
            "/%252F%252Fevil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%E0%A4%A",
            "/%2525252F%2525252Fevil.example",
            "/é",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn encodes_next_values() {
        assert_eq!(
            encode_next("/o/authorize/?a=1&b=c d"),
            "/o/authorize/%3Fa%3D1%26b%3Dc%20d"
        );
    }

    #[test]
    fn default_when_refused_or_missing() {
        assert_eq!(next_or_default(None), DEFAULT_NEXT);
        assert_eq!(next_or_default(Some("//evil.example")), DEFAULT_NEXT);
        assert_eq!(
            next_or_default(Some("/o/applications/")),
            "/o/applications/"
        );
    }
}
