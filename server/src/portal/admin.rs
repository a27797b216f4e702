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

use super::actions::{self, Decision, Outcome, Success};
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
    /// End every session of the account.
    SignOut,
    /// Give staff rights (superusers only).
    MakeStaff,
    /// Take staff rights away (superusers only).
    RemoveStaff,
    /// Mail the account a password reset link.
    SendReset,
}

impl AdminAction {
    fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "activate" => Self::Activate,
            "deactivate" => Self::Deactivate,
            "review" => Self::Review,
            "signout" => Self::SignOut,
            "make_staff" => Self::MakeStaff,
            "remove_staff" => Self::RemoveStaff,
            "send_reset" => Self::SendReset,
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
    let view = admin_view(state, parts, query, page).await?;
    if let Some(portal) = parts.extensions.get_mut::<app::state::PortalState>() {
        portal.admin = Some(view);
    }
    Ok(())
}

/// The page number a query names: from 1, anything unreadable is 1.
pub fn page_number(page: &str) -> u32 {
    page.trim().parse::<u32>().unwrap_or(1).clamp(1, 100_000)
}

/// One page of the account list for `query`, and every app: what the
/// page shows, and what its search answers in place.
pub async fn admin_view(
    state: &AppState,
    parts: &Parts,
    query: &str,
    page: u32,
) -> Result<app::state::AdminView, PortalError> {
    let can_manage_staff = signed_in(parts).is_ok_and(|s| s.user.is_superuser);
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
        can_manage_staff,
        users: users.iter().map(admin_user_view).collect(),
        apps: apps
            .iter()
            .map(|a| app_view(a, owner_name(a.owner_id)))
            .collect(),
    };
    Ok(view)
}

/// The search of `/admin/`, answered in place: staff only (anyone else is
/// told it does not exist).
pub async fn search(
    state: &AppState,
    parts: &Parts,
    query: app::actions::AdminQuery,
) -> Result<app::state::AdminView, PortalError> {
    if staff(parts)?.is_none() {
        return Err(PortalError::NotFound);
    }
    admin_view(state, parts, &query.q, page_number(&query.page)).await
}

pub async fn show(State(state): State<AppState>, req: Request) -> Answer {
    let (mut parts, _) = req.into_parts();
    if staff(&parts)?.is_none() {
        return Ok(not_found(&state, parts).await);
    }
    let query: Query =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    load(&state, &mut parts, &query.q, page_number(&query.page)).await?;
    Ok(render::page(&state, parts, StatusCode::OK).await)
}

pub use app::actions::AdminForm;

pub async fn act(
    State(state): State<AppState>,
    CheckedForm { mut parts, form }: CheckedForm<AdminForm>,
) -> Answer {
    let query = form.q.clone();
    let decision = decide(&state, &parts, form).await;
    match decision {
        Err(PortalError::NotFound) => Ok(not_found(&state, parts).await),
        Ok(Outcome::Refused { .. }) => {
            // The page again, with its list.
            load(&state, &mut parts, &query, 1).await?;
            actions::html(&state, parts, decision).await
        }
        decision => actions::html(&state, parts, decision).await,
    }
}

/// What staff do to an account or an app. Anyone else is told the page
/// does not exist.
pub async fn decide(state: &AppState, parts: &Parts, form: AdminForm) -> Decision {
    let Some(session) = staff(parts)? else {
        return Err(PortalError::NotFound);
    };
    let action = AdminAction::parse(&form.action).ok_or(PortalError::BadForm)?;
    if action == AdminAction::Review {
        let origin = crate::http::origin(state, parts);
        return review(state, &session, &form, &origin).await;
    }
    let user_id = form
        .user_id
        .parse::<i64>()
        .map_err(|_| PortalError::BadForm)?;
    let own = user_id == session.user.id;
    let refusal = match action {
        AdminAction::Deactivate if own => Some((
            "You cannot deactivate your own account.",
            StatusCode::BAD_REQUEST,
        )),
        AdminAction::RemoveStaff if own => Some((
            "You cannot remove your own staff rights.",
            StatusCode::BAD_REQUEST,
        )),
        AdminAction::MakeStaff | AdminAction::RemoveStaff if !session.user.is_superuser => Some((
            "Only a superuser can give or remove staff rights.",
            StatusCode::FORBIDDEN,
        )),
        _ => None,
    };
    let target = state.oauth.store().user_by_id(user_id).await?;
    let refusal = refusal.or_else(|| {
        target
            .as_ref()
            .filter(|t| t.is_superuser && !session.user.is_superuser)
            .map(|_| {
                (
                    "Only a superuser can change a superuser's account.",
                    StatusCode::FORBIDDEN,
                )
            })
    });
    let refused = |message: String, status| {
        Ok(Outcome::refused(Refusal {
            form: "admin",
            errors: FieldErrors::default(),
            message: Some(message),
            values: vec![],
            status,
        }))
    };
    if let Some((message, status)) = refusal {
        return refused(message.to_owned(), status);
    }
    let back = {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &form.q)
            .finish();
        format!("{}?{query}", app::paths::ADMIN)
    };
    let Some(target) = target else {
        return Ok(Outcome::Done(Success::stay(
            back,
            "That account no longer exists.",
        )));
    };
    let kind = match action {
        AdminAction::Activate => EventKind::AccountReactivated,
        AdminAction::Deactivate => EventKind::AccountDeactivated,
        AdminAction::SignOut => EventKind::SignedOutEverywhere,
        AdminAction::MakeStaff => EventKind::StaffGranted,
        AdminAction::RemoveStaff => EventKind::StaffRemoved,
        AdminAction::SendReset => EventKind::PasswordResetRequested,
        // About an app, not an account: answered above.
        AdminAction::Review => return Err(PortalError::BadForm),
    };
    let event = Event::new(kind, crate::http::now(), &crate::http::origin(state, parts))
        .user(target.id, &target.username)
        .actor(session.user.id, &session.user.username);
    let store = state.oauth.store();
    let name = &target.username;
    let said = match action {
        AdminAction::Activate | AdminAction::Deactivate => {
            let active = action == AdminAction::Activate;
            store.set_user_active(user_id, active, &event).await?;
            if active {
                format!("{name} can sign in again.")
            } else {
                format!("{name} was deactivated: signed out, and their tokens stopped working.")
            }
        }
        AdminAction::SignOut => {
            store
                .delete_user_sessions(user_id, None, Some(&event))
                .await?;
            format!("{name} was signed out everywhere.")
        }
        AdminAction::MakeStaff | AdminAction::RemoveStaff => {
            let staff = action == AdminAction::MakeStaff;
            store.set_user_staff(user_id, staff, &event).await?;
            if staff {
                format!("{name} is now staff.")
            } else {
                format!("{name} is no longer staff.")
            }
        }
        AdminAction::SendReset => {
            if !target.is_active || target.email.is_empty() {
                return refused(
                    format!(
                        "{name} cannot be sent a reset link: the account is deactivated or has no email address."
                    ),
                    StatusCode::BAD_REQUEST,
                );
            }
            let event = event.detail("sent by staff");
            state
                .accounts
                .send_password_reset(&target, event, crate::http::now())
                .await?;
            format!("A password reset link is on its way to {name}.")
        }
        AdminAction::Review => String::new(),
    };
    tracing::info!(
        by = session.user.id,
        user = user_id,
        action = kind.as_str(),
        "account changed by staff"
    );
    Ok(Outcome::Done(Success::stay(back, said)))
}

/// Marks an app reviewed: from now on its early authorization errors are
/// redirected to it like any reviewed app's.
async fn review(
    state: &AppState,
    session: &CurrentSession,
    form: &AdminForm,
    origin: &Origin,
) -> Decision {
    let app_id = form
        .app_id
        .parse::<i64>()
        .map_err(|_| PortalError::BadForm)?;
    let Some(app) = state.oauth.store().application_by_id(app_id).await? else {
        return Ok(Outcome::Done(Success::stay(
            app::paths::ADMIN,
            "That app no longer exists.",
        )));
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
    Ok(Outcome::Done(Success::stay(
        app::paths::ADMIN,
        format!("{} is marked reviewed.", reviewed.name),
    )))
}
