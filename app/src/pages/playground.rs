//! `/o/playground/callback/`: where the Try-it panel's authorization
//! requests come back. Step one shows the code and asks for the client
//! secret (confidential apps); step two shows what the exchange returned.

use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::components::browser_try::BrowserExchange;
use crate::components::field::{CsrfField, Field};
use crate::components::notice::Notice;
use crate::paths::{application, PLAYGROUND_CALLBACK};
use crate::state::use_portal_state;

#[component]
pub fn PlaygroundPage() -> impl IntoView {
    let state = use_portal_state();
    let Some(view_state) = state.playground.clone() else {
        return view! {
            <PageTitle text="Playground · Gatehouse" />
            <section class="card">
                <h1>"Nothing to show"</h1>
                <p>"Start from the Try it panel of one of your applications."</p>
            </section>
        }
        .into_any();
    };
    let back = application(view_state.app_id);
    let feedback = state.feedback.for_form("playground");
    view! {
        <PageTitle text="Playground · Gatehouse" />
        <p><a href=back rel="external">"← " {view_state.app_name.clone()}</a></p>
        <section class="card wide playground">
            <h1>"Playground: " {view_state.app_name.clone()}</h1>
            <Notice message=view_state.error.clone() kind="error" />
            <Notice message=feedback.message.clone() kind="error" />
            {match (view_state.result.clone(), view_state.code.clone()) {
                (None, Some(code)) if view_state.in_browser => {
                    view! { <BrowserExchange code=code state=view_state.state.clone() /> }.into_any()
                }
                (Some(result), _) => {
                    view! {
                        <h2>"Token response"</h2>
                        <pre id="token_response">{result.token_response}</pre>
                        {result
                            .id_token_claims
                            .map(|c| view! { <h2>"id_token claims"</h2><pre id="id_token_claims">{c}</pre> })}
                        {result
                            .userinfo
                            .map(|u| view! { <h2>"userinfo"</h2><pre id="userinfo">{u}</pre> })}
                    }
                        .into_any()
                }
                (None, Some(code)) => {
                    view! {
                        <p>"The authorization succeeded. Exchange the code at the token endpoint:"</p>
                        <form method="post" action=PLAYGROUND_CALLBACK novalidate>
                            <CsrfField token=state.csrf_token.clone() />
                            <input type="hidden" name="code" value=code />
                            <input type="hidden" name="state" value=view_state.state.clone() />
                            {view_state
                                .needs_secret
                                .then(|| {
                                    view! {
                                        <Field
                                            id="playground_secret"
                                            name="client_secret"
                                            label="Client secret"
                                            kind="password"
                                            autocomplete="off"
                                            error=feedback.error("client_secret")
                                            required=true
                                        />
                                    }
                                })}
                            <button type="submit">"Exchange code"</button>
                        </form>
                    }
                        .into_any()
                }
                (None, None) => ().into_any(),
            }}
        </section>
    }
    .into_any()
}
