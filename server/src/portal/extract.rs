//! What portal handlers take and give back: extractors for a form post
//! that passed the CSRF checks and for the signed-in person, and one error
//! type that answers each early end the way a browser expects, so handlers
//! can use `?`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse::store::StoreError;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::context::CurrentSession;
use super::{csrf_refusal, current_session, render};
use crate::state::AppState;

/// Why a portal request ended before its handler's own answer.
#[derive(Debug)]
pub enum PortalError {
    /// Nobody is signed in: sign in, then come back to `back_to`.
    SignIn { back_to: String },
    /// The post's origin or CSRF token was wrong (already logged).
    Csrf,
    /// The body could not be read as this form, or named nothing known.
    BadForm,
    /// The body was larger than `max_body_bytes`.
    TooLarge,
    /// Too many password hashes are waiting.
    Busy,
    /// A page this person may not know exists (staff pages): 404.
    NotFound,
    /// A failure that is not the user's doing: logged in full, shown
    /// generically.
    Internal(String),
}

impl PortalError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<StoreError> for PortalError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { back_to } => render::see_other(
                &format!(
                    "{}?next={}",
                    app::paths::LOGIN,
                    gatehouse::next::encode_next(&back_to)
                ),
                &[],
            ),
            Self::Csrf => render::csrf_rejected(),
            Self::BadForm => render::bad_form(),
            Self::TooLarge => render::plain_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form was larger than Gatehouse accepts.",
            ),
            Self::Busy => render::busy(),
            Self::NotFound => render::plain_page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no page at this address.",
            ),
            Self::Internal(e) => render::internal_error(e),
        }
    }
}

/// What a portal handler returns.
pub type Answer = Result<Response, PortalError>;

/// A form the portal accepts: decoded from an url-encoded body. Missing
/// fields decode as empty (the form structs use `#[serde(default)]`), so
/// they are reported beside the field like any other invalid value.
pub trait FromForm: Sized {
    fn from_form(body: &[u8]) -> Option<Self>;
}

impl<T: DeserializeOwned> FromForm for T {
    fn from_form(body: &[u8]) -> Option<Self> {
        serde_urlencoded::from_bytes(body).ok()
    }
}

/// The CSRF token every portal form carries.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfToken {
    csrf_token: String,
}

/// A form post that passed the CSRF checks (token and origin), with the
/// request's parts for rendering the page again.
pub struct CheckedForm<T> {
    pub parts: Parts,
    pub form: T,
}

impl<T: FromForm + Send> FromRequest<AppState> for CheckedForm<T> {
    type Rejection = PortalError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PortalError> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
            .await
            .map_err(|_| PortalError::TooLarge)?;
        let form = T::from_form(&bytes).ok_or(PortalError::BadForm)?;
        let token = serde_urlencoded::from_bytes::<CsrfToken>(&bytes)
            .map(|t| t.csrf_token)
            .unwrap_or_default();
        if csrf_refusal(state, &parts, &token).is_some() {
            return Err(PortalError::Csrf);
        }
        Ok(Self { parts, form })
    }
}

/// A [`CheckedForm`] posted by a signed-in person.
pub struct SignedInForm<T> {
    pub parts: Parts,
    pub form: T,
    pub session: CurrentSession,
}

impl<T: FromForm + Send> FromRequest<AppState> for SignedInForm<T> {
    type Rejection = PortalError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PortalError> {
        let CheckedForm { parts, form } = CheckedForm::<T>::from_request(req, state).await?;
        let session = signed_in(&parts)?;
        Ok(Self {
            parts,
            form,
            session,
        })
    }
}

/// The signed-in person, for pages only they may see.
pub struct SignedIn(pub CurrentSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, PortalError> {
        signed_in(parts).map(SignedIn)
    }
}

/// The signed-in person, or the error that sends the browser to sign in
/// and back to this path.
pub fn signed_in(parts: &Parts) -> Result<CurrentSession, PortalError> {
    current_session(parts).ok_or_else(|| PortalError::SignIn {
        back_to: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned(),
    })
}
