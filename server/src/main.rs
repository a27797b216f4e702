//! `gatehouse`: serve, migrate, and provision accounts.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gatehouse_server::cli::{
    self, AppCommand, AuditCommand, Cli, Command, ImportCommand, KeysCommand, UserCommand,
};
use gatehouse_server::config::Config;

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// glibc gives threads that allocate their own arenas (up to 8 per core)
/// and keeps what they free: with the database's connection threads and
/// the hashing threads, resident memory grew with load and stayed (82 MiB
/// peak under bench/all, 75 MiB with this). One arena per core bounds it;
/// `MALLOC_ARENA_MAX` in the environment still decides.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 64);
        // SAFETY: mallopt only sets an allocator parameter; it is called
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli::load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    let options = match gatehouse_server::leptos_options(&config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = config.bind;
    let state = match gatehouse_server::build_state(config, options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Serve => {
            let listener = match tokio::net::TcpListener::bind(bind).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: cannot listen on {bind}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(%bind, public_url = %state.config.public_url, "serving");
            return match gatehouse_server::serve(state, listener).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Migrate => {
            // build_state already applied the migrations.
            println!("Migrations applied.");
            return ExitCode::SUCCESS;
        }
        Command::Createsuperuser(args) => {
            let password = cli::read_password(args.password_stdin, std::io::stdin());
            cli::create_user(&state, args, password, true, true).await
        }
        Command::User(UserCommand::Create { user, staff }) => {
            let password = cli::read_password(user.password_stdin, std::io::stdin());
            cli::create_user(&state, user, password, *staff, false).await
        }
        Command::User(UserCommand::List { search, json }) => {
            cli::list_users(&state, search, *json).await
        }
        Command::User(UserCommand::Show(args)) => cli::show_user(&state, args).await,
        Command::User(UserCommand::SetPassword {
            user,
            password_stdin,
        }) => {
            let password = cli::read_password(*password_stdin, std::io::stdin());
            cli::set_user_password(&state, user, password).await
        }
        Command::User(UserCommand::Deactivate(args)) => {
            cli::set_user_active(&state, args, false).await
        }
        Command::User(UserCommand::Reactivate(args)) => {
            cli::set_user_active(&state, args, true).await
        }
        Command::User(UserCommand::SendReset(args)) => cli::send_reset(&state, args).await,
        Command::App(AppCommand::Create(args)) => cli::create_app(&state, args).await,
        Command::App(AppCommand::List { json }) => cli::list_apps(&state, *json).await,
        Command::App(AppCommand::Show(args)) => cli::show_app(&state, args).await,
        Command::App(AppCommand::RotateSecret(args)) => cli::rotate_app_secret(&state, args).await,
        Command::App(AppCommand::Delete(args)) => cli::delete_app(&state, args).await,
        Command::Import(ImportCommand::Django(args)) => {
            cli::import_django(&state.config, args).await
        }
        Command::Cleartokens { json } => cli::clear_tokens(&state, *json).await,
        Command::Audit(AuditCommand::Export(args)) => cli::export_audit(&state, args).await,
        Command::Keys(KeysCommand::Rotate { algorithm, json }) => {
            cli::rotate_keys(&state, algorithm.as_deref(), *json).await
        }
    };
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.code as u8)
}
