//! `/o/playground/callback/`: the Try-it panel's redirect URI. The GET
//! receives the authorization response and checks its `state` against the
//! panel's cookie; the POST exchanges the code at the token endpoint (the
//! same service `/o/token/` runs, with the client's own credentials, which
//! the developer types and Gatehouse does not keep), then shows the token
//! response, the id_token's claims and the userinfo answer.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use gatehouse::account::FieldErrors;
use gatehouse::oauth::client::Application;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::{ErrorCode, Scope};
use gatehouse::secret::constant_time_eq;
use serde::Deserialize;

use super::extract::{Answer, SignedIn, SignedInForm};
use super::render::{self, Refusal};
use super::{cookies, owned_app};
use crate::http::{now, origin};
use crate::state::AppState;

/// The Try-it panel's pending request: `app id.state.verifier`.
pub(super) const TRY_COOKIE: &str = "gatehouse_try";

/// The Try-it panel's redirect URI.
pub(super) fn playground_uri(state: &AppState) -> String {
    format!(
        "{}{}",
        state.oauth.issuer(),
        app::paths::PLAYGROUND_CALLBACK
    )
}

/// The pending Try-it request: app id, state and PKCE verifier.
struct Pending {
    app_id: String,
    state: String,
    verifier: String,
}

fn pending(parts: &Parts) -> Option<Pending> {
    let value = cookies::get(&parts.headers, TRY_COOKIE)?;
    let mut it = value.splitn(3, '.');
    Some(Pending {
        app_id: it.next()?.to_owned(),
        state: it.next()?.to_owned(),
        verifier: it.next()?.to_owned(),
    })
}

fn view(app: &Application) -> app::state::PlaygroundView {
    app::state::PlaygroundView {
        app_id: app.id,
        app_name: app.name.clone(),
        needs_secret: !app.is_public(),
        ..Default::default()
    }
}

async fn show_page(
    state: &AppState,
    mut parts: Parts,
    view: Option<app::state::PlaygroundView>,
    status: StatusCode,
) -> Response {
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.playground = view;
    }
    render::page(state, parts, status).await
}

/// The app of the pending request, if the signed-in user owns it.
async fn pending_app(
    state: &AppState,
    parts: &Parts,
    user_id: i64,
) -> Result<Option<(Pending, Application)>, gatehouse::store::StoreError> {
    let Some(p) = pending(parts) else {
        return Ok(None);
    };
    Ok(owned_app(state, user_id, &p.app_id)
        .await?
        .map(|app| (p, app)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// GET: the authorization response.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    req: Request,
) -> Answer {
    let (parts, _) = req.into_parts();
    let query: Callback =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    let pending = pending_app(&state, &parts, session.user.id).await?;
    let started_here = pending
        .as_ref()
        .zip(query.state.as_deref())
        .is_some_and(|((p, _), s)| constant_time_eq(s, &p.state));
    if !started_here {
        if let Some(app) = browser_app(&state, session.user.id, query.state.as_deref()).await? {
            return Ok(browser_answer(&state, parts, &app, query).await);
        }
    }
    let Some((pending, app)) = pending else {
        return Ok(show_page(&state, parts, None, StatusCode::BAD_REQUEST).await);
    };
    let mut v = view(&app);
    if !query
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s, &pending.state))
    {
        v.error = Some(
            "The state does not match the request the Try it panel built: this answer was not \
             for it. Build the authorization URL again."
                .into(),
        );
        return Ok(show_page(&state, parts, Some(v), StatusCode::BAD_REQUEST).await);
    }
    if let Some(error) = query.error {
        v.error = Some(format!(
            "The authorization failed: {error}: {}",
            query.error_description.unwrap_or_default()
        ));
        return Ok(show_page(&state, parts, Some(v), StatusCode::OK).await);
    }
    v.code = query.code;
    v.state = pending.state;
    Ok(show_page(&state, parts, Some(v), StatusCode::OK).await)
}

/// The public app whose Try-it panel made `state` in the browser
/// (`b.<app id>.<random>`), if the signed-in person owns it.
async fn browser_app(
    state: &AppState,
    user_id: i64,
    request_state: Option<&str>,
) -> Result<Option<Application>, gatehouse::store::StoreError> {
    let Some(rest) = request_state.and_then(|s| s.strip_prefix(app::state::BROWSER_TRY_STATE))
    else {
        return Ok(None);
    };
    let Some((app_id, _)) = rest.split_once('.') else {
        return Ok(None);
    };
    Ok(owned_app(state, user_id, app_id)
        .await?
        .filter(Application::is_public))
}

/// The answer to a request the browser started: the page checks the
/// state against what it kept and exchanges the code itself.
async fn browser_answer(
    state: &AppState,
    parts: Parts,
    app: &Application,
    query: Callback,
) -> Response {
    let mut v = view(app);
    v.in_browser = true;
    v.state = query.state.unwrap_or_default();
    match query.error {
        Some(error) => {
            v.error = Some(format!(
                "The authorization failed: {error}: {}",
                query.error_description.unwrap_or_default()
            ))
        }
        None => v.code = query.code,
    }
    show_page(state, parts, Some(v), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Exchange {
    code: String,
    state: String,
    client_secret: String,
}

/// Pretty JSON of the middle part of a JWS (already verified by us: we
/// signed it a moment ago).
fn jws_payload(jws: &str) -> Option<String> {
    let payload = jws.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_string_pretty(&value).ok()
}

/// POST: exchanges the code with the client's credentials.
pub async fn exchange(State(state): State<AppState>, post: SignedInForm<Exchange>) -> Answer {
    let SignedInForm {
        parts,
        form,
        session,
    } = post;
    let Some((pending, app)) = pending_app(&state, &parts, session.user.id).await? else {
        return Ok(show_page(&state, parts, None, StatusCode::BAD_REQUEST).await);
    };
    let mut v = view(&app);
    if !constant_time_eq(&form.state, &pending.state) {
        v.error = Some("This exchange is not for the pending request. Start again.".into());
        return Ok(show_page(&state, parts, Some(v), StatusCode::BAD_REQUEST).await);
    }
    let redirect_uri = playground_uri(&state);
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", form.code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", pending.verifier.as_str()),
        ("client_id", app.client_id.as_str()),
    ];
    if !app.is_public() {
        pairs.push(("client_secret", form.client_secret.as_str()));
    }
    let params = Params::from_pairs(pairs);
    let origin = origin(&state, &parts);
    let tokens = match state.oauth.token(None, &params, &origin, now()).await {
        Ok(t) => t,
        Err(e) if e.code == ErrorCode::InvalidClient => {
            v.code = Some(form.code.clone());
            v.state = pending.state;
            let mut parts = parts;
            if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
                page.playground = Some(v);
            }
            let refusal = Refusal {
                form: "playground",
                errors: FieldErrors::one("client_secret", "The client secret is not correct."),
                message: None,
                values: vec![],
                status: StatusCode::UNAUTHORIZED,
            };
            return Ok(render::refused(&state, parts, refusal).await);
        }
        Err(e) => {
            v.error = Some(format!(
                "The token endpoint refused the code: {}: {}",
                e.code, e.description
            ));
            return Ok(show_page(&state, parts, Some(v), StatusCode::BAD_REQUEST).await);
        }
    };
    let token_response = serde_json::to_string_pretty(&tokens).unwrap_or_default();
    let id_token_claims = tokens.id_token.as_deref().and_then(jws_payload);
    let granted = gatehouse::oauth::ScopeSet::parse(&tokens.scope)
        .unwrap_or(gatehouse::oauth::ScopeSet::EMPTY);
    let userinfo = if granted.contains(Scope::Openid) {
        match state.oauth.userinfo(&tokens.access_token, now()).await {
            Ok(claims) => serde_json::to_string_pretty(&claims).ok(),
            Err(e) => Some(format!("{}: {}", e.code, e.description)),
        }
    } else {
        None
    };
    v.result = Some(app::state::PlaygroundResult {
        token_response,
        id_token_claims,
        userinfo,
    });
    let mut response = show_page(&state, parts, Some(v), StatusCode::OK).await;
    // The verifier is spent.
    let clear = cookies::set_at(
        TRY_COOKIE,
        "",
        app::paths::PLAYGROUND_CALLBACK,
        state.config.secure_cookies(),
        Some(0),
    );
    if let Ok(h) = HeaderValue::from_str(&clear) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, h);
    }
    Ok(response)
}
