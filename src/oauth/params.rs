//! Request parameters as OAuth reads them (RFC 6749 §3.1, §3.2):
//! `application/x-www-form-urlencoded`, every value valid UTF-8, no
//! parameter sent twice, and a parameter sent without a value treated as
//! omitted.

use super::OAuthError;

/// The decoded parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Name and value, names unique. A request has a handful of
    /// parameters (at most [`MAX_PARAMS`]), so a list searched in order is
    /// cheaper than a hash map on every token request.
    values: Vec<(String, String)>,
    /// Names that appeared more than once (their values are dropped).
    repeated: Vec<String>,
}

/// The longest single value accepted; a legitimate one is far shorter.
pub const MAX_VALUE_LEN: usize = 4096;
/// The longest parameter name accepted (OAuth's are under 40 bytes).
pub const MAX_NAME_LEN: usize = 256;
/// At most this many parameters per request.
pub const MAX_PARAMS: usize = 64;

impl Params {
    /// Decodes a form body or query string. Non-UTF-8 after decoding, too
    /// many parameters or an overlong name or value is `invalid_request`.
    pub fn parse(input: &[u8]) -> Result<Params, OAuthError> {
        let mut params = Params::default();
        let mut count = 0;
        for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            count += 1;
            if count > MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            // No protocol value holds a NUL, and some databases cannot store one.
            if name.contains('\0') || value.contains('\0') {
                return Err(OAuthError::invalid_request(
                    "parameters cannot contain NUL characters",
                ));
            }
            // Names are compared with each earlier one: bounded, so a
            // large body of long names costs little.
            if name.len() > MAX_NAME_LEN {
                return Err(OAuthError::invalid_request("a parameter name is too long"));
            }
            if value.len() > MAX_VALUE_LEN {
                return Err(OAuthError::invalid_request(format!(
                    "the {} parameter is too long",
                    printable(&name)
                )));
            }
            if value.is_empty() {
                continue;
            }
            let earlier = params.values.iter().position(|(n, _)| *n == name);
            if let Some(i) = earlier {
                params.values.swap_remove(i);
            }
            if earlier.is_some() || params.repeated.contains(&name) {
                if !params.repeated.contains(&name) {
                    params.repeated.push(name);
                }
                continue;
            }
            params.values.push((name, value));
        }
        Ok(params)
    }

    /// The value of `name`: `None` when absent or empty, an error when it
    /// was sent more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        if self.repeated.iter().any(|r| r == name) {
            return Err(OAuthError::invalid_request(format!(
                "the {name} parameter was sent more than once"
            )));
        }
        Ok(self
            .values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str()))
    }

    /// Like [`Params::get`], but absence is an error too.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is missing")))
    }

    /// Whether any parameter was sent twice.
    pub fn has_repeats(&self) -> bool {
        !self.repeated.is_empty()
    }

    /// Every single-valued parameter, sorted by name.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = self.values.clone();
        pairs.sort();
        pairs
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let mut params = Params::default();
        for (k, v) in pairs {
            if !v.is_empty() {
                params.values.retain(|(n, _)| n != k);
                params.values.push((k.to_owned(), v.to_owned()));
            }
        }
        params
    }
}

fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    // Most names and values (client ids, tokens, grant types) have
    // nothing encoded: one copy, no decoding pass.
    let bytes = if raw.iter().any(|b| matches!(b, b'+' | b'%')) {
        let plus_as_space: Vec<u8> = raw
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        let mut bytes = Vec::with_capacity(raw.len());
        bytes.extend(percent_encoding::percent_decode(&plus_as_space));
        bytes
    } else {
        raw.to_vec()
    };
    String::from_utf8(bytes).map_err(|_| OAuthError::invalid_request("parameters must be UTF-8"))
}

/// A parameter name as it may appear in an error description.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_refused() {
        for input in ["client_id=a%00b", "state=%00", "a%00=1"] {
            let e = Params::parse(input.as_bytes()).unwrap_err();
            assert_eq!(e.code, crate::oauth::ErrorCode::InvalidRequest, "{input}");
        }
    }
    use crate::oauth::ErrorCode;

    #[test]
    fn decodes_form_encoding() {
        let p = Params::parse(b"a=1&b=x+y%20z&c=%E2%9C%93&d=&e").unwrap();
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), Some("x y z"));
        assert_eq!(p.get("c").unwrap(), Some("\u{2713}"));
        // Sent without a value: as if omitted.
        assert_eq!(p.get("d").unwrap(), None);
        assert_eq!(p.get("e").unwrap(), None);
        assert_eq!(p.require("d").unwrap_err().code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn plain_and_encoded_values_side_by_side() {
        let p =
            Params::parse(b"grant_type=client_credentials&scope=read+write&x%3Dy=a%26b").unwrap();
        assert_eq!(p.get("grant_type").unwrap(), Some("client_credentials"));
        assert_eq!(p.get("scope").unwrap(), Some("read write"));
        assert_eq!(p.get("x=y").unwrap(), Some("a&b"));
        assert_eq!(p.get("absent").unwrap(), None);
        assert_eq!(
            p.pairs(),
            [
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), "read write".to_owned()),
                ("x=y".to_owned(), "a&b".to_owned()),
            ]
        );
        // The last of two pairs with one name wins.
        let q = Params::from_pairs([("a", "1"), ("b", ""), ("a", "2")]);
        assert_eq!(q.get("a").unwrap(), Some("2"));
        assert_eq!(q.get("b").unwrap(), None);
    }

    #[test]
    fn repeated_parameters_are_refused_when_read() {
        let p = Params::parse(b"scope=read&scope=write&scope=x&a=1").unwrap();
        assert!(p.has_repeats());
        let e = p.get("scope").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.description.contains("more than once"));
        assert_eq!(p.get("a").unwrap(), Some("1"));
    }

    #[test]
    fn non_utf8_and_oversized_input_is_invalid_request() {
        assert!(Params::parse(b"a=%FF%FE").is_err());
        assert!(Params::parse(b"a=\xff").is_err());
        assert!(Params::parse(b"%C3%28=1").is_err());
        let long = format!("a={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert!(Params::parse(long.as_bytes()).is_err());
        let long_name = format!("{}=1", "n".repeat(MAX_NAME_LEN + 1));
        assert!(Params::parse(long_name.as_bytes()).is_err());
        let longest_name = format!("{}=1", "n".repeat(MAX_NAME_LEN));
        assert!(Params::parse(longest_name.as_bytes()).is_ok());
        let many = (0..=MAX_PARAMS)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Params::parse(many.as_bytes()).is_err());
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        let p = Params::parse(b"a=%zz%4").unwrap();
        assert_eq!(p.get("a").unwrap(), Some("%zz%4"));
    }
}
