//! `/o/authorize/`: the authorization endpoint and its consent page.
//!
//! GET validates the request (client and redirect URI first: when either
//! is wrong the user sees an error page, never a redirect), sends signed-out
//! users to sign in and back, and then either answers at once (consent
//! already given, or the app skips it) or renders the consent page. The
//! page posts the request back with `decision=allow|deny`; the POST checks
//! the CSRF token and validates the request again in full.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse::oauth::authorize::{error_location, AuthorizationRequest, AuthorizeError};
use gatehouse::oauth::client::Application;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::{ErrorCode, OAuthError};

use super::views::scope_views;
use super::{csrf_refusal, current_session, render, CurrentSession};
use crate::http::now;
use crate::state::AppState;

fn found(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, v);
    }
    response
}

fn refused_page(message: &str) -> Response {
    render::plain_page(
        StatusCode::BAD_REQUEST,
        "Authorization request refused",
        message,
    )
}

/// An error for an app staff have not reviewed yet, before the person did
/// anything on our pages: shown here, with a link back, never an automatic
/// redirect (else anyone could register an app and use Gatehouse's domain
/// as an open redirector, RFC 9700 §4.11.2).
fn held_error(app: &Application, redirect_uri: &str, error: &OAuthError) -> Response {
    let origin = origin_of(redirect_uri);
    let body = format!(
        "{} sent a request Gatehouse cannot answer ({}: {}). \
         Nothing was shared with it.",
        app.name, error.code, error.description
    );
    if origin.starts_with("https://") || origin.starts_with("http://") {
        render::page_with_link(
            StatusCode::BAD_REQUEST,
            "Authorization request refused",
            &body,
            &format!("Return to {origin}"),
            &origin,
        )
    } else {
        render::plain_page(
            StatusCode::BAD_REQUEST,
            "Authorization request refused",
            &body,
        )
    }
}

/// The unreviewed app a request names, if it names one.
async fn unreviewed_app(state: &AppState, params: &Params) -> Option<std::sync::Arc<Application>> {
    let client_id = params.get("client_id").ok().flatten()?;
    match state.oauth.application(client_id).await {
        Ok(Some(app)) if !app.reviewed => Some(app),
        _ => None,
    }
}

async fn answer_error(state: &AppState, params: &Params, e: AuthorizeError) -> Response {
    if let AuthorizeError::Redirect {
        redirect_uri,
        error,
        ..
    } = &e
    {
        if let Some(app) = unreviewed_app(state, params).await {
            return held_error(&app, redirect_uri, error);
        }
    }
    match e.location(state.oauth.issuer()) {
        Some(location) => found(&location),
        None => match e {
            AuthorizeError::Page(message) => refused_page(&message),
            AuthorizeError::Redirect { .. } => unreachable!("a redirect error has a location"),
        },
    }
}

/// The authorization endpoint's URL for `request` (what the consent form
/// posts, as a GET), used to come back after signing in.
fn request_url(request: &AuthorizationRequest) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request.to_pairs())
        .finish();
    format!("{}?{query}", app::paths::AUTHORIZE)
}

/// Sign in (again), then come back to this very request. Its `prompt=login`
/// and `max_age` are not carried over: the sign-in just made satisfies them,
/// and asking again would loop.
fn to_login(request: &AuthorizationRequest, status: StatusCode) -> Response {
    let mut back = request.clone();
    back.max_age = None;
    let mut response = found(&format!(
        "{}?next={}",
        app::paths::LOGIN,
        gatehouse::next::encode_next(&request_url(&back))
    ));
    *response.status_mut() = status;
    response
}

fn origin_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) if u.host().is_some() => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => uri.to_owned(),
    }
}

pub async fn show(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let query = parts.uri.query().unwrap_or("").as_bytes();
    match Params::parse(query) {
        Ok(params) => authorize(&state, parts, &params, StatusCode::FOUND).await,
        Err(e) => refused_page(&format!(
            "The request could not be read: {}.",
            e.description
        )),
    }
}

/// Answers an authorization request (sent as GET, or as a form POST).
async fn authorize(
    state: &AppState,
    mut parts: Parts,
    params: &Params,
    status: StatusCode,
) -> Response {
    let (app, request) = match state.oauth.authorization_request(params).await {
        Ok(r) => r,
        Err(e) => return answer_error(state, params, e).await,
    };
    let Some(session) = current_session(&parts) else {
        if request.prompt.none {
            return login_required(state, &app, &request);
        }
        return to_login(&request, status);
    };
    // prompt=login and max_age (OIDC Core §3.1.2.1): sign in again when
    // asked to, or when the last sign-in is older than max_age.
    let auth_time = session.signed_in_at;
    let too_old = request.max_age.is_some_and(|max| now() - auth_time > max);
    if request.prompt.login || too_old {
        if request.prompt.none {
            return login_required(state, &app, &request);
        }
        return to_login(&request, status);
    }
    let needs_consent = match state
        .oauth
        .needs_consent(session.user.id, &app, &request)
        .await
    {
        Ok(n) => n,
        Err(e) => return render::internal_error(e),
    };
    if !needs_consent {
        let origin = crate::http::origin(state, &parts);
        return approve(state, &session, &app, &request, &origin, status).await;
    }
    if request.prompt.none {
        let error = OAuthError::new(
            ErrorCode::ConsentRequired,
            "the user has not granted these scopes",
        );
        if !app.reviewed {
            return held_error(&app, &request.redirect_uri, &error);
        }
        return found(&error_location(
            &request.redirect_uri,
            &error,
            request.state.as_deref(),
            state.oauth.issuer(),
        ));
    }
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.consent = Some(consent_view(&app, &request));
    }
    parts.uri = axum::http::Uri::from_static(app::paths::AUTHORIZE);
    let mut response = render::page(state, parts, StatusCode::OK).await;
    // Clickjacking defence for the one page whose button grants access.
    response.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    response
}

fn login_required(state: &AppState, app: &Application, request: &AuthorizationRequest) -> Response {
    let error = OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in");
    if !app.reviewed {
        return held_error(app, &request.redirect_uri, &error);
    }
    found(&error_location(
        &request.redirect_uri,
        &error,
        request.state.as_deref(),
        state.oauth.issuer(),
    ))
}

fn consent_view(app: &Application, request: &AuthorizationRequest) -> app::state::ConsentView {
    app::state::ConsentView {
        app_name: app.name.clone(),
        scopes: scope_views(request.scopes),
        redirect_origin: origin_of(&request.redirect_uri),
        request: request
            .to_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}

async fn approve(
    state: &AppState,
    session: &CurrentSession,
    app: &Application,
    request: &AuthorizationRequest,
    origin: &gatehouse::audit::Origin,
    status: StatusCode,
) -> Response {
    let now = now();
    let auth_time = session.signed_in_at;
    let user = (session.user.id, session.user.username.as_str());
    match state
        .oauth
        .approve(user, app, request, auth_time, origin, now)
        .await
    {
        Ok(location) => {
            let mut response = found(&location);
            *response.status_mut() = status;
            response
        }
        Err(e) => render::internal_error(e),
    }
}

/// A POST: the consent form's decision, or (without `decision`) an
/// authorization request sent as a form (OIDC Core §3.1.2.1 allows POST).
pub async fn decide(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return render::bad_form(),
    };
    let params = match Params::parse(&bytes) {
        Ok(p) => p,
        Err(_) => return render::bad_form(),
    };
    let decision = match params.get("decision") {
        Ok(None) => {
            // A cross-site POST carries no SameSite=Lax session cookie, so
            // answer it with the same request as a top-level GET, which does.
            return match state.oauth.authorization_request(&params).await {
                Ok(_) => {
                    // Everything the client sent (prompt=login included).
                    let query = url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(params.pairs())
                        .finish();
                    let mut response = found(&format!("{}?{query}", app::paths::AUTHORIZE));
                    *response.status_mut() = StatusCode::SEE_OTHER;
                    response
                }
                Err(e) => answer_error(&state, &params, e).await,
            };
        }
        Ok(Some(d)) => d,
        Err(_) => return render::bad_form(),
    };
    let token = params.get("csrf_token").ok().flatten().unwrap_or("");
    if let Some(refusal) = csrf_refusal(&state, &parts, token) {
        return refusal;
    }
    let (app, request) = match state.oauth.authorization_request(&params).await {
        Ok(r) => r,
        Err(e) => return answer_error(&state, &params, e).await,
    };
    let Some(session) = current_session(&parts) else {
        // Signed out in another tab: sign in again, then see the page again.
        return to_login(&request, StatusCode::SEE_OTHER);
    };
    match decision {
        "allow" => {
            let origin = crate::http::origin(&state, &parts);
            approve(
                &state,
                &session,
                &app,
                &request,
                &origin,
                StatusCode::SEE_OTHER,
            )
            .await
        }
        "deny" => render::see_other(&state.oauth.deny(&request), &[]),
        _ => render::bad_form(),
    }
}
