//! Account use cases: sign up, sign in, sessions, profile, password, delete.
//! Each takes plain values and the current time and returns typed errors;
//! the web layer only maps them to pages and status codes.

use crate::tally::{SignInOutcome, Tally};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::errors::{FieldErrors, FormError, SignInError};
use super::recovery::{MailSettings, SignUpOutcome};
use super::validation::{
    normalize_email, validate_email, validate_name, validate_new_password, validate_username,
};
use super::{email_domain_allowed, AccountIdentifier, SignupPolicy};
use crate::audit::{Event, EventKind, Origin};
use crate::password::{Password, PasswordError, PasswordHasher};
use crate::secret::{Secret, SecretDigest};
use crate::store::{NewUser, ProfileUpdate, SessionRecord, Store, StoreError, UniqueError, User};
use crate::throttle::attempt::Counters;
use crate::throttle::{address_group, Policy};

/// How long sessions live, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Signed out after this long without a request.
    pub idle_timeout: i64,
    /// Signed out this long after signing in, whatever the activity.
    pub absolute_timeout: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: 7 * 24 * 3600,
            absolute_timeout: 30 * 24 * 3600,
        }
    }
}

/// What a form says of an address another account has.
pub(super) const EMAIL_TAKEN: &str = "An account with this email address already exists.";

/// `last_seen_at` is written at most this often, so reads stay reads.
const TOUCH_EVERY: i64 = 60;

pub struct SignUp<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub confirm: &'a str,
}

/// The password form: the current password, the new one and its repeat.
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
}

pub struct NewAccount<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub is_staff: bool,
    pub is_superuser: bool,
}

#[derive(Clone)]
pub struct AccountService {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    sessions: SessionPolicy,
    identifier: AccountIdentifier,
    tally: Arc<Tally>,
    /// When each account's last "sign-in throttled" event was recorded: at
    /// most one a minute each, so a flood against one account does not
    /// become a flood of rows.
    throttle_events: Arc<Mutex<HashMap<i64, i64>>>,
    signup: SignupPolicy,
    /// With [`SignupPolicy::Domains`]: the email domains that may sign up.
    signup_domains: Arc<[String]>,
    /// Sign-ups an address may make in an hour before waits begin
    /// ([`Policy::SIGNUP`]'s free tries); 0: no limit.
    signups_per_address: u32,
    /// Links and mail (see [`super::recovery`]).
    mail: Arc<MailSettings>,
}

/// The shortest time between two recorded throttling events of one account.
const THROTTLE_EVENT_EVERY: i64 = 60;

/// Throttle key of an account: its id when it exists (so username and email
/// share one counter), else the login as typed, so unknown names are
/// throttled alike and reveal nothing.
fn account_key(user: Option<&User>, login: &str) -> String {
    match user {
        Some(u) => format!("user:{}", u.id),
        // Hashed: what strangers type is not stored, and keys stay short.
        None => format!(
            "login:{}",
            SecretDigest::of(&login.trim().to_lowercase()).as_str()
        ),
    }
}
fn address_key(addr: &str) -> String {
    format!("address:{}", address_group(addr))
}

/// The counters of one sign-in.
struct SignInCounters {
    /// Reserved before the password is checked, in order (see
    /// `throttle::attempt`): parallel guesses at one account are checked
    /// no more often than its free tries allow.
    reserved: Counters,
    /// Read before the check and charged only when it fails: the client's
    /// address. Reserving it too would count a crowd behind one NAT
    /// signing in at the same moment (a class starting, an office at
    /// nine) as one address's failures, and refuse the fifty-first of them
    /// with "Too many attempts" though nobody mistyped. A burst of guesses
    /// at many accounts from one address is still bounded: by each
    /// account's reserved counters, by the hashing queue (a full queue
    /// answers at once, unchecked), and from its fiftieth failure on by
    /// this counter.
    after_failure: Option<(String, Policy)>,
}

/// The counters a sign-in is charged to: this account from this address,
/// and this account, reserved; this address, after a failure.
fn sign_in_counters(account: &str, addr: &str) -> SignInCounters {
    let address = address_key(addr);
    SignInCounters {
        reserved: Counters(vec![
            (format!("pair:{account}|{address}"), Policy::PAIR),
            (account.to_owned(), Policy::ACCOUNT),
        ]),
        after_failure: Some((address, Policy::ADDRESS)),
    }
}

/// The counters of a sign-in an authenticated app makes for one of the
/// many people it forwards (the password grant): every one of them comes
/// from the app's address, so the address is not a counter; the app is
/// accountable instead. This account through this app, and this account.
fn client_sign_in_counters(account: &str, client_id: &str) -> SignInCounters {
    SignInCounters {
        reserved: Counters(vec![
            (
                format!(
                    "pair:{account}|client:{}",
                    SecretDigest::of(client_id).as_str()
                ),
                Policy::PAIR,
            ),
            (account.to_owned(), Policy::ACCOUNT),
        ]),
        after_failure: None,
    }
}

/// The format rules of a new account (no storage needed). `username` is
/// the email itself for email-only accounts, checked as an email.
fn check_new_account(
    new: &NewAccount<'_>,
    username: &str,
    email: &str,
    identifier: AccountIdentifier,
    errors: &mut FieldErrors,
) {
    if identifier == AccountIdentifier::Username {
        if let Err(e) = validate_username(username) {
            errors.add("username", e.0);
        }
    }
    if let Err(e) = validate_email(email) {
        errors.add("email", e.0);
    }
    if let Err(e) = validate_new_password(new.password, username, email) {
        errors.add("password", e.0);
    }
}

impl AccountService {
    pub fn new(store: Arc<dyn Store>, hasher: PasswordHasher, sessions: SessionPolicy) -> Self {
        Self {
            store,
            hasher,
            sessions,
            identifier: AccountIdentifier::Username,
            tally: Arc::default(),
            throttle_events: Arc::default(),
            signup: SignupPolicy::Open,
            signup_domains: Arc::new([]),
            signups_per_address: Policy::SIGNUP.free_failures,
            mail: Arc::default(),
        }
    }

    /// How many sign-ups an address may make in an hour before waits
    /// begin (2 s, doubling, capped at 15 minutes); 0 lifts the limit, for
    /// sites whose people all reach them through one address.
    pub fn with_signups_per_address(mut self, limit: u32) -> Self {
        self.signups_per_address = limit;
        self
    }

    /// The counter of sign-ups from an address, unless they are not limited.
    fn sign_up_counters(&self, addr: &str) -> Option<Counters> {
        (self.signups_per_address > 0).then(|| {
            Counters(vec![(
                format!("signup:{}", address_key(addr)),
                Policy {
                    free_failures: self.signups_per_address,
                    ..Policy::SIGNUP
                },
            )])
        })
    }

    /// Where mailed links point and whether addresses are verified.
    pub fn with_mail(mut self, settings: MailSettings) -> Self {
        self.mail = Arc::new(settings);
        self
    }

    pub fn mail_settings(&self) -> &MailSettings {
        &self.mail
    }

    /// Who may sign up themselves (see [`SignupPolicy`]).
    pub fn with_signup(mut self, policy: SignupPolicy, domains: &[String]) -> Self {
        self.signup = policy;
        self.signup_domains = domains
            .iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        self
    }

    /// Accounts named by their email alone (see [`AccountIdentifier`]).
    pub fn with_identifier(mut self, identifier: AccountIdentifier) -> Self {
        self.identifier = identifier;
        self
    }

    pub fn identifier(&self) -> AccountIdentifier {
        self.identifier
    }

    /// What sign-ins and the protocol endpoints did, for metrics.
    pub fn tally(&self) -> &Arc<Tally> {
        &self.tally
    }

    /// The username a new account gets: as typed, or its email.
    fn new_username<'a>(&self, typed: &'a str, email: &'a str) -> &'a str {
        match self.identifier {
            AccountIdentifier::Username => typed.trim(),
            AccountIdentifier::Email => email,
        }
    }

    /// The password hashing threads (also used for imported client
    /// secrets hashed in Django's format).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The portal's sign-up form, throttled per client address like the
    /// account API's.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up(
        &self,
        form: SignUp<'_>,
        origin: &Origin,
        now: i64,
    ) -> Result<User, FormError> {
        let counters = self.sign_up_counters(&origin.address);
        self.sign_up_form(form, counters, origin, "", now).await
    }

    /// Whether `username` is free for a new account: the sign-up page asks
    /// while the person types. It says no more than a sign-up would (a
    /// format error, or taken / free), and every question counts against
    /// [`Policy::USERNAME_CHECK`] for the client's address, so the accounts
    /// cannot be listed by asking.
    #[tracing::instrument(skip_all)]
    pub async fn username_available(
        &self,
        username: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<bool, FormError> {
        if self.signup == SignupPolicy::Closed {
            return Err(FormError::Closed);
        }
        if self.identifier == AccountIdentifier::Email {
            return Err(FormError::Invalid(FieldErrors::one(
                "username",
                "Accounts here are named by their email address.",
            )));
        }
        if let Err(e) = validate_username(username) {
            return Err(FormError::Invalid(FieldErrors::one("username", e.0)));
        }
        let counters = Counters(vec![(
            format!("username:{}", address_key(&origin.address)),
            Policy::USERNAME_CHECK,
        )]);
        if let Err(wait) = counters.reserve(self.store.as_ref(), now).await? {
            return Err(FormError::Throttled(wait));
        }
        let taken = self
            .store
            .user_by_login(username)
            .await?
            .is_some_and(|u| u.username.eq_ignore_ascii_case(username));
        Ok(!taken)
    }

    /// A sign-up a confidential app forwards with its own client
    /// authentication (a resource server signing its people up): the app
    /// answers for it, and everyone it forwards shares its one address, so
    /// the per-address limit does not apply.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up_through_client(
        &self,
        form: SignUp<'_>,
        client_id: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<User, FormError> {
        let detail = format!("through the app {client_id}");
        self.sign_up_form(form, None, origin, &detail, now).await
    }

    /// The portal's sign-up when addresses are verified: a new account is
    /// sent a verification link; an address that already has an account
    /// gets a notice (with a reset link) instead, and the caller shows the
    /// same "check your email" page either way. A taken username is still
    /// reported: the person must choose another.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up_verified(
        &self,
        form: SignUp<'_>,
        origin: &Origin,
        now: i64,
    ) -> Result<SignUpOutcome, FormError> {
        let email = normalize_email(form.email);
        let password = form.password.to_owned();
        match self.sign_up(form, origin, now).await {
            Ok(user) => Ok(SignUpOutcome::Created(user)),
            Err(FormError::Invalid(errors))
                if errors.0.len() == 1
                    && errors.0.get("email").map(String::as_str) == Some(EMAIL_TAKEN) =>
            {
                // A new account costs a password hash: so does this answer,
                // or its speed would tell the address has an account.
                let _ = self.hasher.hash(Password::new(&password)).await?;
                self.notify_address_taken(&email, origin, now).await?;
                Ok(SignUpOutcome::AddressTaken)
            }
            Err(e) => Err(e),
        }
    }

    async fn sign_up_form(
        &self,
        form: SignUp<'_>,
        counters: Option<Counters>,
        origin: &Origin,
        detail: &str,
        now: i64,
    ) -> Result<User, FormError> {
        let mut errors = FieldErrors::default();
        if form.password != form.confirm {
            errors.add("confirm", super::validation::PASSWORDS_DIFFER);
        }
        self.throttled_sign_up(
            NewAccount {
                username: form.username,
                email: form.email,
                password: form.password,
                is_staff: false,
                is_superuser: false,
            },
            errors,
            counters,
            Event::new(EventKind::SignedUp, now, origin).detail(detail),
        )
        .await
    }

    /// A sign-up through the account API: every attempt from an address
    /// that passes the format checks counts against the sign-up limit
    /// (see [`Self::with_signups_per_address`]; each may cost a password
    /// hash), so scripts cannot mass-create accounts or burn CPU.
    #[tracing::instrument(skip_all)]
    pub async fn api_sign_up(
        &self,
        username: &str,
        email: &str,
        password: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<User, FormError> {
        self.throttled_sign_up(
            NewAccount {
                username,
                email,
                password,
                is_staff: false,
                is_superuser: false,
            },
            FieldErrors::default(),
            self.sign_up_counters(&origin.address),
            Event::new(EventKind::SignedUp, now, origin).detail("account API"),
        )
        .await
    }

    /// Format checks (free), then the sign-up counter, if any (reserved
    /// atomically), then uniqueness and the hash.
    async fn throttled_sign_up(
        &self,
        new: NewAccount<'_>,
        mut errors: FieldErrors,
        counters: Option<Counters>,
        event: Event,
    ) -> Result<User, FormError> {
        let now = event.at;
        if self.signup == SignupPolicy::Closed {
            return Err(FormError::Closed);
        }
        let email = normalize_email(new.email);
        let username = self.new_username(new.username, &email);
        check_new_account(&new, username, &email, self.identifier, &mut errors);
        if self.signup == SignupPolicy::Domains
            && !email_domain_allowed(&email, &self.signup_domains)
        {
            errors.add(
                "email",
                format!(
                    "Only addresses at {} can create an account here.",
                    self.signup_domains.join(", ")
                ),
            );
        }
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        if let Some(counters) = &counters {
            if let Err(wait) = counters.reserve(self.store.as_ref(), now).await? {
                return Err(FormError::Throttled(wait));
            }
        }
        let created = self
            .create_account(new, FieldErrors::default(), &event)
            .await;
        if let (Err(FormError::Busy), Some(counters)) = (&created, &counters) {
            // Never hashed: not a sign-up.
            counters.give_back(self.store.as_ref(), 1).await?;
        }
        // Every self-service sign-up (portal, account API, an app's) is
        // sent its verification link; operators' accounts are not.
        if let (Ok(user), true) = (&created, self.mail.verify_email) {
            let origin = Origin {
                address: event.address.clone(),
                user_agent: event.user_agent.clone(),
            };
            // The account exists either way: a failure to queue the mail
            // is logged, and its owner can ask for the link again.
            if let Err(e) = self
                .send_verification(user, &user.email, &origin, now)
                .await
            {
                tracing::error!(user = user.id, error = %e, "verification mail not queued");
            }
        }
        created
    }

    /// Creates an account after checking every field (portal, CLI, API),
    /// recording `event` (its account filled in) with it.
    #[tracing::instrument(skip_all)]
    pub async fn create_account(
        &self,
        new: NewAccount<'_>,
        mut errors: FieldErrors,
        event: &Event,
    ) -> Result<User, FormError> {
        let now = event.at;
        let email = normalize_email(new.email);
        let username = self.new_username(new.username, &email);
        check_new_account(&new, username, &email, self.identifier, &mut errors);
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        // Cheap before costly: a taken name or address is found before
        // any hash is spent (the unique constraints still decide races).
        if let Some(taken) = self.store.user_by_login(username).await? {
            if self.identifier == AccountIdentifier::Username
                && taken.username.eq_ignore_ascii_case(username)
            {
                return Err(FormError::Invalid(FieldErrors::one(
                    "username",
                    super::validation::USERNAME_TAKEN,
                )));
            }
        }
        if self.store.user_by_login(&email).await?.is_some() {
            return Err(FormError::Invalid(FieldErrors::one("email", EMAIL_TAKEN)));
        }
        let hash = self.hasher.hash(Password::new(new.password)).await?;
        let created = self
            .store
            .create_user(
                NewUser {
                    username,
                    email: &email,
                    password_hash: &hash,
                    is_staff: new.is_staff,
                    is_superuser: new.is_superuser,
                    now,
                },
                event,
            )
            .await;
        match created {
            Ok(user) => Ok(user),
            Err(UniqueError::Username) => Err(FormError::Invalid(FieldErrors::one(
                "username",
                super::validation::USERNAME_TAKEN,
            ))),
            Err(UniqueError::Email) => {
                Err(FormError::Invalid(FieldErrors::one("email", EMAIL_TAKEN)))
            }
            Err(UniqueError::Store(e)) => Err(e.into()),
        }
    }

    /// Checks credentials. The attempt is reserved on two counters before
    /// the password is checked (this account from this address, this
    /// account) and given back when the password is right, together with
    /// that pair's earlier failures (typos followed by the right password
    /// are forgiven); this address is charged only with a failure (see
    /// [`SignInCounters`]). Unknown users cost one hash, like a wrong
    /// password.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<User, SignInError> {
        let event = Event::new(EventKind::SignedIn, now, origin).detail("password");
        self.checked_sign_in(login, password, event, |account| {
            sign_in_counters(account, &origin.address)
        })
        .await
    }

    /// A sign-in an authenticated confidential app makes for a person (the
    /// password grant): limited per account, through that app and overall,
    /// but not per address, so a resource server that forwards many
    /// people's sign-ins from its one address is not throttled as a crowd.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_through_client(
        &self,
        login: &str,
        password: &str,
        client_id: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<User, SignInError> {
        let event = Event::new(EventKind::SignedIn, now, origin)
            .client(client_id)
            .detail("password grant");
        self.checked_sign_in(login, password, event, |account| {
            client_sign_in_counters(account, client_id)
        })
        .await
    }

    /// Checks a password with the attempt reserved on `counters` first,
    /// and counts and records the outcome (`event` is the success's).
    async fn checked_sign_in(
        &self,
        login: &str,
        password: &str,
        event: Event,
        counters: impl FnOnce(&str) -> SignInCounters,
    ) -> Result<User, SignInError> {
        let result = self
            .reserve_and_check(login, password, event, counters)
            .await;
        let outcome = match &result {
            Ok(_) => Some(SignInOutcome::Ok),
            Err(SignInError::InvalidCredentials) => Some(SignInOutcome::Failed),
            Err(SignInError::Throttled(_)) => Some(SignInOutcome::Throttled),
            // Never checked (busy hashing, storage): not a sign-in.
            Err(_) => None,
        };
        if let Some(outcome) = outcome {
            self.tally.sign_in(outcome);
        }
        result
    }

    /// Records a refused sign-in: every failure, and for an existing
    /// account at most one throttling a minute (unknown names are not
    /// recorded when throttled: a flood of them would be a flood of rows).
    async fn record_refusal(
        &self,
        kind: EventKind,
        user: Option<&User>,
        mut event: Event,
    ) -> Result<(), StoreError> {
        event.kind = kind;
        if kind == EventKind::SignInThrottled {
            let Some(user) = user else { return Ok(()) };
            let mut recent = self
                .throttle_events
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if recent.len() > 10_000 {
                recent.retain(|_, at| event.at - *at < THROTTLE_EVENT_EVERY);
            }
            match recent.get(&user.id) {
                Some(at) if event.at - at < THROTTLE_EVENT_EVERY => return Ok(()),
                _ => recent.insert(user.id, event.at),
            };
        }
        if let Some(user) = user {
            event = event.user(user.id, &user.username);
        }
        self.store.record_event(&event).await
    }

    /// The first counter is the narrowest (cleared on success); the others
    /// are forgiven the failures it held.
    async fn reserve_and_check(
        &self,
        login: &str,
        password: &str,
        event: Event,
        counters: impl FnOnce(&str) -> SignInCounters,
    ) -> Result<User, SignInError> {
        let now = event.at;
        let login = login.trim();
        // A login with a control character cannot name an account (and
        // some databases cannot even compare one): treat it as unknown.
        let user = if login.is_empty() || login.len() > 254 || login.chars().any(char::is_control) {
            None
        } else {
            self.store.user_by_login(login).await?
        };
        let account = account_key(user.as_ref(), login);
        let SignInCounters {
            reserved: counters,
            after_failure,
        } = counters(&account);
        if let Some((key, policy)) = &after_failure {
            let current = self.store.failure_counts(&[key.as_str()]).await?;
            let wait = policy.wait(current.first().map(|(_, c)| *c), now);
            if wait > 0 {
                self.record_refusal(EventKind::SignInThrottled, user.as_ref(), event)
                    .await?;
                return Err(SignInError::Throttled(wait));
            }
        }
        let reserved = match counters.reserve(self.store.as_ref(), now).await? {
            Ok(r) => r,
            Err(wait) => {
                self.record_refusal(EventKind::SignInThrottled, user.as_ref(), event)
                    .await?;
                return Err(SignInError::Throttled(wait));
            }
        };
        let verified = match self
            .hasher
            .verify(
                Password::new(password),
                user.as_ref().map(|u| &u.password_hash),
            )
            .await
        {
            Ok(v) => v,
            Err(e) => {
                // Never checked: not an attempt.
                counters.give_back(self.store.as_ref(), 1).await?;
                return Err(e.into());
            }
        };
        let user = match user {
            Some(u) if verified.matches && u.is_active => u,
            _ => {
                if let Some((key, policy)) = &after_failure {
                    self.store
                        .record_failure(key, now, policy.reset_after)
                        .await?;
                }
                self.record_refusal(EventKind::SignInFailed, user.as_ref(), event)
                    .await?;
                return Err(SignInError::InvalidCredentials);
            }
        };
        if verified.needs_rehash {
            let hash = self.hasher.hash(Password::new(password)).await;
            // A busy hasher only postpones the upgrade to the next sign-in.
            match hash {
                Ok(hash) => self.store.set_password(user.id, &hash, None).await?,
                Err(PasswordError::Busy) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let pair_failures = reserved.counts.first().map_or(1, |c| c.failures);
        self.store.clear_failures(&counters.0[0].0).await?;
        for (key, _) in &counters.0[1..] {
            self.store.forgive_failures(key, pair_failures).await?;
        }
        // The address was charged with the pair's earlier failures only
        // (this attempt was not counted on it).
        if let Some((key, _)) = &after_failure {
            if pair_failures > 1 {
                self.store.forgive_failures(key, pair_failures - 1).await?;
            }
        }
        if self.mail.require_verified_email && !user.email_verified {
            // The right password, but the address is not verified yet.
            return Err(SignInError::Unverified);
        }
        let event = event.user(user.id, &user.username);
        self.store.record_login(user.id, now, &event).await?;
        Ok(user)
    }

    /// A new session for `user_id`; the returned secret goes in the cookie.
    pub async fn start_session(&self, user_id: i64, now: i64) -> Result<Secret, StoreError> {
        let secret = Secret::generate();
        self.store
            .create_session(&SessionRecord {
                digest: secret.digest(),
                user_id,
                created_at: now,
                last_seen_at: now,
            })
            .await?;
        Ok(secret)
    }

    /// The signed-in user behind a session cookie, if the session is alive.
    pub async fn session_user(
        &self,
        cookie: &str,
        now: i64,
    ) -> Result<Option<(User, SessionRecord)>, StoreError> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(None);
        }
        let digest = SecretDigest::of(cookie);
        let Some((session, user)) = self.store.session_with_user(&digest).await? else {
            return Ok(None);
        };
        let idle = now - session.last_seen_at >= self.sessions.idle_timeout;
        let old = now - session.created_at >= self.sessions.absolute_timeout;
        if idle || old {
            self.store.delete_session(&digest).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&digest, now).await?;
        }
        Ok(Some((user, session)))
    }

    pub async fn end_session(&self, cookie: &str) -> Result<(), StoreError> {
        self.store.delete_session(&SecretDigest::of(cookie)).await
    }

    /// Removes sessions past their idle or absolute lifetime and throttle
    /// counters old enough to be forgotten; returns how many of each.
    pub async fn delete_expired(&self, now: i64) -> Result<(u64, u64), StoreError> {
        let sessions = self
            .store
            .delete_expired_sessions(
                now - self.sessions.idle_timeout,
                now - self.sessions.absolute_timeout,
            )
            .await?;
        let oldest_kept = now
            - [
                Policy::PAIR,
                Policy::ACCOUNT,
                Policy::ADDRESS,
                Policy::SIGNUP,
            ]
            .iter()
            .map(|p| p.reset_after)
            .max()
            .unwrap_or(3600);
        let failures = self.store.delete_stale_failures(oldest_kept).await?;
        Ok((sessions, failures))
    }

    /// Saves the profile. With verification on, a new address is sent a
    /// link; when the current address is verified it stays the account's
    /// until then, and the answer is the address waiting for verification.
    #[tracing::instrument(skip_all, fields(user = user.id))]
    pub async fn update_profile(
        &self,
        user: &User,
        first_name: &str,
        last_name: &str,
        email: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<Option<String>, FormError> {
        let first_name = first_name.trim();
        let last_name = last_name.trim();
        let email = normalize_email(email);
        let mut errors = FieldErrors::default();
        if let Err(e) = validate_name(first_name) {
            errors.add("first_name", e.0);
        }
        if let Err(e) = validate_name(last_name) {
            errors.add("last_name", e.0);
        }
        if let Err(e) = validate_email(&email) {
            errors.add("email", e.0);
        }
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        let verify = self.mail.verify_email;
        let changing = !email.eq_ignore_ascii_case(&user.email);
        // A verified address stays the account's until the new one is
        // verified too (a typo must not lock the owner out of resets).
        let hold = verify && changing && user.email_verified;
        if hold {
            if let Some(other) = self.store.user_by_login(&email).await? {
                if other.id != user.id && other.email.eq_ignore_ascii_case(&email) {
                    return Err(FormError::Invalid(FieldErrors::one("email", EMAIL_TAKEN)));
                }
            }
        }
        let stored_email = if hold {
            user.email.as_str()
        } else {
            email.as_str()
        };
        let update = ProfileUpdate {
            first_name,
            last_name,
            email: stored_email,
            // Email-only accounts are named by their email: the name follows.
            username: (self.identifier == AccountIdentifier::Email).then_some(stored_email),
        };
        let mut changed = Vec::new();
        if first_name != user.first_name || last_name != user.last_name {
            changed.push("name".to_owned());
        }
        if hold {
            changed.push(format!(
                "email from {} to {email} once the new address is verified",
                user.email
            ));
        } else if email != user.email {
            changed.push(format!("email from {} to {email}", user.email));
        }
        let event = Event::new(EventKind::ProfileChanged, now, origin)
            .user(user.id, &user.username)
            .detail(if changed.is_empty() {
                "nothing changed".to_owned()
            } else {
                format!("changed {}", changed.join(", "))
            });
        match self.store.update_profile(user.id, update, &event).await {
            Ok(()) if verify && changing => {
                self.send_verification(user, &email, origin, now).await?;
                if hold {
                    self.notify_email_change(user, &email, now).await?;
                    return Ok(Some(email));
                }
                Ok(None)
            }
            Ok(()) => Ok(None),
            Err(UniqueError::Email) => {
                Err(FormError::Invalid(FieldErrors::one("email", EMAIL_TAKEN)))
            }
            Err(UniqueError::Username) => Err(FormError::Invalid(FieldErrors::one(
                "email",
                "This email address cannot be used.",
            ))),
            Err(UniqueError::Store(e)) => Err(e.into()),
        }
    }

    /// Checks the current password of a signed-in user; wrong guesses are
    /// throttled like sign-ins, so a stolen session cannot brute-force it.
    async fn check_current_password(
        &self,
        user: &User,
        password: &str,
        field: &'static str,
        now: i64,
    ) -> Result<(), FormError> {
        let counters = Counters(vec![(
            format!("current-password:user:{}", user.id),
            Policy::CURRENT_PASSWORD,
        )]);
        if let Err(wait) = counters.reserve(self.store.as_ref(), now).await? {
            return Err(FormError::Throttled(wait));
        }
        let verified = match self
            .hasher
            .verify(Password::new(password), Some(&user.password_hash))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                counters.give_back(self.store.as_ref(), 1).await?;
                return Err(e.into());
            }
        };
        if !verified.matches {
            return Err(FormError::Invalid(FieldErrors::one(
                field,
                "Your password is not correct.",
            )));
        }
        self.store.clear_failures(&counters.0[0].0).await?;
        Ok(())
    }

    /// Changes the password and signs the user out of every other session.
    #[tracing::instrument(skip_all, fields(user = user.id))]
    pub async fn change_password(
        &self,
        user: &User,
        current_session: Option<&SecretDigest>,
        change: PasswordChange<'_>,
        origin: &Origin,
        now: i64,
    ) -> Result<(), FormError> {
        let PasswordChange {
            current,
            new,
            confirm,
        } = change;
        let mut errors = FieldErrors::default();
        if let Err(e) = validate_new_password(new, &user.username, &user.email) {
            errors.add("new_password", e.0);
        }
        if new != confirm {
            errors.add("confirm_new_password", super::validation::PASSWORDS_DIFFER);
        }
        if current.is_empty() {
            errors.add("current_password", "Enter your current password.");
        }
        if !errors.is_empty() {
            return Err(FormError::Invalid(errors));
        }
        self.check_current_password(user, current, "current_password", now)
            .await?;
        let hash = self.hasher.hash(Password::new(new)).await?;
        let event =
            Event::new(EventKind::PasswordChanged, now, origin).user(user.id, &user.username);
        self.store
            .set_password(user.id, &hash, Some(&event))
            .await?;
        self.store
            .delete_user_sessions(user.id, current_session, None)
            .await?;
        Ok(())
    }

    /// Sets a password for an account without its current one (an
    /// operator's command): checked like any new password, then every
    /// session of the account ends. Returns how many.
    #[tracing::instrument(skip_all, fields(user = user.id))]
    pub async fn set_password(
        &self,
        user: &User,
        password: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<u64, FormError> {
        if let Err(e) = validate_new_password(password, &user.username, &user.email) {
            return Err(FormError::Invalid(FieldErrors::one("password", e.0)));
        }
        let hash = self.hasher.hash(Password::new(password)).await?;
        let event = Event::new(EventKind::PasswordChanged, now, origin)
            .user(user.id, &user.username)
            .detail("set by an operator");
        self.store
            .set_password(user.id, &hash, Some(&event))
            .await?;
        Ok(self.store.delete_user_sessions(user.id, None, None).await?)
    }

    /// Deletes the account after checking its password.
    #[tracing::instrument(skip_all, fields(user = user.id))]
    pub async fn delete_account(
        &self,
        user: &User,
        password: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<(), FormError> {
        if password.is_empty() {
            return Err(FormError::Invalid(FieldErrors::one(
                "delete_password",
                "Enter your password to delete your account.",
            )));
        }
        self.check_current_password(user, password, "delete_password", now)
            .await?;
        let event =
            Event::new(EventKind::AccountDeleted, now, origin).user(user.id, &user.username);
        self.store.delete_user(user.id, &event).await?;
        Ok(())
    }
}
