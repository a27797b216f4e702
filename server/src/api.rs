//! The account API for programs without a browser: JSON in, JSON out,
//! described by the OpenAPI document at `/api/openapi.json` (generated
//! from these handlers by utoipa, so it cannot drift from them).
//!
//! Errors are `{"error": code, "error_description": text, "fields":
//! {field: message}}`: `error` is machine-readable, `fields` appears when
//! particular fields were refused. Bearer failures follow RFC 6750
//! (401/403 with `WWW-Authenticate`), rate limits answer 429 with
//! `Retry-After`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use gatehouse::account::{FieldErrors, FormError};
use gatehouse::oauth::paths::{API_BEARER_PROFILE, BEARER_PROFILE};
use gatehouse::oauth::token::AuthorizationHeader;
use gatehouse::oauth::{OAuthError, Scope};
use gatehouse::store::User;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cors;
use crate::http::{
    authorization, bearer_error, bearer_token, get_only, json, now, oauth_error, origin,
    private_if_query, to_json, TokenPlace,
};
use crate::state::AppState;

mod doc;
mod dot;

pub use doc::openapi_json;

pub const SIGNUP: &str = "/api/signup/";
pub const ME: &str = "/api/me/";
pub const PASSWORD: &str = "/api/password/";
pub const PASSWORD_RESET: &str = "/api/password-reset/";
pub const OPENAPI: &str = "/api/openapi.json";

/// The paths this module serves that end in a slash (for the
/// missing-slash redirect).
pub const PATHS: &[&str] = &[
    BEARER_PROFILE,
    API_BEARER_PROFILE,
    SIGNUP,
    ME,
    PASSWORD,
    PASSWORD_RESET,
    dot::SIGNUP,
    dot::PASSWORD,
];

pub fn routes(state: AppState) -> Router<AppState> {
    let allow_all = state.config.cors_allow_all_origins;
    let cors = axum::middleware::from_fn_with_state(state, cors::cors);
    // Bearer-protected like the protocol endpoints, and as open to other
    // origins (the apps' registered ones).
    let bearer = Router::new()
        .route(BEARER_PROFILE, get(profile).fallback(get_only))
        .route(API_BEARER_PROFILE, get(profile).fallback(get_only));
    let account = Router::new()
        .route(SIGNUP, post(signup))
        .route(ME, get(me).patch(update_me))
        .route(PASSWORD, put(change_password))
        .route(PASSWORD_RESET, post(password_reset))
        .route(dot::SIGNUP, post(dot::users_signup))
        .route(dot::PASSWORD, put(dot::users_password))
        .route(OPENAPI, get(doc::openapi));
    if allow_all {
        // Every origin, on every endpoint of the API.
        bearer.merge(account).layer(cors)
    } else {
        bearer.layer(cors).merge(account)
    }
}

/// An account as the API (and `/profile/`) shows it.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    /// The account id (also `sub` in id_tokens).
    pub id: i64,
    /// The same as `id` (the shape of django-oauth-toolkit's example resource).
    pub user_id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The owner followed a verification link sent to `email`.
    pub email_verified: bool,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub date_joined: String,
}

impl UserBody {
    pub fn of(user: &User) -> Self {
        Self {
            id: user.id,
            user_id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email_verified: user.email_verified,
            date_joined: rfc3339(user.date_joined),
        }
    }
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A new account. The same rules as the portal's sign-up form.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Letters, digits and `. + - _`; at most 150 characters; unique.
    /// Required unless accounts are named by their email
    /// (`account_identifier = "email"`), when it is ignored.
    #[schema(example = "ada", min_length = 1, max_length = 150)]
    #[serde(default)]
    pub username: Option<String>,
    #[schema(example = "ada@example.org", format = Email, max_length = 254)]
    pub email: String,
    /// At least 10 characters, not a common password, not like the username or email.
    #[schema(min_length = 10, max_length = 512)]
    pub password: String,
}

/// Whose password to reset.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "ada@example.org", format = Email, max_length = 254)]
    pub email: String,
}

/// A request was taken; what happens next is said in words.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub detail: String,
}

/// Fields to change; those left out keep their value.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProfilePatch {
    #[schema(max_length = 150)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(min_length = 1)]
    pub current_password: String,
    /// The same rules as at sign-up.
    #[schema(min_length = 10, max_length = 512)]
    pub new_password: String,
}

/// Every error of the account API.
#[derive(Serialize, ToSchema)]
pub struct ApiError {
    /// `invalid_request`, `validation_failed`, `invalid_token`,
    /// `insufficient_scope`, `rate_limited` or `server_error`.
    pub error: String,
    pub error_description: String,
    /// Per-field messages, when particular fields were refused.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

fn api_error(status: StatusCode, error: &str, description: &str, fields: FieldErrors) -> Response {
    let body = ApiError {
        error: error.to_owned(),
        error_description: description.to_owned(),
        fields: fields
            .0
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    };
    let body = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned());
    json(status, body)
}

fn invalid_request(status: StatusCode, description: &str) -> Response {
    api_error(
        status,
        "invalid_request",
        description,
        FieldErrors::default(),
    )
}

/// A refused form-like request: per-field messages, throttling, or a
/// failure of ours.
fn form_error(e: FormError) -> Response {
    match e {
        FormError::Invalid(fields) => api_error(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "some fields are invalid; see fields",
            fields,
        ),
        FormError::Throttled(wait) => {
            let mut response = api_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                &format!("too many attempts; retry in {wait} s"),
                FieldErrors::default(),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait.max(1)));
            response
        }
        FormError::Closed => api_error(
            StatusCode::FORBIDDEN,
            "signup_closed",
            "sign-up is closed: ask an administrator for an account",
            FieldErrors::default(),
        ),
        FormError::Busy => {
            let mut response = api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy checking other sign-ins; retry shortly",
                FieldErrors::default(),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(2));
            response
        }
        FormError::Internal(e) => {
            tracing::error!(error = %e, "account API request failed");
            api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server could not complete the request",
                FieldErrors::default(),
            )
        }
    }
}

fn user_json(status: StatusCode, user: &User) -> Response {
    match serde_json::to_string(&UserBody::of(user)) {
        Ok(body) => json(status, body),
        Err(e) => form_error(FormError::Internal(
            gatehouse::store::StoreError::new(e).into(),
        )),
    }
}

/// Reads a JSON body into `T`: the content type must say JSON.
async fn read_json<T: DeserializeOwned>(
    state: &AppState,
    parts: &Parts,
    body: Body,
) -> Result<T, Response> {
    let is_json = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !is_json {
        return Err(invalid_request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| {
            invalid_request(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            )
        })?;
    // Serde would read a struct from a JSON array too: only objects are
    // requests here.
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| invalid_request(StatusCode::BAD_REQUEST, "the body is not valid JSON"))?;
    if !value.is_object() {
        return Err(invalid_request(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        ));
    }
    // serde's message names the field or the expected type, never the content.
    serde_json::from_value(value)
        .map_err(|e| invalid_request(StatusCode::BAD_REQUEST, &format!("unexpected JSON: {e}")))
}

/// The active user behind the request's bearer token, which must hold
/// `needs`.
async fn bearer_user(state: &AppState, parts: &Parts, needs: Scope) -> Result<User, Response> {
    let token = match authorization(parts) {
        Some(AuthorizationHeader::Bearer(t)) if !t.is_empty() => t,
        _ => {
            let e =
                OAuthError::invalid_token("an access token is required (Authorization: Bearer …)");
            return Err(bearer_error(&e, false, needs));
        }
    };
    let found = state
        .oauth
        .bearer(token, needs, now())
        .await
        .map_err(|e| bearer_error(&e, true, needs))?;
    let Some(user_id) = found.user_id else {
        let e = OAuthError::invalid_token("this token was issued to a client, not a user");
        return Err(bearer_error(&e, true, needs));
    };
    match state.accounts.store().user_by_id(user_id).await {
        Ok(Some(user)) if user.is_active => Ok(user),
        Ok(_) => Err(bearer_error(
            &OAuthError::invalid_token("the access token is invalid, expired or revoked"),
            true,
            needs,
        )),
        Err(e) => Err(form_error(FormError::Internal(e.into()))),
    }
}

/// Create an account.
///
/// The same checks as the portal's sign-up form. Returns the new account;
/// sign in with an OAuth flow to get a token. Each address may try 20
/// times an hour before it must wait.
#[utoipa::path(
    post,
    path = "/api/signup/",
    tag = "account",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created", body = UserBody),
        (status = 400, description = "Invalid fields, or not JSON", body = ApiError),
        (status = 403, description = "Sign-up is closed (`signup = \"closed\"`)", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not application/json", body = ApiError),
        (status = 429, description = "Too many sign-ups from this address", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn signup(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let form: SignupRequest = match read_json(&state, &parts, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let origin = origin(&state, &parts);
    match state
        .accounts
        .api_sign_up(
            form.username.as_deref().unwrap_or_default(),
            &form.email,
            &form.password,
            &origin,
            now(),
        )
        .await
    {
        Ok(user) => {
            tracing::info!(user = user.id, "account created through the API");
            user_json(StatusCode::CREATED, &user)
        }
        Err(e) => form_error(e),
    }
}

/// Ask for a password reset link.
///
/// Mails a link to choose a new password (valid an hour, once) when the
/// address belongs to an active account. The answer is the same whether
/// or not it does, so it cannot be used to find out who has an account.
/// Each client address may ask 10 times an hour before it must wait;
/// each account is mailed at most 3 times an hour.
#[utoipa::path(
    post,
    path = "/api/password-reset/",
    tag = "account",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Taken: a link is mailed if the address has an account", body = Accepted),
        (status = 400, description = "Not an email address, or not JSON", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not application/json", body = ApiError),
        (status = 429, description = "Too many requests from this address", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn password_reset(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let form: PasswordResetRequest = match read_json(&state, &parts, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let origin = origin(&state, &parts);
    match state
        .accounts
        .request_password_reset(&form.email, &origin, now())
        .await
    {
        Ok(()) => {
            let body = Accepted {
                detail: "If an account uses that address, a reset link was sent to it.".into(),
            };
            crate::http::json(
                StatusCode::ACCEPTED,
                serde_json::to_string(&body).unwrap_or_default(),
            )
        }
        Err(e) => form_error(e),
    }
}

/// The token's account.
#[utoipa::path(
    get,
    path = "/api/me/",
    tag = "account",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The account", body = UserBody),
        (status = 401, description = "No token, or an invalid, expired or revoked one", body = ApiError),
        (status = 403, description = "The token lacks scope read", body = ApiError),
    )
)]
async fn me(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match bearer_user(&state, &parts, Scope::Read).await {
        Ok(user) => user_json(StatusCode::OK, &user),
        Err(r) => r,
    }
}

/// Change the token's account: first name, last name, email.
///
/// A new email is mailed a verification link. While the current address
/// is verified, it stays the account's (and is what this answer shows)
/// until that link is followed.
#[utoipa::path(
    patch,
    path = "/api/me/",
    tag = "account",
    security(("bearer" = ["write"])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The account as saved", body = UserBody),
        (status = 400, description = "Invalid fields, or not JSON", body = ApiError),
        (status = 401, description = "No token, or an invalid, expired or revoked one", body = ApiError),
        (status = 403, description = "The token lacks scope write", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not application/json", body = ApiError),
    )
)]
async fn update_me(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let user = match bearer_user(&state, &parts, Scope::Write).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let patch: ProfilePatch = match read_json(&state, &parts, body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let first_name = patch.first_name.as_deref().unwrap_or(&user.first_name);
    let last_name = patch.last_name.as_deref().unwrap_or(&user.last_name);
    let email = patch.email.as_deref().unwrap_or(&user.email);
    if let Err(e) = state
        .accounts
        .update_profile(
            &user,
            first_name,
            last_name,
            email,
            &origin(&state, &parts),
            now(),
        )
        .await
    {
        return form_error(e);
    }
    match state.accounts.store().user_by_id(user.id).await {
        Ok(Some(saved)) => user_json(StatusCode::OK, &saved),
        // Deleted between the update and this read.
        Ok(None) => bearer_error(
            &OAuthError::invalid_token("the access token is invalid, expired or revoked"),
            true,
            Scope::Write,
        ),
        Err(e) => form_error(FormError::Internal(e.into())),
    }
}

/// Change the token's account password.
///
/// Signs the account out of every browser session; tokens stay valid.
/// Wrong current passwords are throttled like sign-ins.
#[utoipa::path(
    put,
    path = "/api/password/",
    tag = "account",
    security(("bearer" = ["write"])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Wrong current password, weak new one, or not JSON", body = ApiError),
        (status = 401, description = "No token, or an invalid, expired or revoked one", body = ApiError),
        (status = 403, description = "The token lacks scope write", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not application/json", body = ApiError),
        (status = 429, description = "Too many wrong passwords", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn change_password(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let user = match bearer_user(&state, &parts, Scope::Write).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let change: PasswordChange = match read_json(&state, &parts, body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match state
        .accounts
        .change_password(
            &user,
            None,
            gatehouse::account::PasswordChange {
                current: &change.current_password,
                new: &change.new_password,
                confirm: &change.new_password,
            },
            &origin(&state, &parts),
            now(),
        )
        .await
    {
        Ok(()) => {
            tracing::info!(user = user.id, "password changed through the API");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => form_error(e),
    }
}

/// The signed-in user's account (also at `/profile/`, the path of
/// django-oauth-toolkit's example resource).
#[utoipa::path(
    get,
    path = "/api/profile/",
    tag = "account",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The account", body = UserBody),
        (status = 401, description = "No token, or an invalid, expired or revoked one", body = ApiError),
        (status = 403, description = "The token lacks scope read", body = ApiError),
    )
)]
async fn profile(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let (mut response, client) = profile_answer(&state, &parts).await;
    // Every answer to a query-token request: the token is in the URL.
    if parts
        .uri
        .query()
        .is_some_and(|q| q.contains("access_token"))
    {
        private_if_query(Some(TokenPlace::Query), &mut response);
    }
    cors::allow(&state, &parts.headers, client.as_deref(), &mut response).await;
    response
}

/// The profile answer and the client the token belongs to (if valid).
async fn profile_answer(state: &AppState, parts: &Parts) -> (Response, Option<String>) {
    let needs = Scope::Read;
    let token = match bearer_token(parts, None) {
        Ok(Some((t, _))) => t,
        Ok(None) => {
            let e = OAuthError::invalid_token(
                "an access token is required (Authorization: Bearer …, or access_token)",
            );
            return (bearer_error(&e, false, needs), None);
        }
        Err(e) => return (bearer_error(&e, true, needs), None),
    };
    let found = match state.oauth.bearer(&token, needs, now()).await {
        Ok(f) => f,
        Err(e) => return (bearer_error(&e, true, needs), None),
    };
    let client = Some(found.client_id.clone());
    let Some(user_id) = found.user_id else {
        let e = OAuthError::invalid_token("this token was issued to a client, not a user");
        return (bearer_error(&e, true, needs), client);
    };
    let response = match state.accounts.store().user_by_id(user_id).await {
        Ok(Some(user)) if user.is_active => to_json(&UserBody::of(&user)),
        Ok(_) => bearer_error(
            &OAuthError::invalid_token("the access token is invalid, expired or revoked"),
            true,
            needs,
        ),
        Err(e) => {
            tracing::error!(error = %e, "loading the profile failed");
            oauth_error(&OAuthError::server_error())
        }
    };
    (response, client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_with_its_methods() {
        let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = &doc["paths"];
        for (path, method) in [
            (SIGNUP, "post"),
            (ME, "get"),
            (ME, "patch"),
            (PASSWORD, "put"),
            ("/api/profile/", "get"),
            (dot::SIGNUP, "post"),
            (dot::PASSWORD, "put"),
        ] {
            assert!(paths[path][method].is_object(), "{method} {path}");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
