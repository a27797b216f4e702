//! Sending the mail queued in the database: over SMTP (`smtp_url`), or as
//! `.eml` files in `mail_outbox` when no mail server is set.
//!
//! Requests only queue messages (in the transaction that makes the link
//! they carry); one background task per process sends them, so a slow or
//! dead mail server never holds a page, and a restart loses nothing. A
//! failed message is tried again later, the wait doubling from
//! `mail_retry_secs` up to an hour, and given up after
//! [`MAX_ATTEMPTS`] tries or a permanent refusal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gatehouse::mail::OutgoingMail;
use gatehouse::store::{QueuedMail, Store};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::config::Config;

/// Tries before a message is given up.
pub const MAX_ATTEMPTS: u32 = 20;
/// How long a claimed message is hidden from other senders.
const LEASE_SECS: i64 = 120;
/// Messages claimed at once.
const BATCH: i64 = 10;
/// How often the queue is looked at without being woken (retries that
/// fell due, messages queued by another replica).
const POLL: Duration = Duration::from_secs(2);
/// The longest a mail server may take to answer.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder of `.eml` files (no mail server configured).
    Outbox(PathBuf),
}

/// Checks the mail settings at start-up, so a typo stops the server with a
/// clear message rather than failing every mail later.
pub fn check_settings(config: &Config) -> Result<(), String> {
    config
        .mail_from
        .parse::<Mailbox>()
        .map_err(|e| format!("mail_from {:?} is not an address: {e}", config.mail_from))?;
    if let Some(url) = &config.smtp_url {
        transport(config).map_err(|e| {
            format!(
                "smtp_url must be smtp://HOST:PORT or smtps://HOST:PORT (optionally with \
                 USER:PASSWORD@ and ?tls=required): {e} (in {})",
                redact(url)
            )
        })?;
    }
    Ok(())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(not a URL)".into(),
    }
}

/// The transport the settings name.
pub fn transport(config: &Config) -> Result<Transport, String> {
    match &config.smtp_url {
        None => Ok(Transport::Outbox(PathBuf::from(&config.mail_outbox))),
        Some(url) => {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err("unsupported scheme".into());
            }
            let builder =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| e.to_string())?;
            Ok(Transport::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build()))
        }
    }
}

/// The sender: settings, transport, and the bell requests ring after
/// queueing.
pub struct Sender {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub from: Mailbox,
    pub retry_secs: i64,
    pub wake: Arc<Notify>,
    /// The public URL, to find the link in a message (outbox log lines).
    pub base_url: String,
}

/// Why one message was not sent.
struct Failure {
    message: String,
    /// Retrying cannot help (a malformed address, a permanent SMTP
    /// refusal).
    permanent: bool,
}

impl Sender {
    /// Sends what is due, then waits for a bell or the poll interval;
    /// forever.
    pub async fn run(self) {
        loop {
            let drained = self.send_due().await;
            if !drained {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Sends one batch of due messages; false when more may be waiting.
    pub async fn send_due(&self) -> bool {
        let now = crate::http::now();
        let batch = match self.store.claim_mail(now, now + LEASE_SECS, BATCH).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "mail queue unreadable");
                return true;
            }
        };
        let full = batch.len() as i64 == BATCH;
        for queued in batch {
            self.deliver(queued).await;
        }
        !full
    }

    async fn deliver(&self, queued: QueuedMail) {
        let result = self.send(&queued).await;
        let outcome = match result {
            Ok(()) => self.store.mail_sent(queued.id).await,
            Err(failure) => {
                let tries = queued.attempts + 1;
                let retry_at = (!failure.permanent && tries < MAX_ATTEMPTS).then(|| {
                    let wait = self
                        .retry_secs
                        .saturating_mul(1i64 << queued.attempts.min(20))
                        .min(3600);
                    crate::http::now() + wait
                });
                match retry_at {
                    Some(at) => tracing::warn!(
                        id = queued.id,
                        tries,
                        retry_in = at - crate::http::now(),
                        error = %failure.message,
                        "mail not sent; will try again"
                    ),
                    None => tracing::error!(
                        id = queued.id,
                        tries,
                        error = %failure.message,
                        "mail not sent; giving up"
                    ),
                }
                self.store
                    .mail_failed(queued.id, retry_at, &failure.message)
                    .await
            }
        };
        if let Err(e) = outcome {
            tracing::warn!(id = queued.id, error = %e, "mail queue not updated");
        }
    }

    async fn send(&self, queued: &QueuedMail) -> Result<(), Failure> {
        let message = build(&self.from, &queued.mail).map_err(|message| Failure {
            message,
            permanent: true,
        })?;
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => {
                    tracing::info!(id = queued.id, "mail sent");
                    Ok(())
                }
                Err(e) => Err(Failure {
                    permanent: e.is_permanent(),
                    message: e.to_string(),
                }),
            },
            Transport::Outbox(dir) => {
                let path = write_eml(dir, queued.id, &message.formatted())
                    .await
                    .map_err(|e| Failure {
                        message: format!("cannot write to {}: {e}", dir.display()),
                        permanent: false,
                    })?;
                tracing::info!(
                    to = %queued.mail.to,
                    subject = %queued.mail.subject,
                    link = self.link_in(&queued.mail.text).unwrap_or("(none)"),
                    file = %path.display(),
                    "mail written to the outbox (no smtp_url is set)"
                );
                Ok(())
            }
        }
    }

    /// The first link to this site in a message's text.
    fn link_in<'a>(&self, text: &'a str) -> Option<&'a str> {
        text.split_whitespace()
            .find(|w| w.starts_with(&self.base_url))
    }
}

/// The MIME message: plain text and HTML alternatives.
fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, String> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| format!("recipient {:?}: {e}", mail.to))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| e.to_string())
}

/// Writes the message whole (a temporary file renamed into place), so a
/// reader never sees half of one.
async fn write_eml(dir: &std::path::Path, id: i64, bytes: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!("{}-{id}.eml", crate::http::now());
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_at_start() {
        let mut config = Config::default();
        assert!(check_settings(&config).is_ok());
        config.mail_from = "not an address".into();
        assert!(check_settings(&config).is_err());
        config.mail_from = "Lab <id@lab.example>".into();
        config.smtp_url = Some("http://mail.lab.example".into());
        assert!(check_settings(&config).is_err());
        config.smtp_url = Some("smtp://user:secret@mail.lab.example:2525".into());
        assert!(check_settings(&config).is_ok());
        config.smtp_url = Some("smtps://:::".into());
        let e = check_settings(&config).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("smtp://u:hunter2@mail.example:25"),
            "smtp://u:***@mail.example:25"
        );
    }

    #[test]
    fn messages_have_both_bodies() {
        let from: Mailbox = "Gatehouse <id@lab.example>".parse().unwrap();
        let mail = gatehouse::mail::verify_email(
            &gatehouse::mail::Site { name: "Lab".into() },
            "ada@lab.example",
            "http://127.0.0.1/accounts/confirm-email/MQ/x/",
            3600,
        );
        let raw = String::from_utf8(build(&from, &mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain"));
        assert!(raw.contains("text/html"));
        assert!(raw.contains("To: ada@lab.example"));
        assert!(build(
            &from,
            &OutgoingMail {
                to: "nope".into(),
                ..mail
            }
        )
        .is_err());
    }
}
