//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core
//! §3.1.2.1), validated in the order the RFC demands: first the client and
//! redirect URI — if either is wrong the user sees an error page and is
//! never redirected (§4.1.2.1) — then everything else, whose errors go
//! back to the client's redirect URI.

use super::client::{Application, GrantType};
use super::params::Params;
use super::pkce;
use super::redirect;
use super::{ErrorCode, OAuthError, Scope, ScopeSet};

/// What to do with a refused authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the user as an error page: the client or redirect URI
    /// cannot be trusted with a redirect.
    Page(String),
    /// Sent to the (validated) redirect URI as `error` and `state`.
    Redirect {
        redirect_uri: String,
        error: OAuthError,
        state: Option<String>,
    },
}

impl AuthorizeError {
    /// The URI to send the browser to, for `Redirect`; `issuer` is the
    /// `iss` parameter (RFC 9207).
    pub fn location(&self, issuer: &str) -> Option<String> {
        match self {
            AuthorizeError::Page(_) => None,
            AuthorizeError::Redirect {
                redirect_uri,
                error,
                state,
            } => Some(error_location(
                redirect_uri,
                error,
                state.as_deref(),
                issuer,
            )),
        }
    }
}

/// The redirect URI with `error`, `error_description`, `state` and `iss`
/// (RFC 9207, so a client talking to several servers knows which answered).
pub fn error_location(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", &*error.description),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    redirect::with_query(redirect_uri, &params)
}

/// The OIDC `prompt` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(value: Option<&str>) -> Result<Prompt, OAuthError> {
        let mut prompt = Prompt::default();
        for v in value.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err(OAuthError::invalid_request("prompt has an unknown value")),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompt)
    }
}

/// A valid authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// Whether the client sent `redirect_uri` (then the token request must
    /// repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<(String, pkce::Method)>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
}

/// The longest `state` or `nonce` accepted (they are echoed back).
pub const MAX_STATE_LEN: usize = 1024;

/// The client id of an authorization request; a missing or repeated one
/// is shown as an error page.
pub fn client_id(params: &Params) -> Result<&str, AuthorizeError> {
    match params.get("client_id") {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(AuthorizeError::Page(
            "The application did not say who it is (client_id is missing).".into(),
        )),
        Err(_) => Err(AuthorizeError::Page(
            "The request names more than one application (client_id is repeated).".into(),
        )),
    }
}

/// Validates the request for `app` (found by [`client_id`]; `None` when
/// no app has that id).
pub fn validate(
    app: Option<&Application>,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let app = app.ok_or_else(|| {
        AuthorizeError::Page("The application asking to sign you in is not registered here.".into())
    })?;
    let (redirect_uri, redirect_uri_sent) = match params.get("redirect_uri") {
        Err(_) => {
            return Err(AuthorizeError::Page(
                "The request names more than one redirect URI.".into(),
            ))
        }
        Ok(Some(requested)) => match redirect::find_match(&app.redirect_uris, requested) {
            Some(_) => (requested.to_owned(), true),
            None => {
                return Err(AuthorizeError::Page(
                    "The redirect URI in the request is not registered for this application."
                        .into(),
                ))
            }
        },
        Ok(None) => match app.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            _ => {
                return Err(AuthorizeError::Page(
                    "The request must say which registered redirect URI to use (redirect_uri is missing).".into(),
                ))
            }
        },
    };

    // From here on, errors go back to the client. `state` first, so
    // they can carry it (a repeated state is dropped: it is ambiguous).
    let state = params.get("state").ok().flatten().map(str::to_owned);
    let fail = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        state: state.clone().filter(|s| s.len() <= MAX_STATE_LEN),
    };
    if params.has_repeats() {
        return Err(fail(OAuthError::invalid_request(
            "a parameter was sent more than once",
        )));
    }
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(fail(OAuthError::invalid_request("state is too long")));
    }
    match params.get("response_type").ok().flatten() {
        None => {
            return Err(fail(OAuthError::invalid_request(
                "response_type is missing",
            )))
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )))
        }
    }
    if !app.allows(GrantType::AuthorizationCode) {
        return Err(fail(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this application may not use the authorization code flow",
        )));
    }
    if let Some(mode) = params.get("response_mode").ok().flatten() {
        if mode != "query" {
            return Err(fail(OAuthError::invalid_request(
                "only response_mode=query is supported",
            )));
        }
    }
    if params.get("request").ok().flatten().is_some()
        || params.get("request_uri").ok().flatten().is_some()
    {
        return Err(fail(OAuthError::invalid_request(
            "request objects are not supported",
        )));
    }
    let scopes = match params.get("scope").ok().flatten() {
        Some(s) => ScopeSet::parse(s).map_err(&fail)?,
        None => default_scopes(app),
    };
    if scopes.is_empty() {
        return Err(fail(OAuthError::invalid_scope("no scope was requested")));
    }
    if !scopes.is_subset(app.scopes) {
        return Err(fail(OAuthError::invalid_scope(format!(
            "this application may only ask for: {}",
            app.scopes
        ))));
    }
    let method = params.get("code_challenge_method").ok().flatten();
    let code_challenge = match params.get("code_challenge").ok().flatten() {
        Some(challenge) => {
            // Public clients must use S256 whatever their registration says.
            let plain_ok = app.allow_plain_pkce && !app.is_public();
            let method = pkce::check_challenge(challenge, method, plain_ok).map_err(&fail)?;
            Some((challenge.to_owned(), method))
        }
        None if method.is_some() => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method was sent without code_challenge",
            )))
        }
        None if app.is_public() => {
            return Err(fail(OAuthError::invalid_request(
                "public clients must use PKCE: code_challenge (S256) is required",
            )))
        }
        None => None,
    };
    let nonce = params.get("nonce").ok().flatten().map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_STATE_LEN) {
        return Err(fail(OAuthError::invalid_request("nonce is too long")));
    }
    let prompt = Prompt::parse(params.get("prompt").ok().flatten()).map_err(&fail)?;
    let max_age = match params.get("max_age").ok().flatten() {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail(OAuthError::invalid_request(
                "max_age must be a whole number of seconds",
            ))
        })?),
    };
    Ok(AuthorizationRequest {
        client_id: app.client_id.clone(),
        redirect_uri,
        redirect_uri_sent,
        scopes,
        state,
        code_challenge,
        nonce,
        prompt,
        max_age,
    })
}

/// Scopes granted when the request names none: everything the app may
/// ask a user for, except the resource-server scope `introspection`.
pub fn default_scopes(app: &Application) -> ScopeSet {
    app.scopes.without(Scope::Introspection)
}

impl AuthorizationRequest {
    /// The parameters that reproduce this request (the consent form posts
    /// them back, so the decision applies to exactly what the user saw).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.client_id.clone()),
            ("scope", self.scopes.to_string()),
        ];
        if self.redirect_uri_sent {
            pairs.push(("redirect_uri", self.redirect_uri.clone()));
        }
        if let Some(s) = &self.state {
            pairs.push(("state", s.clone()));
        }
        if let Some((c, m)) = &self.code_challenge {
            pairs.push(("code_challenge", c.clone()));
            pairs.push(("code_challenge_method", m.as_str().to_owned()));
        }
        if let Some(n) = &self.nonce {
            pairs.push(("nonce", n.clone()));
        }
        if let Some(a) = self.max_age {
            pairs.push(("max_age", a.to_string()));
        }
        // `login` is left out on purpose: it is satisfied by signing in
        // before the consent page, and repeating it would loop.
        if self.prompt.consent {
            pairs.push(("prompt", "consent".to_owned()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::{ClientType, SigningAlgorithm};

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn app(client_type: ClientType) -> Application {
        Application {
            id: 1,
            client_id: "app".into(),
            secret_digest: None,
            name: "App".into(),
            client_type,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec![
                "https://app.example/cb".into(),
                "http://127.0.0.1/cb".into(),
            ],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            scopes: ScopeSet::parse("read write introspection").unwrap(),
            skip_consent: false,
            allow_plain_pkce: false,
            algorithm: SigningAlgorithm::RS256,
            owner_id: None,
            created_at: 0,
            reviewed: true,
            weak_secret: false,
        }
    }

    fn run(
        app_: Option<&Application>,
        query: &str,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        validate(app_, &Params::parse(query.as_bytes()).unwrap())
    }

    fn redirected_code(r: Result<AuthorizationRequest, AuthorizeError>) -> ErrorCode {
        match r {
            Err(AuthorizeError::Redirect { error, .. }) => error.code,
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    const BASE: &str =
        "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";

    #[test]
    fn a_good_request() {
        let a = app(ClientType::Confidential);
        let r = run(Some(&a), &format!("{BASE}&scope=read&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256&nonce=n")).unwrap();
        assert_eq!(r.redirect_uri, "https://app.example/cb");
        assert!(r.redirect_uri_sent);
        assert_eq!(r.scopes.to_string(), "read");
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(
            r.code_challenge,
            Some((CHALLENGE.into(), pkce::Method::S256))
        );
        // Round trip through the consent form.
        let pairs = r.to_pairs();
        let back = validate(
            Some(&a),
            &Params::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))),
        )
        .unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn bad_client_or_redirect_is_a_page_never_a_redirect() {
        let a = app(ClientType::Confidential);
        assert!(matches!(run(None, BASE), Err(AuthorizeError::Page(_))));
        for q in [
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F",
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&redirect_uri=https%3A%2F%2Fevil.example",
            // Two registered URIs: which one is meant must be said.
            "response_type=code&client_id=app",
        ] {
            assert!(matches!(run(Some(&a), q), Err(AuthorizeError::Page(_))), "{q}");
        }
        let p = Params::parse(b"client_id=a&client_id=b").unwrap();
        assert!(matches!(client_id(&p), Err(AuthorizeError::Page(_))));
        assert!(matches!(
            client_id(&Params::default()),
            Err(AuthorizeError::Page(_))
        ));
    }

    #[test]
    fn loopback_port_variation_is_accepted_and_kept() {
        let a = app(ClientType::Confidential);
        let r = run(
            Some(&a),
            "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A4567%2Fcb",
        )
        .unwrap();
        assert_eq!(r.redirect_uri, "http://127.0.0.1:4567/cb");
    }

    #[test]
    fn other_errors_go_to_the_client_with_state() {
        let a = app(ClientType::Confidential);
        let r = run(Some(&a), &format!("{BASE}&response_type=token&state=s1"));
        // response_type repeated.
        assert_eq!(redirected_code(r), ErrorCode::InvalidRequest);
        let r = run(Some(&a), "response_type=token&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1");
        match &r {
            Err(e @ AuthorizeError::Redirect { .. }) => {
                let loc = e.location("https://id.example").unwrap();
                assert!(
                    loc.starts_with("https://app.example/cb?error=unsupported_response_type&"),
                    "{loc}"
                );
                assert!(
                    loc.ends_with("&state=s1&iss=https%3A%2F%2Fid.example"),
                    "{loc}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            redirected_code(run(
                Some(&a),
                "client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(run(Some(&a), &format!("{BASE}&scope=email"))),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirected_code(run(Some(&a), &format!("{BASE}&scope=nonsense"))),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirected_code(run(Some(&a), &format!("{BASE}&prompt=none+login"))),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(run(Some(&a), &format!("{BASE}&max_age=-1"))),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(run(Some(&a), &format!("{BASE}&response_mode=fragment"))),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(run(
                Some(&a),
                &format!("{BASE}&state={}", "s".repeat(MAX_STATE_LEN + 1))
            )),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn pkce_rules() {
        let public = app(ClientType::Public);
        assert_eq!(
            redirected_code(run(Some(&public), BASE)),
            ErrorCode::InvalidRequest
        );
        assert!(run(
            Some(&public),
            &format!("{BASE}&code_challenge={CHALLENGE}&code_challenge_method=S256")
        )
        .is_ok());
        // plain is refused unless the app allows it.
        let plain = format!(
            "{BASE}&code_challenge={}&code_challenge_method=plain",
            "p".repeat(43)
        );
        assert_eq!(
            redirected_code(run(Some(&public), &plain)),
            ErrorCode::InvalidRequest
        );
        let mut lenient = app(ClientType::Confidential);
        lenient.allow_plain_pkce = true;
        assert!(run(Some(&lenient), &plain).is_ok());
        // Never for public clients, even if so registered.
        lenient.client_type = ClientType::Public;
        assert_eq!(
            redirected_code(run(Some(&lenient), &plain)),
            ErrorCode::InvalidRequest
        );
        let confidential = app(ClientType::Confidential);
        assert!(run(Some(&confidential), BASE).is_ok());
        assert_eq!(
            redirected_code(run(
                Some(&confidential),
                &format!("{BASE}&code_challenge_method=S256")
            )),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn default_scope_excludes_introspection() {
        let a = app(ClientType::Confidential);
        assert_eq!(
            run(Some(&a), BASE).unwrap().scopes.to_string(),
            "read write"
        );
    }

    #[test]
    fn apps_without_the_code_grant_are_unauthorized() {
        let mut a = app(ClientType::Confidential);
        a.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(
            redirected_code(run(Some(&a), BASE)),
            ErrorCode::UnauthorizedClient
        );
    }
}
