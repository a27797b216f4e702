//! `/accounts/signup/`: create an account.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::actions::SignUp;
use crate::components::field::{CsrfField, Field};
use crate::components::form::{Form, SubmitButton};
use crate::components::live::{Check, Other};
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
    let action = <SignUp as ServerFn>::PATH;
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
                        let email_accounts = state.email_accounts;
                        let (username_value, username_error) = (
                            feedback.value("username"),
                            feedback.error("username"),
                        );
                        let password_hint = if state.email_accounts {
                            "At least 10 characters; not your email, nor a common password."
                        } else {
                            "At least 10 characters; not your username or email, nor a common password."
                        };
                        let password_check = Check::NewPassword {
                            username: Other::Field("username".into()),
                            email: Other::Field("email".into()),
                        };
                        view! {
                            <Form to=SIGNUP call=action feedback=feedback.clone()>
                                <CsrfField token=state.csrf_token />
                                <input type="hidden" name="next" value=next />
                                {(!email_accounts)
                                    .then(|| {
                                        view! {
                                            <Field
                                                id="username"
                                                name="username"
                                                label="Username"
                                                autocomplete="username"
                                                value=username_value
                                                error=username_error
                                                required=true
                                                check=Check::Username
                                            />
                                        }
                                    })}
                                <Field
                                    id="email"
                                    name="email"
                                    label="Email"
                                    kind="email"
                                    autocomplete="email"
                                    value=feedback.value("email")
                                    error=feedback.error("email")
                                    required=true
                                    check=Check::Email
                                />
                                <Field
                                    id="password"
                                    name="password"
                                    label="Password"
                                    kind="password"
                                    autocomplete="new-password"
                                    error=feedback.error("password")
                                    required=true
                                    check=password_check
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
                                    check=Check::Confirms("password".into())
                                />
                                <SubmitButton label="Create account" />
                            </Form>
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
