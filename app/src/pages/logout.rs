//! `/o/logout/`: an application asked to sign the user out of Gatehouse
//! (OpenID Connect RP-Initiated Logout) without proving who is signed in,
//! so the user confirms first.

use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::components::field::CsrfField;
use crate::paths::{HOME, RP_LOGOUT};
use crate::state::use_portal_state;

#[component]
pub fn LogoutPage() -> impl IntoView {
    let state = use_portal_state();
    let view_state = state.logout.clone().unwrap_or_default();
    let asker = view_state
        .app_name
        .clone()
        .map(|name| format!("{name} asks to sign you out of Gatehouse."))
        .unwrap_or_else(|| "An application asks to sign you out of Gatehouse.".to_owned());
    view! {
        <PageTitle text="Sign out · Gatehouse" />
        <section class="card">
            <h1>"Sign out?"</h1>
            <p>{asker}</p>
            <form method="post" action=RP_LOGOUT class="decision">
                <CsrfField token=state.csrf_token.clone() />
                {view_state
                    .request
                    .iter()
                    .map(|(name, value)| {
                        view! { <input type="hidden" name=name.clone() value=value.clone() /> }
                    })
                    .collect_view()}
                <button type="submit" name="confirm" value="yes">"Sign out"</button>
                <a href=HOME class="aside">"Stay signed in"</a>
            </form>
        </section>
    }
}
