//! The mail Gatehouse sends: what each message says, as plain text and
//! HTML. Sending is the server's (a queue in the database, a background
//! worker); this module only writes the messages, so they can be tested
//! without a mail server.
//!
//! A message holds nothing secret except its one-time link.

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What every message names: the site, as people know it.
#[derive(Debug, Clone)]
pub struct Site {
    /// Shown in subjects and greetings ("Gatehouse", or the institute's).
    pub name: String,
}

/// Escapes text for HTML element content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A message of paragraphs with one button-like link (if any) after the
/// first paragraph. Plain text and HTML say the same.
fn compose(
    site: &Site,
    to: &str,
    subject: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> OutgoingMail {
    let subject = format!("{}: {subject}", site.name);
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:sans-serif;line-height:1.5\">",
        escape(&subject)
    );
    for (i, p) in paragraphs.iter().enumerate() {
        text.push_str(p);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(p)));
        if i == 0 {
            if let Some((label, url)) = link {
                text.push_str(url);
                text.push_str("\n\n");
                html.push_str(&format!(
                    "<p><a href=\"{}\">{}</a></p><p style=\"font-size:small\">{}</p>",
                    escape(url),
                    escape(label),
                    escape(url)
                ));
            }
        }
    }
    text.push_str(&format!("-- \n{}\n", site.name));
    html.push_str(&format!(
        "<p style=\"color:#666\">{}</p></body></html>",
        escape(&site.name)
    ));
    OutgoingMail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// How long a link stays valid, in words.
pub fn duration_words(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if seconds % 86_400 == 0 && seconds >= 86_400 {
        plural(seconds / 86_400, "day")
    } else if seconds % 3600 == 0 && seconds >= 3600 {
        plural(seconds / 3600, "hour")
    } else {
        plural((seconds / 60).max(1), "minute")
    }
}

/// Asks the owner of a new address to confirm it.
pub fn verify_email(site: &Site, to: &str, url: &str, valid_for: i64) -> OutgoingMail {
    let first = format!(
        "Please confirm that {to} is your email address for your {} account by opening this link:",
        site.name
    );
    let second = format!(
        "The link works once and for {}. If you did not ask for this, ignore this message: \
         nothing changes.",
        duration_words(valid_for)
    );
    compose(
        site,
        to,
        "confirm your email address",
        &[&first, &second],
        Some(("Confirm email address", url)),
    )
}

/// A password reset link, asked for by someone (maybe not the owner).
pub fn password_reset(
    site: &Site,
    to: &str,
    username: &str,
    url: &str,
    valid_for: i64,
) -> OutgoingMail {
    let first = format!(
        "Someone asked to reset the password of the {} account {username}. To choose a new \
         password, open this link:",
        site.name
    );
    let second = format!(
        "The link works once and for {}. Setting a new password signs the account out \
         everywhere. If you did not ask for this, ignore this message: your password stays \
         as it is.",
        duration_words(valid_for)
    );
    compose(
        site,
        to,
        "reset your password",
        &[&first, &second],
        Some(("Choose a new password", url)),
    )
}

/// Tells the owner of an address that someone tried to sign up with it.
pub fn signup_attempt(
    site: &Site,
    to: &str,
    username: &str,
    reset_url: &str,
    valid_for: i64,
) -> OutgoingMail {
    let first = format!(
        "Someone tried to create a {} account with this email address, which already \
         belongs to the account {username}. If that was you and you have forgotten your \
         password, you can choose a new one here:",
        site.name
    );
    let second = format!(
        "The link works once and for {}. If it was not you, ignore this message: nothing \
         changed.",
        duration_words(valid_for)
    );
    compose(
        site,
        to,
        "someone tried to sign up with your address",
        &[&first, &second],
        Some(("Choose a new password", reset_url)),
    )
}

/// Tells the old address that the account's address is being changed.
pub fn email_change_notice(site: &Site, to: &str, username: &str, new_email: &str) -> OutgoingMail {
    let first = format!(
        "The email address of the {} account {username} is being changed to {new_email}. \
         The change takes effect when the new address is confirmed.",
        site.name
    );
    let second = "If you did not ask for this, sign in and change your password: \
                  until the new address is confirmed, this one stays the account's.";
    compose(
        site,
        to,
        "your email address is changing",
        &[&first, second],
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            name: "Gatehouse".into(),
        }
    }

    #[test]
    fn a_message_has_its_link_in_both_bodies() {
        let url = "https://id.example.org/accounts/reset/MQ/abc/";
        let m = password_reset(&site(), "ada@example.org", "ada", url, 3600);
        assert_eq!(m.to, "ada@example.org");
        assert_eq!(m.subject, "Gatehouse: reset your password");
        assert!(m.text.contains(url));
        assert!(m.text.contains("1 hour"));
        assert!(m.html.contains(&format!("href=\"{url}\"")));
    }

    #[test]
    fn hostile_values_are_escaped_in_html() {
        let m = email_change_notice(
            &site(),
            "a@example.org",
            "<b>x</b>",
            "\"><img onerror=x>@e.org",
        );
        assert!(!m.html.contains("<b>x"));
        assert!(!m.html.contains("<img"));
        assert!(m.html.contains("&lt;b&gt;x&lt;/b&gt;"));
        // The text body is plain text: kept as typed.
        assert!(m.text.contains("<b>x</b>"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(duration_words(2 * 86_400), "2 days");
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(5400), "90 minutes");
        assert_eq!(duration_words(30), "1 minute");
    }
}
