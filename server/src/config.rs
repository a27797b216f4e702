//! Configuration: defaults, then an optional TOML file, then `GATEHOUSE_*`
//! environment variables (highest precedence).

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Where `/metrics` is served (Prometheus text), on a listener of its
    /// own; unset (the default): not served. Never the public port.
    pub metrics_bind: Option<SocketAddr>,
    /// The URL people and clients use to reach Gatehouse (scheme + host +
    /// port, no path). Decides the `Secure` cookie flag and the allowed
    /// `Origin` of form posts.
    pub public_url: String,
    /// `sqlite://PATH` (the file is created if missing) or
    /// `postgres://USER@HOST/DATABASE` (the database must exist; Gatehouse
    /// creates its tables).
    pub database_url: String,
    /// Largest number of pooled database connections.
    pub database_max_connections: u32,
    /// Seconds to wait for a pooled connection before failing the request.
    pub database_acquire_timeout_secs: u64,
    /// Under an https `public_url` it is sent with the `__Host-` prefix.
    pub session_cookie_name: String,
    /// `Strict-Transport-Security: max-age` under an https `public_url`, in
    /// seconds (0: not sent). Default one year.
    pub hsts_max_age_secs: u64,
    /// Sign out after this many seconds without a request.
    pub session_idle_timeout_secs: i64,
    /// Sign out this many seconds after signing in, whatever the activity.
    pub session_absolute_timeout_secs: i64,
    /// Proxies in front of Gatehouse, as CIDR blocks or addresses (a list,
    /// or one string separated by commas or spaces). `X-Forwarded-For` is
    /// read only from these peers, taking the right-most address that is
    /// not one of them. Empty (the default): the socket peer is the client.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// Answer CORS for any origin on the protocol endpoints and the account
    /// API (django-oauth-toolkit's `CORS_ORIGIN_ALLOW_ALL`), never with
    /// credentials. Off (the default): only the origins an app registered.
    pub cors_allow_all_origins: bool,
    /// `username` (the default): accounts have a username and an email.
    /// `email`: sign-up asks for an email only, which is also the username.
    pub account_identifier: gatehouse::account::AccountIdentifier,
    /// Who may create an account themselves: `open` (anyone), `closed`
    /// (operators only, with the command line) or `domains` (email
    /// addresses at `signup_email_domains`).
    pub signup: gatehouse::account::SignupPolicy,
    /// With `signup = "domains"`: the email domains that may sign up (a
    /// list, or one string separated by commas or spaces); exact domains,
    /// any case, no subdomains.
    #[serde(deserialize_with = "string_or_list")]
    pub signup_email_domains: Vec<String>,
    /// Sign-ups one address may make in an hour before it must wait (the
    /// portal's and the account APIs' alike); 0: no limit, for a site
    /// whose people all come through one NAT or proxy.
    pub signups_per_address: u32,
    /// Replaced by `trusted_proxies`; kept only to explain the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_forwarded_for: Option<bool>,
    /// Threads that hash passwords (argon2id, 19 MiB each, allocated once).
    /// 0: one per core.
    pub password_hash_threads: usize,
    /// Password checks that may wait for a hashing thread; beyond it,
    /// sign-ins are answered at once with 503 (`temporarily_unavailable`
    /// at the token endpoint). 0: 32 per thread.
    pub password_hash_queue: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Seconds an authorization code stays redeemable.
    pub code_lifetime_secs: i64,
    /// Seconds an access token is valid.
    pub access_token_lifetime_secs: i64,
    /// Seconds a refresh token is valid (each refresh issues a new one).
    pub refresh_token_lifetime_secs: i64,
    /// Seconds after signing in when a grant's refresh tokens stop, however
    /// often they are refreshed.
    pub refresh_token_max_lifetime_secs: i64,
    /// Seconds a device (RFC 8628) has for its user to enter the code and
    /// decide, and to collect the tokens.
    pub device_code_lifetime_secs: i64,
    /// Seconds a device is told to wait between polls of the token
    /// endpoint (each `slow_down` adds 5).
    pub device_poll_interval_secs: i64,
    /// Seconds a loaded application (client) is reused before it is read
    /// again; changes made through another replica show within this time.
    /// 0 reads it on every request.
    pub application_cache_secs: u64,
    /// Seconds between reloads of the signing keys from the database (a
    /// rotation made elsewhere is published within this time).
    pub key_refresh_secs: u64,
    /// Base64 of 32 random bytes: signing keys are stored encrypted under
    /// it (AES-256-GCM). Unset: stored unencrypted. Once set, keep it.
    pub key_encryption_key: Option<String>,
    /// On SIGTERM or Ctrl-C, seconds in-flight requests get to finish
    /// before the process stops anyway (new connections are refused at
    /// once).
    pub shutdown_grace_secs: u64,
    /// Audit events are kept this many days, then removed by the
    /// housekeeping task. Default 180.
    pub audit_retention_days: i64,
    /// The mail server: `smtp://HOST:PORT` (plain, or `?tls=required` for
    /// STARTTLS), `smtps://HOST:PORT` (TLS), with `USER:PASSWORD@` before
    /// the host when it asks for a login. Unset (the default): each message
    /// is written as an `.eml` file under `mail_outbox`, and its link is
    /// logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    /// The sender of Gatehouse's mail (`Name <address>` or an address).
    pub mail_from: String,
    /// Where messages go without `smtp_url`.
    pub mail_outbox: String,
    /// The site's name in mail subjects and bodies.
    pub site_name: String,
    /// Seconds before a failed message is tried again (doubling with each
    /// failure, up to an hour; given up after 20 tries).
    pub mail_retry_secs: i64,
    /// Send a link to verify each new address (sign-up, email change).
    /// On (the default), sign-up answers alike whether or not the address
    /// already has an account.
    pub verify_email: bool,
    /// People sign in only once their address is verified.
    pub require_verified_email: bool,
    /// Seconds a verification link works.
    pub verify_email_lifetime_secs: i64,
    /// Seconds a password reset link works.
    pub password_reset_lifetime_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            metrics_bind: None,
            public_url: "http://127.0.0.1:3000".into(),
            database_url: "sqlite://data/gatehouse.db".into(),
            database_max_connections: 8,
            database_acquire_timeout_secs: 5,
            session_cookie_name: "gatehouse_session".into(),
            hsts_max_age_secs: 365 * 24 * 3600,
            session_idle_timeout_secs: 7 * 24 * 3600,
            session_absolute_timeout_secs: 30 * 24 * 3600,
            trusted_proxies: Vec::new(),
            cors_allow_all_origins: false,
            account_identifier: Default::default(),
            signup: Default::default(),
            signup_email_domains: Vec::new(),
            signups_per_address: 20,
            trust_forwarded_for: None,
            password_hash_threads: 0,
            password_hash_queue: 0,
            log_format: "text".into(),
            max_body_bytes: 64 * 1024,
            code_lifetime_secs: 60,
            access_token_lifetime_secs: 3600,
            refresh_token_lifetime_secs: 14 * 24 * 3600,
            refresh_token_max_lifetime_secs: 90 * 24 * 3600,
            device_code_lifetime_secs: 600,
            device_poll_interval_secs: 5,
            application_cache_secs: 2,
            key_refresh_secs: 60,
            key_encryption_key: None,
            shutdown_grace_secs: 30,
            audit_retention_days: 180,
            smtp_url: None,
            mail_from: "Gatehouse <gatehouse@localhost>".into(),
            mail_outbox: "data/outbox".into(),
            site_name: "Gatehouse".into(),
            mail_retry_secs: 30,
            verify_email: true,
            require_verified_email: false,
            verify_email_lifetime_secs: 24 * 3600,
            password_reset_lifetime_secs: 3600,
        }
    }
}

/// A list setting given as a list, or as one string of items separated by
/// commas or spaces (the form environment variables take).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        // GATEHOUSE_CONFIG names the file itself; it is not a setting.
        figment = figment.merge(Env::prefixed("GATEHOUSE_").ignore(&["config"]));
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.public_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains('?') {
            return Err(ConfigError::Invalid(format!(
                "public_url must be an http(s) URL without query, got {:?}",
                self.public_url
            )));
        }
        let cookie_ok = !self.session_cookie_name.is_empty()
            && self
                .session_cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !cookie_ok {
            return Err(ConfigError::Invalid(
                "session_cookie_name must be letters, digits, '_' or '-'".into(),
            ));
        }
        const TEN_YEARS: i64 = 10 * 366 * 24 * 3600;
        let lifetimes = [
            self.code_lifetime_secs,
            self.access_token_lifetime_secs,
            self.refresh_token_lifetime_secs,
            self.refresh_token_max_lifetime_secs,
            self.device_code_lifetime_secs,
        ];
        if lifetimes.iter().any(|l| !(1..=TEN_YEARS).contains(l)) {
            return Err(ConfigError::Invalid(
                "code and token lifetimes must be between 1 second and 10 years".into(),
            ));
        }
        if !(1..=3600).contains(&self.device_poll_interval_secs) {
            return Err(ConfigError::Invalid(
                "device_poll_interval_secs must be between 1 and 3600".into(),
            ));
        }
        let domain_ok = |d: &String| {
            !d.is_empty()
                && d.contains('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        if !self.signup_email_domains.iter().all(domain_ok) {
            return Err(ConfigError::Invalid(
                "signup_email_domains must be domains such as lab.example (no @, no spaces)".into(),
            ));
        }
        if self.signup == gatehouse::account::SignupPolicy::Domains
            && self.signup_email_domains.is_empty()
        {
            return Err(ConfigError::Invalid(
                "signup = \"domains\" needs signup_email_domains".into(),
            ));
        }
        if !(60..=30 * 24 * 3600).contains(&self.verify_email_lifetime_secs)
            || !(60..=7 * 24 * 3600).contains(&self.password_reset_lifetime_secs)
        {
            return Err(ConfigError::Invalid(
                "verify_email_lifetime_secs must be between 60 s and 30 days, and \
                 password_reset_lifetime_secs between 60 s and 7 days"
                    .into(),
            ));
        }
        if !(1..=3600).contains(&self.mail_retry_secs) {
            return Err(ConfigError::Invalid(
                "mail_retry_secs must be between 1 and 3600".into(),
            ));
        }
        if self.require_verified_email && !self.verify_email {
            return Err(ConfigError::Invalid(
                "require_verified_email needs verify_email".into(),
            ));
        }
        if self.site_name.trim().is_empty() || self.site_name.len() > 100 {
            return Err(ConfigError::Invalid(
                "site_name must be 1 to 100 characters".into(),
            ));
        }
        crate::mail::check_settings(self).map_err(ConfigError::Invalid)?;
        if !(1..=36_500).contains(&self.audit_retention_days) {
            return Err(ConfigError::Invalid(
                "audit_retention_days must be between 1 and 36500".into(),
            ));
        }
        if self.session_idle_timeout_secs <= 0 || self.session_absolute_timeout_secs <= 0 {
            return Err(ConfigError::Invalid(
                "session timeouts must be positive".into(),
            ));
        }
        gatehouse::oidc::sealing::Sealer::from_config(self.key_encryption_key.as_deref())
            .map_err(ConfigError::Invalid)?;
        if self.trust_forwarded_for.is_some() {
            return Err(ConfigError::Invalid(
                "trust_forwarded_for was replaced by trusted_proxies: list the proxies' \
                 addresses (e.g. trusted_proxies = [\"127.0.0.1/32\"])"
                    .into(),
            ));
        }
        crate::net::ProxyList::parse(&self.trusted_proxies).map_err(ConfigError::Invalid)?;
        if self.key_refresh_secs == 0 {
            return Err(ConfigError::Invalid(
                "key_refresh_secs must be at least 1".into(),
            ));
        }
        if self.database_max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database_max_connections must be at least 1".into(),
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(
                "log_format must be text or json".into(),
            ));
        }
        Ok(())
    }

    /// The public origin (`scheme://host[:port]`), as browsers send it in `Origin`.
    pub fn public_origin(&self) -> &str {
        let url = self.public_url.trim_end_matches('/');
        let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
        match url[after_scheme..].find('/') {
            Some(i) => &url[..after_scheme + i],
            None => url,
        }
    }

    /// Cookies get `Secure` when Gatehouse is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The session cookie's name as sent: under https with the `__Host-`
    /// prefix, so browsers accept it only from this host, over https, for
    /// the whole site (no subdomain or plain-http page can plant one).
    pub fn session_cookie(&self) -> std::borrow::Cow<'_, str> {
        if self.secure_cookies() && !self.session_cookie_name.starts_with("__Host-") {
            format!("__Host-{}", self.session_cookie_name).into()
        } else {
            self.session_cookie_name.as_str().into()
        }
    }

    /// The `Strict-Transport-Security` value under https (None over http).
    pub fn hsts(&self) -> Option<String> {
        (self.secure_cookies() && self.hsts_max_age_secs > 0)
            .then(|| format!("max-age={}", self.hsts_max_age_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_locally_on_sqlite() {
        let c = Config::default();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert!(c.database_url.starts_with("sqlite://data/"));
        assert_eq!(c.session_cookie_name, "gatehouse_session");
        assert!(!c.secure_cookies());
        c.validate().unwrap();
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn sign_up_policy_and_domains() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEHOUSE_SIGNUP", "domains");
            jail.set_env("GATEHOUSE_SIGNUP_EMAIL_DOMAINS", "lab.example, example.org");
            let c = Config::load(None).unwrap();
            assert_eq!(c.signup, gatehouse::account::SignupPolicy::Domains);
            assert_eq!(c.signup_email_domains, ["lab.example", "example.org"]);
            jail.set_env("GATEHOUSE_SIGNUP_EMAIL_DOMAINS", "");
            assert!(Config::load(None).is_err(), "domains without a domain");
            jail.set_env("GATEHOUSE_SIGNUP_EMAIL_DOMAINS", "@lab.example");
            assert!(Config::load(None).is_err());
            jail.set_env("GATEHOUSE_SIGNUP", "sometimes");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn audit_retention_is_bounded() {
        assert_eq!(Config::default().audit_retention_days, 180);
        for days in [0, -1, 36_501] {
            let c = Config {
                audit_retention_days: days,
                ..Config::default()
            };
            assert!(c.validate().is_err(), "{days}");
        }
    }

    #[test]
    fn public_origin_drops_path() {
        let c = Config {
            public_url: "https://id.example.org/base/".into(),
            ..Config::default()
        };
        assert_eq!(c.public_origin(), "https://id.example.org");
        assert!(c.secure_cookies());
        assert_eq!(c.session_cookie(), "__Host-gatehouse_session");
        assert_eq!(c.hsts().as_deref(), Some("max-age=31536000"));
        assert_eq!(Config::default().session_cookie(), "gatehouse_session");
        assert_eq!(Config::default().hsts(), None);
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "g.toml",
                "bind = \"127.0.0.1:4000\"\nsession_cookie_name = \"from_file\"\n",
            )?;
            jail.set_env("GATEHOUSE_SESSION_COOKIE_NAME", "from_env");
            let c = Config::load(Some(Path::new("g.toml"))).unwrap();
            assert_eq!(c.bind.port(), 4000);
            assert_eq!(c.session_cookie_name, "from_env");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn trusted_proxies_from_a_string_or_a_list() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8");
            let c = Config::load(None).unwrap();
            assert_eq!(c.trusted_proxies, vec!["10.0.0.0/8", "fd00::/8"]);
            jail.create_file("g.toml", "trusted_proxies = [\"127.0.0.1\"]\n")?;
            jail.clear_env();
            let c = Config::load(Some(Path::new("g.toml"))).unwrap();
            assert_eq!(c.trusted_proxies, vec!["127.0.0.1"]);
            jail.set_env("GATEHOUSE_TRUSTED_PROXIES", "not-an-address");
            assert!(Config::load(None).is_err());
            jail.clear_env();
            jail.set_env("GATEHOUSE_TRUST_FORWARDED_FOR", "true");
            let e = Config::load(None).unwrap_err().to_string();
            assert!(e.contains("trusted_proxies"), "{e}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn bad_values_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEHOUSE_PUBLIC_URL", "ftp://x");
            assert!(Config::load(None).is_err());
            jail.set_env("GATEHOUSE_PUBLIC_URL", "http://x");
            jail.set_env("GATEHOUSE_SESSION_COOKIE_NAME", "bad name;");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }
}
