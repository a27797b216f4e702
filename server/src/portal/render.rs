//! Answers of the form handlers: the page again with feedback, a redirect,
//! or a generic error that hides its cause from the browser.

use app::components::title::escape_html;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse::account::FieldErrors;

use crate::state::AppState;

/// What the page shows again after a refused post.
pub struct Refusal<'a> {
    pub form: &'a str,
    pub errors: FieldErrors,
    pub message: Option<String>,
    /// What the user typed, minus passwords.
    pub values: Vec<(&'a str, String)>,
    pub status: StatusCode,
}

/// Renders the page the form is on (the request's path) with the form's
/// errors beside their fields and the typed values kept.
pub async fn refused(state: &AppState, mut parts: Parts, refusal: Refusal<'_>) -> Response {
    let status = refusal.status;
    let feedback = super::actions::feedback(refusal);
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.feedback = feedback;
    }
    page(state, parts, status).await
}

/// Renders the Leptos page at the request's path, with whatever the
/// handler put in the request's `PortalState`.
pub async fn page(state: &AppState, mut parts: Parts, status: StatusCode) -> Response {
    parts.method = axum::http::Method::GET;
    let options = state.leptos_options.clone();
    let render =
        leptos_axum::render_app_async_with_context(|| {}, move || app::shell(options.clone()));
    let mut response = render(Request::from_parts(parts, Body::empty())).await;
    *response.status_mut() = status;
    response
}

/// 303 See Other to `location`, optionally setting cookies.
pub fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(LOCATION, v);
    }
    for cookie in cookies {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            headers.append(SET_COOKIE, v);
        }
    }
    response
}

/// A minimal page with a title and one paragraph (both escaped).
pub fn plain_page(status: StatusCode, title: &str, body: &str) -> Response {
    card_page(status, title, body, None)
}

/// A page like [`plain_page`] that ends with a link (`href` must already be
/// a safe URL: it is escaped, not checked).
pub fn page_with_link(
    status: StatusCode,
    title: &str,
    body: &str,
    link_text: &str,
    href: &str,
) -> Response {
    card_page(status, title, body, Some((link_text, href)))
}

/// A static page (no scripts): a card with a heading, a paragraph and
/// perhaps a link, every piece escaped.
fn card_page(status: StatusCode, title: &str, body: &str, link: Option<(&str, &str)>) -> Response {
    let (title, body) = (escape_html(title), escape_html(body));
    let link = link
        .map(|(text, href)| {
            format!(
                "<p><a href=\"{}\" rel=\"noreferrer\">{}</a></p>",
                escape_html(href),
                escape_html(text)
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Gatehouse</title>\
         <link rel=\"stylesheet\" href=\"/pkg/gatehouse.css\"></head><body><main><section class=\"card\">\
         <h1>{title}</h1><p>{body}</p>{link}</section></main></body></html>"
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A post whose origin or CSRF token is wrong.
pub fn csrf_rejected() -> Response {
    plain_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was sent from another site or has expired. Go back, reload the page and try again.",
    )
}

/// A post whose body could not be read as a form.
pub fn bad_form() -> Response {
    plain_page(
        StatusCode::BAD_REQUEST,
        "Bad request",
        "The form could not be read. Go back, reload the page and try again.",
    )
}

/// A failure that is not the user's doing: logged in full, shown generically.
/// Too many password hashes are waiting: 503 with `Retry-After`, at once.
pub fn busy() -> Response {
    let mut response = plain_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        "Gatehouse is busy checking other sign-ins. Please try again in a few seconds.",
    );
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("2"),
    );
    response
}

pub fn internal_error(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "request failed");
    plain_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Gatehouse could not complete this request. Please try again in a moment.",
    )
}
