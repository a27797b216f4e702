//! `/admin/`: staff only (everyone else gets 404). Search accounts,
//! deactivate or reactivate them, list every app. A deactivated account
//! cannot sign in, and its sessions and tokens stop working at once (every
//! lookup requires an active account).

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse::account::FieldErrors;
use serde::Deserialize;

use super::apps::{app_view, date, signed_in};
use super::render::{self, Refusal};
use super::{csrf_refusal, CurrentSession};
use crate::state::AppState;

const MAX_USERS: i64 = 200;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Query {
    q: String,
}

/// The signed-in staff member, or the answer for anyone else.
async fn staff(state: &AppState, parts: Parts) -> Result<(Parts, CurrentSession), Response> {
    let session = signed_in(&parts)?;
    if !session.user.is_staff {
        return Err(render::page(state, parts, StatusCode::NOT_FOUND).await);
    }
    Ok((parts, session))
}

/// Loads the page's data into the request for rendering.
async fn load(state: &AppState, parts: &mut Parts, query: &str) -> Result<(), Response> {
    let store = state.oauth.store();
    let query: String = query
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let users = store
        .search_users(&query, MAX_USERS)
        .await
        .map_err(render::internal_error)?;
    let apps = store
        .applications(None)
        .await
        .map_err(render::internal_error)?;
    let mut owners: Vec<i64> = apps.iter().filter_map(|a| a.owner_id).collect();
    owners.sort_unstable();
    owners.dedup();
    let names = store
        .usernames(&owners)
        .await
        .map_err(render::internal_error)?;
    let owner_name = |id: Option<i64>| {
        id.and_then(|id| names.iter().find(|(i, _)| *i == id))
            .map(|(_, n)| n.clone())
    };
    let view = app::state::AdminView {
        query,
        users: users
            .iter()
            .map(|u| app::state::AdminUserView {
                id: u.id,
                username: u.username.clone(),
                email: u.email.clone(),
                is_active: u.is_active,
                is_staff: u.is_staff,
                joined: date(u.date_joined),
            })
            .collect(),
        apps: apps
            .iter()
            .map(|a| app_view(a, owner_name(a.owner_id)))
            .collect(),
    };
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.admin = Some(view);
    }
    Ok(())
}

pub async fn show(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let (mut parts, _) = match staff(&state, parts).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let query: Query =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    if let Err(r) = load(&state, &mut parts, &query.q).await {
        return r;
    }
    render::page(&state, parts, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActForm {
    csrf_token: String,
    user_id: String,
    app_id: String,
    action: String,
    q: String,
}

pub async fn act(State(state): State<AppState>, req: Request) -> Response {
    let (parts, form) = match render::read_form::<ActForm>(req, state.config.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &parts, &form.csrf_token) {
        return r;
    }
    let (mut parts, session) = match staff(&state, parts).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let active = match form.action.as_str() {
        "activate" => true,
        "deactivate" => false,
        "review" => return review(&state, &session, &form).await,
        _ => return render::bad_form(),
    };
    let Ok(user_id) = form.user_id.parse::<i64>() else {
        return render::bad_form();
    };
    if user_id == session.user.id && !active {
        if let Err(r) = load(&state, &mut parts, &form.q).await {
            return r;
        }
        let refusal = Refusal {
            form: "admin",
            errors: FieldErrors::default(),
            message: Some("You cannot deactivate your own account.".into()),
            values: vec![],
            status: StatusCode::BAD_REQUEST,
        };
        return render::refused(&state, parts, refusal).await;
    }
    let target = match state.oauth.store().user_by_id(user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return render::see_other(app::paths::ADMIN, &[]),
        Err(e) => return render::internal_error(e),
    };
    if target.is_superuser && !session.user.is_superuser {
        if let Err(r) = load(&state, &mut parts, &form.q).await {
            return r;
        }
        let refusal = Refusal {
            form: "admin",
            errors: FieldErrors::default(),
            message: Some("Only a superuser can change a superuser's account.".into()),
            values: vec![],
            status: StatusCode::FORBIDDEN,
        };
        return render::refused(&state, parts, refusal).await;
    }
    match state.oauth.store().set_user_active(user_id, active).await {
        Ok(_) => {
            tracing::info!(
                by = session.user.id,
                user = user_id,
                active,
                "account status changed"
            );
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", &form.q)
                .finish();
            render::see_other(&format!("{}?{query}", app::paths::ADMIN), &[])
        }
        Err(e) => render::internal_error(e),
    }
}

/// Marks an app reviewed: from now on its early authorization errors are
/// redirected to it like any reviewed app's.
async fn review(state: &AppState, session: &CurrentSession, form: &ActForm) -> Response {
    let Ok(app_id) = form.app_id.parse::<i64>() else {
        return render::bad_form();
    };
    let store = state.oauth.store();
    let app = match store.application_by_id(app_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return render::see_other(app::paths::ADMIN, &[]),
        Err(e) => return render::internal_error(e),
    };
    let reviewed = gatehouse::oauth::client::Application {
        reviewed: true,
        ..app
    };
    match state.oauth.update_app(&reviewed, super::now()).await {
        Ok(_) => {
            tracing::info!(by = session.user.id, client_id = %reviewed.client_id, "application reviewed");
            render::see_other(app::paths::ADMIN, &[])
        }
        Err(e) => render::internal_error(e),
    }
}
