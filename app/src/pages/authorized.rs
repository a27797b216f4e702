//! `/o/authorized_tokens/`: the apps you allowed, and a way to take it back.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::components::field::CsrfField;
use crate::components::notice::Notice;
use crate::paths::{AUTHORIZED_TOKENS, LOGIN};
use crate::state::use_portal_state;

#[component]
pub fn AuthorizedAppsPage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map();
    if state.user.is_none() {
        let to = format!("{LOGIN}?next={AUTHORIZED_TOKENS}");
        return view! { <Redirect path=to /> }.into_any();
    }
    let grants = state.grants.clone().unwrap_or_default();
    let revoked = move || {
        query
            .get()
            .get("revoked")
            .map(|name| format!("Access for {name} was revoked."))
    };
    view! {
        <PageTitle text="Authorized applications · Gatehouse" />
        <section class="card wide">
            <h1>"Authorized applications"</h1>
            {move || view! { <Notice message=revoked() /> }}
            {if grants.is_empty() {
                view! { <p class="aside">"You have not allowed any application to use your account."</p> }
                    .into_any()
            } else {
                view! {
                    <ul class="grants">
                        {grants
                            .into_iter()
                            .map(|g| {
                                let label = format!("Revoke {}", g.app_name);
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
                                        <form method="post" action=AUTHORIZED_TOKENS>
                                            <CsrfField token=state.csrf_token.clone() />
                                            <input type="hidden" name="app_id" value=g.app_id.to_string() />
                                            <button type="submit" class="danger" aria-label=label>"Revoke"</button>
                                        </form>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
    .into_any()
}
