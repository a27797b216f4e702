//! `/o/authorize/`: may this app act on your behalf? The server validated
//! the request before rendering this page; the form posts the request back
//! with the decision.

use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::components::field::CsrfField;
use crate::paths::AUTHORIZE;
use crate::state::use_portal_state;

#[component]
pub fn ConsentPage() -> impl IntoView {
    let state = use_portal_state();
    let Some(consent) = state.consent.clone() else {
        return view! {
            <PageTitle text="Authorize · Gatehouse" />
            <section class="card">
                <h1>"Nothing to authorize"</h1>
                <p>"This page is reached from an application asking you to sign in."</p>
            </section>
        }
        .into_any();
    };
    let who = state
        .user
        .as_ref()
        .map(|u| u.display_name())
        .unwrap_or_default();
    let title = format!("Authorize {} · Gatehouse", consent.app_name);
    view! {
        <PageTitle text=title />
        <section class="card consent">
            <h1>"Allow " <strong>{consent.app_name.clone()}</strong> " to use your account?"</h1>
            <p>"Signed in as " {who} ". " {consent.app_name.clone()} " will be able to:"</p>
            <ul class="scopes">
                {consent
                    .scopes
                    .iter()
                    .map(|s| {
                        view! {
                            <li data-scope=s.name.clone()>{s.description.clone()}</li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p class="aside">"You will be sent back to " {consent.redirect_origin.clone()} "."</p>
            <form method="post" action=AUTHORIZE class="decision">
                <CsrfField token=state.csrf_token.clone() />
                {consent
                    .request
                    .iter()
                    .map(|(name, value)| {
                        view! { <input type="hidden" name=name.clone() value=value.clone() /> }
                    })
                    .collect_view()}
                <button type="submit" name="decision" value="allow">"Allow"</button>
                <button type="submit" name="decision" value="deny" class="secondary">"Deny"</button>
            </form>
        </section>
    }
    .into_any()
}
