//! The middleware in front of every portal page and form post: resolves the
//! session cookie, ensures a CSRF cookie, and attaches both to the request
//! for the pages (as `app::state::PortalState`) and the handlers.

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse::secret::{Secret, SecretDigest};
use gatehouse::store::User;

use super::{cookies, render};
use crate::http::now;
use crate::state::AppState;

/// Paths whose GET needs a signed-in user.
const SIGNED_IN_ONLY: &[&str] = &[app::paths::PROFILE, app::paths::DEVICE];

/// The signed-in user behind the request's session cookie.
#[derive(Clone)]
pub struct CurrentSession {
    pub user: User,
    pub digest: SecretDigest,
    /// When the user signed in (sessions are created at sign-in only).
    pub signed_in_at: i64,
}

/// The CSRF cookie as the browser sent it (None on a first visit).
#[derive(Clone)]
pub struct CsrfCookie(pub Option<String>);

pub fn csrf_cookie_name(session_cookie_name: &str) -> String {
    format!("{session_cookie_name}_csrf")
}

pub(crate) fn looks_like_secret(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn user_view(user: &User) -> app::state::UserView {
    app::state::UserView {
        username: user.username.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        is_staff: user.is_staff,
        email_verified: user.email_verified,
        pending_email: None,
    }
}

pub async fn portal_context(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let config = &state.config;
    let session_cookie = cookies::get(req.headers(), &config.session_cookie()).map(str::to_owned);
    let mut stale_session = false;
    let session = match session_cookie {
        Some(cookie) => match state.accounts.session_user(&cookie, now()).await {
            Ok(Some((user, session))) => Some(CurrentSession {
                user,
                digest: session.digest,
                signed_in_at: session.created_at,
            }),
            Ok(None) => {
                stale_session = true;
                None
            }
            Err(e) => return render::internal_error(e).into_response(),
        },
        None => None,
    };

    // Pages for signed-in users send everyone else to sign in first, and
    // back afterwards. (The page also redirects when reached by client-side
    // navigation; this covers plain requests whatever their Accept header.)
    if session.is_none()
        && req.method() == axum::http::Method::GET
        && SIGNED_IN_ONLY.contains(&req.uri().path())
    {
        let next = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let next = gatehouse::next::encode_next(next);
        let mut response = render::see_other(&format!("{}?next={next}", app::paths::LOGIN), &[]);
        *response.status_mut() = axum::http::StatusCode::FOUND;
        if stale_session {
            let clear = cookies::clear(&config.session_cookie(), config.secure_cookies());
            if let Ok(v) = HeaderValue::from_str(&clear) {
                response.headers_mut().append(SET_COOKIE, v);
            }
        }
        return response;
    }

    let csrf_name = csrf_cookie_name(&config.session_cookie());
    let csrf_cookie = cookies::get(req.headers(), &csrf_name)
        .filter(|v| looks_like_secret(v))
        .map(str::to_owned);
    let (csrf_token, fresh_csrf) = match &csrf_cookie {
        Some(token) => (token.clone(), false),
        None => (Secret::generate().expose().to_owned(), true),
    };

    let mut user = session.as_ref().map(|s| user_view(&s.user));
    // The profile says which new address waits for verification.
    if let (Some(view), Some(s)) = (user.as_mut(), session.as_ref()) {
        if config.verify_email && req.uri().path() == app::paths::PROFILE {
            match state.accounts.pending_email(&s.user, now()).await {
                Ok(pending) => view.pending_email = pending,
                Err(e) => return render::internal_error(e).into_response(),
            }
        }
    }
    req.extensions_mut().insert(app::state::PortalState {
        user,
        csrf_token: csrf_token.clone(),
        feedback: Default::default(),
        email_accounts: config.account_identifier == gatehouse::account::AccountIdentifier::Email,
        signup_closed: config.signup == gatehouse::account::SignupPolicy::Closed,
        signup_domains: match config.signup {
            gatehouse::account::SignupPolicy::Domains => config.signup_email_domains.clone(),
            _ => Vec::new(),
        },
        verify_email: config.verify_email,
        ..Default::default()
    });
    req.extensions_mut().insert(CsrfCookie(csrf_cookie));
    req.extensions_mut().insert(session);

    let mut response = next.run(req).await;
    let secure = config.secure_cookies();
    let headers = response.headers_mut();
    let sets_session = headers.get_all(SET_COOKIE).iter().any(|v| {
        v.as_bytes()
            .starts_with(format!("{}=", config.session_cookie()).as_bytes())
    });
    if stale_session && !sets_session {
        if let Ok(v) = HeaderValue::from_str(&cookies::clear(&config.session_cookie(), secure)) {
            headers.append(SET_COOKIE, v);
        }
    }
    if fresh_csrf {
        if let Ok(v) = HeaderValue::from_str(&cookies::set(&csrf_name, &csrf_token, secure, None)) {
            headers.append(SET_COOKIE, v);
        }
    }
    // Pages carry the CSRF token and personal data: never cache them.
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
