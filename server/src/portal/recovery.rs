//! The pages of mailed links: password reset on Django's URLs
//! (`/accounts/password_reset/`, `/accounts/reset/<uidb64>/<token>/`) and
//! address verification (`/accounts/confirm-email/…`).

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use gatehouse::account::recovery::{Confirmed, ResetError};
use gatehouse::account::FormError;
use serde::Deserialize;

use super::cookies;
use super::extract::{Answer, CheckedForm, PortalError};
use super::render::{self, Refusal};
use crate::http::{now, origin};
use crate::state::AppState;

/// The `<uidb64>` and `<token>` of a link's path under `prefix`.
fn link_parts<'a>(path: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = path.strip_prefix(prefix)?.strip_suffix('/')?;
    let (uid, token) = rest.split_once('/')?;
    (!uid.is_empty() && !token.is_empty() && !token.contains('/')).then_some((uid, token))
}

fn set_link(parts: &mut Parts, link: app::state::LinkView) {
    if let Some(page) = parts.extensions.get_mut::<app::state::PortalState>() {
        page.link = Some(link);
    }
}

/// The refusal of a form whose only input is an email address.
fn email_refusal(form: &str, email: String, e: FormError) -> Result<Refusal<'_>, PortalError> {
    let values = vec![("email", email)];
    Ok(match e {
        FormError::Invalid(errors) => Refusal {
            form,
            errors,
            message: None,
            values,
            status: StatusCode::BAD_REQUEST,
        },
        FormError::Throttled(wait) => Refusal {
            form,
            errors: Default::default(),
            message: Some(format!("Too many requests. Try again in {wait} s.")),
            values,
            status: StatusCode::TOO_MANY_REQUESTS,
        },
        FormError::Busy => return Err(PortalError::Busy),
        FormError::Closed => return Err(PortalError::BadForm),
        FormError::Internal(e) => return Err(PortalError::internal(e)),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    email: String,
}

/// POST `/accounts/password_reset/`: the same answer whether or not the
/// address has an account.
pub async fn request_reset(
    State(state): State<AppState>,
    CheckedForm { parts, form }: CheckedForm<EmailForm>,
) -> Answer {
    let origin = origin(&state, &parts);
    match state
        .accounts
        .request_password_reset(&form.email, &origin, now())
        .await
    {
        Ok(()) => Ok(render::see_other(app::paths::PASSWORD_RESET_DONE, &[])),
        Err(e) => {
            let refusal = email_refusal("password_reset", form.email, e)?;
            Ok(render::refused(&state, parts, refusal).await)
        }
    }
}

/// GET `/accounts/reset/<uidb64>/<token>/`: the new-password form when
/// the link works.
pub async fn show_reset(State(state): State<AppState>, req: Request) -> Answer {
    let (mut parts, _) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let found = match link_parts(&path, app::paths::PASSWORD_RESET_LINK) {
        Some((uid, token)) => state.accounts.reset_link(uid, token, now()).await?.ok(),
        None => None,
    };
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    set_link(
        &mut parts,
        app::state::LinkView {
            valid: found.is_some(),
            // The page checks the new password against both while typing.
            email: found
                .as_ref()
                .map(|(u, _)| u.email.clone())
                .unwrap_or_default(),
            username: found.map(|(u, _)| u.username).unwrap_or_default(),
            ..Default::default()
        },
    );
    Ok(render::page(&state, parts, status).await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    new_password: String,
    confirm_new_password: String,
}

/// POST `/accounts/reset/<uidb64>/<token>/`: sets the password, ends every
/// session (this browser's too) and revokes the account's tokens.
pub async fn reset(
    State(state): State<AppState>,
    CheckedForm { mut parts, form }: CheckedForm<ResetForm>,
) -> Answer {
    let path = parts.uri.path().to_owned();
    let Some((uid, token)) = link_parts(&path, app::paths::PASSWORD_RESET_LINK) else {
        return Err(PortalError::BadForm);
    };
    let origin = origin(&state, &parts);
    let result = state
        .accounts
        .reset_password(
            uid,
            token,
            &form.new_password,
            &form.confirm_new_password,
            &origin,
            now(),
        )
        .await;
    match result {
        Ok(user) => {
            tracing::info!(user = user.id, "password reset through a mailed link");
            let clear = cookies::clear(
                &state.config.session_cookie(),
                state.config.secure_cookies(),
            );
            Ok(render::see_other(
                app::paths::PASSWORD_RESET_COMPLETE,
                &[clear],
            ))
        }
        Err(ResetError::Link(_)) => {
            set_link(&mut parts, app::state::LinkView::default());
            Ok(render::page(&state, parts, StatusCode::BAD_REQUEST).await)
        }
        Err(ResetError::Form(e)) => {
            let (errors, message, status) = match e {
                FormError::Invalid(errors) => (errors, None, StatusCode::BAD_REQUEST),
                FormError::Throttled(wait) => (
                    Default::default(),
                    Some(format!("Too many attempts. Try again in {wait} s.")),
                    StatusCode::TOO_MANY_REQUESTS,
                ),
                FormError::Busy => return Err(PortalError::Busy),
                FormError::Closed => return Err(PortalError::BadForm),
                FormError::Internal(e) => return Err(PortalError::internal(e)),
            };
            // The form again: the link still works (nothing was used).
            let username = state
                .accounts
                .reset_link(uid, token, now())
                .await?
                .ok()
                .map(|(u, _)| u.username)
                .unwrap_or_default();
            set_link(
                &mut parts,
                app::state::LinkView {
                    valid: true,
                    username,
                    ..Default::default()
                },
            );
            let refusal = Refusal {
                form: "reset",
                errors,
                message,
                values: Vec::new(),
                status,
            };
            Ok(render::refused(&state, parts, refusal).await)
        }
    }
}

/// GET `/accounts/confirm-email/<uidb64>/<token>/`: a confirm button when
/// the link works. Opening the link changes nothing.
pub async fn show_confirm(State(state): State<AppState>, req: Request) -> Answer {
    let (mut parts, _) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let found = match link_parts(&path, app::paths::CONFIRM_EMAIL_LINK) {
        Some((uid, token)) => state.accounts.verify_link(uid, token, now()).await?.ok(),
        None => None,
    };
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let link = match found {
        Some((user, link)) => app::state::LinkView {
            valid: true,
            username: user.username,
            email: link.email,
            outcome: None,
        },
        None => Default::default(),
    };
    set_link(&mut parts, link);
    Ok(render::page(&state, parts, status).await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {}

/// POST `/accounts/confirm-email/<uidb64>/<token>/`.
pub async fn confirm(
    State(state): State<AppState>,
    CheckedForm { mut parts, .. }: CheckedForm<ConfirmForm>,
) -> Answer {
    let path = parts.uri.path().to_owned();
    let Some((uid, token)) = link_parts(&path, app::paths::CONFIRM_EMAIL_LINK) else {
        return Err(PortalError::BadForm);
    };
    let origin = origin(&state, &parts);
    let result = state
        .accounts
        .confirm_email(uid, token, &origin, now())
        .await?;
    let (link, status) = match result {
        Ok(Confirmed::Verified { ref email, .. }) => (
            app::state::LinkView {
                valid: true,
                email: email.clone(),
                outcome: Some(format!("Thank you: {email} is confirmed as your address.")),
                ..Default::default()
            },
            StatusCode::OK,
        ),
        Ok(Confirmed::Taken) => (
            app::state::LinkView {
                outcome: Some(
                    "Another account uses that address now, so nothing was changed.".to_owned(),
                ),
                ..Default::default()
            },
            StatusCode::CONFLICT,
        ),
        Err(_) => (app::state::LinkView::default(), StatusCode::BAD_REQUEST),
    };
    // The page shows the signed-in person's address as it is now (when
    // the link was theirs).
    let own = match &result {
        Ok(Confirmed::Verified { user_id, .. }) => {
            super::current_session(&parts).is_some_and(|s| s.user.id == *user_id)
        }
        _ => false,
    };
    if let (true, Some(page)) = (own, parts.extensions.get_mut::<app::state::PortalState>()) {
        if let Some(user) = page.user.as_mut() {
            user.email = link.email.clone();
            user.email_verified = true;
        }
    }
    set_link(&mut parts, link);
    Ok(render::page(&state, parts, status).await)
}

/// POST `/accounts/confirm-email/resend/`: the same answer whether or not
/// the address needed a link.
pub async fn resend(
    State(state): State<AppState>,
    CheckedForm { mut parts, form }: CheckedForm<EmailForm>,
) -> Answer {
    let origin = origin(&state, &parts);
    match state
        .accounts
        .request_verification(&form.email, &origin, now())
        .await
    {
        Ok(()) => {
            set_link(
                &mut parts,
                app::state::LinkView {
                    outcome: Some(
                        "If that address still needs confirming, we have sent it a new link."
                            .to_owned(),
                    ),
                    ..Default::default()
                },
            );
            Ok(render::page(&state, parts, StatusCode::OK).await)
        }
        Err(e) => {
            let refusal = email_refusal("resend", form.email, e)?;
            Ok(render::refused(&state, parts, refusal).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::link_parts;

    #[test]
    fn link_paths_split_into_uid_and_token() {
        let p = "/accounts/reset/";
        assert_eq!(
            link_parts("/accounts/reset/MQ/abc/", p),
            Some(("MQ", "abc"))
        );
        assert_eq!(link_parts("/accounts/reset/MQ/abc", p), None);
        assert_eq!(link_parts("/accounts/reset/MQ//", p), None);
        assert_eq!(link_parts("/accounts/reset/MQ/a/b/", p), None);
        assert_eq!(link_parts("/accounts/reset/done/", p), None);
    }
}
