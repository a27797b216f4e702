//! `/accounts/profile/`: edit the profile, change the password, delete the
//! account. Signed-in users only.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::components::field::{CsrfField, Field};
use crate::components::notice::Notice;
use crate::paths::{LOGIN, PROFILE};
use crate::state::use_portal_state;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let state = use_portal_state();
    let query = use_query_map();
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
                    view! {
                        <Notice message=saved />
                        <section class="card">
                            <h1>"Your profile"</h1>
                            <p class="aside">"Username: " <strong>{user.username.clone()}</strong></p>
                            <Notice message=profile.message.clone() kind="error" />
                            <form method="post" action=PROFILE novalidate>
                                <CsrfField token=csrf.clone() />
                                <input type="hidden" name="action" value="profile" />
                                <Field
                                    id="first_name"
                                    name="first_name"
                                    label="First name"
                                    autocomplete="given-name"
                                    value=profile.value("first_name").or(Some(user.first_name.clone()))
                                    error=profile.error("first_name")
                                />
                                <Field
                                    id="last_name"
                                    name="last_name"
                                    label="Last name"
                                    autocomplete="family-name"
                                    value=profile.value("last_name").or(Some(user.last_name.clone()))
                                    error=profile.error("last_name")
                                />
                                <Field
                                    id="email"
                                    name="email"
                                    label="Email"
                                    kind="email"
                                    autocomplete="email"
                                    value=profile.value("email").or(Some(user.email.clone()))
                                    error=profile.error("email")
                                    required=true
                                />
                                <button type="submit">"Save"</button>
                            </form>
                            {verification(&state.verify_email, &user, &csrf, &state.feedback.for_form("resend"))}
                        </section>
                        <section class="card">
                            <h2>"Change password"</h2>
                            <Notice message=password.message.clone() kind="error" />
                            <form method="post" action=PROFILE novalidate>
                                <CsrfField token=csrf.clone() />
                                <input type="hidden" name="action" value="password" />
                                <input
                                    type="hidden"
                                    name="username"
                                    autocomplete="username"
                                    value=user.username.clone()
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
                                />
                                <Field
                                    id="confirm_new_password"
                                    name="confirm_new_password"
                                    label="Confirm new password"
                                    kind="password"
                                    autocomplete="new-password"
                                    error=password.error("confirm_new_password")
                                    required=true
                                />
                                <button type="submit">"Change password"</button>
                            </form>
                        </section>
                        <section class="card danger">
                            <h2>"Delete account"</h2>
                            <p>
                                "This removes your account and signs you out everywhere. It cannot be undone."
                            </p>
                            <Notice message=delete.message.clone() kind="error" />
                            <form method="post" action=PROFILE novalidate>
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
                                <button type="submit" class="danger">
                                    "Delete account"
                                </button>
                            </form>
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
    enabled: &bool,
    user: &crate::state::UserView,
    csrf: &str,
    feedback: &crate::state::FormFeedback,
) -> Option<AnyView> {
    if !*enabled {
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
            <form method="post" action=PROFILE class="inline">
                <CsrfField token=csrf.to_owned() />
                <input type="hidden" name="action" value="resend" />
                <button type="submit" class="secondary">"Resend verification email"</button>
            </form>
        }
    });
    Some(
        view! {
            <div class="verification" id="email-verification">
                <p class="aside">{status}</p>
                <Notice message=feedback.message.clone() kind="error" />
                {resend}
            </div>
        }
        .into_any(),
    )
}
