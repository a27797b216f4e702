//! `/accounts/signup/`: create an account.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::field::{CsrfField, Field};
use crate::components::notice::Notice;
use crate::paths::{LOGIN, SIGNUP};
use crate::state::{use_portal_state, SIGNUP_CLOSED};

#[component]
pub fn SignupPage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map();
    if state.signup_closed {
        return view! {
            <PageTitle text="Create account · Gatehouse" />
            <section class="card">
                <h1>"Create your account"</h1>
                <Notice message=Some(SIGNUP_CLOSED.to_owned()) />
                <p class="aside">
                    "Already have an account? " <a href=LOGIN>"Sign in"</a>
                </p>
            </section>
        }
        .into_any();
    }
    let domains = (!state.signup_domains.is_empty()).then(|| {
        let list = state.signup_domains.join(", ");
        view! { <p class="aside">{format!("Only addresses at {list} can create an account here.")}</p> }
    });
    view! {
        <PageTitle text="Create account · Gatehouse" />
        <section class="card">
            <h1>"Create your account"</h1>
            {domains}
            {move || {
                    let next = query.get().get("next");
                    {
                        let state = state.clone();
                        let feedback = state.feedback.for_form("signup");
                        let next = feedback.value("next").or(next).unwrap_or_default();
                        // Accounts named by their email have no username.
                        let username = (!state.email_accounts)
                            .then(|| {
                                view! {
                                    <Field
                                        id="username"
                                        name="username"
                                        label="Username"
                                        autocomplete="username"
                                        value=feedback.value("username")
                                        error=feedback.error("username")
                                        required=true
                                    />
                                }
                            });
                        let password_hint = if state.email_accounts {
                            "At least 10 characters; not your email, nor a common password."
                        } else {
                            "At least 10 characters; not your username or email, nor a common password."
                        };
                        view! {
                            <Notice message=feedback.message.clone() kind="error" />
                            <form method="post" action=SIGNUP novalidate>
                                <CsrfField token=state.csrf_token />
                                <input type="hidden" name="next" value=next />
                                {username}
                                <Field
                                    id="email"
                                    name="email"
                                    label="Email"
                                    kind="email"
                                    autocomplete="email"
                                    value=feedback.value("email")
                                    error=feedback.error("email")
                                    required=true
                                />
                                <Field
                                    id="password"
                                    name="password"
                                    label="Password"
                                    kind="password"
                                    autocomplete="new-password"
                                    error=feedback.error("password")
                                    required=true
                                />
                                <p class="hint">{password_hint}</p>
                                <Field
                                    id="confirm"
                                    name="confirm"
                                    label="Confirm password"
                                    kind="password"
                                    autocomplete="new-password"
                                    error=feedback.error("confirm")
                                    required=true
                                />
                                <button type="submit">"Create account"</button>
                            </form>
                            <p class="aside">
                                "Already have an account? " <a href=LOGIN>"Sign in"</a>
                            </p>
                        }
                    }
                }}
        </section>
    }
    .into_any()
}
