//! `/admin/`: staff only (everyone else gets 404). Search accounts,
//! deactivate or reactivate them, list every app. A deactivated account
//! cannot sign in, and its sessions and tokens stop working at once (every
//! lookup requires an active account).

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse::account::FieldErrors;
use gatehouse::audit::{Event, EventKind, Origin};
use serde::Deserialize;

use super::extract::{signed_in, Answer, CheckedForm, PortalError};
use super::render::{self, Refusal};
use super::views::{admin_user_view, app_view};
use super::CurrentSession;
use crate::state::AppState;

/// Accounts on one page of the list.
const PAGE: i64 = 50;

/// What a post to `/admin/` asks for (its `action` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdminAction {
    /// Let the account sign in again.
    Activate,
    /// Stop the account: no sign-in, and its sessions and tokens end.
    Deactivate,
    /// Mark an app reviewed.
    Review,
}

impl AdminAction {
    fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "activate" => Self::Activate,
            "deactivate" => Self::Deactivate,
            "review" => Self::Review,
            _ => return None,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Query {
    q: String,
    page: String,
}

/// The signed-in staff member; None for anyone else, who gets 404.
fn staff(parts: &Parts) -> Result<Option<CurrentSession>, PortalError> {
    Ok(Some(signed_in(parts)?).filter(|s| s.user.is_staff))
}

async fn not_found(state: &AppState, parts: Parts) -> Response {
    render::page(state, parts, StatusCode::NOT_FOUND).await
}

/// Loads the page's data into the request for rendering.
async fn load(
    state: &AppState,
    parts: &mut Parts,
    query: &str,
    page: u32,
) -> Result<(), PortalError> {
    let store = state.oauth.store();
    let query: String = query
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    // One more than a page: whether a next page exists.
    let offset = i64::from(page.max(1) - 1) * PAGE;
    let mut users = store.search_users(&query, offset, PAGE + 1).await?;
    let has_next = users.len() as i64 > PAGE;
    users.truncate(PAGE as usize);
    let apps = store.applications(None).await?;
    let mut owners: Vec<i64> = apps.iter().filter_map(|a| a.owner_id).collect();
    owners.sort_unstable();
    owners.dedup();
    let names = store.usernames(&owners).await?;
    let owner_name = |id: Option<i64>| {
        id.and_then(|id| names.iter().find(|(i, _)| *i == id))
            .map(|(_, n)| n.clone())
    };
    let view = app::state::AdminView {
        query,
        page: page.max(1),
        has_next,
        users: users.iter().map(admin_user_view).collect(),
        apps: apps
            .iter()
            .map(|a| app_view(a, owner_name(a.owner_id)))
            .collect(),
    };
    if let Some(portal) = parts.extensions.get_mut::<app::state::PortalState>() {
        portal.admin = Some(view);
    }
    Ok(())
}

pub async fn show(State(state): State<AppState>, req: Request) -> Answer {
    let (mut parts, _) = req.into_parts();
    if staff(&parts)?.is_none() {
        return Ok(not_found(&state, parts).await);
    }
    let query: Query =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    let page = query
        .page
        .trim()
        .parse::<u32>()
        .unwrap_or(1)
        .clamp(1, 100_000);
    load(&state, &mut parts, &query.q, page).await?;
    Ok(render::page(&state, parts, StatusCode::OK).await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActForm {
    user_id: String,
    app_id: String,
    action: String,
    q: String,
}

pub async fn act(
    State(state): State<AppState>,
    CheckedForm { mut parts, form }: CheckedForm<ActForm>,
) -> Answer {
    let Some(session) = staff(&parts)? else {
        return Ok(not_found(&state, parts).await);
    };
    let active = match AdminAction::parse(&form.action).ok_or(PortalError::BadForm)? {
        AdminAction::Activate => true,
        AdminAction::Deactivate => false,
        AdminAction::Review => {
            let origin = crate::http::origin(&state, &parts);
            return review(&state, &session, &form, &origin).await;
        }
    };
    let user_id = form
        .user_id
        .parse::<i64>()
        .map_err(|_| PortalError::BadForm)?;
    if user_id == session.user.id && !active {
        load(&state, &mut parts, &form.q, 1).await?;
        let refusal = Refusal {
            form: "admin",
            errors: FieldErrors::default(),
            message: Some("You cannot deactivate your own account.".into()),
            values: vec![],
            status: StatusCode::BAD_REQUEST,
        };
        return Ok(render::refused(&state, parts, refusal).await);
    }
    let Some(target) = state.oauth.store().user_by_id(user_id).await? else {
        return Ok(render::see_other(app::paths::ADMIN, &[]));
    };
    if target.is_superuser && !session.user.is_superuser {
        load(&state, &mut parts, &form.q, 1).await?;
        let refusal = Refusal {
            form: "admin",
            errors: FieldErrors::default(),
            message: Some("Only a superuser can change a superuser's account.".into()),
            values: vec![],
            status: StatusCode::FORBIDDEN,
        };
        return Ok(render::refused(&state, parts, refusal).await);
    }
    let kind = if active {
        EventKind::AccountReactivated
    } else {
        EventKind::AccountDeactivated
    };
    let event = Event::new(
        kind,
        crate::http::now(),
        &crate::http::origin(&state, &parts),
    )
    .user(target.id, &target.username)
    .actor(session.user.id, &session.user.username);
    state
        .oauth
        .store()
        .set_user_active(user_id, active, &event)
        .await?;
    tracing::info!(
        by = session.user.id,
        user = user_id,
        active,
        "account status changed"
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &form.q)
        .finish();
    Ok(render::see_other(
        &format!("{}?{query}", app::paths::ADMIN),
        &[],
    ))
}

/// Marks an app reviewed: from now on its early authorization errors are
/// redirected to it like any reviewed app's.
async fn review(
    state: &AppState,
    session: &CurrentSession,
    form: &ActForm,
    origin: &Origin,
) -> Answer {
    let app_id = form
        .app_id
        .parse::<i64>()
        .map_err(|_| PortalError::BadForm)?;
    let Some(app) = state.oauth.store().application_by_id(app_id).await? else {
        return Ok(render::see_other(app::paths::ADMIN, &[]));
    };
    let reviewed = gatehouse::oauth::client::Application {
        reviewed: true,
        ..app.clone()
    };
    let event = Event::new(EventKind::AppChanged, crate::http::now(), origin)
        .user(session.user.id, &session.user.username)
        .client(&app.client_id)
        .detail(super::apps::changes(&app, &reviewed));
    state.oauth.update_app(&reviewed, &event).await?;
    tracing::info!(by = session.user.id, client_id = %reviewed.client_id, "application reviewed");
    Ok(render::see_other(app::paths::ADMIN, &[]))
}
