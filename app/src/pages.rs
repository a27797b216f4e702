//! One module per page of the portal.

mod home;
mod login;
mod not_found;
mod profile;
mod signup;

pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use profile::ProfilePage;
pub use signup::SignupPage;

/// Percent-encodes a query component (RFC 3986 unreserved kept).
pub(crate) fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_query_components() {
        assert_eq!(
            super::encode_component("/o/authorize/?a=1&b=c d"),
            "/o/authorize/%3Fa%3D1%26b%3Dc%20d"
        );
    }
}
