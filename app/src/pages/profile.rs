//! `/accounts/profile/`: edit the profile, change the password, delete the
//! account. Signed-in users only.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::actions::{ChangePassword, DeleteAccount, ResendVerification, SaveProfile};
use crate::components::field::{CsrfField, Field};
use crate::components::form::{Form, SubmitButton};
use crate::components::live::{Check, Other};
use crate::components::notice::Notice;
use crate::paths::{LOGIN, PROFILE};
use crate::state::use_portal_state;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map();
    let save_action = <SaveProfile as ServerFn>::PATH;
    let password_action = <ChangePassword as ServerFn>::PATH;
    let delete_action = <DeleteAccount as ServerFn>::PATH;
    let resend_action = <ResendVerification as ServerFn>::PATH;
    view! {
        <PageTitle text="Your account · Gatehouse" />
            {move || {
                let saved = match query.get().get("saved").as_deref() {
                    Some("profile") => Some("Your profile was saved.".to_owned()),
                    Some("email") => {
                        Some(
                            "Your profile was saved. We sent a link to your new address: it becomes your address once you follow it."
                                .to_owned(),
                        )
                    }
                    Some("verification") => {
                        Some("We sent a new verification link to your address.".to_owned())
                    }
                    Some("password") => {
                        Some(
                            "Your password was changed. Other devices have been signed out."
                                .to_owned(),
                        )
                    }
                    _ => None,
                };
                {
                    let state = state.clone();
                    let Some(user) = state.user else {
                        let to = format!("{LOGIN}?next={PROFILE}");
                        return view! { <Redirect path=to /> }.into_any();
                    };
                    let csrf = state.csrf_token;
                    let profile = state.feedback.for_form("profile");
                    let password = state.feedback.for_form("password");
                    let delete = state.feedback.for_form("delete");
                    let password_check = Check::NewPassword {
                        username: Other::Known(user.username.clone()),
                        email: Other::Known(user.email.clone()),
                    };
                    // Each form's children own what they show.
                    let (csrf_save, csrf_password) = (csrf.clone(), csrf.clone());
                    let first_name = profile.value("first_name").or(Some(user.first_name.clone()));
                    let last_name = profile.value("last_name").or(Some(user.last_name.clone()));
                    let email = profile.value("email").or(Some(user.email.clone()));
                    let username = user.username.clone();
                    let verification = verification(
                        state.verify_email,
                        &user,
                        csrf.clone(),
                        state.feedback.for_form("resend"),
                        resend_action,
                    );
                    view! {
                        <Notice message=saved />
                        <section class="card">
                            <h1>"Your profile"</h1>
                            <p class="aside">"Username: " <strong>{user.username.clone()}</strong></p>
                            <Form to=PROFILE call=save_action feedback=profile.clone()>
                                <CsrfField token=csrf_save />
                                <input type="hidden" name="action" value="profile" />
                                <Field
                                    id="first_name"
                                    name="first_name"
                                    label="First name"
                                    autocomplete="given-name"
                                    value=first_name
                                    error=profile.error("first_name")
                                />
                                <Field
                                    id="last_name"
                                    name="last_name"
                                    label="Last name"
                                    autocomplete="family-name"
                                    value=last_name
                                    error=profile.error("last_name")
                                />
                                <Field
                                    id="email"
                                    name="email"
                                    label="Email"
                                    kind="email"
                                    autocomplete="email"
                                    value=email
                                    error=profile.error("email")
                                    required=true
                                    check=Check::Email
                                />
                                <SubmitButton label="Save" />
                            </Form>
                            {verification}
                        </section>
                        <section class="card">
                            <h2>"Change password"</h2>
                            <Form
                                to=PROFILE
                                call=password_action
                                feedback=password.clone()
                                reset_on_done=true
                            >
                                <CsrfField token=csrf_password />
                                <input type="hidden" name="action" value="password" />
                                <input
                                    type="hidden"
                                    name="username"
                                    autocomplete="username"
                                    value=username
                                />
                                <Field
                                    id="current_password"
                                    name="current_password"
                                    label="Current password"
                                    kind="password"
                                    autocomplete="current-password"
                                    error=password.error("current_password")
                                    required=true
                                />
                                <Field
                                    id="new_password"
                                    name="new_password"
                                    label="New password"
                                    kind="password"
                                    autocomplete="new-password"
                                    error=password.error("new_password")
                                    required=true
                                    check=password_check
                                />
                                <Field
                                    id="confirm_new_password"
                                    name="confirm_new_password"
                                    label="Confirm new password"
                                    kind="password"
                                    autocomplete="new-password"
                                    error=password.error("confirm_new_password")
                                    required=true
                                    check=Check::Confirms("new_password".into())
                                />
                                <SubmitButton label="Change password" />
                            </Form>
                        </section>
                        <section class="card danger">
                            <h2>"Delete account"</h2>
                            <p>
                                "This removes your account and signs you out everywhere. It cannot be undone."
                            </p>
                            <Form to=PROFILE call=delete_action feedback=delete.clone()>
                                <CsrfField token=csrf />
                                <input type="hidden" name="action" value="delete" />
                                <Field
                                    id="delete_password"
                                    name="delete_password"
                                    label="Your password"
                                    kind="password"
                                    autocomplete="current-password"
                                    error=delete.error("delete_password")
                                    required=true
                                />
                                <SubmitButton label="Delete account" class="danger" />
                            </Form>
                        </section>
                    }
                        .into_any()
                }
            }}
    }
}

/// Whether the address is verified, and the `Resend verification email`
/// button when it (or a new address) waits for verification.
fn verification(
    enabled: bool,
    user: &crate::state::UserView,
    csrf: String,
    feedback: crate::state::FormFeedback,
    call: &'static str,
) -> Option<AnyView> {
    if !enabled {
        return None;
    }
    let (status, waiting) = match (&user.pending_email, user.email_verified) {
        (Some(new), _) => (
            format!("{new} is waiting for you to follow the link we sent it."),
            true,
        ),
        (None, true) => (format!("{} is verified.", user.email), false),
        (None, false) => (format!("{} is not verified yet.", user.email), true),
    };
    let resend = waiting.then(|| {
        view! {
            <Form to=PROFILE call=call feedback=feedback class="inline">
                <CsrfField token=csrf />
                <input type="hidden" name="action" value="resend" />
                <SubmitButton label="Resend verification email" class="secondary" />
            </Form>
        }
    });
    Some(
        view! {
            <div class="verification" id="email-verification">
                <p class="aside">{status}</p>
                {resend}
            </div>
        }
        .into_any(),
    )
}
