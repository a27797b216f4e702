//! Field rules. Each returns a user-facing message on failure; callers put it
//! beside the field that caused it.

use super::common_passwords::is_common;

/// Minimum password length, in characters (not bytes).
pub const PASSWORD_MIN_CHARS: usize = 10;
/// Upper bound, so hashing cost cannot be driven up by huge inputs.
pub const PASSWORD_MAX_CHARS: usize = 512;
pub const USERNAME_MAX_CHARS: usize = 150;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const NAME_MAX_CHARS: usize = 150;

/// What sign-up says of a username someone already has (and what the
/// sign-up page says while typing one).
pub const USERNAME_TAKEN: &str = "That username is taken.";
/// What a form says when a password and its confirmation differ.
pub const PASSWORDS_DIFFER: &str = "The two passwords do not match.";

/// A rule broken by one field's value; the message is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub &'static str);

/// Usernames: 1–150 characters of letters, digits and `. + - _`. Unlike
/// Django, no `@`: a username must never look like someone's email address,
/// since either signs in.
pub fn validate_username(username: &str) -> Result<(), FieldError> {
    if username.is_empty() {
        return Err(FieldError("Enter a username."));
    }
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Err(FieldError("Usernames are at most 150 characters."));
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '+' | '-' | '_'))
    {
        return Err(FieldError(
            "Use only letters, digits and the characters . + - _",
        ));
    }
    Ok(())
}

/// Trims surrounding whitespace and lower-cases the domain part. The local
/// part keeps its case for display; uniqueness is checked case-insensitively
/// by the store.
pub fn normalize_email(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => email.to_owned(),
    }
}

/// A deliberately plain check: one `@`, a non-empty local part, a domain
/// with a dot and no spaces. Deliverability is proven by mail, not by regex.
pub fn validate_email(email: &str) -> Result<(), FieldError> {
    if email.is_empty() {
        return Err(FieldError("Enter an email address."));
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldError("Email addresses are at most 254 characters."));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(FieldError("Enter a valid email address."));
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@');
    if local.is_empty() || !domain_ok || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FieldError("Enter a valid email address."));
    }
    Ok(())
}

/// First and last names: optional, bounded, no control characters.
pub fn validate_name(name: &str) -> Result<(), FieldError> {
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError("Names are at most 150 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError("Names cannot contain control characters."));
    }
    Ok(())
}

/// The password policy: at least ten characters, not the username or the
/// email address (nor the email's local part), not a commonly used password.
pub fn validate_new_password(
    password: &str,
    username: &str,
    email: &str,
) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(FieldError("Use at least 10 characters."));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(FieldError("Use at most 512 characters."));
    }
    let lowered = password.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    if (!username.is_empty() && lowered == username.to_lowercase())
        || (!email.is_empty() && lowered == email.to_lowercase())
        || (local_part.chars().count() >= 3 && lowered == local_part)
    {
        return Err(FieldError(
            "Your password cannot be your username or email address.",
        ));
    }
    if is_common(&lowered) {
        return Err(FieldError(
            "This password is too common; choose one that is harder to guess.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(validate_username("ada.lovelace+1_x-z").is_ok());
        assert!(validate_username("victim@example.org").is_err());
        assert!(validate_username("Zoë").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("has space").is_err());
        assert!(validate_username("semi;colon").is_err());
        assert!(validate_username(&"a".repeat(150)).is_ok());
        assert!(validate_username(&"a".repeat(151)).is_err());
    }

    #[test]
    fn emails() {
        assert!(validate_email("ada@example.org").is_ok());
        assert!(validate_email("a.b+c@sub.example.org").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "ada@.example.org",
            "ada@example.org.",
            "ada@exa..mple.org",
            "a da@example.org",
            "ada@ex@ample.org",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_email("  Ada@Example.ORG "), "Ada@example.org");
    }

    #[test]
    fn names() {
        assert!(validate_name("").is_ok());
        assert!(validate_name("Ada King-Noel").is_ok());
        assert!(validate_name("a\u{0}b").is_err());
        assert!(validate_name(&"x".repeat(151)).is_err());
    }

    #[test]
    fn password_length() {
        assert_eq!(
            validate_new_password("short1!", "ada", "ada@example.org"),
            Err(FieldError("Use at least 10 characters."))
        );
        // Ten characters counted as characters, not bytes.
        assert!(validate_new_password("ééééééééé", "ada", "ada@example.org").is_err());
        assert!(validate_new_password("éééééééééé", "ada", "ada@example.org").is_ok());
        assert!(validate_new_password(&"x".repeat(513), "ada", "a@b.org").is_err());
    }

    #[test]
    fn password_not_username_or_email() {
        let e = validate_new_password("AdaLovelace", "adalovelace", "x@example.org");
        assert!(e.unwrap_err().0.contains("username"));
        assert!(validate_new_password("ada@example.org", "someone", "ada@example.org").is_err());
        assert!(
            validate_new_password("ada.lovelace", "someone", "ada.lovelace@example.org").is_err()
        );
    }

    #[test]
    fn password_not_common() {
        for common in ["password123", "Password123", "qwertyuiop", "1234567890"] {
            let e = validate_new_password(common, "ada", "ada@example.org");
            assert!(e.unwrap_err().0.contains("too common"), "{common}");
        }
        assert!(validate_new_password("correct horse battery", "ada", "a@b.org").is_ok());
    }
}
