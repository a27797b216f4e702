//! Registered applications (OAuth clients) and what they may do.

use super::ScopeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Can keep a secret (a server-side web app, a resource server).
    Confidential,
    /// Cannot (a browser or native app): no secret, PKCE required.
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
    pub fn parse(s: &str) -> Option<ClientType> {
        match s {
            "confidential" => Some(ClientType::Confidential),
            "public" => Some(ClientType::Public),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::DeviceCode,
    ];

    /// The short name used in registration forms, the CLI and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::DeviceCode => "device_code",
        }
    }

    /// The `grant_type` value at the token endpoint.
    pub fn wire_name(self) -> &'static str {
        match self {
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s || g.wire_name() == s)
    }
}

/// The id_token signing algorithm an app asked for (used by OpenID Connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<SigningAlgorithm> {
        match s {
            "RS256" => Some(SigningAlgorithm::RS256),
            "ES256" => Some(SigningAlgorithm::ES256),
            "EdDSA" => Some(SigningAlgorithm::EdDSA),
            _ => None,
        }
    }
}

/// A registered application as the protocol sees it. The secret is only
/// ever held as its SHA-256 digest (hex).
#[derive(Debug, Clone)]
pub struct Application {
    pub id: i64,
    pub client_id: String,
    pub secret_digest: Option<String>,
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// The scopes the app may ask for.
    pub scopes: ScopeSet,
    pub skip_consent: bool,
    pub allow_plain_pkce: bool,
    pub algorithm: SigningAlgorithm,
    pub owner_id: Option<i64>,
    pub created_at: i64,
    /// False for apps people who are not staff registered, until staff
    /// review them: their early authorization errors are shown on a page
    /// rather than redirected (no open redirector on our domain).
    pub reviewed: bool,
    /// Its secret is shorter than [`MIN_SECRET_LEN`] characters (chosen by
    /// an operator with `--allow-weak-secret`, or imported): the app's page
    /// asks for a rotation, which clears this.
    ///
    /// [`MIN_SECRET_LEN`]: crate::oauth::registration::MIN_SECRET_LEN
    pub weak_secret: bool,
}

impl Application {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }
}

/// Checks a client id chosen by an operator: 1 to 100 visible ASCII
/// characters without `:` (it would break HTTP Basic) or spaces.
pub fn validate_client_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 100 {
        return Err("must be 1 to 100 characters".into());
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b':' | b'+' | b'%'))
    {
        // ':' splits Basic credentials; '+' and '%' change meaning when
        // they are form-decoded (RFC 6749 §2.3.1) and clients disagree on it.
        return Err("may only contain visible ASCII characters other than ':', '+' and '%'".into());
    }
    Ok(())
}

/// Checks an origin for CORS: `scheme://host[:port]`, nothing more.
pub fn validate_origin(origin: &str) -> Result<(), String> {
    let url = url::Url::parse(origin)
        .map_err(|_| "must be an origin such as https://app.example".to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http or https origin".into());
    }
    let canonical = url.origin().ascii_serialization();
    if canonical != origin {
        return Err(format!("must be written as an origin only: {canonical}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_names_round_trip() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
            assert_eq!(GrantType::parse(g.wire_name()), Some(g));
        }
        assert_eq!(GrantType::parse("implicit"), None);
    }

    #[test]
    fn client_ids() {
        assert!(validate_client_id("my-app_1.x").is_ok());
        for bad in ["", "a:b", "a b", "a+b", "a%41", "é", &"x".repeat(101)] {
            assert!(validate_client_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins() {
        assert!(validate_origin("https://app.example").is_ok());
        assert!(validate_origin("http://127.0.0.1:5173").is_ok());
        for bad in [
            "https://app.example/",
            "https://app.example/path",
            "app.example",
            "ftp://x.example",
            "*",
            "https://APP.example",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }
}
