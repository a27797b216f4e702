//! The core's records as the pages show them (`app::state`'s views): one
//! mapping each, shared by every handler that fills a page.

use gatehouse::oauth::client::Application;
use gatehouse::oauth::service::PendingDevice;
use gatehouse::oauth::ScopeSet;
use gatehouse::store::{GrantRecord, User};

/// `YYYY-MM-DD HH:MM UTC`.
pub fn date(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Each scope with the words a person reads on a consent page.
pub fn scope_views(scopes: ScopeSet) -> Vec<app::state::ScopeView> {
    scopes
        .iter()
        .map(|s| app::state::ScopeView {
            name: s.as_str().to_owned(),
            description: s.description().to_owned(),
        })
        .collect()
}

/// An app as its owner (or staff, with `owner` named) sees it.
pub fn app_view(app: &Application, owner: Option<String>) -> app::state::AppView {
    app::state::AppView {
        id: app.id,
        client_id: app.client_id.clone(),
        name: app.name.clone(),
        client_type: app.client_type.as_str().to_owned(),
        grant_types: app
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        redirect_uris: app.redirect_uris.clone(),
        post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
        allowed_origins: app.allowed_origins.clone(),
        scopes: app.scopes.to_string(),
        algorithm: app.algorithm.as_str().to_owned(),
        skip_consent: app.skip_consent,
        reviewed: app.reviewed,
        owner,
        weak_secret: app.weak_secret,
        plain_http_redirect_uris: app
            .redirect_uris
            .iter()
            .filter(|u| gatehouse::oauth::redirect::is_plain_http(u))
            .cloned()
            .collect(),
        created: date(app.created_at),
    }
}

/// An app a person granted, on their authorized-apps page.
pub fn grant_view(grant: &GrantRecord) -> app::state::GrantView {
    app::state::GrantView {
        app_id: grant.application_id,
        app_name: grant.app_name.clone(),
        scopes: scope_views(grant.scopes),
        granted: date(grant.granted_at),
        last_used: grant.last_used_at.map(date),
    }
}

/// A device sign-in waiting for the person's decision.
pub fn device_view(device: &PendingDevice) -> app::state::DeviceView {
    app::state::DeviceView {
        app_name: device.app.name.clone(),
        scopes: scope_views(device.scopes),
        user_code: device.display_code.clone(),
    }
}

/// An account as staff see it on `/admin/`.
pub fn admin_user_view(user: &User) -> app::state::AdminUserView {
    app::state::AdminUserView {
        id: user.id,
        username: user.username.clone(),
        email: user.email.clone(),
        is_active: user.is_active,
        is_staff: user.is_staff,
        email_verified: user.email_verified,
        joined: date(user.date_joined),
    }
}
