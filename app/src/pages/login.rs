//! `/accounts/login/`: sign in with username or email.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::actions::SignIn;
use crate::components::field::{CsrfField, Field};
use crate::components::form::{Form, FormContext, SubmitButton};
use crate::components::notice::Notice;
use crate::paths::{CONFIRM_EMAIL_RESEND, LOGIN, PASSWORD_RESET, SIGNUP};
use crate::state::use_portal_state;
use gatehouse::next::encode_next;

#[component]
pub fn LoginPage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map();
    let action = <SignIn as ServerFn>::PATH;
    view! {
        <PageTitle text="Sign in · Gatehouse" />
        <section class="card">
            <h1>"Sign in"</h1>
            {move || {
                    let query = query.get();
                    let next = query.get("next");
                    let info = if query.get("signed_out").is_some() {
                        Some("You have signed out.".to_owned())
                    } else if query.get("deleted").is_some() {
                        Some("Your account was deleted.".to_owned())
                    } else {
                        None
                    };
                    {
                        let state = state.clone();
                        let feedback = state.feedback.for_form("login");
                        let next = feedback.value("next").or(next).unwrap_or_default();
                        let login_label = if state.email_accounts {
                            "Email"
                        } else {
                            "Username or email"
                        };
                        let signup_href = if next.is_empty() {
                            SIGNUP.to_owned()
                        } else {
                            format!("{SIGNUP}?next={}", encode_next(&next))
                        };
                        view! {
                            <Notice message=info />
                            <Form to=LOGIN call=action feedback=feedback.clone()>
                                <CsrfField token=state.csrf_token />
                                <input type="hidden" name="next" value=next />
                                <Field
                                    id="login"
                                    name="login"
                                    label=login_label
                                    autocomplete="username"
                                    value=feedback.value("login")
                                    error=feedback.error("login")
                                    required=true
                                />
                                <Field
                                    id="password"
                                    name="password"
                                    label="Password"
                                    kind="password"
                                    autocomplete="current-password"
                                    error=feedback.error("password")
                                    required=true
                                />
                                <SubmitButton label="Sign in" />
                                <UnverifiedHint />
                            </Form>
                            <p class="aside">
                                <a href=PASSWORD_RESET>"Forgot your password?"</a>
                            </p>
                            <p class="aside">
                                "New here? " <a href=signup_href>"Create an account"</a>
                            </p>
                        }
                    }
                }}
        </section>
    }
}

/// After a refusal for an unverified address: where to get a new link.
#[island]
fn UnverifiedHint() -> impl IntoView {
    let form = use_context::<FormContext>();
    move || {
        form.and_then(|f| f.feedback.with(|f| f.value("unverified")))
            .map(|_| {
                view! {
                    <p class="aside">
                        "No message? " <a href=CONFIRM_EMAIL_RESEND>"Resend verification email"</a>
                    </p>
                }
            })
    }
}
