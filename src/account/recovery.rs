//! Account recovery and verified addresses: the one-time links Gatehouse
//! mails (password reset, address verification) and what following them
//! does.
//!
//! A link is `<base>/<path>/<uidb64>/<secret>/`, as Django writes its reset
//! links: the account id in URL-safe base64, then a random secret whose
//! SHA-256 alone is stored, with the link's purpose and expiry. A link
//! works once. A reset link also carries a digest of the password hash it
//! was sent under, so any password change (by any path) kills it.
//!
//! Who asks never learns whether an address has an account: a reset
//! request answers alike either way, and the mail it may send is throttled
//! per account without saying so.

use std::sync::Arc;

use base64::Engine as _;

use super::errors::{FieldErrors, FormError};
use super::service::AccountService;
use super::validation::{normalize_email, validate_email, validate_new_password};
use crate::audit::{Event, EventKind, Origin};
use crate::mail::{self, OutgoingMail, Site};
use crate::password::Password;
use crate::secret::{Secret, SecretDigest};
use crate::store::{AccountLink, LinkPurpose, StoreError, User, Verified};
use crate::throttle::attempt::Counters;
use crate::throttle::{address_group, Policy};

/// Where links point, and what the mail says.
#[derive(Clone)]
pub struct MailSettings {
    pub site: Site,
    /// The public URL, without a trailing slash.
    pub base_url: String,
    /// Send verification links on sign-up and email changes.
    pub verify_email: bool,
    /// Refuse sign-in until the address is verified.
    pub require_verified_email: bool,
    /// Seconds a verification link works.
    pub verify_lifetime: i64,
    /// Seconds a reset link works.
    pub reset_lifetime: i64,
    /// Called after a message is queued (wakes the sender).
    pub queued: Arc<dyn Fn() + Send + Sync>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            site: Site {
                name: "Gatehouse".into(),
            },
            base_url: "http://127.0.0.1:3000".into(),
            verify_email: false,
            require_verified_email: false,
            verify_lifetime: 24 * 3600,
            reset_lifetime: 3600,
            queued: Arc::new(|| {}),
        }
    }
}

/// The path of a reset link, before `<uidb64>/<secret>/` (Django's).
pub const RESET_PATH: &str = "/accounts/reset/";
/// The path of a verification link, before `<uidb64>/<secret>/`.
pub const VERIFY_PATH: &str = "/accounts/confirm-email/";

/// The account id as it appears in links (Django's `uidb64`).
pub fn encode_uid(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_string())
}

/// The account id of a link's `uidb64`, if it is one.
pub fn decode_uid(uidb64: &str) -> Option<i64> {
    if uidb64.len() > 32 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(uidb64.trim_end_matches('='))
        .ok()?;
    let id: i64 = std::str::from_utf8(&bytes).ok()?.parse().ok()?;
    (id > 0).then_some(id)
}

/// The digest a reset link carries of the password hash it was sent under.
fn password_stamp(user: &User) -> String {
    SecretDigest::of(user.password_hash.as_str())
        .as_str()
        .to_owned()
}

/// A link that does not work (used, expired, for another account, or
/// never issued): one answer for all.
#[derive(Debug, thiserror::Error)]
#[error("the link is invalid or has expired")]
pub struct LinkInvalid;

/// Why a reset was not done.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(transparent)]
    Link(#[from] LinkInvalid),
    #[error(transparent)]
    Form(#[from] FormError),
}

impl From<StoreError> for ResetError {
    fn from(e: StoreError) -> Self {
        Self::Form(e.into())
    }
}

/// What following a verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The address is now the account's, verified.
    Verified { user_id: i64, email: String },
    /// Another account has the address now: nothing changed.
    Taken,
}

/// What a sign-up through the portal did, when verification is on: the
/// page says "check your email" in both cases.
#[derive(Debug)]
pub enum SignUpOutcome {
    /// A new account, sent a verification link.
    Created(User),
    /// The address already has an account: its owner was told, with a
    /// reset link. Nothing was created.
    AddressTaken,
}

fn mail_account_counter(user_id: i64) -> Counters {
    Counters(vec![(format!("mail:user:{user_id}"), Policy::MAIL_ACCOUNT)])
}

impl AccountService {
    /// A new link for `user`: its secret (for the mail) and its record.
    fn new_link(
        &self,
        user: &User,
        purpose: LinkPurpose,
        email: &str,
        now: i64,
    ) -> (String, AccountLink) {
        let secret = Secret::generate();
        let (path, lifetime, stamp) = match purpose {
            LinkPurpose::ResetPassword => (
                RESET_PATH,
                self.mail_settings().reset_lifetime,
                password_stamp(user),
            ),
            LinkPurpose::VerifyEmail => (
                VERIFY_PATH,
                self.mail_settings().verify_lifetime,
                String::new(),
            ),
        };
        let url = format!(
            "{}{path}{}/{}/",
            self.mail_settings().base_url,
            encode_uid(user.id),
            secret.expose()
        );
        let link = AccountLink {
            digest: secret.digest(),
            user_id: user.id,
            purpose,
            email: email.to_owned(),
            stamp,
            created_at: now,
            expires_at: now + lifetime,
        };
        (url, link)
    }

    async fn queue(
        &self,
        link: Option<&AccountLink>,
        mail: &OutgoingMail,
        now: i64,
        event: Option<&Event>,
    ) -> Result<(), StoreError> {
        self.store().queue_mail(link, mail, now, event).await?;
        (self.mail_settings().queued)();
        Ok(())
    }

    /// Mails `user` a reset link, unthrottled (an operator's or staff
    /// member's action; `event` says who).
    pub async fn send_password_reset(
        &self,
        user: &User,
        event: Event,
        now: i64,
    ) -> Result<(), StoreError> {
        let settings = self.mail_settings();
        let (url, link) = self.new_link(user, LinkPurpose::ResetPassword, &user.email, now);
        let mail = mail::password_reset(
            &settings.site,
            &user.email,
            &user.username,
            &url,
            settings.reset_lifetime,
        );
        let event = event.user(user.id, &user.username);
        self.queue(Some(&link), &mail, now, Some(&event)).await
    }

    /// A request that names an address (a reset, a new verification
    /// link): the address checked, the request counted against the client
    /// address on `kind`'s counter (the only refusal anyone sees), then
    /// the active account whose address it is, if any.
    async fn address_request(
        &self,
        kind: &str,
        email: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<Option<User>, FormError> {
        let email = normalize_email(email);
        if email.is_empty() {
            return Err(FormError::Invalid(FieldErrors::one(
                "email",
                "Enter your email address.",
            )));
        }
        if let Err(e) = validate_email(&email) {
            return Err(FormError::Invalid(FieldErrors::one("email", e.0)));
        }
        let address = Counters(vec![(
            format!("{kind}:address:{}", address_group(&origin.address)),
            Policy::RESET_ADDRESS,
        )]);
        if let Err(wait) = address.reserve(self.store().as_ref(), now).await? {
            return Err(FormError::Throttled(wait));
        }
        Ok(self
            .store()
            .user_by_login(&email)
            .await?
            .filter(|u| u.is_active && u.email.eq_ignore_ascii_case(&email)))
    }

    /// "Forgot your password": throttled per client address (the only
    /// refusal anyone sees); mails a reset link when `email` is an active
    /// account's address and that account has not been mailed too often.
    /// Answers alike whether or not the address has an account.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(
        &self,
        email: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<(), FormError> {
        let user = self.address_request("reset", email, origin, now).await?;
        let Some(user) = user else {
            tracing::info!("password reset asked for an address with no active account");
            return Ok(());
        };
        if mail_account_counter(user.id)
            .reserve(self.store().as_ref(), now)
            .await?
            .is_err()
        {
            tracing::info!(
                user = user.id,
                "password reset mail held back: sent too often"
            );
            return Ok(());
        }
        self.send_password_reset(
            &user,
            Event::new(EventKind::PasswordResetRequested, now, origin),
            now,
        )
        .await?;
        Ok(())
    }

    /// The account a reset link is for, if the link works.
    pub async fn reset_link(
        &self,
        uidb64: &str,
        secret: &str,
        now: i64,
    ) -> Result<Result<(User, AccountLink), LinkInvalid>, StoreError> {
        self.working_link(uidb64, secret, LinkPurpose::ResetPassword, now)
            .await
    }

    /// The account a verification link is for, if the link works.
    pub async fn verify_link(
        &self,
        uidb64: &str,
        secret: &str,
        now: i64,
    ) -> Result<Result<(User, AccountLink), LinkInvalid>, StoreError> {
        self.working_link(uidb64, secret, LinkPurpose::VerifyEmail, now)
            .await
    }

    /// A new verification link asked for without signing in (sign-in may
    /// need a verified address): throttled per client address, then sent
    /// when `email` is an active account's unverified address (throttled
    /// per account, silently). Answers alike either way.
    #[tracing::instrument(skip_all)]
    pub async fn request_verification(
        &self,
        email: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<(), FormError> {
        let user = self
            .address_request("verify", email, origin, now)
            .await?
            .filter(|u| !u.email_verified);
        let Some(user) = user else {
            return Ok(());
        };
        let counters = Counters(vec![(
            format!("verify:user:{}", user.id),
            Policy::MAIL_ACCOUNT,
        )]);
        if counters.reserve(self.store().as_ref(), now).await?.is_err() {
            return Ok(());
        }
        self.send_verification(&user, &user.email, origin, now)
            .await?;
        Ok(())
    }

    async fn working_link(
        &self,
        uidb64: &str,
        secret: &str,
        purpose: LinkPurpose,
        now: i64,
    ) -> Result<Result<(User, AccountLink), LinkInvalid>, StoreError> {
        let Some(uid) = decode_uid(uidb64) else {
            return Ok(Err(LinkInvalid));
        };
        if secret.is_empty() || secret.len() > 128 {
            return Ok(Err(LinkInvalid));
        }
        let Some(link) = self
            .store()
            .account_link(&SecretDigest::of(secret), now)
            .await?
        else {
            return Ok(Err(LinkInvalid));
        };
        if link.user_id != uid || link.purpose != purpose {
            return Ok(Err(LinkInvalid));
        }
        let Some(user) = self.store().user_by_id(uid).await? else {
            return Ok(Err(LinkInvalid));
        };
        if !user.is_active
            || (purpose == LinkPurpose::ResetPassword && link.stamp != password_stamp(&user))
        {
            return Ok(Err(LinkInvalid));
        }
        Ok(Ok((user, link)))
    }

    /// Sets a new password through a reset link: checked like any new
    /// password; then, in one transaction, the link is used, the password
    /// set, every session ended and every token revoked.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        uidb64: &str,
        secret: &str,
        new: &str,
        confirm: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<User, ResetError> {
        let (user, link) = self.reset_link(uidb64, secret, now).await??;
        let mut errors = FieldErrors::default();
        if let Err(e) = validate_new_password(new, &user.username, &user.email) {
            errors.add("new_password", e.0);
        }
        if new != confirm {
            errors.add("confirm_new_password", super::validation::PASSWORDS_DIFFER);
        }
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors).into());
        }
        let hash = self
            .hasher()
            .hash(Password::new(new))
            .await
            .map_err(FormError::from)?;
        let event = Event::new(EventKind::PasswordReset, now, origin).user(user.id, &user.username);
        if !self
            .store()
            .reset_password(&link, &user.password_hash, &hash, now, &event)
            .await?
        {
            return Err(LinkInvalid.into());
        }
        Ok(user)
    }

    /// Mails a verification link for `email` (the account's address, or
    /// the one it is changing to).
    pub async fn send_verification(
        &self,
        user: &User,
        email: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<(), StoreError> {
        let settings = self.mail_settings();
        let (url, link) = self.new_link(user, LinkPurpose::VerifyEmail, email, now);
        let mail = mail::verify_email(&settings.site, email, &url, settings.verify_lifetime);
        let event = Event::new(EventKind::VerificationSent, now, origin)
            .user(user.id, &user.username)
            .detail(format!("to {email}"));
        self.queue(Some(&link), &mail, now, Some(&event)).await
    }

    /// The profile's `Resend verification email`: throttled per account.
    /// Resends for the address waiting for verification (a pending change)
    /// if there is one, else for the account's address.
    pub async fn resend_verification(
        &self,
        user: &User,
        origin: &Origin,
        now: i64,
    ) -> Result<(), FormError> {
        let pending = self.pending_email(user, now).await?;
        if pending.is_none() && user.email_verified {
            return Ok(());
        }
        let counters = Counters(vec![(
            format!("verify:user:{}", user.id),
            Policy::MAIL_ACCOUNT,
        )]);
        if let Err(wait) = counters.reserve(self.store().as_ref(), now).await? {
            return Err(FormError::Throttled(wait));
        }
        let email = pending.unwrap_or_else(|| user.email.clone());
        self.send_verification(user, &email, origin, now).await?;
        Ok(())
    }

    /// The address a change is waiting to verify, if any.
    pub async fn pending_email(&self, user: &User, now: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .store()
            .pending_verification(user.id, now)
            .await?
            .filter(|e| !e.eq_ignore_ascii_case(&user.email)))
    }

    /// Follows a verification link.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_email(
        &self,
        uidb64: &str,
        secret: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<Result<Confirmed, LinkInvalid>, StoreError> {
        let (user, link) = match self
            .working_link(uidb64, secret, LinkPurpose::VerifyEmail, now)
            .await?
        {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let mut event =
            Event::new(EventKind::EmailVerified, now, origin).user(user.id, &user.username);
        if !link.email.eq_ignore_ascii_case(&user.email) {
            event = event.detail(format!(
                "email changed from {} to {}",
                user.email, link.email
            ));
        }
        Ok(
            match self
                .store()
                .verify_email(
                    &link,
                    self.identifier() == super::AccountIdentifier::Email,
                    now,
                    &event,
                )
                .await?
            {
                Verified::Done { email } => Ok(Confirmed::Verified {
                    user_id: user.id,
                    email,
                }),
                Verified::Taken => Ok(Confirmed::Taken),
                Verified::Gone => Err(LinkInvalid),
            },
        )
    }

    /// A sign-up whose address already has an account: its owner is told
    /// (throttled per account), with a reset link in case they forgot.
    pub(super) async fn notify_address_taken(
        &self,
        email: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<(), StoreError> {
        let Some(owner) = self
            .store()
            .user_by_login(email)
            .await?
            .filter(|u| u.email.eq_ignore_ascii_case(email))
        else {
            return Ok(());
        };
        if mail_account_counter(owner.id)
            .reserve(self.store().as_ref(), now)
            .await?
            .is_err()
        {
            return Ok(());
        }
        let settings = self.mail_settings();
        let (url, link) = self.new_link(&owner, LinkPurpose::ResetPassword, &owner.email, now);
        let mail = mail::signup_attempt(
            &settings.site,
            &owner.email,
            &owner.username,
            &url,
            settings.reset_lifetime,
        );
        let event = Event::new(EventKind::PasswordResetRequested, now, origin)
            .user(owner.id, &owner.username)
            .detail("someone tried to sign up with this address");
        self.queue(Some(&link), &mail, now, Some(&event)).await
    }

    /// Tells the old address that the account's address is changing.
    pub(super) async fn notify_email_change(
        &self,
        user: &User,
        new_email: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mail = mail::email_change_notice(
            &self.mail_settings().site,
            &user.email,
            &user.username,
            new_email,
        );
        self.queue(None, &mail, now, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_round_trip_like_djangos() {
        // Django: urlsafe_base64_encode(force_bytes(42)) == "NDI".
        assert_eq!(encode_uid(42), "NDI");
        assert_eq!(decode_uid("NDI"), Some(42));
        assert_eq!(decode_uid("NDI="), Some(42));
        assert_eq!(decode_uid(&encode_uid(i64::MAX)), Some(i64::MAX));
    }

    #[test]
    fn hostile_uids_are_refused() {
        for bad in ["", "!!", "LTE", "MA", "YWJj", &"A".repeat(100), "\0"] {
            assert_eq!(decode_uid(bad), None, "{bad:?}");
        }
    }
}
