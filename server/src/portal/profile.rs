//! `/accounts/profile/`: the profile, password, resend and delete forms.
//! Without JavaScript they all post to the page, told apart by their
//! hidden `action` field; hydrated, each calls its own server function.

use axum::extract::State;
use axum::http::request::Parts;
use gatehouse::account::{FieldErrors, FormError};
use serde::Deserialize;

use super::actions::{self, Decision, Outcome, Success};
use super::context::user_view;
use super::cookies;
use super::extract::{signed_in, Answer, SignedInForm};
use crate::http::{now, origin};
use crate::state::AppState;

use app::actions::{DeleteAccountForm, PasswordForm, ProfileForm};

/// Any of the page's forms, as posted without JavaScript.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfilePost {
    action: String,
    csrf_token: String,
    first_name: String,
    last_name: String,
    email: String,
    current_password: String,
    new_password: String,
    confirm_new_password: String,
    delete_password: String,
}

pub async fn submit(State(state): State<AppState>, post: SignedInForm<ProfilePost>) -> Answer {
    let SignedInForm { parts, form, .. } = post;
    let csrf_token = form.csrf_token;
    let decision = match form.action.as_str() {
        "profile" => {
            let form = ProfileForm {
                csrf_token,
                first_name: form.first_name,
                last_name: form.last_name,
                email: form.email,
            };
            save(&state, &parts, form).await
        }
        "password" => {
            let form = PasswordForm {
                csrf_token,
                current_password: form.current_password,
                new_password: form.new_password,
                confirm_new_password: form.confirm_new_password,
            };
            change_password(&state, &parts, form).await
        }
        "resend" => resend(&state, &parts).await,
        "delete" => {
            let form = DeleteAccountForm {
                csrf_token,
                delete_password: form.delete_password,
            };
            delete(&state, &parts, form).await
        }
        _ => Outcome::form_error(
            "profile",
            Vec::new(),
            FormError::Invalid(FieldErrors::default()),
        ),
    };
    actions::html(&state, parts, decision).await
}

fn saved(what: &str) -> String {
    format!("{}?saved={what}", app::paths::PROFILE)
}

/// Saves the names and the address. A new address that must be verified
/// first reloads the page, which then says what waits for the link.
pub async fn save(state: &AppState, parts: &Parts, form: ProfileForm) -> Decision {
    let session = signed_in(parts)?;
    let values = vec![
        ("first_name", form.first_name.clone()),
        ("last_name", form.last_name.clone()),
        ("email", form.email.clone()),
    ];
    let result = state
        .accounts
        .update_profile(
            &session.user,
            &form.first_name,
            &form.last_name,
            &form.email,
            &origin(state, parts),
            now(),
        )
        .await;
    match result {
        Ok(Some(_pending)) => Ok(Outcome::Done(Success::go(saved("email")))),
        Ok(None) => {
            let user = state
                .accounts
                .store()
                .user_by_id(session.user.id)
                .await?
                .map(|u| user_view(&u));
            Ok(Outcome::Done(Success {
                user,
                ..Success::stay(saved("profile"), "Your profile was saved.")
            }))
        }
        Err(e) => Outcome::form_error("profile", values, e),
    }
}

pub async fn change_password(state: &AppState, parts: &Parts, form: PasswordForm) -> Decision {
    let session = signed_in(parts)?;
    let result = state
        .accounts
        .change_password(
            &session.user,
            Some(&session.digest),
            gatehouse::account::PasswordChange {
                current: &form.current_password,
                new: &form.new_password,
                confirm: &form.confirm_new_password,
            },
            &origin(state, parts),
            now(),
        )
        .await;
    match result {
        Ok(()) => Ok(Outcome::Done(Success::stay(
            saved("password"),
            "Your password was changed. Other devices have been signed out.",
        ))),
        Err(e) => Outcome::form_error("password", Vec::new(), e),
    }
}

pub async fn resend(state: &AppState, parts: &Parts) -> Decision {
    let session = signed_in(parts)?;
    let result = state
        .accounts
        .resend_verification(&session.user, &origin(state, parts), now())
        .await;
    match result {
        Ok(()) => Ok(Outcome::Done(Success::stay(
            saved("verification"),
            "We sent a new verification link to your address.",
        ))),
        Err(e) => Outcome::form_error("resend", Vec::new(), e),
    }
}

/// Deletes the account and signs out.
pub async fn delete(state: &AppState, parts: &Parts, form: DeleteAccountForm) -> Decision {
    let session = signed_in(parts)?;
    let result = state
        .accounts
        .delete_account(
            &session.user,
            &form.delete_password,
            &origin(state, parts),
            now(),
        )
        .await;
    match result {
        Ok(()) => {
            tracing::info!(user = session.user.id, "account deleted");
            let clear = cookies::clear(
                &state.config.session_cookie(),
                state.config.secure_cookies(),
            );
            Ok(Outcome::Done(Success {
                cookies: vec![clear],
                ..Success::go(format!("{}?deleted=1", app::paths::LOGIN))
            }))
        }
        Err(e) => Outcome::form_error("delete", Vec::new(), e),
    }
}
