//! The account endpoints of the django-oauth-toolkit site Gatehouse
//! replaces, in that site's shape, so resource servers written for it work
//! unchanged: `POST /users/signup/` and `PUT /users/password/`. Bodies are
//! a form or a JSON object; answers are JSON; refused fields come back as
//! Django REST framework does it, `{"field": ["message", …]}`. The rules
//! and throttles are the account API's.

use gatehouse::account::AccountIdentifier;
use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse::account::service::SignUp;
use gatehouse::account::FormError;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::token::{client_auth, AuthorizationHeader};
use gatehouse::oauth::Scope;
use serde::Serialize;
use utoipa::ToSchema;

use super::{bearer_user, user_json, UserBody};
use crate::http::{authorization, is_form, json, now, origin};
use crate::state::AppState;

pub const SIGNUP: &str = "/users/signup/";
pub const PASSWORD: &str = "/users/password/";

/// The fields each endpoint reads; any other key of the body is ignored.
const SIGNUP_FIELDS: [&str; 4] = ["username", "email", "password", "password2"];
const PASSWORD_FIELDS: [&str; 3] = ["old_password", "password", "password2"];

/// A new account, as a form or a JSON object.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body; it is read field by field
pub struct DotSignup {
    /// Letters, digits and `. + - _`; at most 150 characters; unique.
    /// Required unless accounts are named by their email
    /// (`account_identifier = "email"`), when it is ignored.
    #[schema(example = "ada", min_length = 1, max_length = 150)]
    username: Option<String>,
    #[schema(example = "ada@example.org", format = Email, max_length = 254)]
    email: String,
    #[schema(min_length = 10, max_length = 512)]
    password: String,
    /// The password again.
    #[schema(min_length = 10, max_length = 512)]
    password2: String,
}

/// A password change, as a form or a JSON object.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body; it is read field by field
pub struct DotPasswordChange {
    #[schema(min_length = 1)]
    old_password: String,
    /// The same rules as at sign-up.
    #[schema(min_length = 10, max_length = 512)]
    password: String,
    /// The new password again.
    #[schema(min_length = 10, max_length = 512)]
    password2: String,
}

/// Refused fields, each with its messages (Django REST framework's shape).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"password2": ["The two passwords do not match."]}))]
pub struct FieldMessages(BTreeMap<String, Vec<String>>);

/// A refusal that concerns no field.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    detail: String,
}

fn detail(status: StatusCode, text: &str) -> Response {
    let body = serde_json::to_string(&Detail {
        detail: text.to_owned(),
    })
    .unwrap_or_else(|_| "{}".to_owned());
    json(status, body)
}

fn fields(messages: BTreeMap<String, Vec<String>>) -> Response {
    let body = serde_json::to_string(&FieldMessages(messages)).unwrap_or_else(|_| "{}".to_owned());
    json(StatusCode::BAD_REQUEST, body)
}

/// The core's refusal in this API's shape; `rename` maps the core's field
/// names to the ones this API's callers sent.
fn refused(e: FormError, rename: &[(&str, &'static str)]) -> Response {
    match e {
        FormError::Invalid(errors) => fields(
            errors
                .0
                .into_iter()
                .map(|(k, v)| {
                    let name = rename
                        .iter()
                        .find(|(from, _)| *from == k)
                        .map_or(k, |r| r.1);
                    (name.to_owned(), vec![v])
                })
                .collect(),
        ),
        FormError::Throttled(wait) => {
            let mut r = detail(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Request was throttled. Expected available in {wait} seconds."),
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait.max(1)));
            r
        }
        FormError::Closed => detail(
            StatusCode::FORBIDDEN,
            "Sign-up is closed: ask an administrator for an account.",
        ),
        FormError::Busy => {
            let mut r = detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy checking other sign-ins; retry shortly.",
            );
            r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(2));
            r
        }
        FormError::Internal(e) => {
            tracing::error!(error = %e, "account request failed");
            detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not complete the request.",
            )
        }
    }
}

/// The body's fields named in `names`, from a form or a JSON object
/// (other keys are ignored, as Django REST framework does, and never
/// echoed back).
async fn read_fields(
    state: &AppState,
    parts: &Parts,
    body: Body,
    names: &[&str],
) -> Result<BTreeMap<String, String>, Response> {
    let json_body = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !json_body && !is_form(parts) {
        return Err(detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send a form (application/x-www-form-urlencoded) or a JSON object.",
        ));
    }
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| detail(StatusCode::PAYLOAD_TOO_LARGE, "The body is too large."))?;
    if !json_body {
        let mut out = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            if !names.contains(&k.as_ref()) {
                continue;
            }
            if out.insert(k.into_owned(), v.into_owned()).is_some() {
                return Err(fields(BTreeMap::from([(
                    "non_field_errors".to_owned(),
                    vec!["A field was sent more than once.".to_owned()],
                )])));
            }
        }
        return Ok(out);
    }
    let parse_error = |what: &str| {
        fields(BTreeMap::from([(
            "non_field_errors".to_owned(),
            vec![what.to_owned()],
        )]))
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| parse_error("The body is not valid JSON."))?;
    let serde_json::Value::Object(map) = value else {
        return Err(parse_error("The body must be a JSON object."));
    };
    let mut out = BTreeMap::new();
    let mut wrong = BTreeMap::new();
    for (k, v) in map {
        if !names.contains(&k.as_str()) {
            continue;
        }
        match v {
            serde_json::Value::String(s) => {
                out.insert(k, s);
            }
            _ => {
                wrong.insert(k, vec!["Not a valid string.".to_owned()]);
            }
        }
    }
    if wrong.is_empty() {
        Ok(out)
    } else {
        Err(fields(wrong))
    }
}

/// The named fields, or the messages naming each one missing.
fn required<'a, const N: usize>(
    body: &'a BTreeMap<String, String>,
    names: [&str; N],
) -> Result<[&'a str; N], BTreeMap<String, Vec<String>>> {
    let missing: BTreeMap<String, Vec<String>> = names
        .iter()
        .filter(|n| !body.contains_key(**n))
        .map(|n| (n.to_string(), vec!["This field is required.".to_owned()]))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(names.map(|n| body[n].as_str()))
}

/// The confidential app whose HTTP Basic credentials the request carries,
/// if it carries any; a refusal when they are wrong.
async fn forwarding_app(state: &AppState, parts: &Parts) -> Result<Option<String>, Response> {
    let header = authorization(parts);
    if !matches!(header, Some(AuthorizationHeader::Basic(_))) {
        return Ok(None);
    }
    let refused = || {
        let mut r = detail(StatusCode::UNAUTHORIZED, "Invalid client credentials.");
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gatehouse\""),
        );
        r
    };
    let no_body = Params::default();
    let Ok(auth) = client_auth(header.as_ref(), &no_body) else {
        return Err(refused());
    };
    match state.oauth.authenticate_client(auth.as_ref()).await {
        Ok(app) if !app.is_public() => Ok(Some(app.client_id.clone())),
        _ => Err(refused()),
    }
}

/// Create an account (django-oauth-toolkit style).
///
/// The same rules and per-address limit as `/api/signup/`. A confidential
/// app may forward sign-ups with its HTTP Basic client credentials: then
/// the per-address limit does not apply.
#[utoipa::path(
    post,
    path = "/users/signup/",
    tag = "django-oauth-toolkit",
    request_body(content(
        (DotSignup = "application/json"),
        (DotSignup = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "Account created", body = UserBody),
        (status = 400, description = "Refused fields", body = FieldMessages),
        (status = 401, description = "Wrong client credentials", body = Detail),
        (status = 403, description = "Sign-up is closed (`signup = \"closed\"`)", body = Detail),
        (status = 413, description = "Body too large", body = Detail),
        (status = 415, description = "Neither a form nor JSON", body = Detail),
        (status = 429, description = "Too many sign-ups from this address", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Busy hashing other passwords", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn users_signup(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_fields(&state, &parts, body, &SIGNUP_FIELDS).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Email-only accounts need no username (one sent is ignored).
    let email_only = state.accounts.identifier() == AccountIdentifier::Email;
    let (found, mut missing) = match required(&body, ["email", "password", "password2"]) {
        Ok(f) => (Some(f), BTreeMap::new()),
        Err(missing) => (None, missing),
    };
    if !email_only && !body.contains_key("username") {
        missing.insert("username".into(), vec!["This field is required.".into()]);
    }
    let Some([email, password, password2]) = found.filter(|_| missing.is_empty()) else {
        return fields(missing);
    };
    let username = body.get("username").map_or("", String::as_str);
    let form = SignUp {
        username,
        email,
        password,
        confirm: password2,
    };
    // A confidential app forwarding the sign-up with its own credentials
    // answers for it: no per-address limit (everyone it serves shares its
    // address). Wrong credentials are refused, never ignored.
    let origin = origin(&state, &parts);
    let signed_up = match forwarding_app(&state, &parts).await {
        Ok(Some(client_id)) => {
            tracing::info!(client_id, "sign-up forwarded by an app");
            state
                .accounts
                .sign_up_through_client(form, &client_id, &origin, now())
                .await
        }
        Ok(None) => state.accounts.sign_up(form, &origin, now()).await,
        Err(refusal) => return refusal,
    };
    match signed_up {
        Ok(user) => {
            tracing::info!(user = user.id, "account created at /users/signup/");
            user_json(StatusCode::CREATED, &user)
        }
        Err(e) => refused(e, &[("confirm", "password2")]),
    }
}

/// Change the password of the token's account (django-oauth-toolkit
/// style). Needs scope `write`; signs out every browser session.
#[utoipa::path(
    put,
    path = "/users/password/",
    tag = "django-oauth-toolkit",
    security(("bearer" = ["write"])),
    request_body(content(
        (DotPasswordChange = "application/json"),
        (DotPasswordChange = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Password changed", body = Detail),
        (status = 400, description = "Refused fields", body = FieldMessages),
        (status = 401, description = "No token, or an invalid, expired or revoked one", body = super::ApiError),
        (status = 403, description = "The token lacks scope write", body = super::ApiError),
        (status = 413, description = "Body too large", body = Detail),
        (status = 415, description = "Neither a form nor JSON", body = Detail),
        (status = 429, description = "Too many wrong current passwords", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Busy hashing other passwords", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn users_password(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let user = match bearer_user(&state, &parts, Scope::Write).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let body = match read_fields(&state, &parts, body, &PASSWORD_FIELDS).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let [old, new, again] = match required(&body, PASSWORD_FIELDS) {
        Ok(f) => f,
        Err(missing) => return fields(missing),
    };
    let changed = state
        .accounts
        .change_password(
            &user,
            None,
            gatehouse::account::PasswordChange {
                current: old,
                new,
                confirm: again,
            },
            &origin(&state, &parts),
            now(),
        )
        .await;
    match changed {
        Ok(()) => {
            tracing::info!(user = user.id, "password changed at /users/password/");
            detail(StatusCode::OK, "Password changed.")
        }
        Err(e) => refused(
            e,
            &[
                ("current_password", "old_password"),
                ("new_password", "password"),
                ("confirm_new_password", "password2"),
            ],
        ),
    }
}
