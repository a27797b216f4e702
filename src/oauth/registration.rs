//! Registering an application: the rules every field must meet, shared by
//! the CLI and the developer portal. Errors are per field, keyed by the
//! form field name.

use super::client::{
    validate_client_id, validate_origin, Application, ClientType, GrantType, SigningAlgorithm,
};
use super::redirect::{validate_imported, validate_registered};
use super::{Scope, ScopeSet};
use crate::account::FieldErrors;
use crate::secret::{Secret, SecretDigest};

/// What a developer or operator asks for, as typed.
#[derive(Debug, Clone, Default)]
pub struct Registration<'a> {
    pub name: &'a str,
    pub client_type: &'a str,
    pub grant_types: Vec<&'a str>,
    pub redirect_uris: Vec<&'a str>,
    pub post_logout_redirect_uris: Vec<&'a str>,
    pub allowed_origins: Vec<&'a str>,
    /// Space-separated; empty means [`default_scopes`].
    pub scopes: &'a str,
    pub skip_consent: bool,
    pub allow_plain_pkce: bool,
    /// Empty means RS256.
    pub algorithm: &'a str,
    /// Operator-chosen credentials; generated when absent.
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    /// Accept an operator-chosen secret shorter than [`MIN_SECRET_LEN`]
    /// (`--allow-weak-secret`): the app is marked as having a weak secret.
    pub allow_weak_secret: bool,
    /// Redirect URIs the app has already (when editing): kept even where
    /// today's rules would refuse them, e.g. an imported plain-http URI.
    pub kept_redirect_uris: Vec<&'a str>,
    pub owner_id: Option<i64>,
}

/// An app's scopes when none are named: everything a user-facing app
/// needs, without `introspection`.
pub fn default_scopes() -> ScopeSet {
    [
        Scope::Openid,
        Scope::Profile,
        Scope::Email,
        Scope::Read,
        Scope::Write,
    ]
    .into_iter()
    .collect()
}

/// Shortest operator-chosen client secret: 32 characters keeps it out of
/// reach of guessing even though it is stored with a fast hash.
pub const MIN_SECRET_LEN: usize = 32;

/// A fresh client id: 24 base64url characters (144 bits), never starting
/// with `-`, which command lines would take for an option.
fn generated_client_id() -> String {
    loop {
        let id = Secret::generate().expose()[..24].to_owned();
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// Checks a registration. On success returns the app to store (id 0) and,
/// for a confidential app, its secret in clear — to be shown once.
pub fn validate(
    form: &Registration<'_>,
    now: i64,
) -> Result<(Application, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = form.name.trim();
    if name.is_empty() {
        errors.add("name", "Enter a name.");
    } else if name.chars().count() > 100 {
        errors.add("name", "Use at most 100 characters.");
    } else if name.chars().any(char::is_control) {
        errors.add("name", "Use letters, digits and punctuation only.");
    }
    let client_type = ClientType::parse(form.client_type);
    if client_type.is_none() {
        errors.add("client_type", "Choose confidential or public.");
    }
    let mut grant_types = Vec::new();
    for g in &form.grant_types {
        match GrantType::parse(g.trim()) {
            Some(g) if !grant_types.contains(&g) => grant_types.push(g),
            Some(_) => {}
            None => errors.add(
                "grant_types",
                format!("Unknown grant type \"{}\".", g.trim()),
            ),
        }
    }
    if grant_types.is_empty() && form.grant_types.is_empty() {
        errors.add("grant_types", "Choose at least one grant type.");
    }
    if client_type == Some(ClientType::Public) && form.allow_plain_pkce {
        errors.add(
            "allow_plain_pkce",
            "Public clients must use PKCE with S256.",
        );
    }
    if client_type == Some(ClientType::Public) && grant_types.contains(&GrantType::Password) {
        // RFC 9700 §2.4: the password grant MUST NOT be used; we keep it for
        // trusted first-party apps that can keep a secret, never public ones.
        errors.add(
            "grant_types",
            "Public clients cannot use the password grant.",
        );
    }
    if client_type == Some(ClientType::Public)
        && grant_types.contains(&GrantType::ClientCredentials)
    {
        errors.add(
            "grant_types",
            "Public clients cannot use client credentials: they cannot keep a secret.",
        );
    }
    let check_uris = |field: &'static str, uris: &[&str], errors: &mut FieldErrors| {
        let mut out: Vec<String> = Vec::new();
        for uri in uris.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
            let kept = field == "redirect_uris"
                && form.kept_redirect_uris.contains(&uri)
                && validate_imported(uri).is_ok();
            match validate_registered(uri).or_else(|e| if kept { Ok(()) } else { Err(e) }) {
                Ok(()) if !out.iter().any(|o| o == uri) => out.push(uri.to_owned()),
                Ok(()) => {}
                Err(why) => errors.add(field, format!("{uri}: {why}.")),
            }
        }
        out
    };
    let redirect_uris = check_uris("redirect_uris", &form.redirect_uris, &mut errors);
    let post_logout = check_uris(
        "post_logout_redirect_uris",
        &form.post_logout_redirect_uris,
        &mut errors,
    );
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        errors.add(
            "redirect_uris",
            "The authorization code grant needs at least one redirect URI.",
        );
    }
    let mut origins: Vec<String> = Vec::new();
    for o in form
        .allowed_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
    {
        match validate_origin(o) {
            Ok(()) if !origins.iter().any(|x| x == o) => origins.push(o.to_owned()),
            Ok(()) => {}
            Err(why) => errors.add("allowed_origins", format!("{o}: {why}.")),
        }
    }
    let scopes = if form.scopes.trim().is_empty() {
        default_scopes()
    } else {
        match ScopeSet::parse(form.scopes.trim()) {
            Ok(s) => s,
            Err(e) => {
                errors.add("scopes", format!("{}.", e.description));
                ScopeSet::EMPTY
            }
        }
    };
    let algorithm = if form.algorithm.is_empty() {
        Some(SigningAlgorithm::default())
    } else {
        SigningAlgorithm::parse(form.algorithm)
    };
    if algorithm.is_none() {
        errors.add("algorithm", "Choose RS256, ES256 or EdDSA.");
    }
    let client_id = match form.client_id {
        Some(id) => {
            if let Err(why) = validate_client_id(id) {
                errors.add("client_id", format!("The client id {why}."));
            }
            id.to_owned()
        }
        None => generated_client_id(),
    };
    let secret = match (client_type, form.client_secret) {
        (Some(ClientType::Public), Some(_)) => {
            errors.add("client_secret", "Public clients have no secret.");
            None
        }
        (Some(ClientType::Confidential), Some(s)) => {
            let chars_ok = s
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b':' | b'+' | b'%'));
            let min = if form.allow_weak_secret {
                1
            } else {
                MIN_SECRET_LEN
            };
            if s.len() < min || s.len() > 256 || !chars_ok {
                errors.add(
                    "client_secret",
                    format!(
                        "The client secret must be {min} to 256 visible ASCII \
                         characters other than ':', '+' and '%'."
                    ),
                );
            }
            Some(s.to_owned())
        }
        (Some(ClientType::Confidential), None) => Some(Secret::generate().expose().to_owned()),
        _ => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(client_type), Some(algorithm)) = (client_type, algorithm) else {
        return Err(errors);
    };
    let app = Application {
        id: 0,
        client_id,
        secret_digest: secret
            .as_deref()
            .map(|s| SecretDigest::of(s).as_str().to_owned()),
        name: name.to_owned(),
        client_type,
        grant_types,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        allowed_origins: origins,
        scopes,
        skip_consent: form.skip_consent,
        allow_plain_pkce: form.allow_plain_pkce,
        algorithm,
        owner_id: form.owner_id,
        created_at: now,
        // Made by the CLI or staff; the portal marks others' apps.
        reviewed: true,
        weak_secret: form.client_secret.is_some_and(|s| s.len() < MIN_SECRET_LEN),
    };
    Ok((app, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Registration<'static> {
        Registration {
            name: "Lab notebook",
            client_type: "confidential",
            grant_types: vec!["authorization_code", "refresh_token"],
            redirect_uris: vec!["https://notebook.example/cb"],
            ..Default::default()
        }
    }

    #[test]
    fn a_confidential_app_gets_an_id_and_a_secret_stored_hashed() {
        let (app, secret) = validate(&good(), 5).unwrap();
        let secret = secret.unwrap();
        assert_eq!(secret.len(), 43);
        assert_eq!(
            app.secret_digest.as_deref(),
            Some(SecretDigest::of(&secret).as_str())
        );
        assert_ne!(app.secret_digest.as_deref(), Some(secret.as_str()));
        assert_eq!(app.client_id.len(), 24);
        assert_eq!(app.scopes, default_scopes());
        assert_eq!(app.created_at, 5);
    }

    #[test]
    fn generated_client_ids_never_look_like_options() {
        for _ in 0..2000 {
            let id = generated_client_id();
            assert_eq!(id.len(), 24);
            assert!(!id.starts_with('-'), "{id}");
        }
    }

    #[test]
    fn public_apps_have_no_secret() {
        let mut f = good();
        f.client_type = "public";
        let (app, secret) = validate(&f, 0).unwrap();
        assert!(secret.is_none() && app.secret_digest.is_none());
        f.client_secret = Some("x".repeat(40).leak());
        assert!(validate(&f, 0).unwrap_err().0.contains_key("client_secret"));
        f.client_secret = None;
        f.allow_plain_pkce = true;
        assert!(validate(&f, 0)
            .unwrap_err()
            .0
            .contains_key("allow_plain_pkce"));
        f.allow_plain_pkce = false;
        f.grant_types = vec!["client_credentials"];
        assert!(validate(&f, 0).unwrap_err().0.contains_key("grant_types"));
    }

    #[test]
    fn every_field_is_checked() {
        let f = Registration {
            name: " ",
            client_type: "secret",
            grant_types: vec!["implicit"],
            redirect_uris: vec!["http://evil.example/cb"],
            post_logout_redirect_uris: vec!["/relative"],
            allowed_origins: vec!["https://a.example/path"],
            scopes: "read admin",
            algorithm: "HS256",
            client_id: Some("has space"),
            ..Default::default()
        };
        let errors = validate(&f, 0).unwrap_err().0;
        for field in [
            "name",
            "client_type",
            "grant_types",
            "redirect_uris",
            "post_logout_redirect_uris",
            "allowed_origins",
            "scopes",
            "algorithm",
            "client_id",
        ] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn code_flow_needs_a_redirect_uri_and_short_secrets_are_refused() {
        let mut f = good();
        f.redirect_uris = vec![];
        assert!(validate(&f, 0).unwrap_err().0.contains_key("redirect_uris"));
        let mut f = good();
        f.client_secret = Some("short");
        assert!(validate(&f, 0).unwrap_err().0.contains_key("client_secret"));
        f.client_secret = Some("a-long-enough-secret-with-a-plus+in-it-123");
        assert!(validate(&f, 0).unwrap_err().0.contains_key("client_secret"));
        f.client_secret = Some("a-long-enough-operator-chosen-secret-123");
        f.client_id = Some("notebook");
        let (app, secret) = validate(&f, 0).unwrap();
        assert_eq!(app.client_id, "notebook");
        assert_eq!(
            secret.as_deref(),
            Some("a-long-enough-operator-chosen-secret-123")
        );
    }

    #[test]
    fn duplicates_collapse() {
        let mut f = good();
        f.redirect_uris = vec![
            "https://notebook.example/cb",
            " https://notebook.example/cb ",
        ];
        f.grant_types = vec!["authorization_code", "authorization_code"];
        let (app, _) = validate(&f, 0).unwrap();
        assert_eq!(app.redirect_uris.len(), 1);
        assert_eq!(app.grant_types.len(), 1);
    }

    #[test]
    fn a_short_secret_needs_the_operators_word_and_is_marked_weak() {
        let mut f = good();
        f.client_secret = Some("rs-secret");
        assert!(validate(&f, 0).unwrap_err().0.contains_key("client_secret"));
        f.allow_weak_secret = true;
        let (app, secret) = validate(&f, 0).unwrap();
        assert!(app.weak_secret);
        assert_eq!(secret.as_deref(), Some("rs-secret"));
        assert_eq!(
            app.secret_digest.as_deref(),
            Some(SecretDigest::of("rs-secret").as_str())
        );
        f.client_secret = Some("short+plus");
        assert!(validate(&f, 0).is_err(), "the character rules still hold");
        f.client_secret = Some("a-long-enough-operator-chosen-secret-123");
        assert!(!validate(&f, 0).unwrap().0.weak_secret);
    }

    #[test]
    fn an_edit_keeps_an_imported_plain_http_redirect_uri_but_adds_none() {
        let mut f = good();
        f.redirect_uris = vec!["http://consumer.example/cb"];
        assert!(validate(&f, 0).unwrap_err().0.contains_key("redirect_uris"));
        f.kept_redirect_uris = vec!["http://consumer.example/cb"];
        let (app, _) = validate(&f, 0).unwrap();
        assert_eq!(app.redirect_uris, vec!["http://consumer.example/cb"]);
        f.redirect_uris = vec!["http://consumer.example/cb", "http://other.example/cb"];
        assert!(validate(&f, 0).unwrap_err().0.contains_key("redirect_uris"));
    }
}
