//! `gatehouse import django`: brings a Django + django-oauth-toolkit site's
//! people, apps and live tokens into Gatehouse, keeping their ids, so that
//! nobody signs up or signs in again and no client notices the switch.
//!
//! The source is only read. Everything is written in one transaction:
//! an import that finds a conflict, or a `--dry-run`, changes nothing.
//! A second run updates what changed in the source since the first (and
//! removes what was removed there), so it can run again at cutover.

pub mod source;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gatehouse::oauth::client::{ClientType, GrantType, SigningAlgorithm};
use gatehouse::oauth::redirect::{is_plain_http, validate_imported};
use gatehouse::oauth::{Scope, ScopeSet};
use gatehouse::password::django;
use gatehouse::secret::SecretDigest;
use serde::Serialize;

use source::{DjangoUser, DotApplication, Source, SourceRows};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Source(String),
    #[error(
        "this is not a django-oauth-toolkit database: missing {}",
        .0.join(", ")
    )]
    NotDjango(Vec<String>),
    #[error("nothing was imported: {} conflict(s) with what Gatehouse holds:\n  {}", .0.len(), .0.join("\n  "))]
    Conflicts(Vec<String>),
    #[error("cannot write to Gatehouse's database: {0}")]
    Store(String),
    #[error("{0}")]
    Usage(String),
}

/// What to import, and how.
pub struct Options {
    /// The Django site's database URL (SQLite file or PostgreSQL).
    pub database: String,
    /// The user table; `auth_user` unless the site swapped the user model.
    pub user_table: String,
    /// Do everything, then roll back: the summary says what would change.
    pub dry_run: bool,
    /// Seconds an imported refresh token lives from the import (as if it
    /// had just been issued).
    pub refresh_lifetime: i64,
}

/// How many rows of one kind were added, updated, left as they were,
/// removed (gone from the source since the last import) or skipped.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub skipped: u64,
}

/// The outcome of an import, printed as text or JSON.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub dry_run: bool,
    pub users: Counts,
    pub applications: Counts,
    pub access_tokens: Counts,
    pub refresh_tokens: Counts,
    /// Grants (user, app, scopes) derived from the imported tokens.
    pub grants: u64,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

impl Summary {
    pub fn text(&self) -> String {
        let line = |what: &str, c: &Counts| {
            format!(
                "{what:<15} {:>8} new {:>8} updated {:>8} unchanged {:>8} removed {:>8} skipped\n",
                c.new, c.updated, c.unchanged, c.removed, c.skipped
            )
        };
        let mut out = String::new();
        if self.dry_run {
            out.push_str("Dry run: nothing was written. This is what an import would do:\n");
        }
        out.push_str(&line("users", &self.users));
        out.push_str(&line("applications", &self.applications));
        out.push_str(&line("access tokens", &self.access_tokens));
        out.push_str(&line("refresh tokens", &self.refresh_tokens));
        out.push_str(&format!("grants derived: {}\n", self.grants));
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out.push_str(&format!("took {:.1} s\n", self.seconds));
        out
    }
}

/// A user as Gatehouse stores it, keeping the Django id.
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub date_joined: i64,
    pub last_login: Option<i64>,
    pub fingerprint: String,
    pub secret_fingerprint: String,
}

/// An app as Gatehouse stores it, keeping the DOT id.
#[derive(Debug, Clone)]
pub struct ImportApp {
    pub id: i64,
    pub client_id: String,
    /// SHA-256 of a clear secret, or the Django hash of a hashed one
    /// (checked in that format at first use, then replaced).
    pub secret_digest: Option<String>,
    /// A clear secret shorter than Gatehouse's minimum.
    pub weak_secret: bool,
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub skip_consent: bool,
    pub algorithm: SigningAlgorithm,
    pub owner_id: Option<i64>,
    pub created_at: i64,
    pub fingerprint: String,
    pub secret_fingerprint: String,
}

/// A live token, stored as its SHA-256.
#[derive(Debug, Clone)]
pub struct ImportToken {
    pub source_id: i64,
    pub digest: String,
    pub application_id: i64,
    pub user_id: Option<i64>,
    pub scopes: ScopeSet,
    pub family: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub auth_time: Option<i64>,
}

/// Everything to write, in Gatehouse's shapes.
#[derive(Debug, Default)]
pub struct ImportData {
    pub users: Vec<ImportUser>,
    pub applications: Vec<ImportApp>,
    pub access_tokens: Vec<ImportToken>,
    pub refresh_tokens: Vec<ImportToken>,
    /// (user, app) → the union of the scopes of their tokens.
    pub grants: Vec<(i64, i64, ScopeSet)>,
    pub summary: Summary,
}

fn sha256_hex(text: &str) -> String {
    SecretDigest::of(text).as_str().to_owned()
}

fn fingerprint(row: &impl Serialize) -> String {
    sha256_hex(&serde_json::to_string(row).unwrap_or_default())
}

fn words(list: &str) -> impl Iterator<Item = &str> {
    list.split_whitespace()
}

/// Turns what was read into Gatehouse's rows. Rows Gatehouse cannot use
/// are skipped or adjusted, each with a warning; none is silently lost.
pub fn convert(rows: SourceRows, options: &Options, now: i64) -> ImportData {
    let mut data = ImportData::default();
    let summary = &mut data.summary;
    let warnings = &mut summary.warnings;

    // Users. Django allows the same email on several accounts; Gatehouse
    // signs people in by email too, so the oldest account keeps it.
    let mut emails: HashMap<String, i64> = HashMap::new();
    let mut foreign_formats: BTreeMap<String, u64> = BTreeMap::new();
    for u in &rows.users {
        data.users.push(convert_user(
            u,
            now,
            &mut emails,
            &mut foreign_formats,
            warnings,
        ));
    }
    for (format, n) in foreign_formats {
        warnings.push(format!(
            "{n} account(s) have a password hashed as {format:?}, which Gatehouse does not \
             check: they must set a new password"
        ));
    }
    let user_ids: BTreeSet<i64> = data.users.iter().map(|u| u.id).collect();

    for a in &rows.applications {
        match convert_app(a, &user_ids, now, warnings) {
            Some(app) => data.applications.push(app),
            None => summary.applications.skipped += 1,
        }
    }
    let apps: HashMap<i64, &ImportApp> = data.applications.iter().map(|a| (a.id, a)).collect();

    // Tokens: a refresh token and the access token it came with share a
    // family, so revoking one revokes both, as Gatehouse does for its own.
    let mut unknown_scopes: BTreeSet<String> = BTreeSet::new();
    let mut scopes_of = |text: &str| {
        let mut set = ScopeSet::EMPTY;
        for w in words(text) {
            match Scope::parse(w) {
                Some(s) => set.insert(s),
                None => {
                    unknown_scopes.insert(w.to_owned());
                }
            }
        }
        set
    };
    let usable = |app: Option<i64>, user: Option<i64>| {
        let app = app.filter(|a| apps.contains_key(a))?;
        match user {
            Some(u) if !user_ids.contains(&u) => None,
            _ => Some(app),
        }
    };
    let mut family_of_access: HashMap<i64, String> = HashMap::new();
    let mut grants: BTreeMap<(i64, i64), ScopeSet> = BTreeMap::new();
    let access_scopes: HashMap<i64, &str> = rows
        .access_tokens
        .iter()
        .map(|t| (t.id, t.scope.as_str()))
        .collect();
    for r in &rows.refresh_tokens {
        let Some(app) = usable(r.application_id, r.user_id) else {
            summary.refresh_tokens.skipped += 1;
            continue;
        };
        if r.revoked.is_some() || r.token.is_empty() {
            summary.refresh_tokens.skipped += 1;
            continue;
        }
        let family = format!("dot-r{}", r.id);
        // A refresh token's scope is its access token's (DOT keeps it there).
        let scopes = r
            .access_token_id
            .and_then(|id| access_scopes.get(&id).copied())
            .map(&mut scopes_of)
            .unwrap_or(ScopeSet::EMPTY);
        if let Some(at) = r.access_token_id {
            family_of_access.insert(at, family.clone());
        }
        if let Some(user) = r.user_id {
            let g = grants.entry((user, app)).or_insert(ScopeSet::EMPTY);
            *g = g.union(scopes);
        }
        data.refresh_tokens.push(ImportToken {
            source_id: r.id,
            digest: sha256_hex(&r.token),
            application_id: app,
            user_id: r.user_id,
            scopes,
            family,
            created_at: r.created.unwrap_or(now),
            expires_at: now.saturating_add(options.refresh_lifetime),
            // The grant's longest life counts from the switch.
            auth_time: Some(now),
        });
    }
    for t in &rows.access_tokens {
        let Some(app) = usable(t.application_id, t.user_id) else {
            summary.access_tokens.skipped += 1;
            continue;
        };
        if t.expires <= now || t.token.is_empty() {
            summary.access_tokens.skipped += 1;
            continue;
        }
        let scopes = scopes_of(&t.scope);
        if let Some(user) = t.user_id {
            let g = grants.entry((user, app)).or_insert(ScopeSet::EMPTY);
            *g = g.union(scopes);
        }
        data.access_tokens.push(ImportToken {
            source_id: t.id,
            digest: sha256_hex(&t.token),
            application_id: app,
            user_id: t.user_id,
            scopes,
            family: family_of_access
                .get(&t.id)
                .cloned()
                .unwrap_or_else(|| format!("dot-a{}", t.id)),
            created_at: t.created.unwrap_or(now),
            expires_at: t.expires,
            auth_time: t.user_id.map(|_| now),
        });
    }
    if !unknown_scopes.is_empty() {
        warnings.push(format!(
            "scopes Gatehouse does not know were left out of imported tokens: {}",
            unknown_scopes.into_iter().collect::<Vec<_>>().join(" ")
        ));
    }
    data.grants = grants
        .into_iter()
        .map(|((user, app), scopes)| (user, app, scopes))
        .collect();
    data
}

fn convert_user(
    u: &DjangoUser,
    now: i64,
    emails: &mut HashMap<String, i64>,
    foreign_formats: &mut BTreeMap<String, u64>,
    warnings: &mut Vec<String>,
) -> ImportUser {
    let mut email = u.email.trim().to_owned();
    if !email.is_empty() {
        match emails.get(&email.to_ascii_lowercase()) {
            Some(first) => {
                warnings.push(format!(
                    "account {} ({}) shares its email with account {first}, which keeps it: \
                     imported without an email",
                    u.id, u.username
                ));
                email.clear();
            }
            None => {
                emails.insert(email.to_ascii_lowercase(), u.id);
            }
        }
    }
    // Unusable (`!…`) and empty passwords stay unusable: they never match.
    let password_hash = if u.password.is_empty() {
        "!".to_owned()
    } else {
        u.password.clone()
    };
    if !password_hash.starts_with('!') && !django::is_django(&password_hash) {
        let format = password_hash
            .split_once('$')
            .map_or("unknown", |(f, _)| f)
            .chars()
            .take(30)
            .collect();
        *foreign_formats.entry(format).or_default() += 1;
    }
    ImportUser {
        id: u.id,
        username: u.username.clone(),
        email,
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        secret_fingerprint: sha256_hex(&password_hash),
        password_hash,
        is_active: u.is_active != 0,
        is_staff: u.is_staff != 0,
        is_superuser: u.is_superuser != 0,
        date_joined: u.date_joined.unwrap_or(now),
        last_login: u.last_login,
        fingerprint: fingerprint(u),
    }
}

/// DOT's one grant type per app, as Gatehouse's list: the flows DOT lets
/// such an app use, refresh included.
fn grant_types(dot: &str) -> Option<Vec<GrantType>> {
    Some(match dot {
        "authorization-code" | "openid-hybrid" | "implicit" => {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        }
        "password" => vec![GrantType::Password, GrantType::RefreshToken],
        "client-credentials" => vec![GrantType::ClientCredentials],
        "urn:ietf:params:oauth:grant-type:device_code" => {
            vec![GrantType::DeviceCode, GrantType::RefreshToken]
        }
        _ => return None,
    })
}

fn convert_app(
    a: &DotApplication,
    user_ids: &BTreeSet<i64>,
    now: i64,
    warnings: &mut Vec<String>,
) -> Option<ImportApp> {
    let label = format!("application {} ({})", a.id, a.client_id);
    let Some(client_type) = ClientType::parse(&a.client_type) else {
        warnings.push(format!(
            "{label} skipped: unknown client type {:?}",
            a.client_type
        ));
        return None;
    };
    let Some(grant_types) = grant_types(&a.authorization_grant_type) else {
        warnings.push(format!(
            "{label} skipped: unknown grant type {:?}",
            a.authorization_grant_type
        ));
        return None;
    };
    match a.authorization_grant_type.as_str() {
        "implicit" => warnings.push(format!(
            "{label} used the implicit grant, which Gatehouse does not offer: imported for the \
             authorization code flow with PKCE, which its client must now use"
        )),
        "openid-hybrid" => warnings.push(format!(
            "{label} used the OpenID hybrid flow: imported for the authorization code flow"
        )),
        _ => {}
    }
    if client_type == ClientType::Public && grant_types.contains(&GrantType::Password) {
        warnings.push(format!(
            "{label} skipped: a public client with the password grant, which Gatehouse refuses"
        ));
        return None;
    }
    if gatehouse::oauth::client::validate_client_id(&a.client_id).is_err() {
        warnings.push(format!("{label} skipped: its client id is not usable"));
        return None;
    }
    let mut uris = |list: &str, what: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for uri in words(list) {
            match validate_imported(uri) {
                Ok(()) if !out.iter().any(|o| o == uri) => out.push(uri.to_owned()),
                Ok(()) => {}
                Err(why) => warnings.push(format!("{label}: {what} {uri:?} left out: {why}")),
            }
        }
        out
    };
    let redirect_uris = uris(&a.redirect_uris, "redirect URI");
    let post_logout_redirect_uris = uris(&a.post_logout_redirect_uris, "post-logout URI");
    if redirect_uris.iter().any(|u| is_plain_http(u)) {
        warnings.push(format!(
            "{label} keeps plain-http redirect URIs (its page marks them)"
        ));
    }
    let mut allowed_origins: Vec<String> = Vec::new();
    for o in words(&a.allowed_origins) {
        let o = o.trim_end_matches('/');
        match gatehouse::oauth::client::validate_origin(o) {
            Ok(()) if !allowed_origins.iter().any(|x| x == o) => allowed_origins.push(o.to_owned()),
            Ok(()) => {}
            Err(why) => warnings.push(format!("{label}: allowed origin {o:?} left out: {why}")),
        }
    }
    let secret = a.client_secret.as_str();
    let secret_digest = match client_type {
        ClientType::Public => None,
        _ if secret.is_empty() => {
            warnings.push(format!(
                "{label} is confidential but has no secret: give it one with \
                 `gatehouse app rotate-secret`"
            ));
            None
        }
        _ if django::is_django(secret) => Some(secret.to_owned()),
        _ if a.hash_client_secret != 0 => {
            warnings.push(format!(
                "{label}: its secret is hashed in a format Gatehouse does not check: give it \
                 a new one with `gatehouse app rotate-secret`"
            ));
            None
        }
        _ => {
            if secret.len() < gatehouse::oauth::registration::MIN_SECRET_LEN {
                warnings.push(format!(
                    "{label} has a short secret ({} characters): rotate it when its client \
                     can take a new one (its page says so)",
                    secret.len()
                ));
            }
            Some(sha256_hex(secret))
        }
    };
    let algorithm = match a.algorithm.as_str() {
        "" | "RS256" => SigningAlgorithm::RS256,
        other => {
            warnings.push(format!(
                "{label} signed id_tokens with {other:?}, which Gatehouse does not offer: \
                 imported with RS256"
            ));
            SigningAlgorithm::RS256
        }
    };
    let owner_id = match a.user_id {
        Some(id) if user_ids.contains(&id) => Some(id),
        Some(id) => {
            warnings.push(format!(
                "{label}: its owner (user {id}) was not imported; it has no owner"
            ));
            None
        }
        None => None,
    };
    // DOT allows a blank name; every app here has one.
    let mut name: String = a.name.trim().chars().take(100).collect();
    if name.is_empty() || name.chars().any(char::is_control) {
        name = a.client_id.chars().take(100).collect();
    }
    Some(ImportApp {
        id: a.id,
        client_id: a.client_id.clone(),
        weak_secret: secret_digest.is_some()
            && !django::is_django(secret)
            && secret.len() < gatehouse::oauth::registration::MIN_SECRET_LEN,
        secret_digest,
        name,
        client_type,
        grant_types,
        redirect_uris,
        post_logout_redirect_uris,
        allowed_origins,
        skip_consent: a.skip_authorization != 0,
        algorithm,
        owner_id,
        created_at: a.created.unwrap_or(now),
        fingerprint: fingerprint(a),
        secret_fingerprint: sha256_hex(secret),
    })
}

/// What an import is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A step begins.
    Step(&'a str),
    /// `done` of `total` rows of one kind are written.
    Rows {
        what: &'static str,
        done: usize,
        total: usize,
    },
}

/// Runs an import into `store`, telling `progress` what it is doing.
pub async fn run(
    store: &crate::store::SqlStore,
    options: &Options,
    now: i64,
    progress: &dyn Fn(Progress<'_>),
) -> Result<Summary, ImportError> {
    let started = std::time::Instant::now();
    if !source::valid_table_name(&options.user_table) {
        return Err(ImportError::Usage(format!(
            "--user-table {:?} is not a table name",
            options.user_table
        )));
    }
    progress(Progress::Step("reading the Django database"));
    let source = Source::open(&options.database).await?;
    let rows = source.read(&options.user_table).await?;
    progress(Progress::Step(&format!(
        "read {} users, {} applications, {} access and {} refresh tokens",
        rows.users.len(),
        rows.applications.len(),
        rows.access_tokens.len(),
        rows.refresh_tokens.len()
    )));
    let data = convert(rows, options, now);
    progress(Progress::Step(if options.dry_run {
        "comparing with Gatehouse's database (dry run: nothing is kept)"
    } else {
        "writing to Gatehouse's database (one transaction)"
    }));
    let mut summary = store
        .import_django(data, options.dry_run, now, progress)
        .await?;
    summary.dry_run = options.dry_run;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::source::{DotAccessToken, DotRefreshToken};
    use super::*;

    fn user(id: i64, username: &str, email: &str, password: &str) -> DjangoUser {
        DjangoUser {
            id,
            username: username.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            password: password.into(),
            is_active: 1,
            is_staff: 0,
            is_superuser: 0,
            date_joined: Some(1),
            last_login: None,
        }
    }

    fn app(id: i64, grant: &str, secret: &str, hashed: bool) -> DotApplication {
        DotApplication {
            id,
            client_id: format!("app{id}"),
            client_secret: secret.into(),
            hash_client_secret: i64::from(hashed),
            name: "App".into(),
            client_type: "confidential".into(),
            authorization_grant_type: grant.into(),
            redirect_uris: "https://app.example/cb".into(),
            post_logout_redirect_uris: String::new(),
            allowed_origins: String::new(),
            user_id: Some(1),
            skip_authorization: 0,
            algorithm: String::new(),
            created: Some(1),
        }
    }

    fn options() -> Options {
        Options {
            database: String::new(),
            user_table: "auth_user".into(),
            dry_run: false,
            refresh_lifetime: 1000,
        }
    }

    #[test]
    fn dot_grant_types_become_the_same_flows_here() {
        assert_eq!(
            grant_types("authorization-code"),
            Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
        );
        assert_eq!(
            grant_types("client-credentials"),
            Some(vec![GrantType::ClientCredentials])
        );
        assert_eq!(
            grant_types("password"),
            Some(vec![GrantType::Password, GrantType::RefreshToken])
        );
        assert_eq!(grant_types("something-else"), None);
    }

    #[test]
    fn people_apps_and_tokens_are_converted_with_a_warning_for_each_change() {
        let now = 10_000;
        let mut rows = SourceRows {
            users: vec![
                user(1, "ada", "ada@lab.example", "pbkdf2_sha256$1$s$aGFzaA=="),
                user(2, "dup", "ADA@lab.example", "md5$abc$def"),
                user(3, "nopass", "", ""),
            ],
            applications: vec![
                app(10, "authorization-code", "pbkdf2_sha256$1$s$aGFzaA==", true),
                app(11, "password", "short", false),
                app(12, "implicit-and-more", "x", false),
            ],
            access_tokens: vec![
                DotAccessToken {
                    id: 100,
                    token: "live".into(),
                    expires: now + 60,
                    scope: "read write groups".into(),
                    application_id: Some(10),
                    user_id: Some(1),
                    created: Some(1),
                },
                DotAccessToken {
                    id: 101,
                    token: "expired".into(),
                    expires: now - 1,
                    scope: "read".into(),
                    application_id: Some(10),
                    user_id: Some(1),
                    created: Some(1),
                },
                DotAccessToken {
                    id: 102,
                    token: "orphan".into(),
                    expires: now + 60,
                    scope: "read".into(),
                    application_id: Some(99),
                    user_id: Some(1),
                    created: Some(1),
                },
            ],
            refresh_tokens: vec![
                DotRefreshToken {
                    id: 200,
                    token: "refresh".into(),
                    access_token_id: Some(100),
                    application_id: Some(10),
                    user_id: Some(1),
                    created: Some(1),
                    revoked: None,
                },
                DotRefreshToken {
                    id: 201,
                    token: "revoked".into(),
                    access_token_id: None,
                    application_id: Some(10),
                    user_id: Some(1),
                    created: Some(1),
                    revoked: Some(5),
                },
            ],
        };
        rows.applications[1].name = "  ".into();
        let data = convert(rows, &options(), now);
        let warnings = data.summary.warnings.join("\n");

        assert_eq!(data.users[0].email, "ada@lab.example");
        assert_eq!(data.users[1].email, "", "the older account keeps the email");
        assert!(warnings.contains("account 2 (dup) shares its email with account 1"));
        assert!(warnings.contains("1 account(s) have a password hashed as \"md5\""));
        assert_eq!(
            data.users[2].password_hash, "!",
            "no password stays unusable"
        );

        assert_eq!(data.applications.len(), 2);
        assert_eq!(data.applications[0].name, "App");
        assert_eq!(
            data.applications[1].name, "app11",
            "a blank name becomes the client id"
        );
        assert_eq!(data.summary.applications.skipped, 1);
        let hashed = &data.applications[0];
        assert_eq!(
            hashed.secret_digest.as_deref(),
            Some("pbkdf2_sha256$1$s$aGFzaA==")
        );
        assert!(!hashed.weak_secret);
        let clear = &data.applications[1];
        assert_eq!(
            clear.secret_digest.as_deref(),
            Some(SecretDigest::of("short").as_str())
        );
        assert!(clear.weak_secret);

        assert_eq!(data.access_tokens.len(), 1);
        assert_eq!(data.summary.access_tokens.skipped, 2);
        assert_eq!(data.refresh_tokens.len(), 1);
        assert_eq!(data.summary.refresh_tokens.skipped, 1);
        let (access, refresh) = (&data.access_tokens[0], &data.refresh_tokens[0]);
        assert_eq!(access.digest, SecretDigest::of("live").as_str());
        assert_eq!(access.family, refresh.family, "they are revoked together");
        assert_eq!(access.scopes.to_string(), "read write");
        assert_eq!(refresh.scopes.to_string(), "read write");
        assert_eq!(refresh.expires_at, now + 1000);
        assert!(warnings.contains("left out of imported tokens: groups"));
        assert_eq!(data.grants.len(), 1);
        assert_eq!(data.grants[0].0, 1);
        assert_eq!(data.grants[0].1, 10);
    }
}
