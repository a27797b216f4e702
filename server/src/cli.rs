//! The `gatehouse` command line.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gatehouse::account::service::NewAccount;
use gatehouse::account::{FieldErrors, FormError};
use gatehouse::audit::{Event, EventKind, Origin};
use gatehouse::store::User;

use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse: one sign-in server for many applications"
)]
pub struct Cli {
    /// TOML configuration file (settings from GATEHOUSE_* variables win).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do; without one, `serve` (as `cargo leptos serve` runs it).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve HTTP until SIGINT/SIGTERM.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an account with staff and superuser rights.
    Createsuperuser(UserArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth applications.
    #[command(subcommand)]
    App(AppCommand),
    /// Manage id_token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Bring people, apps and live tokens over from another server.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Remove expired access tokens, refresh tokens and authorization codes.
    Cleartokens {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print audit events, oldest first: one line each, or JSON lines
    /// (one object per event) with --json, for a SIEM or an archive.
    Export(AuditExportArgs),
}

#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Only events at or after this time: a date (2026-11-30), a time in
    /// RFC 3339 (2026-11-30T08:00:00Z), or Unix seconds.
    #[arg(long)]
    pub since: Option<String>,
    /// Only events about this account (its username at the time).
    #[arg(long)]
    pub user: Option<String>,
    /// Only events about this application.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Only events of this kind (signed_in, sign_in_failed, app_changed…).
    #[arg(long)]
    pub kind: Option<String>,
    /// JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a Django + django-oauth-toolkit site: its users (with their
    /// password hashes), applications and live tokens, keeping their ids.
    /// The source is only read; a second run updates what changed.
    Django(DjangoImportArgs),
}

#[derive(Debug, Args)]
pub struct DjangoImportArgs {
    /// The Django site's database: its SQLite file (sqlite://PATH or a
    /// path) or its PostgreSQL URL.
    #[arg(long)]
    pub database: String,
    /// The user table, when the site swapped Django's user model (a table
    /// without a username column signs people in with their email).
    #[arg(long, default_value = "auth_user")]
    pub user_table: String,
    /// Show what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key (for every algorithm, or one) and retire the
    /// old one, which stays published until the tokens it signed expire.
    Rotate {
        /// RS256, ES256 or EdDSA; all three when left out.
        #[arg(long)]
        algorithm: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application; prints its client id and (once) its secret.
    Create(Box<AppCreateArgs>),
    /// List the registered applications.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one application.
    Show(AppRef),
    /// Give a confidential application a new secret (printed once); the
    /// old one stops working.
    RotateSecret(AppRef),
    /// Delete an application and every token and code issued to it.
    Delete(AppRef),
}

#[derive(Debug, Args)]
pub struct AppRef {
    /// The application's client id.
    #[arg(allow_hyphen_values = true)]
    pub client_id: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AppCreateArgs {
    #[arg(long)]
    pub name: String,
    /// confidential or public.
    #[arg(long)]
    pub client_type: String,
    /// Comma-separated: authorization_code, refresh_token,
    /// client_credentials, password, device_code.
    #[arg(long, value_delimiter = ',', required = true)]
    pub grant_types: Vec<String>,
    /// Comma-separated absolute URIs.
    #[arg(long, value_delimiter = ',')]
    pub redirect_uris: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub post_logout_redirect_uris: Vec<String>,
    /// Comma-separated origins allowed to call the token endpoints (CORS).
    #[arg(long, value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Space-separated (default: openid profile email read write).
    #[arg(long, default_value = "")]
    pub scopes: String,
    /// Never ask users for consent (first-party apps).
    #[arg(long)]
    pub skip_consent: bool,
    /// Accept PKCE method `plain` (legacy clients only).
    #[arg(long)]
    pub allow_plain_pkce: bool,
    /// id_token signing: RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub algorithm: String,
    /// Use this client id instead of a generated one.
    #[arg(long, allow_hyphen_values = true)]
    pub client_id: Option<String>,
    /// Use this client secret instead of a generated one.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Accept a --client-secret shorter than 32 characters (an existing
    /// client's, say); the app's page then asks for a rotation.
    #[arg(long, requires = "client_secret")]
    pub allow_weak_secret: bool,
    /// Username of the account that owns the app.
    #[arg(long)]
    pub owner: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Create {
        #[command(flatten)]
        user: UserArgs,
        /// Give the account staff rights.
        #[arg(long)]
        staff: bool,
    },
    /// List accounts by username (every one, or those whose username or
    /// email contains --search).
    List {
        #[arg(long, default_value = "")]
        search: String,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one account: its details and the apps it allowed.
    Show(UserRef),
    /// Set an account's password (from standard input, checked like a new
    /// password) and sign it out everywhere.
    SetPassword {
        #[command(flatten)]
        user: UserRef,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Stop an account: no sign-in; its sessions, codes and tokens end.
    Deactivate(UserRef),
    /// Let a deactivated account sign in again.
    Reactivate(UserRef),
    /// Mail the account a password reset link (the running server sends
    /// it from the mail queue).
    SendReset(UserRef),
}

#[derive(Debug, Args)]
pub struct UserRef {
    /// The account's username (or its email).
    #[arg(allow_hyphen_values = true)]
    pub username: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    /// Not needed when accounts are named by their email
    /// (`account_identifier = "email"`).
    #[arg(long, default_value = "")]
    pub username: String,
    #[arg(long)]
    pub email: String,
    /// Read the password from standard input (first line).
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a command prints and its exit status.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn ok(stdout: String) -> Self {
        Self {
            code: 0,
            stdout,
            stderr: String::new(),
        }
    }
    fn fail(json: bool, message: &str, fields: Option<&FieldErrors>) -> Self {
        let mut text = format!("error: {message}");
        if let Some(fields) = fields {
            for (field, msg) in &fields.0 {
                text.push_str(&format!("\n  {field}: {msg}"));
            }
        }
        let stdout = if json {
            let fields: std::collections::BTreeMap<String, String> = fields
                .map(|f| {
                    f.0.iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({ "error": message, "fields": fields }).to_string() + "\n"
        } else {
            String::new()
        };
        Self {
            code: 1,
            stdout,
            stderr: text + "\n",
        }
    }
}

/// Reads the password: the first line of standard input, without its newline.
pub fn read_password(password_stdin: bool, input: impl Read) -> Result<String, String> {
    if !password_stdin {
        return Err("give the password on standard input with --password-stdin".into());
    }
    let mut line = String::new();
    std::io::BufReader::new(input)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err("standard input held no password".into());
    }
    Ok(line)
}

fn user_json(user: &User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "email_verified": user.email_verified,
        "date_joined": user.date_joined,
    })
}

/// Every field an operator may look at (never the password hash).
fn user_detail_json(user: &User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    })
}

fn user_line(user: &User) -> String {
    let mut flags = Vec::new();
    if !user.is_active {
        flags.push("deactivated");
    }
    if user.is_superuser {
        flags.push("superuser");
    } else if user.is_staff {
        flags.push("staff");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(", "))
    };
    format!("{} <{}> (id {}){flags}", user.username, user.email, user.id)
}

/// The account named on the command line, or the failure to print.
async fn find_user(state: &AppState, args: &UserRef) -> Result<User, Outcome> {
    match state.accounts.store().user_by_login(&args.username).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(Outcome::fail(
            args.json,
            &format!("no account has username {:?}", args.username),
            None,
        )),
        Err(e) => Err(Outcome::fail(args.json, &e.to_string(), None)),
    }
}

/// `user list`: every matching account, a page at a time.
pub async fn list_users(state: &AppState, search: &str, json: bool) -> Outcome {
    use std::io::Write as _;
    const PAGE: i64 = 1000;
    let stdout = std::io::stdout();
    let mut offset = 0;
    loop {
        let page = match state
            .accounts
            .store()
            .search_users(search.trim(), offset, PAGE)
            .await
        {
            Ok(p) => p,
            Err(e) => return Outcome::fail(json, &e.to_string(), None),
        };
        let mut out = stdout.lock();
        for user in &page {
            let line = if json {
                user_detail_json(user).to_string()
            } else {
                user_line(user)
            };
            if writeln!(out, "{line}").is_err() {
                return Outcome::ok(String::new());
            }
        }
        if (page.len() as i64) < PAGE {
            return Outcome::ok(String::new());
        }
        offset += PAGE;
    }
}

/// `user show`.
pub async fn show_user(state: &AppState, args: &UserRef) -> Outcome {
    let user = match find_user(state, args).await {
        Ok(u) => u,
        Err(outcome) => return outcome,
    };
    let grants = match state.oauth.user_grants(user.id).await {
        Ok(g) => g,
        Err(e) => return Outcome::fail(args.json, &e.to_string(), None),
    };
    if args.json {
        let mut value = user_detail_json(&user);
        value["authorized_apps"] = grants
            .iter()
            .map(
                |g| serde_json::json!({ "client_id": g.client_id, "scopes": g.scopes.to_string() }),
            )
            .collect();
        return Outcome::ok(value.to_string() + "\n");
    }
    let name = format!("{} {}", user.first_name, user.last_name);
    let mut text = format!(
        "{}\nname: {}\nemail verified: {}\njoined: {}\nlast sign-in: {}\n",
        user_line(&user),
        name.trim(),
        if user.email_verified { "yes" } else { "no" },
        rfc3339(user.date_joined),
        user.last_login.map_or("never".to_owned(), rfc3339),
    );
    if grants.is_empty() {
        text.push_str("authorized apps: none\n");
    } else {
        text.push_str("authorized apps:\n");
        for g in &grants {
            text.push_str(&format!(
                "  {} ({}): {}\n",
                g.app_name, g.client_id, g.scopes
            ));
        }
    }
    Outcome::ok(text)
}

/// `user set-password`.
pub async fn set_user_password(
    state: &AppState,
    args: &UserRef,
    password: Result<String, String>,
) -> Outcome {
    let password = match password {
        Ok(p) => p,
        Err(e) => return Outcome::fail(args.json, &e, None),
    };
    let user = match find_user(state, args).await {
        Ok(u) => u,
        Err(outcome) => return outcome,
    };
    let origin = Origin::command_line();
    match state
        .accounts
        .set_password(&user, &password, &origin, crate::http::now())
        .await
    {
        Ok(signed_out) if args.json => Outcome::ok(
            serde_json::json!({ "username": user.username, "sessions_ended": signed_out })
                .to_string()
                + "\n",
        ),
        Ok(signed_out) => Outcome::ok(format!(
            "Password of {} set; {signed_out} session(s) signed out.\n",
            user.username
        )),
        Err(FormError::Invalid(fields)) => {
            Outcome::fail(args.json, "the password was refused", Some(&fields))
        }
        Err(e) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

/// `user deactivate` and `user reactivate`.
pub async fn set_user_active(state: &AppState, args: &UserRef, active: bool) -> Outcome {
    let user = match find_user(state, args).await {
        Ok(u) => u,
        Err(outcome) => return outcome,
    };
    let kind = if active {
        EventKind::AccountReactivated
    } else {
        EventKind::AccountDeactivated
    };
    let event = cli_event(kind).user(user.id, &user.username);
    match state
        .accounts
        .store()
        .set_user_active(user.id, active, &event)
        .await
    {
        Ok(_) if args.json => Outcome::ok(
            serde_json::json!({ "username": user.username, "is_active": active }).to_string()
                + "\n",
        ),
        Ok(_) if active => Outcome::ok(format!("{} can sign in again.\n", user.username)),
        Ok(_) => Outcome::ok(format!(
            "{} is deactivated: signed out, its codes and tokens revoked.\n",
            user.username
        )),
        Err(e) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

/// `user send-reset`.
pub async fn send_reset(state: &AppState, args: &UserRef) -> Outcome {
    let user = match find_user(state, args).await {
        Ok(u) => u,
        Err(outcome) => return outcome,
    };
    if !user.is_active {
        return Outcome::fail(
            args.json,
            &format!("{} is deactivated: reactivate it first", user.username),
            None,
        );
    }
    if user.email.is_empty() {
        return Outcome::fail(
            args.json,
            &format!("{} has no email address", user.username),
            None,
        );
    }
    let event = cli_event(EventKind::PasswordResetRequested).detail("sent by an operator");
    match state
        .accounts
        .send_password_reset(&user, event, crate::http::now())
        .await
    {
        Ok(()) if args.json => Outcome::ok(
            serde_json::json!({ "username": user.username, "sent_to": user.email }).to_string()
                + "\n",
        ),
        Ok(()) => Outcome::ok(format!(
            "A password reset link for {} is queued for {}; the running server sends it.\n",
            user.username, user.email
        )),
        Err(e) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

/// A time given on the command line: Unix seconds, a date (midnight UTC)
/// or an RFC 3339 time.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let rfc3339 = time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(text, &date_format) {
        return Ok(d.midnight().assume_utc().unix_timestamp());
    }
    Err(format!(
        "{text:?} is not a time: use a date (2026-11-30), an RFC 3339 time \
         (2026-11-30T08:00:00Z) or Unix seconds"
    ))
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// `audit export`: every matching event, oldest first, written as it is
/// read (a page at a time), so a long trail never sits in memory.
pub async fn export_audit(state: &AppState, args: &AuditExportArgs) -> Outcome {
    use std::io::Write as _;
    let since = match args.since.as_deref().map(parse_time).transpose() {
        Ok(s) => s,
        Err(e) => return Outcome::fail(args.json, &e, None),
    };
    let kind = match args.kind.as_deref() {
        None => None,
        Some(k) => match EventKind::parse(k) {
            Some(kind) => Some(kind),
            None => {
                let known: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                let message = format!("unknown event kind {k:?}; known: {}", known.join(", "));
                return Outcome::fail(args.json, &message, None);
            }
        },
    };
    let mut filter = gatehouse::audit::EventFilter {
        username: args.user.clone(),
        client_id: args.client_id.clone(),
        kind,
        since,
        oldest_first: true,
        ..Default::default()
    };
    let stdout = std::io::stdout();
    loop {
        let page = match state.accounts.store().events(&filter, 1000).await {
            Ok(p) => p,
            Err(e) => return Outcome::fail(args.json, &e.to_string(), None),
        };
        let mut out = stdout.lock();
        for event in &page {
            let line = if args.json {
                serde_json::to_string(event).unwrap_or_default()
            } else {
                format!(
                    "{} {} {} {}",
                    rfc3339(event.at),
                    event.kind.as_str(),
                    if event.username.is_empty() {
                        "-"
                    } else {
                        &event.username
                    },
                    event.sentence()
                )
            };
            if writeln!(out, "{line}").is_err() {
                // The reader went away (`| head`): stop quietly.
                return Outcome::ok(String::new());
            }
        }
        match page.last() {
            Some(last) if page.len() == 1000 => filter.after_id = Some(last.id),
            _ => break,
        }
    }
    Outcome::ok(String::new())
}

/// An event made on the command line (no address; the agent says so).
fn cli_event(kind: EventKind) -> Event {
    Event::new(kind, crate::http::now(), &Origin::command_line())
}

/// `createsuperuser` and `user create`.
pub async fn create_user(
    state: &AppState,
    args: &UserArgs,
    password: Result<String, String>,
    staff: bool,
    superuser: bool,
) -> Outcome {
    let password = match password {
        Ok(p) => p,
        Err(e) => return Outcome::fail(args.json, &e, None),
    };
    let result = state
        .accounts
        .create_account(
            NewAccount {
                username: &args.username,
                email: &args.email,
                password: &password,
                is_staff: staff || superuser,
                is_superuser: superuser,
            },
            FieldErrors::default(),
            &cli_event(EventKind::SignedUp).detail("command line"),
        )
        .await;
    match result {
        Ok(user) if args.json => Outcome::ok(user_json(&user).to_string() + "\n"),
        Ok(user) => Outcome::ok(format!(
            "Created {} {} <{}> (id {}).\n",
            if superuser {
                "superuser"
            } else if staff {
                "staff user"
            } else {
                "user"
            },
            user.username,
            user.email,
            user.id
        )),
        Err(FormError::Invalid(fields)) => {
            Outcome::fail(args.json, "invalid account details", Some(&fields))
        }
        Err(FormError::Throttled(_)) => Outcome::fail(args.json, "throttled", None),
        Err(FormError::Busy) => Outcome::fail(args.json, "busy", None),
        // The command line creates accounts whatever the sign-up policy.
        Err(FormError::Closed) => Outcome::fail(args.json, "sign-up is closed", None),
        Err(FormError::Internal(e)) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

/// Loads configuration for a command.
pub fn load_config(cli: &Cli) -> Result<Config, String> {
    Config::load(cli.config.as_deref()).map_err(|e| e.to_string())
}

/// `app create`.
pub async fn create_app(state: &AppState, args: &AppCreateArgs) -> Outcome {
    use gatehouse::oauth::registration::{validate, Registration};
    use gatehouse::store::ApplicationError;
    let store = state.oauth.store();
    let owner_id = match &args.owner {
        None => None,
        Some(name) => match store.user_by_login(name).await {
            Ok(Some(u)) => Some(u.id),
            Ok(None) => {
                return Outcome::fail(
                    args.json,
                    "invalid application details",
                    Some(&FieldErrors::one(
                        "owner",
                        format!("no account is named {name:?}"),
                    )),
                )
            }
            Err(e) => return Outcome::fail(args.json, &e.to_string(), None),
        },
    };
    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let form = Registration {
        name: &args.name,
        client_type: &args.client_type,
        grant_types: strs(&args.grant_types),
        redirect_uris: strs(&args.redirect_uris),
        post_logout_redirect_uris: strs(&args.post_logout_redirect_uris),
        allowed_origins: strs(&args.allowed_origins),
        scopes: &args.scopes,
        skip_consent: args.skip_consent,
        allow_plain_pkce: args.allow_plain_pkce,
        algorithm: &args.algorithm,
        client_id: args.client_id.as_deref(),
        client_secret: args.client_secret.as_deref(),
        allow_weak_secret: args.allow_weak_secret,
        kept_redirect_uris: Vec::new(),
        owner_id,
    };
    let (app, secret) = match validate(&form, crate::http::now()) {
        Ok(v) => v,
        Err(fields) => {
            return Outcome::fail(args.json, "invalid application details", Some(&fields))
        }
    };
    let event = cli_event(EventKind::AppCreated)
        .client(&app.client_id)
        .detail(format!("{} ({})", app.name, app.client_type.as_str()));
    let app = match store.create_application(&app, &event).await {
        Ok(a) => a,
        Err(ApplicationError::ClientIdTaken) => {
            return Outcome::fail(
                args.json,
                "invalid application details",
                Some(&FieldErrors::one(
                    "client_id",
                    "another application has this client id",
                )),
            )
        }
        Err(ApplicationError::Store(e)) => return Outcome::fail(args.json, &e.to_string(), None),
    };
    if args.json {
        let mut value = app_json(&app);
        value["client_secret"] = serde_json::json!(secret);
        return Outcome::ok(value.to_string() + "\n");
    }
    let mut out = format!(
        "Registered {} ({} client, id {}).\nclient_id: {}\n",
        app.name,
        app.client_type.as_str(),
        app.id,
        app.client_id
    );
    if let Some(secret) = secret {
        out.push_str(&format!(
            "client_secret: {secret}\nKeep the secret now: Gatehouse stores only its hash and cannot show it again.\n"
        ));
        if app.weak_secret {
            out.push_str(
                "warning: this secret is shorter than 32 characters; rotate it \
                 (gatehouse app rotate-secret) when the client can take a new one.\n",
            );
        }
    }
    Outcome::ok(out)
}

/// `cleartokens`.
pub async fn clear_tokens(state: &AppState, json: bool) -> Outcome {
    match state.oauth.clear_expired(crate::http::now()).await {
        Ok(n) if json => Outcome::ok(serde_json::json!({ "removed": n }).to_string() + "\n"),
        Ok(n) => Outcome::ok(format!("Removed {n} expired tokens and codes.\n")),
        Err(e) => Outcome::fail(json, &e.to_string(), None),
    }
}

fn app_json(app: &gatehouse::oauth::client::Application) -> serde_json::Value {
    let grant_types: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
    serde_json::json!({
        "id": app.id,
        "client_id": app.client_id,
        "name": app.name,
        "client_type": app.client_type.as_str(),
        "grant_types": grant_types,
        "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "allowed_origins": app.allowed_origins,
        "scopes": app.scopes.to_string(),
        "skip_consent": app.skip_consent,
        "allow_plain_pkce": app.allow_plain_pkce,
        "algorithm": app.algorithm.as_str(),
        "owner_id": app.owner_id,
        "created_at": app.created_at,
        "weak_secret": app.weak_secret,
    })
}

fn app_text(app: &gatehouse::oauth::client::Application) -> String {
    let grant_types: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
    format!(
        "{name}\n  client_id: {id}\n  client_type: {ty}\n  grant_types: {grants}\n  \
         redirect_uris: {redirects}\n  allowed_origins: {origins}\n  scopes: {scopes}\n  \
         skip_consent: {skip}\n  algorithm: {alg}\n",
        name = app.name,
        id = app.client_id,
        ty = app.client_type.as_str(),
        grants = grant_types.join(" "),
        redirects = app.redirect_uris.join(" "),
        origins = app.allowed_origins.join(" "),
        scopes = app.scopes,
        skip = app.skip_consent,
        alg = app.algorithm.as_str(),
    )
}

/// `app list`.
pub async fn list_apps(state: &AppState, json: bool) -> Outcome {
    match state.oauth.store().applications(None).await {
        Ok(apps) if json => Outcome::ok(
            serde_json::Value::Array(apps.iter().map(app_json).collect()).to_string() + "\n",
        ),
        Ok(apps) if apps.is_empty() => Outcome::ok("No applications.\n".into()),
        Ok(apps) => Outcome::ok(apps.iter().map(app_text).collect()),
        Err(e) => Outcome::fail(json, &e.to_string(), None),
    }
}

/// `app show|rotate-secret|delete`: finds the app first.
async fn find_app(
    state: &AppState,
    args: &AppRef,
) -> Result<gatehouse::oauth::client::Application, Outcome> {
    match state
        .oauth
        .store()
        .application_by_client_id(&args.client_id)
        .await
    {
        Ok(Some(app)) => Ok(app),
        Ok(None) => Err(Outcome::fail(
            args.json,
            &format!("no application has client id {:?}", args.client_id),
            None,
        )),
        Err(e) => Err(Outcome::fail(args.json, &e.to_string(), None)),
    }
}

pub async fn show_app(state: &AppState, args: &AppRef) -> Outcome {
    match find_app(state, args).await {
        Ok(app) if args.json => Outcome::ok(app_json(&app).to_string() + "\n"),
        Ok(app) => Outcome::ok(app_text(&app)),
        Err(outcome) => outcome,
    }
}

pub async fn rotate_app_secret(state: &AppState, args: &AppRef) -> Outcome {
    let app = match find_app(state, args).await {
        Ok(app) => app,
        Err(outcome) => return outcome,
    };
    let event = cli_event(EventKind::AppSecretRotated).client(&app.client_id);
    match state.oauth.rotate_secret(&app, &event).await {
        Ok(Some(secret)) if args.json => Outcome::ok(
            serde_json::json!({ "client_id": app.client_id, "client_secret": secret }).to_string()
                + "\n",
        ),
        Ok(Some(secret)) => Outcome::ok(format!(
            "New secret for {}:\nclient_secret: {secret}\nThe old secret no longer works. \
             Keep this one now: Gatehouse stores only its hash and cannot show it again.\n",
            app.client_id
        )),
        Ok(None) if app.is_public() => {
            Outcome::fail(args.json, "public applications have no secret", None)
        }
        Ok(None) => Outcome::fail(
            args.json,
            &format!("no application has client id {:?}", args.client_id),
            None,
        ),
        Err(e) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

pub async fn delete_app(state: &AppState, args: &AppRef) -> Outcome {
    let app = match find_app(state, args).await {
        Ok(app) => app,
        Err(outcome) => return outcome,
    };
    let event = cli_event(EventKind::AppDeleted)
        .client(&app.client_id)
        .detail(&app.name);
    match state.oauth.delete_app(&app, &event).await {
        Ok(false) => Outcome::fail(
            args.json,
            &format!("no application has client id {:?}", args.client_id),
            None,
        ),
        Ok(true) if args.json => {
            Outcome::ok(serde_json::json!({ "deleted": app.client_id }).to_string() + "\n")
        }
        Ok(true) => Outcome::ok(format!(
            "Deleted {} ({}) and every token issued to it.\n",
            app.name, app.client_id
        )),
        Err(e) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

/// `keys rotate`.
pub async fn rotate_keys(state: &AppState, algorithm: Option<&str>, json: bool) -> Outcome {
    use gatehouse::oauth::client::SigningAlgorithm;
    use gatehouse::oidc::keyring::{rotate, ALGORITHMS};
    let algs: Vec<SigningAlgorithm> = match algorithm {
        None => ALGORITHMS.to_vec(),
        Some(a) => match SigningAlgorithm::parse(a) {
            Some(alg) => vec![alg],
            None => {
                return Outcome::fail(
                    json,
                    "invalid algorithm",
                    Some(&FieldErrors::one(
                        "algorithm",
                        "choose RS256, ES256 or EdDSA",
                    )),
                )
            }
        },
    };
    // Old keys stay published while tokens they signed may still be live:
    // other servers sign with them until their next reload.
    let publish_for =
        state.config.access_token_lifetime_secs + state.config.key_refresh_secs as i64 + 300;
    match rotate(
        state.oauth.store(),
        &algs,
        crate::http::now(),
        publish_for,
        &state.sealer,
    )
    .await
    {
        Ok(kids) if json => Outcome::ok(
            serde_json::Value::Array(
                kids.iter()
                    .map(|(alg, kid)| serde_json::json!({ "algorithm": alg.as_str(), "kid": kid }))
                    .collect(),
            )
            .to_string()
                + "\n",
        ),
        Ok(kids) => Outcome::ok(
            kids.iter()
                .map(|(alg, kid)| {
                    format!(
                        "New {} key {kid}; the previous one stays published for {publish_for} s.\n",
                        alg.as_str()
                    )
                })
                .collect(),
        ),
        Err(e) => Outcome::fail(json, &e.to_string(), None),
    }
}

/// `import django`: opens Gatehouse's database (migrating it) and imports.
pub async fn import_django(config: &Config, args: &DjangoImportArgs) -> Outcome {
    let pool = crate::store::PoolSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(config.database_acquire_timeout_secs),
    };
    let store = match crate::store::open_sql(&config.database_url, &pool).await {
        Ok(s) => s,
        Err(e) => return Outcome::fail(args.json, &e.to_string(), None),
    };
    let options = crate::import::Options {
        database: args.database.clone(),
        user_table: args.user_table.clone(),
        dry_run: args.dry_run,
        refresh_lifetime: config.refresh_token_lifetime_secs,
    };
    // Progress on a terminal only: scripts read the summary.
    let on_terminal = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |p: crate::import::Progress<'_>| {
        if !on_terminal {
            return;
        }
        match p {
            crate::import::Progress::Step(step) => eprintln!("{step}…"),
            crate::import::Progress::Rows { what, done, total } => {
                const WIDTH: usize = 30;
                let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
                eprint!(
                    "\r{what:<7} [{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(WIDTH - filled.min(WIDTH))
                );
                if done >= total {
                    eprintln!();
                }
            }
        }
    };
    match crate::import::run(&store, &options, crate::http::now(), &progress).await {
        Ok(summary) if args.json => {
            Outcome::ok(serde_json::to_string(&summary).unwrap_or_default() + "\n")
        }
        Ok(summary) => Outcome::ok(summary.text()),
        Err(e) => Outcome::fail(args.json, &e.to_string(), None),
    }
}
