//! `/o/authorized_tokens/`: the apps you allowed, and a way to take it back.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::actions::{Done, Revoke};
use crate::components::field::CsrfField;
use crate::components::form::{PortalForm, Submit};
use crate::components::notice::Notice;
use crate::paths::{AUTHORIZED_TOKENS, LOGIN};
use crate::state::{use_portal_state, GrantView};

#[component]
pub fn AuthorizedAppsPage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map();
    if state.user.is_none() {
        let to = format!("{LOGIN}?next={AUTHORIZED_TOKENS}");
        return view! { <Redirect path=to /> }.into_any();
    }
    let revoked = query
        .get_untracked()
        .get("revoked")
        .map(|name| crate::state::revoked_message(&name));
    view! {
        <PageTitle text="Authorized applications · Gatehouse" />
        <section class="card wide">
            <h1>"Authorized applications"</h1>
            <Grants
                grants=state.grants.clone().unwrap_or_default()
                csrf=state.csrf_token.clone()
                revoked=revoked
            />
        </section>
    }
    .into_any()
}

/// The list of granted apps. Revoked in place once hydrated: the app
/// leaves the list and the page says so, as it does after the page load
/// without JavaScript.
#[island]
fn Grants(grants: Vec<GrantView>, csrf: String, revoked: Option<String>) -> impl IntoView {
    let grants = RwSignal::new(grants);
    let done_message = RwSignal::new(revoked);
    let empty = Memo::new(move |_| grants.with(Vec::is_empty));
    let item = move |g: GrantView| {
        let label = format!("Revoke {}", g.app_name);
        let app_id = g.app_id;
        let on_done = Callback::new(move |done: Done| {
            grants.update(|list| list.retain(|g| g.app_id != app_id));
            done_message.set(done.message);
        });
        let action = <Revoke as ServerFn>::PATH;
        let csrf = csrf.clone();
        view! {
            <li class="grant" data-app=g.app_name.clone()>
                <h2>{g.app_name.clone()}</h2>
                <ul class="scopes">
                    {g.scopes.iter().map(|s| view! { <li>{s.description.clone()}</li> }).collect_view()}
                </ul>
                <p class="aside">
                    "Allowed " {g.granted.clone()} ". Last used: "
                    {g.last_used.clone().unwrap_or_else(|| "not recently".into())} "."
                </p>
                <PortalForm
                    to=AUTHORIZED_TOKENS
                    call=action
                    feedback=Default::default()
                    on_done=on_done
                >
                    <CsrfField token=csrf />
                    <input type="hidden" name="app_id" value=g.app_id.to_string() />
                    <Submit label="Revoke" class=Some("danger".into()) aria_label=Some(label) />
                </PortalForm>
            </li>
        }
    };
    view! {
        {move || view! { <Notice message=done_message.get() /> }}
        {move || {
            if empty.get() {
                view! { <p class="aside">"You have not allowed any application to use your account."</p> }
                    .into_any()
            } else {
                let item = item.clone();
                view! {
                    <ul class="grants">
                        <For each=move || grants.get() key=|g| g.app_id children=item />
                    </ul>
                }
                    .into_any()
            }
        }}
    }
}
