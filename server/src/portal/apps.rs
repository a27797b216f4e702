//! The developer portal's server side: `/o/applications/`, registration,
//! and each app's page (details, edit, rotate the secret, delete, the
//! Try-it panel). Only the owner sees or changes an app: anyone else gets
//! 404, as for an app that does not exist.
//!
//! A new client secret (registration, rotation) is handed to the app's
//! page in a short-lived cookie scoped to that page, shown once and
//! cleared, so the form post can end in a redirect (a reload never
//! rotates again) and no secret is ever put in a URL.

use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse::account::FieldErrors;
use gatehouse::audit::{Event, EventKind};
use gatehouse::oauth::client::{Application, GrantType};
use gatehouse::oauth::registration::{self, Registration};
use gatehouse::oauth::{Scope, ScopeSet};
use gatehouse::secret::Secret;

use super::actions::{self, Decision, Outcome, Success};
use super::context::looks_like_secret;
use super::context::CurrentSession;
use super::extract::{signed_in, Answer, CheckedForm, FromForm, PortalError, SignedIn};
use super::playground::{playground_uri, TRY_COOKIE};
use super::render::{self, Refusal};
use super::views::app_view;
use super::{cookies, owned_app};
use crate::http::{now, origin};
use crate::state::AppState;
pub use app::actions::AppForm;

/// Carries a new client secret to the app's page, once.
const SECRET_COOKIE: &str = "gatehouse_new_secret";

/// What a post of [`AppForm`] asks for (its `action` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppAction {
    /// Register a new app.
    Register,
    /// Save the edited fields.
    Edit,
    /// Add the Try-it panel's redirect URI (and the code grant).
    AddPlayground,
    /// Issue a new client secret.
    Rotate,
    /// Delete the app (with the confirmation ticked).
    Delete,
    /// Build an authorization request for the Try-it panel.
    Try,
}

impl AppAction {
    fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "register" => Self::Register,
            "edit" => Self::Edit,
            "add_playground" => Self::AddPlayground,
            "rotate" => Self::Rotate,
            "delete" => Self::Delete,
            "try" => Self::Try,
            _ => return None,
        })
    }
}

fn portal(parts: &mut Parts) -> Option<&mut app::state::PortalState> {
    parts.extensions.get_mut::<app::state::PortalState>()
}

/// [`AppForm`] as a browser without JavaScript posts it: the grant types'
/// checkboxes repeat their name, and are joined here as the hydrated page
/// joins them before calling the server function.
pub struct AppPost(AppForm);

impl FromForm for AppPost {
    fn from_form(body: &[u8]) -> Option<Self> {
        let mut form = AppForm::default();
        let mut grants = Vec::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "csrf_token" => form.csrf_token = v,
                "app_id" => form.app_id = v,
                "action" => form.action = v,
                "name" => form.name = v,
                "client_type" => form.client_type = v,
                "grant_types" => grants.push(v),
                "redirect_uris" => form.redirect_uris = v,
                "post_logout_redirect_uris" => form.post_logout_redirect_uris = v,
                "allowed_origins" => form.allowed_origins = v,
                "algorithm" => form.algorithm = v,
                "skip_consent" => form.skip_consent = v,
                "confirm" => form.confirm = v,
                "redirect_uri" => form.redirect_uri = v,
                "scope" => form.scope = v,
                _ => {}
            }
        }
        form.grant_types = grants.join(" ");
        Some(Self(form))
    }
}

/// What the person typed, to show again after a refusal.
fn typed(form: &AppForm) -> Vec<(&'static str, String)> {
    vec![
        ("name", form.name.clone()),
        ("client_type", form.client_type.clone()),
        ("grant_types", form.grant_types.clone()),
        ("redirect_uris", form.redirect_uris.clone()),
        (
            "post_logout_redirect_uris",
            form.post_logout_redirect_uris.clone(),
        ),
        ("allowed_origins", form.allowed_origins.clone()),
        ("algorithm", form.algorithm.clone()),
        ("skip_consent", form.skip_consent.clone()),
    ]
}

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Checks the form with the same rules as `gatehouse app create`.
fn check(
    form: &AppForm,
    client_type: &str,
    scopes: &str,
    staff: bool,
    kept_redirect_uris: &[String],
) -> Result<(Application, Option<String>), FieldErrors> {
    let registration = Registration {
        name: &form.name,
        client_type,
        // The password grant is a privilege staff grant (it hands the app
        // people's passwords); others' forms cannot ask for it.
        grant_types: form
            .grant_list()
            .into_iter()
            .filter(|g| staff || *g != "password")
            .collect(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        allowed_origins: lines(&form.allowed_origins),
        scopes,
        // Only staff may exempt an app from consent.
        skip_consent: staff && form.skip_consent == "on",
        algorithm: &form.algorithm,
        kept_redirect_uris: kept_redirect_uris.iter().map(String::as_str).collect(),
        ..Default::default()
    };
    registration::validate(&registration, now())
}

/// GET `/o/applications/`.
pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    req: Request,
) -> Answer {
    let (mut parts, _) = req.into_parts();
    let apps = state
        .oauth
        .store()
        .applications(Some(session.user.id))
        .await?;
    if let Some(page) = portal(&mut parts) {
        page.apps = Some(apps.iter().map(|a| app_view(a, None)).collect());
    }
    Ok(render::page(&state, parts, StatusCode::OK).await)
}

/// GET `/o/applications/register/`.
pub async fn register_form(State(state): State<AppState>, _: SignedIn, req: Request) -> Answer {
    let (parts, _) = req.into_parts();
    Ok(render::page(&state, parts, StatusCode::OK).await)
}

/// The app's page next, carrying a new secret to be shown once.
fn to_app_page(state: &AppState, app: &Application, secret: Option<&str>) -> Outcome {
    let path = app::paths::application(app.id);
    let mut success = Success::go(&path);
    if let Some(secret) = secret {
        success.cookies.push(cookies::set_at(
            SECRET_COOKIE,
            secret,
            &path,
            state.config.secure_cookies(),
            Some(300),
        ));
    }
    Outcome::Done(success)
}

/// POST `/o/applications/register/`.
pub async fn register(State(state): State<AppState>, post: CheckedForm<AppPost>) -> Answer {
    let CheckedForm {
        parts,
        form: AppPost(mut form),
    } = post;
    form.action = "register".to_owned();
    form.app_id.clear();
    let decision = decide(&state, &parts, form).await;
    actions::html(&state, parts, decision).await
}

/// Registers the app the form describes, owned by the signed-in person.
async fn register_app(
    state: &AppState,
    parts: &Parts,
    session: &CurrentSession,
    form: AppForm,
) -> Decision {
    let (mut app, secret) = match check(&form, &form.client_type, "", session.user.is_staff, &[]) {
        Ok(x) => x,
        Err(errors) => {
            return Ok(Outcome::refused(Refusal {
                form: "app",
                errors,
                message: Some("The application was not registered: see the fields below.".into()),
                values: typed(&form),
                status: StatusCode::BAD_REQUEST,
            }))
        }
    };
    app.owner_id = Some(session.user.id);
    // Anyone may register an app; staff review it before it may redirect
    // people without their having seen a Gatehouse page first.
    app.reviewed = session.user.is_staff;
    let event = Event::new(EventKind::AppCreated, now(), &origin(state, parts))
        .user(session.user.id, &session.user.username)
        .client(&app.client_id)
        .detail(format!("{} ({})", app.name, app.client_type.as_str()));
    let stored = state
        .oauth
        .store()
        .create_application(&app, &event)
        .await
        .map_err(PortalError::internal)?;
    tracing::info!(client_id = %stored.client_id, owner = session.user.id, "application registered");
    Ok(to_app_page(state, &stored, secret.as_deref()))
}

/// Renders the app's page (the request's path) with whatever else the
/// handler put in the page state.
async fn app_page(
    state: &AppState,
    mut parts: Parts,
    app: &Application,
    secret: Option<String>,
    try_it: Option<app::state::TryItView>,
    status: StatusCode,
) -> Response {
    show_app(state, &mut parts, app, secret, try_it);
    render::page(state, parts, status).await
}

/// Puts the app's page state into the request.
fn show_app(
    state: &AppState,
    parts: &mut Parts,
    app: &Application,
    secret: Option<String>,
    try_it: Option<app::state::TryItView>,
) {
    let view = app::state::AppPage {
        app: app_view(app, None),
        secret,
        try_it,
        playground_uri: playground_uri(state),
    };
    if let Some(page) = portal(parts) {
        page.app = Some(view);
    }
}

async fn not_found(state: &AppState, parts: Parts) -> Response {
    render::page(state, parts, StatusCode::NOT_FOUND).await
}

/// GET `/o/applications/<id>/`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    req: Request,
) -> Answer {
    let (parts, _) = req.into_parts();
    let Some(app) = owned_app(&state, session.user.id, &id).await? else {
        return Ok(not_found(&state, parts).await);
    };
    let flashed = cookies::get(&parts.headers, SECRET_COOKIE)
        .filter(|v| looks_like_secret(v))
        .map(str::to_owned);
    let shown = flashed.filter(|_| !app.is_public());
    let clear = flashed_cookie_clear(&state, &parts, &app);
    let mut response = app_page(&state, parts, &app, shown, None, StatusCode::OK).await;
    if let Some(v) = clear {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The header that removes the one-time secret cookie, when it was sent.
fn flashed_cookie_clear(state: &AppState, parts: &Parts, app: &Application) -> Option<HeaderValue> {
    cookies::get(&parts.headers, SECRET_COOKIE)?;
    let clear = cookies::set_at(
        SECRET_COOKIE,
        "",
        &app::paths::application(app.id),
        state.config.secure_cookies(),
        Some(0),
    );
    HeaderValue::from_str(&clear).ok()
}

/// POST `/o/applications/<id>/`: see [`AppAction`].
pub async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: CheckedForm<AppPost>,
) -> Answer {
    let CheckedForm {
        mut parts,
        form: AppPost(mut form),
    } = post;
    form.app_id = id;
    let session = match signed_in(&parts) {
        Ok(session) => session,
        Err(e) => return actions::html(&state, parts, Err(e)).await,
    };
    let app = owned_app(&state, session.user.id, &form.app_id).await?;
    let decision = decide_on(&state, &parts, &session, app.as_ref(), form).await;
    // A page shown again (a refusal, the Try-it panel's answer) is the
    // app's page: it needs the app.
    if let (Some(app), Ok(Outcome::Refused { .. } | Outcome::TryIt { .. })) = (&app, &decision) {
        show_app(&state, &mut parts, app, None, None);
    }
    actions::html(&state, parts, decision).await
}

/// Does what an [`AppForm`] asks, for the signed-in person and their own
/// apps only (anyone else's app is not found, as one that does not exist).
pub async fn decide(state: &AppState, parts: &Parts, form: AppForm) -> Decision {
    let session = signed_in(parts)?;
    let app = owned_app(state, session.user.id, &form.app_id).await?;
    decide_on(state, parts, &session, app.as_ref(), form).await
}

/// [`decide`] for a signed-in person, with the form's app already looked
/// up (`None`: it does not exist, or is someone else's).
async fn decide_on(
    state: &AppState,
    parts: &Parts,
    session: &CurrentSession,
    app: Option<&Application>,
    form: AppForm,
) -> Decision {
    let action = AppAction::parse(&form.action).ok_or(PortalError::BadForm)?;
    if action == AppAction::Register {
        return register_app(state, parts, session, form).await;
    }
    let app = app.ok_or(PortalError::NotFound)?;
    let origin = origin(state, parts);
    let event = |kind| {
        Event::new(kind, now(), &origin)
            .user(session.user.id, &session.user.username)
            .client(&app.client_id)
    };
    match action {
        // Answered above, before looking for an existing app.
        AppAction::Register => Err(PortalError::BadForm),
        AppAction::Edit => {
            let scopes = app.scopes.to_string();
            let checked = check(
                &form,
                app.client_type.as_str(),
                &scopes,
                session.user.is_staff,
                &app.redirect_uris,
            );
            let edited = match checked {
                Ok((edited, _)) => edited,
                Err(errors) => {
                    return Ok(Outcome::refused(Refusal {
                        form: "app",
                        errors,
                        message: Some("Nothing was saved: see the fields below.".into()),
                        values: typed(&form),
                        status: StatusCode::BAD_REQUEST,
                    }))
                }
            };
            let same_targets = edited.redirect_uris == app.redirect_uris;
            let mut grant_types = edited.grant_types;
            // A privilege staff gave stays while its owner keeps it ticked
            // (the owner may drop it, never add it).
            if !session.user.is_staff
                && app.allows(GrantType::Password)
                && form.grant_list().contains(&"password")
                && !grant_types.contains(&GrantType::Password)
            {
                grant_types.push(GrantType::Password);
            }
            let updated = Application {
                name: edited.name,
                grant_types,
                redirect_uris: edited.redirect_uris,
                post_logout_redirect_uris: edited.post_logout_redirect_uris,
                allowed_origins: edited.allowed_origins,
                algorithm: edited.algorithm,
                skip_consent: if session.user.is_staff {
                    edited.skip_consent
                } else {
                    app.skip_consent
                },
                // New redirect targets need a new review.
                reviewed: app.reviewed && (session.user.is_staff || same_targets),
                ..app.clone()
            };
            let changed = event(EventKind::AppChanged).detail(changes(app, &updated));
            save(state, &updated, &changed).await
        }
        AppAction::AddPlayground => {
            let uri = playground_uri(state);
            let mut updated = app.clone();
            if !updated.redirect_uris.contains(&uri) {
                updated.redirect_uris.push(uri);
            }
            if !updated.grant_types.contains(&GrantType::AuthorizationCode) {
                updated.grant_types.push(GrantType::AuthorizationCode);
            }
            // The Try-it panel of a public app exchanges the code from
            // Gatehouse's own pages: their origin calls the token endpoint.
            let own = gatehouse_origin(state);
            if app.is_public() && !own.is_empty() && !updated.allowed_origins.contains(&own) {
                updated.allowed_origins.push(own);
            }
            let changed = event(EventKind::AppChanged).detail(changes(app, &updated));
            save(state, &updated, &changed).await
        }
        AppAction::Rotate => {
            let secret = state
                .oauth
                .rotate_secret(app, &event(EventKind::AppSecretRotated))
                .await?
                .ok_or(PortalError::BadForm)?;
            tracing::info!(client_id = %app.client_id, "client secret rotated in the portal");
            Ok(to_app_page(state, app, Some(&secret)))
        }
        AppAction::Delete => {
            if form.confirm != "yes" {
                return Ok(Outcome::refused(Refusal {
                    form: "delete",
                    errors: FieldErrors::default(),
                    message: Some("Tick the box to confirm the deletion.".into()),
                    values: vec![],
                    status: StatusCode::BAD_REQUEST,
                }));
            }
            let deleted = event(EventKind::AppDeleted).detail(&app.name);
            state.oauth.delete_app(app, &deleted).await?;
            tracing::info!(client_id = %app.client_id, "application deleted in the portal");
            Ok(Outcome::Done(Success::go(app::paths::APPLICATIONS)))
        }
        AppAction::Try => try_it(state, app, &form),
    }
}

/// The scheme, host and port of Gatehouse's issuer: where its own pages are.
fn gatehouse_origin(state: &AppState) -> String {
    let issuer = state.oauth.issuer();
    match url::Url::parse(issuer) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => String::new(),
    }
}

async fn save(state: &AppState, app: &Application, event: &Event) -> Decision {
    state.oauth.update_app(app, event).await?;
    Ok(Outcome::Done(Success::go(app::paths::application(app.id))))
}

/// What an edit changed, in a few words for the audit trail.
pub(crate) fn changes(old: &Application, new: &Application) -> String {
    let mut changed = Vec::new();
    if old.name != new.name {
        changed.push("name");
    }
    if old.grant_types != new.grant_types {
        changed.push("grant types");
    }
    if old.redirect_uris != new.redirect_uris {
        changed.push("redirect URIs");
    }
    if old.post_logout_redirect_uris != new.post_logout_redirect_uris {
        changed.push("post-logout redirect URIs");
    }
    if old.allowed_origins != new.allowed_origins {
        changed.push("allowed origins");
    }
    if old.algorithm != new.algorithm {
        changed.push("signing algorithm");
    }
    if old.skip_consent != new.skip_consent {
        changed.push("consent");
    }
    if old.reviewed != new.reviewed {
        changed.push(if new.reviewed {
            "reviewed"
        } else {
            "needs review"
        });
    }
    if changed.is_empty() {
        "nothing changed".to_owned()
    } else {
        format!("changed {}", changed.join(", "))
    }
}

/// Builds an authorization request (code flow, PKCE S256) for one of the
/// app's redirect URIs. The state and verifier are kept in a cookie for
/// the playground callback, which finishes the exchange.
fn try_it(state: &AppState, app: &Application, form: &AppForm) -> Decision {
    let mut errors = FieldErrors::default();
    if !app.redirect_uris.contains(&form.redirect_uri) {
        errors.add("redirect_uri", "Choose one of the app's redirect URIs.");
    }
    let scopes = match ScopeSet::parse(form.scope.trim()) {
        Ok(s) if s.is_empty() => gatehouse::oauth::authorize::default_scopes(app),
        Ok(s) if s.is_subset(app.scopes) => s,
        Ok(_) => {
            errors.add(
                "scope",
                format!("This application may only ask for: {}.", app.scopes),
            );
            ScopeSet::EMPTY
        }
        Err(e) => {
            errors.add("scope", format!("{}.", e.description));
            ScopeSet::EMPTY
        }
    };
    if !errors.is_empty() {
        return Ok(Outcome::refused(Refusal {
            form: "try",
            errors,
            message: None,
            values: vec![("scope", form.scope.clone())],
            status: StatusCode::BAD_REQUEST,
        }));
    }
    let request_state = Secret::generate().expose()[..22].to_owned();
    let verifier = Secret::generate().expose().to_owned();
    let challenge = gatehouse::oauth::pkce::s256(&verifier);
    let scope = scopes.to_string();
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", form.redirect_uri.as_str()),
        ("scope", scope.as_str()),
        ("state", request_state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let nonce = Secret::generate().expose()[..22].to_owned();
    if scopes.contains(Scope::Openid) {
        query.push(("nonce", nonce.as_str()));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let authorize_url = format!("{}{}?{query}", state.oauth.issuer(), app::paths::AUTHORIZE);
    let cookie = cookies::set_at(
        TRY_COOKIE,
        &format!("{}.{request_state}.{verifier}", app.id),
        app::paths::PLAYGROUND_CALLBACK,
        state.config.secure_cookies(),
        Some(600),
    );
    Ok(Outcome::TryIt {
        view: app::state::TryItView {
            authorize_url,
            code_verifier: verifier,
        },
        cookie,
    })
}

#[cfg(test)]
mod tests {
    use super::AppAction;

    #[test]
    fn every_action_the_app_page_posts_is_known() {
        for (field, action) in [
            ("register", AppAction::Register),
            ("edit", AppAction::Edit),
            ("add_playground", AppAction::AddPlayground),
            ("rotate", AppAction::Rotate),
            ("delete", AppAction::Delete),
            ("try", AppAction::Try),
        ] {
            assert_eq!(AppAction::parse(field), Some(action));
        }
        for unknown in ["", "Edit", "review", "delete "] {
            assert_eq!(AppAction::parse(unknown), None);
        }
    }
}
