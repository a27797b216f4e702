//! `/admin/`: staff only. Find accounts, deactivate or reactivate them,
//! and see every registered app.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::actions::{Admin, Done};
use crate::components::field::CsrfField;
use crate::components::form::{PortalForm, Submit};
use crate::components::notice::Notice;
use crate::paths::{ADMIN, AUDIT};
use crate::state::{use_portal_state, AdminUserView, AdminView, AppView, FormFeedback};

/// Links to the previous and next pages of the account list, keeping the
/// search.
fn pager(query: &str, page: u32, has_next: bool) -> impl IntoView {
    let href = |page: u32| search_url(query, page);
    let previous = (page > 1).then(|| {
        view! { <a href=href(page - 1) rel="external">"Previous page"</a> }
    });
    let next = has_next.then(|| view! { <a href=href(page + 1) rel="external">"Next page"</a> });
    (page > 1 || has_next).then(|| {
        view! { <p class="pager">{previous} " " <span>{format!("Page {page}")}</span> " " {next}</p> }
    })
}

/// The address of one page of a search.
fn search_url(query: &str, page: u32) -> String {
    let mut url = format!("{ADMIN}?page={page}");
    if !query.is_empty() {
        url.push_str("&q=");
        url.push_str(&url_encode(query));
    }
    url
}

/// What the account list shows, in words (announced after a search).
fn results_sentence(query: &str, page: u32, count: usize) -> String {
    let accounts = if count == 1 { "account" } else { "accounts" };
    match (query.is_empty(), page) {
        (true, 1) => format!("{count} {accounts}."),
        (true, _) => format!("{count} {accounts} on page {page}."),
        (false, 1) => format!("{count} {accounts} matching “{query}”."),
        (false, _) => format!("{count} {accounts} matching “{query}” on page {page}."),
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let state = use_portal_state();
    let Some(admin) = state.admin.clone() else {
        return view! {
            <PageTitle text="Not found · Gatehouse" />
            <section class="card"><h1>"Page not found"</h1></section>
        }
        .into_any();
    };
    let refused = state.feedback.for_form("admin").message;
    let me = state
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    view! {
        <PageTitle text="Administration · Gatehouse" />
        <AdminPanel admin=admin csrf=state.csrf_token.clone() me=me refused=refused />
    }
    .into_any()
}

/// The account list and the app list, changed in place once hydrated.
#[island]
fn AdminPanel(
    admin: AdminView,
    csrf: String,
    me: String,
    refused: Option<String>,
) -> impl IntoView {
    let can_manage_staff = admin.can_manage_staff;
    let query = admin.query.clone();
    // Hydrated, each action changes its row in place and says what it did.
    let users = RwSignal::new(admin.users.clone());
    let apps = RwSignal::new(admin.apps.clone());
    let said = RwSignal::new(None::<String>);
    // The search, answered in place once hydrated (a plain GET without).
    let listing = RwSignal::new((admin.query.clone(), admin.page, admin.has_next));
    let searching = RwSignal::new(false);
    let search_error = RwSignal::new(None::<String>);
    let on_search = {
        let csrf = csrf.clone();
        move |ev: leptos::ev::SubmitEvent| {
            #[cfg(feature = "hydrate")]
            {
                let Some(fields) = crate::components::call::form_body(&ev, &[]) else {
                    return;
                };
                ev.prevent_default();
                if searching.get_untracked() {
                    return;
                }
                searching.set(true);
                let body = format!("{fields}&csrf_token={csrf}");
                leptos::task::spawn_local(async move {
                    let path = <crate::actions::AdminSearch as ServerFn>::PATH;
                    match crate::components::call::post::<crate::state::AdminView>(path, body).await
                    {
                        Ok(view) => {
                            let shown = search_url(&view.query, view.page);
                            users.set(view.users);
                            apps.set(view.apps);
                            listing.set((view.query, view.page, view.has_next));
                            search_error.set(None);
                            said.set(None);
                            // A reload shows the same search.
                            let _ = window().history().and_then(|h| {
                                h.replace_state_with_url(
                                    &leptos::wasm_bindgen::JsValue::NULL,
                                    "",
                                    Some(&shown),
                                )
                            });
                        }
                        Err(error) => search_error.set(Some(error.to_string())),
                    }
                    searching.set(false);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&ev, &csrf);
        }
    };
    let user_row = {
        let (csrf, query) = (csrf.clone(), query.clone());
        move |u: AdminUserView| {
            let act = |action: &'static str, label: String, text: &'static str| {
                let user_id = u.id;
                let on_done = Callback::new(move |done: Done| {
                    users.update(|list| {
                        if let Some(u) = list.iter_mut().find(|u| u.id == user_id) {
                            match action {
                                "activate" => u.is_active = true,
                                "deactivate" => u.is_active = false,
                                "make_staff" => u.is_staff = true,
                                "remove_staff" => u.is_staff = false,
                                _ => {}
                            }
                        }
                    });
                    said.set(done.message);
                });
                let call = <Admin as ServerFn>::PATH;
                let (csrf, query) = (csrf.clone(), query.clone());
                view! {
                    <PortalForm
                        to=ADMIN
                        call=call
                        feedback=FormFeedback::default()
                        on_done=on_done
                    >
                        <CsrfField token=csrf />
                        <input type="hidden" name="user_id" value=u.id.to_string() />
                        <input type="hidden" name="action" value=action />
                        <input type="hidden" name="q" value=query />
                        <Submit label=text class=Some("secondary".into()) aria_label=Some(label) />
                    </PortalForm>
                }
            };
            let (action, button) = if u.is_active {
                ("deactivate", format!("Deactivate {}", u.username))
            } else {
                ("activate", format!("Reactivate {}", u.username))
            };
            let visible = if u.is_active {
                "Deactivate"
            } else {
                "Reactivate"
            };
            // One small form per action, each naming its account.
            let toggle = act(action, button, visible);
            let sign_out = act(
                "signout",
                format!("Sign {} out everywhere", u.username),
                "Sign out everywhere",
            );
            let reset = u.is_active.then(|| {
                act(
                    "send_reset",
                    format!("Send {} a password reset link", u.username),
                    "Send password reset",
                )
            });
            let staff = (can_manage_staff && u.username != me).then(|| {
                if u.is_staff {
                    act(
                        "remove_staff",
                        format!("Remove staff from {}", u.username),
                        "Remove staff",
                    )
                } else {
                    act(
                        "make_staff",
                        format!("Make {} staff", u.username),
                        "Make staff",
                    )
                }
            });
            view! {
                <tr data-username=u.username.clone()>
                    <td>{u.username.clone()} {u.is_staff.then_some(" (staff)")}</td>
                    <td>
                        {u.email.clone()}
                        {(!u.email_verified).then_some(" (not verified)")}
                    </td>
                    <td>{u.joined.clone()}</td>
                    <td>{if u.is_active { "active" } else { "deactivated" }}</td>
                    <td class="actions">{toggle} {sign_out} {reset} {staff}</td>
                </tr>
            }
        }
    };
    let app_row = move |a: AppView| {
        let label = format!("Mark {} reviewed", a.name);
        let app_id = a.id;
        let on_done = Callback::new(move |done: Done| {
            apps.update(|list| {
                if let Some(a) = list.iter_mut().find(|a| a.id == app_id) {
                    a.reviewed = true;
                }
            });
            said.set(done.message);
        });
        let csrf = csrf.clone();
        let review = (!a.reviewed).then(|| {
            let call = <Admin as ServerFn>::PATH;
            view! {
                <PortalForm
                    to=ADMIN
                    call=call
                    feedback=FormFeedback::default()
                    on_done=on_done
                >
                    <CsrfField token=csrf />
                    <input type="hidden" name="app_id" value=a.id.to_string() />
                    <input type="hidden" name="action" value="review" />
                    <Submit label="Mark reviewed" class=Some("secondary".into()) aria_label=Some(label) />
                </PortalForm>
            }
        });
        view! {
            <tr data-client-id=a.client_id.clone()>
                <td>{a.name.clone()}</td>
                <td><code>{a.client_id.clone()}</code></td>
                <td>{a.client_type.clone()}</td>
                <td>{a.owner.clone().unwrap_or_else(|| "(command line)".into())}</td>
                <td>{if a.reviewed { "reviewed" } else { "not reviewed" }} {review}</td>
            </tr>
        }
    };
    view! {
        <section class="card wide">
            <h1>"Accounts"</h1>
            <p><a href=AUDIT rel="external">"Audit trail"</a>": sign-ins, changes and staff actions."</p>
            <Notice message=refused kind="error" />
            {move || said.get().map(|m| view! { <p class="notice notice-info" role="status">{m}</p> })}
            <form
                method="get"
                action=ADMIN
                class="search"
                role="search"
                on:submit=on_search
                aria-busy=move || searching.get().then_some("true")
            >
                <label for="admin_q">"Search"</label>
                <input id="admin_q" type="search" name="q" value=admin.query.clone() />
                <button type="submit" disabled=move || searching.get()>"Search"</button>
                {move || {
                    search_error
                        .get()
                        .map(|m| view! { <p class="field-error" role="alert">{m}</p> })
                }}
            </form>
            <p class="aside" aria-live="polite" id="admin-results">
                {move || {
                    let (query, page, _) = listing.get();
                    let count = users.with(Vec::len);
                    results_sentence(&query, page, count)
                }}
            </p>
            <table class="accounts">
                <thead>
                    <tr><th>"Username"</th><th>"Email"</th><th>"Joined"</th><th>"Status"</th><th></th></tr>
                </thead>
                <tbody>
                    <For
                        each=move || users.get()
                        key=|u| (u.id, u.is_active, u.is_staff)
                        children=user_row
                    />
                </tbody>
            </table>
            {move || listing.with(|(query, page, next)| pager(query, *page, *next))}
        </section>
        <section class="card wide">
            <h2>"Applications"</h2>
            <table class="apps">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Client ID"</th>
                        <th>"Type"</th>
                        <th>"Owner"</th>
                        <th>"Review"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || apps.get() key=|a| (a.id, a.reviewed) children=app_row />
                </tbody>
            </table>
        </section>
    }
}
