//! Reading and writing the portal's cookies.

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

/// The value of cookie `name` in the request, if present once or more
/// (the first one wins, as browsers send the most specific first).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, path `/`, `Secure`
/// when served over https. `max_age` None makes a browser-session cookie.
pub fn set(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    set_at(name, value, "/", secure, max_age)
}

/// Like [`set`], for cookies only pages under `path` need.
pub fn set_at(name: &str, value: &str, path: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", secure, Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; gatehouse_session=abc; b=2".parse().unwrap());
        assert_eq!(get(&h, "gatehouse_session"), Some("abc"));
        assert_eq!(get(&h, "session"), None);
    }

    #[test]
    fn cookie_attributes() {
        assert_eq!(
            set("s", "v", true, Some(60)),
            "s=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(
            set("s", "v", false, None),
            "s=v; Path=/; HttpOnly; SameSite=Lax"
        );
        assert!(clear("s", false).contains("Max-Age=0"));
    }
}
