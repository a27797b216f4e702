//! The audit trail: what happened to an account or an app, when, from
//! where and by whom. Each event that records a change is written in the
//! same transaction as the change (see the storage traits), so the trail
//! never shows a change that did not happen nor misses one that did.
//!
//! People see their own events in words ([`Event::sentence`]); staff
//! search everyone's; operators export them as JSON lines.

use serde::{Deserialize, Serialize};

/// Where a request came from: the client address (after trusted proxies)
/// and the user agent, trimmed to a sane length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub address: String,
    pub user_agent: String,
}

/// The longest user agent kept; longer ones are cut.
pub const MAX_USER_AGENT: usize = 256;

/// The user agent of changes made with the `gatehouse` command.
const COMMAND_LINE: &str = "gatehouse command line";

impl Origin {
    pub fn new(address: impl Into<String>, user_agent: &str) -> Self {
        Self {
            address: address.into(),
            user_agent: clean(user_agent, MAX_USER_AGENT),
        }
    }

    /// A change made on the command line, where there is no address.
    pub fn command_line() -> Self {
        Self {
            address: String::new(),
            user_agent: COMMAND_LINE.into(),
        }
    }
}

/// `text` without control characters, at most `max` bytes (on a
/// character boundary).
fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

macro_rules! kinds {
    ($($variant:ident => $name:literal, $words:literal;)*) => {
        /// What happened. Stored and exported by its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EventKind {
            $($variant,)*
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }

            /// What a person reads: "Signed in", "Password changed".
            pub fn words(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $words,)*
                }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    SignedIn => "signed_in", "Signed in";
    SignInFailed => "sign_in_failed", "Failed sign-in";
    SignInThrottled => "sign_in_throttled", "Sign-in refused: too many attempts";
    SignedUp => "signed_up", "Account created";
    ProfileChanged => "profile_changed", "Profile changed";
    PasswordChanged => "password_changed", "Password changed";
    AccountDeleted => "account_deleted", "Account deleted";
    AccountDeactivated => "account_deactivated", "Account deactivated";
    AccountReactivated => "account_reactivated", "Account reactivated";
    SignedOutEverywhere => "signed_out_everywhere", "Signed out everywhere";
    StaffGranted => "staff_granted", "Given staff rights";
    StaffRemoved => "staff_removed", "Staff rights removed";
    ConsentGiven => "consent_given", "Allowed an app";
    ConsentWithdrawn => "consent_withdrawn", "Withdrew an app's access";
    DeviceApproved => "device_approved", "Approved a device";
    DeviceDenied => "device_denied", "Denied a device";
    AppCreated => "app_created", "Registered an app";
    AppChanged => "app_changed", "Changed an app";
    AppSecretRotated => "app_secret_rotated", "Made a new client secret";
    AppDeleted => "app_deleted", "Deleted an app";
    TokenReused => "token_reused", "A used token was presented again: its tokens were revoked";
    PasswordResetRequested => "password_reset_requested", "Password reset link sent";
    PasswordReset => "password_reset", "Password reset with an emailed link";
    VerificationSent => "verification_sent", "Verification link sent";
    EmailVerified => "email_verified", "Email address verified";
}

/// One event, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Assigned by the store (0 before).
    #[serde(default)]
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub kind: EventKind,
    /// The account it concerns, if any (kept after the account is gone).
    pub user_id: Option<i64>,
    /// That account's username when the event happened.
    pub username: String,
    /// Who did it, when not the account itself (staff, an app's owner).
    pub actor_id: Option<i64>,
    pub actor_username: String,
    /// The app it concerns, if any.
    pub client_id: Option<String>,
    pub address: String,
    pub user_agent: String,
    /// More about it: the sign-in method, the scopes allowed, the fields
    /// changed. Never a secret.
    pub detail: String,
}

/// The longest detail kept.
pub const MAX_DETAIL: usize = 500;

impl Event {
    /// An event about `user` (id, username) from `origin`.
    pub fn new(kind: EventKind, at: i64, origin: &Origin) -> Self {
        Self {
            id: 0,
            at,
            kind,
            user_id: None,
            username: String::new(),
            actor_id: None,
            actor_username: String::new(),
            client_id: None,
            address: origin.address.clone(),
            user_agent: origin.user_agent.clone(),
            detail: String::new(),
        }
    }

    pub fn user(mut self, id: i64, username: &str) -> Self {
        self.user_id = Some(id);
        self.username = username.to_owned();
        self
    }

    pub fn actor(mut self, id: i64, username: &str) -> Self {
        self.actor_id = Some(id);
        self.actor_username = username.to_owned();
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn detail(mut self, detail: impl AsRef<str>) -> Self {
        self.detail = clean(detail.as_ref(), MAX_DETAIL);
        self
    }

    /// The event in words, for the person it concerns: "Signed in from
    /// 192.0.2.4, Firefox on Linux".
    pub fn sentence(&self) -> String {
        let mut s = self.kind.words().to_owned();
        if let Some(client) = &self.client_id {
            s.push_str(&format!(" ({client})"));
        }
        if !self.actor_username.is_empty() && self.actor_id != self.user_id {
            s.push_str(&format!(" by {}", self.actor_username));
        }
        match (self.address.is_empty(), self.user_agent.is_empty()) {
            (false, false) => s.push_str(&format!(
                " from {}, {}",
                self.address,
                describe_agent(&self.user_agent)
            )),
            (false, true) => s.push_str(&format!(" from {}", self.address)),
            (true, false) if self.user_agent == COMMAND_LINE => s.push_str(" on the command line"),
            (true, false) => s.push_str(&format!(", {}", describe_agent(&self.user_agent))),
            (true, true) => {}
        }
        s
    }

    /// The structured log line every event also becomes (for a SIEM).
    #[cfg(feature = "server")]
    pub fn log(&self) {
        tracing::info!(
            target: "gatehouse::audit",
            event = self.kind.as_str(),
            user_id = self.user_id,
            username = %self.username,
            actor_id = self.actor_id,
            client_id = self.client_id.as_deref(),
            address = %self.address,
            user_agent = %self.user_agent,
            detail = %self.detail,
            "audit"
        );
    }
}

/// What an audit search asks for; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub user_id: Option<i64>,
    /// The account's username at the time (exact, any case).
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<EventKind>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Only events older than this id (paging, newest first).
    pub before_id: Option<i64>,
    /// Only events newer than this id (paging, oldest first).
    pub after_id: Option<i64>,
    /// Oldest first (an export), instead of newest first (a page).
    pub oldest_first: bool,
}

/// A user agent in a few words: "Firefox on Linux", "curl".
pub fn describe_agent(user_agent: &str) -> String {
    let ua = user_agent;
    let has = |needle: &str| ua.contains(needle);
    let browser = if has("Edg/") {
        Some("Edge")
    } else if has("OPR/") {
        Some("Opera")
    } else if has("Firefox/") {
        Some("Firefox")
    } else if has("Chromium/") {
        Some("Chromium")
    } else if has("HeadlessChrome/") {
        Some("Headless Chrome")
    } else if has("Chrome/") {
        Some("Chrome")
    } else if has("Safari/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("Windows") {
        Some("Windows")
    } else if has("Android") {
        Some("Android")
    } else if has("iPhone") || has("iPad") {
        Some("iOS")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("a program on {s}"),
        // A tool names itself first: `curl/8.5.0`, `python-requests/2.31`.
        (None, None) => {
            let name = ua
                .split(['/', ' '])
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or("an unknown program");
            clean(name, 40)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn agents_in_words() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_agent(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                      (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(describe_agent(chrome), "Chrome on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_agent(safari), "Safari on iOS");
        assert_eq!(describe_agent("curl/8.5.0"), "curl");
        assert_eq!(describe_agent(""), "an unknown program");
    }

    #[test]
    fn sentences_say_what_where_and_who() {
        let origin = Origin::new("192.0.2.4", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
        let e = Event::new(EventKind::SignedIn, 0, &origin).user(1, "ada");
        assert_eq!(e.sentence(), "Signed in from 192.0.2.4, Firefox on Linux");
        let e = Event::new(EventKind::AccountDeactivated, 0, &origin)
            .user(1, "ada")
            .actor(2, "root");
        assert!(e.sentence().starts_with("Account deactivated by root from"));
        let e = Event::new(EventKind::ConsentGiven, 0, &Origin::default())
            .user(1, "ada")
            .client("photos");
        assert_eq!(e.sentence(), "Allowed an app (photos)");
        let e = Event::new(EventKind::SignedUp, 0, &Origin::command_line()).user(1, "ada");
        assert_eq!(e.sentence(), "Account created on the command line");
    }

    #[test]
    fn hostile_values_are_trimmed_and_stripped() {
        let origin = Origin::new("198.51.100.1", &format!("a\0b\r\n{}", "x".repeat(10_000)));
        assert!(origin.user_agent.starts_with("ab"));
        assert_eq!(origin.user_agent.len(), MAX_USER_AGENT);
        let e = Event::new(EventKind::ProfileChanged, 0, &origin).detail("é".repeat(1000));
        assert!(e.detail.len() <= MAX_DETAIL);
        assert!(e.detail.chars().all(|c| c == 'é'));
    }
}
