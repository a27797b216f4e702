//! `/accounts/activity/`: what happened to your account, newest first, in
//! words. `/admin/audit/`: staff search every account's and app's events.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::components::field::Field;
use crate::paths::{ACTIVITY, AUDIT, LOGIN};
use crate::state::{use_portal_state, EventView};

/// The link to the next, older page of events.
fn older_link(base: &'static str, older: Option<String>) -> impl IntoView {
    older.map(|query| {
        view! {
            <p class="pager">
                <a href=format!("{base}?{query}") rel="external">"Older events"</a>
            </p>
        }
    })
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let state = use_portal_state();
    if state.user.is_none() {
        let to = format!("{LOGIN}?next={ACTIVITY}");
        return view! { <Redirect path=to /> }.into_any();
    }
    let activity = state.activity.clone().unwrap_or_default();
    view! {
        <PageTitle text="Account activity · Gatehouse" />
        <section class="card wide">
            <h1>"Account activity"</h1>
            <p class="aside">
                "Sign-ins, changes to your account and the apps you allowed, newest first. \
                 If you see something you did not do, change your password."
            </p>
            {if activity.events.is_empty() {
                view! { <p class="aside">"Nothing has happened to your account yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="events">
                        {activity
                            .events
                            .into_iter()
                            .map(|e| {
                                view! {
                                    <li class="event" data-kind=e.kind.clone()>
                                        <time>{e.when.clone()}</time>
                                        " "
                                        <span class="sentence">{e.sentence.clone()}</span>
                                        {(!e.detail.is_empty())
                                            .then(|| view! { <span class="aside">" · " {e.detail.clone()}</span> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
            {older_link(ACTIVITY, activity.older)}
        </section>
    }
    .into_any()
}

fn event_row(e: EventView) -> impl IntoView {
    let kind = e.kind.clone();
    view! {
        <tr data-kind=kind>
            <td><time>{e.when}</time></td>
            <td>{e.kind}</td>
            <td>{e.username}</td>
            <td>{e.client_id.unwrap_or_default()}</td>
            <td>{e.address}</td>
            <td>{e.sentence} {(!e.detail.is_empty()).then(|| format!(" · {}", e.detail))}</td>
        </tr>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let state = use_portal_state();
    let Some(audit) = state.audit.clone() else {
        return view! {
            <PageTitle text="Not found · Gatehouse" />
            <section class="card"><h1>"Page not found"</h1></section>
        }
        .into_any();
    };
    let feedback = state.feedback.for_form("audit");
    let search = audit.search.clone();
    let chosen = search.kind.clone();
    view! {
        <PageTitle text="Audit trail · Gatehouse" />
        <section class="card wide">
            <h1>"Audit trail"</h1>
            <form method="get" action=AUDIT class="search audit-search">
                <Field id="audit_user" name="user" label="Account" autocomplete="off"
                    value=Some(search.user.clone()) error=feedback.error("user") />
                <Field id="audit_client" name="client_id" label="App (client ID)" autocomplete="off"
                    value=Some(search.client_id.clone()) error=feedback.error("client_id") />
                <div class="field">
                    <label for="audit_kind">"Event"</label>
                    <select id="audit_kind" name="kind">
                        <option value="" selected=chosen.is_empty()>"Any"</option>
                        {audit
                            .kinds
                            .iter()
                            .map(|(name, words)| {
                                view! {
                                    <option value=name.clone() selected=*name == chosen>{words.clone()}</option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <Field id="audit_since" name="since" label="From" kind="date" autocomplete="off"
                    value=Some(search.since.clone()) error=feedback.error("since") />
                <Field id="audit_until" name="until" label="Until" kind="date" autocomplete="off"
                    value=Some(search.until.clone()) error=feedback.error("until") />
                <button type="submit">"Search"</button>
            </form>
            {if audit.events.is_empty() {
                view! { <p class="aside">"No event matches."</p> }.into_any()
            } else {
                view! {
                    <table class="events">
                        <thead>
                            <tr>
                                <th>"Time"</th><th>"Event"</th><th>"Account"</th><th>"App"</th>
                                <th>"Address"</th><th>"What happened"</th>
                            </tr>
                        </thead>
                        <tbody>{audit.events.into_iter().map(event_row).collect_view()}</tbody>
                    </table>
                }
                    .into_any()
            }}
            {older_link(AUDIT, audit.older)}
        </section>
    }
    .into_any()
}
