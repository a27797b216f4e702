//! Missing trailing slashes. Every path Gatehouse serves under a name ends
//! in `/` (django-oauth-toolkit's layout); a client configured without the
//! slash (`/o/authorize`) is redirected to it, query kept: 301 for GET and
//! HEAD, 308 for other methods so the body is sent again.

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The slash-terminated path patterns the router serves (`{id}` or `:id`
/// segments match any one segment).
pub struct Known(Vec<Vec<String>>);

impl Known {
    pub fn new<'a>(paths: impl Iterator<Item = &'a str>) -> Self {
        let mut patterns: Vec<Vec<String>> = paths
            .filter(|p| p.len() > 1 && p.ends_with('/'))
            .map(|p| p.split('/').map(str::to_owned).collect())
            .collect();
        patterns.sort();
        patterns.dedup();
        Self(patterns)
    }

    fn serves(&self, path: &str) -> bool {
        self.0.iter().any(|pattern| matches(pattern, path))
    }

    /// The redirect for `uri` when its path lacks only the final slash.
    pub fn redirect(&self, method: &Method, uri: &Uri) -> Option<Response> {
        let path = uri.path();
        if path.ends_with('/') {
            return None;
        }
        let with_slash = format!("{path}/");
        if !self.serves(&with_slash) {
            return None;
        }
        let location = match uri.query() {
            Some(q) => format!("{with_slash}?{q}"),
            None => with_slash,
        };
        let status = if method == Method::GET || method == Method::HEAD {
            StatusCode::MOVED_PERMANENTLY
        } else {
            StatusCode::PERMANENT_REDIRECT
        };
        let mut response = status.into_response();
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_str(&location).ok()?);
        Some(response)
    }
}

fn matches(pattern: &[String], path: &str) -> bool {
    let mut segments = path.split('/');
    for want in pattern {
        let Some(got) = segments.next() else {
            return false;
        };
        let wildcard = want.starts_with('{') || want.starts_with(':');
        if !(want == got || wildcard && !got.is_empty()) {
            return false;
        }
    }
    segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known::new(
            [
                "/o/authorize/",
                "/o/token/",
                "/o/applications/{id}/",
                "/",
                "/o/.well-known/jwks.json",
            ]
            .into_iter(),
        )
    }

    fn location(method: Method, uri: &str) -> Option<(StatusCode, String)> {
        let r = known().redirect(&method, &uri.parse().unwrap())?;
        let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
        Some((r.status(), to))
    }

    #[test]
    fn adds_the_slash_keeping_the_query() {
        assert_eq!(
            location(Method::GET, "/o/authorize?client_id=a&state=b"),
            Some((
                StatusCode::MOVED_PERMANENTLY,
                "/o/authorize/?client_id=a&state=b".into()
            ))
        );
        assert_eq!(
            location(Method::POST, "/o/token"),
            Some((StatusCode::PERMANENT_REDIRECT, "/o/token/".into()))
        );
        assert_eq!(
            location(Method::GET, "/o/applications/7"),
            Some((StatusCode::MOVED_PERMANENTLY, "/o/applications/7/".into()))
        );
    }

    #[test]
    fn leaves_everything_else_alone() {
        for uri in [
            "/o/authorize/",
            "/nothing",
            "/o/token/x",
            "/o/applications",
            "/o/applications/7/x",
            "/o/.well-known/jwks.json",
            "/favicon.ico",
        ] {
            assert_eq!(location(Method::GET, uri), None, "{uri}");
        }
    }
}
