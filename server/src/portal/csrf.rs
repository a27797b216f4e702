//! Cross-site request forgery protection for the portal's form posts.
//!
//! Two independent checks, both required:
//! 1. The browser's own word on where the request comes from: a
//!    `Sec-Fetch-Site` header, when present, must be `same-origin`; an
//!    `Origin` header, when present, must be Gatehouse's public origin or
//!    the origin of the `Host` the request was sent to.
//! 2. A token: the form's `csrf_token` must equal the value of the CSRF
//!    cookie (random, `HttpOnly`, `SameSite=Lax`), set on the first visit.
//!    Another site can neither read that cookie nor the page holding it.

use axum::http::header::{HOST, ORIGIN};
use axum::http::HeaderMap;
use gatehouse::secret::constant_time_eq;

#[derive(Debug, PartialEq, Eq)]
pub enum CsrfRejection {
    CrossSite,
    BadToken,
}

pub fn check(
    headers: &HeaderMap,
    public_origin: &str,
    cookie_token: Option<&str>,
    form_token: &str,
) -> Result<(), CsrfRejection> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return Err(CsrfRejection::CrossSite);
        }
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().map_err(|_| CsrfRejection::CrossSite)?;
        let same_host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|host| {
                origin
                    .split_once("://")
                    .map(|(_, o)| o.eq_ignore_ascii_case(host))
            })
            .unwrap_or(false);
        if !origin.eq_ignore_ascii_case(public_origin) && !same_host {
            return Err(CsrfRejection::CrossSite);
        }
    }
    match cookie_token {
        Some(expected) if !expected.is_empty() && constant_time_eq(expected, form_token) => Ok(()),
        _ => Err(CsrfRejection::BadToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "http://127.0.0.1:3000";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_origin_with_token_passes() {
        let h = headers(&[("origin", PUBLIC), ("sec-fetch-site", "same-origin")]);
        assert_eq!(check(&h, PUBLIC, Some("t"), "t"), Ok(()));
        // Non-browser clients send neither header; the token still counts.
        assert_eq!(check(&HeaderMap::new(), PUBLIC, Some("t"), "t"), Ok(()));
        // Reached through another name of the same server.
        let h = headers(&[
            ("origin", "http://localhost:3000"),
            ("host", "localhost:3000"),
        ]);
        assert_eq!(check(&h, PUBLIC, Some("t"), "t"), Ok(()));
    }

    #[test]
    fn foreign_origin_fails_even_with_token() {
        let h = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert_eq!(
            check(&h, PUBLIC, Some("t"), "t"),
            Err(CsrfRejection::CrossSite)
        );
        let h = headers(&[("sec-fetch-site", "cross-site")]);
        assert_eq!(
            check(&h, PUBLIC, Some("t"), "t"),
            Err(CsrfRejection::CrossSite)
        );
        let h = headers(&[("sec-fetch-site", "same-site")]);
        assert_eq!(
            check(&h, PUBLIC, Some("t"), "t"),
            Err(CsrfRejection::CrossSite)
        );
    }

    #[test]
    fn missing_or_wrong_token_fails() {
        let h = headers(&[("origin", PUBLIC)]);
        assert_eq!(check(&h, PUBLIC, None, ""), Err(CsrfRejection::BadToken));
        assert_eq!(
            check(&h, PUBLIC, Some("t"), ""),
            Err(CsrfRejection::BadToken)
        );
        assert_eq!(
            check(&h, PUBLIC, Some("t"), "u"),
            Err(CsrfRejection::BadToken)
        );
        assert_eq!(
            check(&h, PUBLIC, Some(""), ""),
            Err(CsrfRejection::BadToken)
        );
    }
}
