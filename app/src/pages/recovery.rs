//! Pages of mailed links: the password reset (on Django's URLs), address
//! verification, and the "check your email" pages after a request.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::components::field::{CsrfField, Field};
use crate::components::live::{Check, Other};
use crate::components::notice::Notice;
use crate::components::title::PageTitle;
use crate::paths::{CONFIRM_EMAIL_RESEND, LOGIN, PASSWORD_RESET, PROFILE};
use crate::state::{use_portal_state, LINK_INVALID};

/// A form that asks for an email address (a reset link, a new
/// verification link), with its error beside the field.
#[component]
fn EmailRequestForm(
    action: &'static str,
    /// The name the server's refusal gives this form.
    form: &'static str,
    button: &'static str,
) -> impl IntoView {
    let state = use_portal_state();
    let feedback = state.feedback.for_form(form);
    view! {
        <Notice message=feedback.message.clone() kind="error" />
        <form method="post" action=action novalidate>
            <CsrfField token=state.csrf_token.clone() />
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
            <button type="submit">{button}</button>
        </form>
    }
}

/// `/accounts/password_reset/`: asks for the address to send a link to.
#[component]
pub fn PasswordResetPage() -> impl IntoView {
    view! {
        <PageTitle text="Reset your password · Gatehouse" />
        <section class="card">
            <h1>"Reset your password"</h1>
            <p>
                "Enter the email address of your account. If it has one, we will send it a link to choose a new password."
            </p>
            <EmailRequestForm
                action=PASSWORD_RESET
                form="password_reset"
                button="Send reset link"
            />
            <p class="aside">"Remembered it? " <a href=LOGIN>"Sign in"</a></p>
        </section>
    }
}

/// `/accounts/password_reset/done/`: the same answer whether or not the
/// address has an account.
#[component]
pub fn PasswordResetDonePage() -> impl IntoView {
    view! {
        <PageTitle text="Check your email · Gatehouse" />
        <section class="card">
            <h1>"Check your email"</h1>
            <p>
                "If an account uses that address, we have sent it a link to choose a new password. The link works once, for a limited time."
            </p>
            <p class="aside">
                "Nothing arrived after a few minutes? Check your spam folder, or "
                <a href=PASSWORD_RESET>"ask again"</a> "."
            </p>
        </section>
    }
}

/// `/accounts/reset/<uidb64>/<token>/`: the new password, when the link
/// works.
#[component]
pub fn PasswordResetConfirmPage() -> impl IntoView {
    let state = use_portal_state();
    let location = use_location();
    let link = state.link.clone().unwrap_or_default();
    if !link.valid {
        return view! {
            <PageTitle text="Reset link not valid · Gatehouse" />
            <section class="card">
                <h1>"Reset link not valid"</h1>
                <Notice message=Some(LINK_INVALID.to_owned()) kind="error" />
                <p>
                    <a href=PASSWORD_RESET>"Ask for a new link"</a>
                </p>
            </section>
        }
        .into_any();
    }
    let feedback = state.feedback.for_form("reset");
    let action = location.pathname.get_untracked();
    view! {
        <PageTitle text="Choose a new password · Gatehouse" />
        <section class="card">
            <h1>"Choose a new password"</h1>
            <p class="aside">"Account: " <strong>{link.username.clone()}</strong></p>
            <Notice message=feedback.message.clone() kind="error" />
            <form method="post" action=action novalidate>
                <CsrfField token=state.csrf_token.clone() />
                <Field
                    id="new_password"
                    name="new_password"
                    label="New password"
                    kind="password"
                    autocomplete="new-password"
                    error=feedback.error("new_password")
                    required=true
                    check=Check::NewPassword {
                        username: Other::Known(link.username.clone()),
                        email: Other::Known(link.email.clone()),
                    }
                />
                <p class="hint">
                    "At least 10 characters; not your username or email, nor a common password."
                </p>
                <Field
                    id="confirm_new_password"
                    name="confirm_new_password"
                    label="Confirm new password"
                    kind="password"
                    autocomplete="new-password"
                    error=feedback.error("confirm_new_password")
                    required=true
                    check=Check::Confirms("new_password".into())
                />
                <button type="submit">"Set password"</button>
            </form>
            <p class="aside">"Setting a new password signs you out everywhere."</p>
        </section>
    }
    .into_any()
}

/// `/accounts/reset/done/`.
#[component]
pub fn PasswordResetCompletePage() -> impl IntoView {
    view! {
        <PageTitle text="Password set · Gatehouse" />
        <section class="card">
            <h1>"Your password is set"</h1>
            <p>"Sign in with your new password. Every other session was signed out."</p>
            <p>
                <a href=LOGIN>"Sign in"</a>
            </p>
        </section>
    }
}

/// `/accounts/signup/done/`: the same answer for a new account and for an
/// address that already has one.
#[component]
pub fn SignupDonePage() -> impl IntoView {
    view! {
        <PageTitle text="Check your email · Gatehouse" />
        <section class="card">
            <h1>"Check your email"</h1>
            <p>
                "We have sent a message to the address you gave. Follow its link to confirm your address, then sign in."
            </p>
            <p class="aside">
                "Nothing arrived after a few minutes? Check your spam folder, or "
                <a href=CONFIRM_EMAIL_RESEND>"ask for a new link"</a> "."
            </p>
        </section>
    }
}

/// `/accounts/confirm-email/<uidb64>/<token>/`: a button to confirm (a
/// mail scanner that opens links confirms nothing), then the outcome.
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let state = use_portal_state();
    let location = use_location();
    let link = state.link.clone().unwrap_or_default();
    if let Some(outcome) = link.outcome.clone() {
        let next = if state.user.is_some() { PROFILE } else { LOGIN };
        let label = if state.user.is_some() {
            "Your account"
        } else {
            "Sign in"
        };
        return view! {
            <PageTitle text="Email address · Gatehouse" />
            <section class="card">
                <h1>"Email address"</h1>
                <Notice message=Some(outcome) />
                <p>
                    <a href=next>{label}</a>
                </p>
            </section>
        }
        .into_any();
    }
    if !link.valid {
        return view! {
            <PageTitle text="Verification link not valid · Gatehouse" />
            <section class="card">
                <h1>"Verification link not valid"</h1>
                <Notice message=Some(LINK_INVALID.to_owned()) kind="error" />
                <p>
                    <a href=CONFIRM_EMAIL_RESEND>"Ask for a new link"</a>
                </p>
            </section>
        }
        .into_any();
    }
    let action = location.pathname.get_untracked();
    view! {
        <PageTitle text="Confirm your email address · Gatehouse" />
        <section class="card">
            <h1>"Confirm your email address"</h1>
            <p>
                "Confirm that " <strong>{link.email.clone()}</strong> " is the address of the account "
                <strong>{link.username.clone()}</strong> "."
            </p>
            <form method="post" action=action>
                <CsrfField token=state.csrf_token.clone() />
                <button type="submit">"Confirm email address"</button>
            </form>
        </section>
    }
    .into_any()
}

/// `/accounts/confirm-email/resend/`: a new verification link without
/// signing in (sign-in may require a verified address).
#[component]
pub fn ResendVerificationPage() -> impl IntoView {
    let sent = use_portal_state().link.and_then(|l| l.outcome);
    view! {
        <PageTitle text="New verification link · Gatehouse" />
        <section class="card">
            <h1>"New verification link"</h1>
            <Notice message=sent />
            <p>
                "Enter your account's email address. If it still needs confirming, we will send it a new link."
            </p>
            <EmailRequestForm
                action=CONFIRM_EMAIL_RESEND
                form="resend"
                button="Resend verification email"
            />
            <p class="aside">
                <a href=LOGIN>"Sign in"</a>
            </p>
        </section>
    }
}
