//! Signs a person in from the command line with the device flow (RFC 8628)
//! and prints their profile: what an institute's command-line tool does
//! with Gatehouse.
//!
//! ```text
//! cargo run -p gatehouse-server --example device_login -- \
//!     --issuer http://127.0.0.1:3000 --client-id my-cli
//! ```
//!
//! The app must be registered with the `device_code` grant (public, or
//! confidential with `GATEHOUSE_CLIENT_SECRET` set). The program finds the
//! endpoints through discovery, shows the code and where to enter it,
//! polls until the person decides (keeping to the server's interval and
//! slowing down when told), then calls `/api/me/` with the access token.
//!
//! Exit status: 0 signed in; 1 the person refused or the code expired;
//! 2 anything else (bad arguments, server errors), with the reason.

use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

#[derive(Parser)]
#[command(about = "Sign in to Gatehouse with the device flow and print your profile")]
struct Args {
    /// Gatehouse's public URL (the issuer), e.g. https://id.example.org
    #[arg(long)]
    issuer: String,
    #[arg(long, allow_hyphen_values = true)]
    client_id: String,
    /// For confidential apps; better given through the environment.
    #[arg(long, env = "GATEHOUSE_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Space-separated scopes; `read` is needed to print the profile.
    #[arg(long, default_value = "openid profile email read")]
    scope: String,
}

#[derive(Deserialize)]
struct Discovery {
    device_authorization_endpoint: String,
    token_endpoint: String,
}

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: u64,
    interval: Option<u64>,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

enum Failure {
    /// Refused or expired: the person can start again.
    Ended(String),
    Other(String),
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        Failure::Other(format!("request failed: {e}"))
    }
}

/// Adds the client's credentials to a form.
fn with_client<'a>(args: &'a Args, mut form: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    form.push(("client_id", &args.client_id));
    if let Some(secret) = &args.client_secret {
        form.push(("client_secret", secret));
    }
    form
}

async fn error_of(response: reqwest::Response) -> String {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(e) => format!("{} ({status}): {}", e.error, e.error_description),
        Err(_) => format!("unexpected answer {status}"),
    }
}

async fn run(args: &Args) -> Result<(), Failure> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let issuer = args.issuer.trim_end_matches('/');
    let discovery: Discovery = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;

    let response = http
        .post(&discovery.device_authorization_endpoint)
        .form(&with_client(args, vec![("scope", &args.scope)]))
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(Failure::Other(error_of(response).await));
    }
    let device: DeviceAuthorization = response.json().await?;
    println!(
        "To sign in, open {} and enter the code {}",
        device.verification_uri, device.user_code
    );
    if let Some(complete) = &device.verification_uri_complete {
        println!("Or open {complete}");
    }
    println!("user_code: {}", device.user_code);

    let mut interval = device.interval.unwrap_or(5).max(1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(device.expires_in);
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let tokens: Tokens = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if tokio::time::Instant::now() > deadline {
            return Err(Failure::Ended(
                "the code expired before anyone entered it".into(),
            ));
        }
        let response = http
            .post(&discovery.token_endpoint)
            .form(&with_client(
                args,
                vec![("grant_type", grant), ("device_code", &device.device_code)],
            ))
            .send()
            .await?;
        if response.status().is_success() {
            break response.json().await?;
        }
        let status = response.status();
        let error = response
            .json::<ErrorBody>()
            .await
            .map_err(|_| Failure::Other(format!("unexpected answer {status}")))?;
        match error.error.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += 5,
            "access_denied" => return Err(Failure::Ended("access was refused".into())),
            "expired_token" => return Err(Failure::Ended("the code expired".into())),
            _ => {
                return Err(Failure::Other(format!(
                    "{} ({status}): {}",
                    error.error, error.error_description
                )))
            }
        }
    };
    println!("Signed in (scope: {}).", tokens.scope);

    let response = http
        .get(format!("{issuer}/api/me/"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(Failure::Other(error_of(response).await));
    }
    let profile: serde_json::Value = response.json().await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&profile).unwrap_or_default()
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Failure::Ended(why)) => {
            eprintln!("device_login: {why}");
            std::process::ExitCode::from(1)
        }
        Err(Failure::Other(why)) => {
            eprintln!("device_login: {why}");
            std::process::ExitCode::from(2)
        }
    }
}
