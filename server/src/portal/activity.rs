//! `/accounts/activity/` (a person's own events) and `/admin/audit/`
//! (staff search every event). Both are paged by event id, newest first:
//! `?before=<id>` shows the events older than that one.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use gatehouse::account::FieldErrors;
use gatehouse::audit::{Event, EventFilter, EventKind};
use serde::Deserialize;

use super::extract::{signed_in, Answer, SignedIn};
use super::render::{self, Refusal};
use super::views::date;
use crate::state::AppState;

/// Events on one page.
const PAGE: i64 = 50;

fn event_view(e: &Event) -> app::state::EventView {
    app::state::EventView {
        id: e.id,
        when: date(e.at),
        kind: e.kind.as_str().to_owned(),
        sentence: e.sentence(),
        username: e.username.clone(),
        client_id: e.client_id.clone(),
        address: e.address.clone(),
        detail: e.detail.clone(),
    }
}

/// One page of events (one more is read to know whether an older page
/// exists) and the query of that older page.
async fn page(
    state: &AppState,
    filter: &EventFilter,
    query_of: impl Fn(i64) -> String,
) -> Result<(Vec<app::state::EventView>, Option<String>), super::extract::PortalError> {
    let mut events = state.accounts.store().events(filter, PAGE + 1).await?;
    let older = if events.len() as i64 > PAGE {
        events.truncate(PAGE as usize);
        events.last().map(|e| query_of(e.id))
    } else {
        None
    };
    Ok((events.iter().map(event_view).collect(), older))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Paging {
    before: String,
}

fn query(parts: &Parts) -> &str {
    parts.uri.query().unwrap_or("")
}

pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    req: Request,
) -> Answer {
    let (mut parts, _) = req.into_parts();
    let paging: Paging = serde_urlencoded::from_str(query(&parts)).unwrap_or_default();
    let filter = EventFilter {
        user_id: Some(session.user.id),
        before_id: paging.before.trim().parse().ok(),
        ..Default::default()
    };
    let (events, older) = page(&state, &filter, |id| format!("before={id}")).await?;
    if let Some(portal) = parts.extensions.get_mut::<app::state::PortalState>() {
        portal.activity = Some(app::state::ActivityView {
            events,
            older,
            ..Default::default()
        });
    }
    Ok(render::page(&state, parts, StatusCode::OK).await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Search {
    user: String,
    client_id: String,
    kind: String,
    since: String,
    until: String,
    before: String,
}

/// A search field as typed, bounded and without control characters.
fn typed(value: &str) -> String {
    value
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// `since` and `until` from the date fields (or any time the command line
/// accepts); a date alone in `until` includes that whole day.
fn time_field(value: &str, end_of_day: bool) -> Result<Option<i64>, &'static str> {
    if value.is_empty() {
        return Ok(None);
    }
    let at = crate::cli::parse_time(value).map_err(|_| "Enter a date as YYYY-MM-DD.")?;
    let date_only = value.len() == 10 && value.as_bytes()[4] == b'-';
    Ok(Some(if end_of_day && date_only {
        at + 24 * 3600
    } else {
        at
    }))
}

pub async fn audit(State(state): State<AppState>, req: Request) -> Answer {
    let (mut parts, _) = req.into_parts();
    if !signed_in(&parts).is_ok_and(|s| s.user.is_staff) {
        return Ok(render::page(&state, parts, StatusCode::NOT_FOUND).await);
    }
    let raw: Search = serde_urlencoded::from_str(query(&parts)).unwrap_or_default();
    let search = app::state::AuditSearch {
        user: typed(&raw.user),
        client_id: typed(&raw.client_id),
        kind: typed(&raw.kind),
        since: typed(&raw.since),
        until: typed(&raw.until),
    };
    let mut errors = FieldErrors::default();
    let kind = match search.kind.as_str() {
        "" => None,
        k => EventKind::parse(k),
    };
    let since = time_field(&search.since, false).unwrap_or_else(|e| {
        errors.add("since", e);
        None
    });
    let until = time_field(&search.until, true).unwrap_or_else(|e| {
        errors.add("until", e);
        None
    });
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let filter = EventFilter {
        username: non_empty(&search.user),
        client_id: non_empty(&search.client_id),
        kind,
        since,
        until,
        before_id: raw.before.trim().parse().ok(),
        ..Default::default()
    };
    let (events, older) = if errors.is_empty() {
        let base = serde_urlencoded::to_string([
            ("user", &search.user),
            ("client_id", &search.client_id),
            ("kind", &search.kind),
            ("since", &search.since),
            ("until", &search.until),
        ])
        .unwrap_or_default();
        page(&state, &filter, |id| format!("{base}&before={id}")).await?
    } else {
        (Vec::new(), None)
    };
    let view = app::state::ActivityView {
        events,
        older,
        search,
        kinds: EventKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), k.words().to_owned()))
            .collect(),
    };
    if let Some(portal) = parts.extensions.get_mut::<app::state::PortalState>() {
        portal.audit = Some(view);
    }
    if errors.is_empty() {
        return Ok(render::page(&state, parts, StatusCode::OK).await);
    }
    let refusal = Refusal {
        form: "audit",
        errors,
        message: None,
        values: vec![],
        status: StatusCode::BAD_REQUEST,
    };
    Ok(render::refused(&state, parts, refusal).await)
}
