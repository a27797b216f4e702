//! Grants, codes and tokens. Single-use claims (a code, a
//! refresh token, a device code) are one `UPDATE … WHERE <unused>
//! RETURNING` inside the transaction that stores the new tokens: on SQLite
//! concurrent redemptions serialise on the write lock, on PostgreSQL they
//! wait on the row's lock and re-check the condition once the first
//! commits, so on both exactly one sees the row unused.

use async_trait::async_trait;
use gatehouse::audit::Event;
use gatehouse::oauth::pkce;
use gatehouse::oauth::ScopeSet;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{
    AccessLookup, Claim, CodeRecord, GrantRecord, IssuedTokens, OAuthStore, Reuse, StoreError,
    TokenLookup,
};
use sqlx::Row;

use super::rows::token_from_row;
use super::{err, Db, SqlStore};

/// A refresh token with its client and user, if the user (when there is
/// one) is still active: a deactivated account's tokens stop working at once.
const REFRESH_LOOKUP: &str = "SELECT t.digest, t.application_id, t.user_id, t.scopes, t.family, \
     t.created_at, t.expires_at, t.auth_time, t.rotated_at IS NOT NULL AS rotated, a.client_id, \
     u.username FROM refresh_tokens t \
     JOIN applications a ON a.id = t.application_id \
     LEFT JOIN users u ON u.id = t.user_id \
     WHERE t.digest = $1 AND (t.user_id IS NULL OR u.is_active)";

/// An access token's holder and rights, in [`AccessLookup`]'s order.
const ACCESS_LOOKUP: &str =
    "SELECT t.application_id, a.client_id, t.user_id, u.username, t.scopes, \
     t.created_at, t.expires_at FROM access_tokens t \
     JOIN applications a ON a.id = t.application_id \
     LEFT JOIN users u ON u.id = t.user_id \
     WHERE t.digest = $1 AND (t.user_id IS NULL OR u.is_active)";

/// The tokens of one family, revoked together.
const REVOKE_FAMILY: [&str; 2] = [
    "DELETE FROM access_tokens WHERE family = $1",
    "DELETE FROM refresh_tokens WHERE family = $1",
];

/// The event of a reused code or refresh token, with the account's and the
/// app's names as they are now.
const REUSE_EVENT: &str =
    "INSERT INTO audit_events (at, kind, user_id, username, client_id, detail) \
     SELECT $1, 'token_reused', $2, COALESCE((SELECT username FROM users WHERE id = $2), ''), \
     (SELECT client_id FROM applications WHERE id = $3), $4 \
     RETURNING id, at, kind, user_id, username, actor_id, actor_username, client_id, address, \
     user_agent, detail";

/// Everything an app holds for one person, removed when the grant is
/// withdrawn.
const HELD_FOR_USER: [&str; 5] = [
    "DELETE FROM grants WHERE user_id = $1 AND application_id = $2",
    "DELETE FROM access_tokens WHERE user_id = $1 AND application_id = $2",
    "DELETE FROM refresh_tokens WHERE user_id = $1 AND application_id = $2",
    "DELETE FROM authorization_codes WHERE user_id = $1 AND application_id = $2",
    "DELETE FROM device_codes WHERE user_id = $1 AND application_id = $2",
];

impl SqlStore {
    /// Marks a code or refresh token used with `claim_sql` (an `UPDATE …
    /// WHERE <unused> RETURNING family`) and stores `tokens` in the same
    /// transaction. Finding it used already, revokes the family — after
    /// the first claimer committed, so what it got is revoked too — and
    /// records a `token_reused` event about `what` in the same transaction.
    pub(super) async fn claim(
        &self,
        claim_sql: &'static str,
        what: &'static str,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        match &self.db {
            // Group commit with the other token writes: see `sqlite/batch.rs`.
            Db::Sqlite(db) => {
                if db
                    .tokens
                    .claim(claim_sql, digest.as_str(), now, tokens.clone())
                    .await?
                {
                    return Ok(Claim::Claimed);
                }
            }
            Db::Postgres(db) => {
                let mut tx = db.pool.begin().await.map_err(err)?;
                let claimed: Option<String> = sqlx::query_scalar(claim_sql)
                    .bind(now)
                    .bind(digest.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                if claimed.is_some() {
                    insert_tokens!(&mut *tx, tokens).await.map_err(err)?;
                    tx.commit().await.map_err(err)?;
                    return Ok(Claim::Claimed);
                }
                tx.rollback().await.map_err(err)?;
            }
        }
        let reuse = Reuse {
            what,
            user_id: tokens.access.user_id,
            application_id: tokens.access.application_id,
            at: now,
        };
        self.revoke_reused_family(&tokens.access.family, &reuse)
            .await?;
        Ok(Claim::Reused)
    }
}

#[async_trait]
impl OAuthStore for SqlStore {
    async fn granted_scopes(
        &self,
        user_id: i64,
        application_id: i64,
    ) -> Result<Option<ScopeSet>, StoreError> {
        with_pool!(self, |pool| {
            let scopes: Option<String> = sqlx::query_scalar(
                "SELECT scopes FROM grants WHERE user_id = $1 AND application_id = $2",
            )
            .bind(user_id)
            .bind(application_id)
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            Ok(scopes.map(|s| ScopeSet::from_stored(&s)))
        })
    }

    async fn save_grant(
        &self,
        user_id: i64,
        application_id: i64,
        scopes: ScopeSet,
        now: i64,
        event: Option<&Event>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            // Make sure the row exists, then widen it under its lock (SQLite's
            // write lock, PostgreSQL's row lock), so concurrent grants add up
            // instead of overwriting each other.
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query(
                "INSERT INTO grants (user_id, application_id, scopes, created_at, updated_at) \
                 VALUES ($1, $2, '', $3, $3) ON CONFLICT (user_id, application_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(application_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            let before: String = sqlx::query_scalar(
                "UPDATE grants SET updated_at = $1 WHERE user_id = $2 AND application_id = $3 \
                 RETURNING scopes",
            )
            .bind(now)
            .bind(user_id)
            .bind(application_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
            let scopes = ScopeSet::from_stored(&before).union(scopes);
            sqlx::query("UPDATE grants SET scopes = $1 WHERE user_id = $2 AND application_id = $3")
                .bind(scopes.to_string())
                .bind(user_id)
                .bind(application_id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            if let Some(event) = event {
                insert_event!(&mut *tx, event).await.map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
        });
        if let Some(event) = event {
            event.log();
        }
        Ok(())
    }

    async fn user_grants(&self, user_id: i64) -> Result<Vec<GrantRecord>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT g.application_id, a.client_id, a.name, g.scopes, g.created_at, g.updated_at, \
                   (SELECT MAX(created_at) FROM ( \
                      SELECT created_at FROM access_tokens \
                       WHERE user_id = g.user_id AND application_id = g.application_id \
                      UNION ALL \
                      SELECT created_at FROM refresh_tokens \
                       WHERE user_id = g.user_id AND application_id = g.application_id) AS issued) \
                   AS last_used_at \
                 FROM grants g JOIN applications a ON a.id = g.application_id \
                 WHERE g.user_id = $1 ORDER BY g.updated_at DESC, g.application_id DESC",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter()
                .map(|r| -> Result<GrantRecord, sqlx::Error> {
                    Ok(GrantRecord {
                        application_id: r.try_get("application_id")?,
                        client_id: r.try_get("client_id")?,
                        app_name: r.try_get("name")?,
                        scopes: ScopeSet::from_stored(r.try_get("scopes")?),
                        granted_at: r.try_get("created_at")?,
                        updated_at: r.try_get("updated_at")?,
                        last_used_at: r.try_get("last_used_at")?,
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(err)
        })
    }

    async fn revoke_grant(
        &self,
        user_id: i64,
        application_id: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let removed = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let mut removed = 0;
            for sql in HELD_FOR_USER {
                removed += sqlx::query(sql)
                    .bind(user_id)
                    .bind(application_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?
                    .rows_affected();
            }
            if removed == 0 {
                return Ok(false);
            }
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            removed
        });
        event.log();
        Ok(removed > 0)
    }

    async fn create_code(&self, code: &CodeRecord) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO authorization_codes (digest, application_id, user_id, redirect_uri, \
                 redirect_uri_sent, scopes, code_challenge, code_challenge_method, nonce, auth_time, \
                 family, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(code.digest.as_str())
            .bind(code.application_id)
            .bind(code.user_id)
            .bind(&code.redirect_uri)
            .bind(code.redirect_uri_sent)
            .bind(code.scopes.to_string())
            .bind(code.code_challenge.as_ref().map(|(c, _)| c.as_str()))
            .bind(code.code_challenge.as_ref().map(|(_, m)| m.as_str()))
            .bind(&code.nonce)
            .bind(code.auth_time)
            .bind(&code.family)
            .bind(code.created_at)
            .bind(code.expires_at)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn code(&self, digest: &SecretDigest) -> Result<Option<CodeRecord>, StoreError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                // A deactivated account's codes are as good as gone.
                "SELECT c.digest, c.application_id, c.user_id, c.redirect_uri, c.redirect_uri_sent, \
                 c.scopes, c.code_challenge, c.code_challenge_method, c.nonce, c.auth_time, c.family, \
                 c.created_at, c.expires_at, c.redeemed_at FROM authorization_codes c \
                 JOIN users u ON u.id = c.user_id WHERE c.digest = $1 AND u.is_active",
            )
            .bind(digest.as_str())
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            let Some(r) = row else { return Ok(None) };
            let parse = || -> Result<CodeRecord, sqlx::Error> {
                let challenge: Option<String> = r.try_get("code_challenge")?;
                let method: Option<String> = r.try_get("code_challenge_method")?;
                let code_challenge = match (challenge, method) {
                    (Some(c), Some(m)) => Some((
                        c,
                        pkce::Method::parse(&m).ok_or_else(|| {
                            sqlx::Error::Decode(format!("unknown PKCE method {m:?}").into())
                        })?,
                    )),
                    _ => None,
                };
                let redeemed_at: Option<i64> = r.try_get("redeemed_at")?;
                Ok(CodeRecord {
                    digest: SecretDigest::from_stored(r.try_get("digest")?),
                    application_id: r.try_get("application_id")?,
                    user_id: r.try_get("user_id")?,
                    redirect_uri: r.try_get("redirect_uri")?,
                    redirect_uri_sent: r.try_get("redirect_uri_sent")?,
                    scopes: ScopeSet::from_stored(r.try_get("scopes")?),
                    code_challenge,
                    nonce: r.try_get("nonce")?,
                    auth_time: r.try_get("auth_time")?,
                    family: r.try_get("family")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    redeemed: redeemed_at.is_some(),
                })
            };
            parse().map(Some).map_err(err)
        })
    }

    async fn redeem_code(
        &self,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        self.claim(
            "UPDATE authorization_codes SET redeemed_at = $1 \
             WHERE digest = $2 AND redeemed_at IS NULL RETURNING family",
            "authorization code",
            digest,
            now,
            tokens,
        )
        .await
    }

    async fn insert_tokens(&self, tokens: &IssuedTokens) -> Result<(), StoreError> {
        match &self.db {
            // Group commit: see `sqlite/batch.rs`.
            Db::Sqlite(db) => db.tokens.insert(tokens.clone()).await,
            Db::Postgres(db) => {
                let mut tx = db.pool.begin().await.map_err(err)?;
                insert_tokens!(&mut *tx, tokens).await.map_err(err)?;
                tx.commit().await.map_err(err)
            }
        }
    }

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<TokenLookup>, StoreError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(REFRESH_LOOKUP)
                .bind(digest.as_str())
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.map(|r| -> Result<TokenLookup, sqlx::Error> {
                Ok(TokenLookup {
                    record: token_from_row(&r)?,
                    client_id: r.try_get("client_id")?,
                    username: r.try_get("username")?,
                    rotated: r.try_get("rotated")?,
                })
            })
            .transpose()
            .map_err(err)
        })
    }

    async fn rotate_refresh_token(
        &self,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        self.claim(
            "UPDATE refresh_tokens SET rotated_at = $1 \
             WHERE digest = $2 AND rotated_at IS NULL RETURNING family",
            "refresh token",
            digest,
            now,
            tokens,
        )
        .await
    }

    async fn access_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<AccessLookup>, StoreError> {
        // The hot read of every bearer request and introspection: only the
        // columns the answer needs, read by position (no name lookups).
        with_pool!(self, |pool| {
            let row = sqlx::query(ACCESS_LOOKUP)
                .bind(digest.as_str())
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.map(|r| -> Result<AccessLookup, sqlx::Error> {
                let scopes: &str = r.try_get(4)?;
                Ok(AccessLookup {
                    application_id: r.try_get(0)?,
                    client_id: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    username: r.try_get(3)?,
                    scopes: ScopeSet::from_stored(scopes),
                    created_at: r.try_get(5)?,
                    expires_at: r.try_get(6)?,
                })
            })
            .transpose()
            .map_err(err)
        })
    }

    async fn revoke_access_token(
        &self,
        digest: &SecretDigest,
        application_id: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, |pool| {
            let done =
                sqlx::query("DELETE FROM access_tokens WHERE digest = $1 AND application_id = $2")
                    .bind(digest.as_str())
                    .bind(application_id)
                    .execute(pool)
                    .await
                    .map_err(err)?;
            if done.rows_affected() > 0 {
                return Ok(true);
            }
            // Another app's token: report it as handled without touching it.
            let exists = sqlx::query("SELECT 1 FROM access_tokens WHERE digest = $1")
                .bind(digest.as_str())
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            Ok(exists.is_some())
        })
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let mut removed = 0;
            for sql in REVOKE_FAMILY {
                removed += sqlx::query(sql)
                    .bind(family)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?
                    .rows_affected();
            }
            tx.commit().await.map_err(err)?;
            Ok(removed)
        })
    }

    async fn revoke_reused_family(&self, family: &str, reuse: &Reuse) -> Result<u64, StoreError> {
        let (removed, event) = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let mut removed = 0;
            for sql in REVOKE_FAMILY {
                removed += sqlx::query(sql)
                    .bind(family)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?
                    .rows_affected();
            }
            let row = sqlx::query(REUSE_EVENT)
                .bind(reuse.at)
                .bind(reuse.user_id)
                .bind(reuse.application_id)
                .bind(format!(
                    "{} used twice; {removed} tokens revoked",
                    reuse.what
                ))
                .fetch_one(&mut *tx)
                .await
                .map_err(err)?;
            let event = super::audit::event_from_row(&row).map_err(err)?;
            tx.commit().await.map_err(err)?;
            (removed, event)
        });
        event.log();
        Ok(removed)
    }

    async fn delete_expired_tokens(&self, now: i64) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            let mut removed = 0;
            for sql in [
                "DELETE FROM access_tokens WHERE expires_at <= $1",
                "DELETE FROM refresh_tokens WHERE expires_at <= $1",
                // Kept a while after expiry: a late replay still revokes the family.
                "DELETE FROM authorization_codes WHERE expires_at <= $1 - 3600",
                "DELETE FROM device_codes WHERE expires_at <= $1 - 3600",
            ] {
                removed += sqlx::query(sql)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map_err(err)?
                    .rows_affected();
            }
            Ok(removed)
        })
    }
}
