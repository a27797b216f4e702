//! Redirect URIs: which ones an app may register, and whether a requested
//! one matches the registered list. Matching is exact string comparison
//! (RFC 9700 §4.1.3), except that a loopback redirect URI may carry any
//! port (RFC 8252 §7.3): native apps listen on whatever port is free.

use url::{Host, Url};

/// Schemes that must never be redirected to.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "file", "vbscript", "about", "blob"];

/// The longest redirect URI accepted.
pub const MAX_LEN: usize = 2048;

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks a URI an app wants to register: absolute, no fragment, https
/// (http only on loopback), or a private-use scheme for native apps.
/// Checks a redirect URI brought over from another server: the rules of
/// [`validate_registered`], except that plain http on any host is kept
/// (django-oauth-toolkit allows it by default), so its clients go on
/// working. Such URIs are shown as plain http on the app's page.
pub fn validate_imported(uri: &str) -> Result<(), String> {
    match validate_registered(uri) {
        Err(_) if is_plain_http(uri) => Ok(()),
        other => other,
    }
}

/// Whether `uri` is a well-formed plain-http URI on a host other than the
/// loopback ones (which [`validate_registered`] refuses).
pub fn is_plain_http(uri: &str) -> bool {
    if uri.len() > MAX_LEN || uri.contains('#') || uri.chars().any(|c| c.is_whitespace()) {
        return false;
    }
    Url::parse(uri).is_ok_and(|url| {
        url.scheme() == "http"
            && url.host().is_some()
            && !is_loopback(&url)
            && url.username().is_empty()
            && url.password().is_none()
    })
}

pub fn validate_registered(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".into());
    }
    let url = Url::parse(uri).map_err(|_| {
        if uri.is_ascii() {
            "must be an absolute URI, such as https://app.example/callback".to_string()
        } else {
            // The url crate is built without Unicode host names (see the
            // core's Cargo.toml): they are written in their ASCII form.
            "must be an absolute URI in ASCII: write a host name such as bücher.example \
             in its xn-- form (xn--bcher-kva.example)"
                .to_string()
        }
    })?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err("must not contain a fragment (#…)".into());
    }
    match url.scheme() {
        "https" if url.host().is_none() => {
            return Err("must name a host".into());
        }
        "http" if !is_loopback(&url) => {
            return Err(
                "must use https (http is allowed only for 127.0.0.1, [::1] and localhost)".into(),
            );
        }
        s if FORBIDDEN_SCHEMES.contains(&s) => {
            return Err(format!("the {s}: scheme is not allowed"));
        }
        _ => {}
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    Ok(())
}

/// Finds the registered URI `requested` matches and returns the URI to
/// redirect to (the requested one: with a loopback URI, its port).
pub fn find_match<'a>(registered: &'a [String], requested: &str) -> Option<&'a str> {
    if let Some(exact) = registered.iter().find(|r| *r == requested) {
        return Some(exact);
    }
    let req = Url::parse(requested).ok()?;
    // Only a URI already in canonical form: the parser would otherwise
    // normalise `127.1`, `/x/../cb` or stray newlines into a match while
    // the browser is sent to the string as given.
    if req.as_str() != requested
        || req.scheme() != "http"
        || !is_loopback(&req)
        || req.fragment().is_some()
    {
        return None;
    }
    registered
        .iter()
        .find(|r| {
            Url::parse(r).is_ok_and(|reg| {
                reg.scheme() == "http"
                    && reg.host() == req.host()
                    && reg.path() == req.path()
                    && reg.query() == req.query()
                    && reg.username() == req.username()
                    && req.password().is_none()
            })
        })
        .map(String::as_str)
}

/// `uri` with `params` appended to its query (RFC 6749 §3.1.2: the
/// registered query is kept).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(uri.len() + 96);
    out.push_str(uri);
    let mut sep = if uri.contains('?') {
        if uri.ends_with('?') || uri.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    for (k, v) in params {
        out.push_str(sep);
        out.extend(form_encode(k));
        out.push('=');
        out.extend(form_encode(v));
        sep = "&";
    }
    out
}

fn form_encode(s: &str) -> impl Iterator<Item = &str> {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE)
}

/// Everything but unreserved characters is escaped in parameter values.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    fn list(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn registration_rules() {
        for ok in [
            "https://app.example/cb",
            "https://app.example/cb?tenant=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(validate_registered(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/relative/cb",
            "app.example/cb",
            "https://app.example/cb#frag",
            "https://app.example/cb#",
            "http://app.example/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://user:pw@app.example/cb",
            "https://app.example/c b",
            "",
        ] {
            assert!(validate_registered(bad).is_err(), "{bad}");
        }
        assert!(
            validate_registered(&format!("https://a.example/{}", "x".repeat(MAX_LEN))).is_err()
        );
        // Host names in their ASCII (xn--) form only: a Unicode one may
        // look like another site's.
        let unicode = validate_registered("https://bücher.example/cb").unwrap_err();
        assert!(unicode.contains("xn--"), "{unicode}");
        assert_eq!(
            validate_registered("https://xn--bcher-kva.example/cb"),
            Ok(())
        );
    }

    #[test]
    fn matching_is_exact() {
        let reg = list(&["https://app.example/cb", "https://app.example/cb2?x=1"]);
        assert_eq!(
            find_match(&reg, "https://app.example/cb"),
            Some("https://app.example/cb")
        );
        assert_eq!(
            find_match(&reg, "https://app.example/cb2?x=1"),
            Some("https://app.example/cb2?x=1")
        );
        for altered in [
            "https://app.example/cb/",
            "https://app.example/CB",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example/cb2",
            "https://app.example/cb#x",
            "https://app.example:443/cb",
            "https://app.example.evil.example/cb",
            "https://app.example/cb/../cb",
            "http://app.example/cb",
            "https://app.example/cb%20",
        ] {
            assert_eq!(find_match(&reg, altered), None, "{altered}");
        }
    }

    #[test]
    fn loopback_port_may_vary() {
        let reg = list(&[
            "http://127.0.0.1/callback",
            "http://[::1]:9000/cb",
            "https://127.0.0.1/secure",
        ]);
        assert_eq!(
            find_match(&reg, "http://127.0.0.1:51234/callback"),
            Some("http://127.0.0.1/callback")
        );
        assert_eq!(
            find_match(&reg, "http://[::1]:1234/cb"),
            Some("http://[::1]:9000/cb")
        );
        // Only the port: path, host and scheme stay exact.
        assert_eq!(find_match(&reg, "http://127.0.0.1:51234/other"), None);
        assert_eq!(find_match(&reg, "http://127.0.0.2:51234/callback"), None);
        assert_eq!(
            find_match(&reg, "http://127.0.0.1:51234/callback?x=1"),
            None
        );
        assert_eq!(find_match(&reg, "https://127.0.0.1:8443/secure"), None);
        assert_eq!(find_match(&reg, "http://[::1]:1234/cb#f"), None);
        // Spellings the URL parser would normalise into a match.
        for sneaky in [
            "http://127.1:5000/callback",
            "http://2130706433:5000/callback",
            "http://127.0.0.1:5000/x/../callback",
            "http://127.0.0.1:5000/call\nback",
            "http://127.0.0.1:5000/call\tback",
            "HTTP://127.0.0.1:5000/callback",
        ] {
            assert_eq!(find_match(&reg, sneaky), None, "{sneaky:?}");
        }
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query(
                "https://a.example/cb",
                &[("code", "abc"), ("state", "x y&z=1")]
            ),
            "https://a.example/cb?code=abc&state=x%20y%26z%3D1"
        );
        assert_eq!(
            with_query("https://a.example/cb?tenant=1", &[("code", "abc")]),
            "https://a.example/cb?tenant=1&code=abc"
        );
    }

    #[test]
    fn imported_uris_may_use_plain_http_on_any_host() {
        assert!(validate_registered("http://consumer.example/cb").is_err());
        assert!(validate_imported("http://consumer.example/cb").is_ok());
        assert!(is_plain_http("http://consumer.example/cb"));
        assert!(!is_plain_http("http://127.0.0.1:8000/cb"));
        assert!(!is_plain_http("https://consumer.example/cb"));
        assert!(validate_imported("https://consumer.example/cb").is_ok());
        for bad in [
            "http://consumer.example/cb#frag",
            "http://user:pw@consumer.example/cb",
            "javascript:alert(1)",
            "not a uri",
        ] {
            assert!(validate_imported(bad).is_err(), "{bad}");
        }
    }
}
