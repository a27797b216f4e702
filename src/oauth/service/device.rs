//! The device authorization grant (RFC 8628): the device asks for a code
//! pair, the person enters the user code at `/device/` and decides, the
//! device polls the token endpoint until then.

use super::oidc::IdTokenSubject;
use super::token::Grant;
use super::{internal, new_family, OAuthService};
use crate::audit::{Event, EventKind};
use crate::oauth::authorize::default_scopes;
use crate::oauth::client::{Application, GrantType};
use crate::oauth::device::{
    format_user_code, generate_user_code, normalize_user_code, DeviceAuthorization, DeviceStatus,
};
use crate::oauth::params::Params;
use crate::oauth::token::{client_auth, AuthorizationHeader, TokenResponse};
use crate::oauth::{ErrorCode, OAuthError, Scope, ScopeSet};
use crate::secret::{Secret, SecretDigest};
use crate::store::{Claim, DeviceRecord, StoreError};
use crate::throttle::attempt::Counters;
use crate::throttle::{address_group, Policy};

/// A user code someone entered, found pending.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub app: Application,
    pub scopes: ScopeSet,
    /// Normalised (what [`OAuthService::decide_device`] takes).
    pub user_code: String,
    /// As people see it: `XXXX-XXXX`.
    pub display_code: String,
}

/// Why an entered user code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DeviceEntryError {
    /// Unknown, expired, already used, or not a code at all: one answer.
    #[error("no pending sign-in has this code")]
    Invalid,
    #[error("too many wrong codes; retry in {0} s")]
    Throttled(i64),
    #[error(transparent)]
    Internal(#[from] StoreError),
}

/// The throttle counters a code entry is charged to, with their policies:
/// this session, this address, and the whole server (last).
fn entry_keys(session_key: &str, client_addr: &str) -> [(String, Policy); 3] {
    [
        (
            format!("device:session:{session_key}"),
            Policy::DEVICE_SESSION,
        ),
        (
            format!("device:address:{}", address_group(client_addr)),
            Policy::DEVICE_ADDRESS,
        ),
        ("device:global".to_owned(), Policy::DEVICE_GLOBAL),
    ]
}

impl OAuthService {
    /// The device authorization endpoint: authenticates the client and
    /// issues a device code and a user code.
    pub async fn device_authorization(
        &self,
        authorization: Option<&AuthorizationHeader<'_>>,
        params: &Params,
        now: i64,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let auth = client_auth(authorization, params)?;
        let app = self.authenticate_client(auth.as_ref()).await?;
        if !app.allows(GrantType::DeviceCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this application may not use the device code grant",
            ));
        }
        let scopes = match params.get("scope")?.map(ScopeSet::parse).transpose()? {
            Some(s) if !s.is_empty() => s,
            _ => default_scopes(&app),
        };
        if !scopes.is_subset(app.scopes) {
            return Err(OAuthError::invalid_scope(format!(
                "this application may only ask for: {}",
                app.scopes
            )));
        }
        let device_code = Secret::generate();
        let lifetimes = self.lifetimes;
        // A clash of user codes is rare (2^34 codes); draw again when it happens.
        for _ in 0..5 {
            let user_code = generate_user_code();
            let record = DeviceRecord {
                device_digest: device_code.digest(),
                user_code_digest: SecretDigest::of(&user_code),
                application_id: app.id,
                scopes,
                family: new_family(),
                created_at: now,
                expires_at: now + lifetimes.device_code,
                interval: lifetimes.device_interval,
                status: DeviceStatus::Pending,
                user_id: None,
                auth_time: None,
            };
            let created = self.store.create_device_code(&record).await;
            if self.stored(&app, created).await? {
                let display = format_user_code(&user_code);
                let page = format!("{}/device/", self.issuer);
                return Ok(DeviceAuthorization {
                    device_code: device_code.expose().to_owned(),
                    verification_uri_complete: format!("{page}?user_code={display}"),
                    verification_uri: page,
                    user_code: display,
                    expires_in: lifetimes.device_code,
                    interval: lifetimes.device_interval,
                });
            }
        }
        tracing::error!("could not draw an unused user code");
        Err(OAuthError::server_error())
    }

    /// Finds the pending authorization a person's typed code names.
    ///
    /// Wrong codes are counted per session, per address and server-wide.
    /// Each entry is counted before the lookup and given back when the code
    /// was right, so a burst of simultaneous guesses cannot all pass one
    /// check: past its free tries, a counter lets one of them through per
    /// backoff period. The server-wide counter only holds back sessions and
    /// addresses that have themselves failed lately, so guessing elsewhere
    /// never locks out a person typing the code their device shows.
    pub async fn find_device(
        &self,
        typed: &str,
        session_key: &str,
        client_addr: &str,
        now: i64,
    ) -> Result<PendingDevice, DeviceEntryError> {
        let keys = entry_keys(session_key, client_addr);
        let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        let before = self.store.failure_counts(&names[..2]).await?;
        // The server-wide counter holds back only sessions and addresses
        // that failed lately, so people typing real codes are not held
        // up by an attack elsewhere; it counts every entry all the same.
        let failed_lately = keys[..2].iter().any(|(key, policy)| {
            before.iter().any(|(k, c)| {
                k == key && c.failures > 0 && now - c.last_failure_at < policy.reset_after
            })
        });
        let [session, address, global] = keys;
        let mut charged = vec![session, address];
        if failed_lately {
            charged.push(global.clone());
        }
        // Reserved before the lookup, atomically: a burst of parallel
        // entries gets no more than the free tries.
        let counters = Counters(charged);
        if let Err(wait) = counters.reserve(self.store.as_ref(), now).await? {
            return Err(DeviceEntryError::Throttled(wait));
        }
        if !failed_lately {
            self.store
                .record_failure(&global.0, now, global.1.reset_after)
                .await?;
        }
        let found = match normalize_user_code(typed) {
            Some(code) => {
                let record = self
                    .store
                    .device_code_by_user_code(&SecretDigest::of(&code))
                    .await?
                    .filter(|r| r.status == DeviceStatus::Pending && r.expires_at > now);
                match record {
                    Some(r) => self
                        .store
                        .application_by_id(r.application_id)
                        .await?
                        .map(|app| (app, r, code)),
                    None => None,
                }
            }
            None => None,
        };
        let Some((app, record, code)) = found else {
            return Err(DeviceEntryError::Invalid);
        };
        // The right code: this entry was no failure.
        counters.give_back(self.store.as_ref(), 1).await?;
        if !failed_lately {
            self.store.forgive_failures(&global.0, 1).await?;
        }
        Ok(PendingDevice {
            app,
            scopes: record.scopes,
            display_code: format_user_code(&code),
            user_code: code,
        })
    }

    /// Records the person's decision on a code [`find_device`] accepted:
    /// `approved_by` is `(user id, auth_time)`, or None to deny. An
    /// approval is remembered as a grant, like a consent. False when the
    /// code is no longer pending (decided meanwhile, or expired).
    ///
    /// [`find_device`]: OAuthService::find_device
    pub async fn decide_device(
        &self,
        device: &PendingDevice,
        approved_by: Option<(i64, i64)>,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let now = event.at;
        let kind = match approved_by {
            Some(_) => EventKind::DeviceApproved,
            None => EventKind::DeviceDenied,
        };
        let event = Event {
            kind,
            ..event.clone()
        }
        .client(&device.app.client_id)
        .detail(format!("scopes: {}", device.scopes));
        let decided = self
            .store
            .decide_device_code(
                &SecretDigest::of(&device.user_code),
                approved_by,
                now,
                &event,
            )
            .await?;
        if let (true, Some((user_id, _))) = (decided, approved_by) {
            self.store
                .save_grant(user_id, device.app.id, device.scopes, now, None)
                .await?;
        }
        Ok(decided)
    }

    /// The token endpoint's device code grant (RFC 8628 §3.4, §3.5).
    pub(super) async fn device_token(
        &self,
        app: &Application,
        device_code: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let invalid =
            || OAuthError::invalid_grant("the device code is invalid or was already used");
        let digest = SecretDigest::of(device_code);
        let poll = self
            .store
            .poll_device_code(&digest, now)
            .await
            .map_err(internal)?
            .ok_or_else(invalid)?;
        let record = poll.record;
        if record.application_id != app.id {
            return Err(invalid());
        }
        match record.status {
            DeviceStatus::Redeemed => return Err(invalid()),
            DeviceStatus::Denied => {
                return Err(OAuthError::new(
                    ErrorCode::AccessDenied,
                    "the user denied the request",
                ))
            }
            _ if record.expires_at <= now => {
                return Err(OAuthError::new(
                    ErrorCode::ExpiredToken,
                    "the device code has expired; start again",
                ))
            }
            DeviceStatus::Pending if poll.too_fast => {
                return Err(OAuthError::new(
                    ErrorCode::SlowDown,
                    format!(
                        "polling too fast; wait {} s between requests",
                        record.interval
                    ),
                ))
            }
            DeviceStatus::Pending => {
                return Err(OAuthError::new(
                    ErrorCode::AuthorizationPending,
                    "the user has not decided yet",
                ))
            }
            DeviceStatus::Approved => {}
        }
        let (Some(user_id), Some(auth_time)) = (record.user_id, record.auth_time) else {
            tracing::error!("approved device code without a user");
            return Err(OAuthError::server_error());
        };
        let (tokens, mut response) = self.issue(
            app,
            Grant {
                user_id: Some(user_id),
                access_scopes: record.scopes,
                refresh_scopes: Self::refresh_scopes(app, record.scopes),
                family: record.family.clone(),
                auth_time: Some(auth_time),
            },
            now,
        );
        if record.scopes.contains(Scope::Openid) {
            let subject = IdTokenSubject {
                user_id,
                scopes: record.scopes,
                nonce: None,
                auth_time,
            };
            response.id_token = Some(
                self.id_token(app, subject, &response.access_token, now)
                    .await?,
            );
        }
        let claimed = self.store.redeem_device_code(&digest, now, &tokens).await;
        match self.stored(app, claimed).await? {
            Claim::Claimed => Ok(response),
            Claim::Reused => {
                tracing::warn!(client_id = %app.client_id, "device code redeemed twice at once; its tokens were revoked");
                Err(invalid())
            }
        }
    }
}
