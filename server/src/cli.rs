//! The `gatehouse` command line.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gatehouse::account::service::NewAccount;
use gatehouse::account::{FieldErrors, FormError};
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
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[arg(long)]
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
pub fn read_password(args: &UserArgs, input: impl Read) -> Result<String, String> {
    if !args.password_stdin {
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
        "date_joined": user.date_joined,
    })
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
            crate::portal::now(),
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
        Err(FormError::Internal(e)) => Outcome::fail(args.json, &e.to_string(), None),
    }
}

/// Loads configuration for a command.
pub fn load_config(cli: &Cli) -> Result<Config, String> {
    Config::load(cli.config.as_deref()).map_err(|e| e.to_string())
}
