//! OAuth storage on PostgreSQL: applications, grants, codes and tokens.
//! Single-use claims are one `UPDATE … WHERE <unused> RETURNING` inside
//! the transaction that stores the new tokens: concurrent redemptions (on
//! any replica) wait on the row's lock, and once the first commits the
//! others re-check the condition and find the row used.

use async_trait::async_trait;
use gatehouse::oauth::client::Application;
use gatehouse::oauth::pkce;
use gatehouse::oauth::ScopeSet;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{
    ApplicationError, Claim, CodeRecord, DevicePoll, DeviceRecord, GrantRecord, IssuedTokens,
    OAuthStore, StoreError, TokenLookup,
};
use sqlx::Row;

use crate::store::rows::{app_from_row, token_from_row};

use super::{err, PgStore};

const APP_COLUMNS: &str = "id, client_id, secret_digest, name, client_type, grant_types, \
     redirect_uris, post_logout_redirect_uris, allowed_origins, scopes, skip_consent, \
     allow_plain_pkce, algorithm, owner_id, created_at, reviewed";

/// Stores issued tokens on `conn` (in the caller's transaction).
pub(super) async fn insert_tokens(
    conn: &mut sqlx::PgConnection,
    tokens: &IssuedTokens,
) -> Result<(), sqlx::Error> {
    let rows = std::iter::once(("access_tokens", &tokens.access))
        .chain(tokens.refresh.iter().map(|r| ("refresh_tokens", r)));
    for (table, t) in rows {
        sqlx::query(&format!(
            "INSERT INTO {table} (digest, application_id, user_id, scopes, family, created_at, expires_at, auth_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(t.digest.as_str())
        .bind(t.application_id)
        .bind(t.user_id)
        .bind(t.scopes.to_string())
        .bind(&t.family)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.auth_time)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A token with its client and user, if the user (when there is one) is
/// still active: a deactivated account's tokens stop working at once.
fn lookup_sql(table: &str, rotated: &str) -> String {
    format!(
        "SELECT t.digest, t.application_id, t.user_id, t.scopes, t.family, t.created_at, \
         t.expires_at, t.auth_time, {rotated} AS rotated, a.client_id, u.username \
         FROM {table} t JOIN applications a ON a.id = t.application_id \
         LEFT JOIN users u ON u.id = t.user_id \
         WHERE t.digest = $1 AND (t.user_id IS NULL OR u.is_active)"
    )
}

impl PgStore {
    /// Marks a code or refresh token used with `claim_sql` (an `UPDATE …
    /// WHERE <unused> RETURNING family`) and stores `tokens` in the same
    /// transaction. Finding it used already, revokes the family — after
    /// the first claimer committed, so what it got is revoked too.
    pub(super) async fn claim(
        &self,
        claim_sql: &str,
        digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let claimed: Option<String> = sqlx::query_scalar(claim_sql)
            .bind(now)
            .bind(digest.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
        if claimed.is_some() {
            insert_tokens(&mut tx, tokens).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            return Ok(Claim::Claimed);
        }
        tx.rollback().await.map_err(err)?;
        self.revoke_family(&tokens.access.family).await?;
        Ok(Claim::Reused)
    }

    async fn lookup(
        &self,
        sql: &str,
        digest: &SecretDigest,
    ) -> Result<Option<TokenLookup>, StoreError> {
        let row = sqlx::query(sql)
            .bind(digest.as_str())
            .fetch_optional(&self.pool)
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
    }
}

#[async_trait]
impl OAuthStore for PgStore {
    async fn create_application(&self, app: &Application) -> Result<Application, ApplicationError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let grant_types: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
        let row = sqlx::query(&format!(
            "INSERT INTO applications (client_id, secret_digest, name, client_type, grant_types, \
             redirect_uris, post_logout_redirect_uris, allowed_origins, scopes, skip_consent, \
             allow_plain_pkce, algorithm, owner_id, created_at, updated_at, reviewed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             RETURNING {APP_COLUMNS}"
        ))
        .bind(&app.client_id)
        .bind(&app.secret_digest)
        .bind(&app.name)
        .bind(app.client_type.as_str())
        .bind(grant_types.join(" "))
        .bind(app.redirect_uris.join(" "))
        .bind(app.post_logout_redirect_uris.join(" "))
        .bind(app.allowed_origins.join(" "))
        .bind(app.scopes.to_string())
        .bind(app.skip_consent)
        .bind(app.allow_plain_pkce)
        .bind(app.algorithm.as_str())
        .bind(app.owner_id)
        .bind(app.created_at)
        .bind(app.created_at)
        .bind(app.reviewed)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ApplicationError::ClientIdTaken
            }
            _ => ApplicationError::Store(err(e)),
        })?;
        let stored = app_from_row(&row).map_err(err)?;
        for origin in &app.allowed_origins {
            sqlx::query(
                "INSERT INTO application_origins (application_id, origin) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(stored.id)
            .bind(origin)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(stored)
    }

    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.map(|r| app_from_row(&r)).transpose().map_err(err)
    }

    async fn application_by_id(&self, id: i64) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.map(|r| app_from_row(&r)).transpose().map_err(err)
    }

    async fn applications(&self, owner: Option<i64>) -> Result<Vec<Application>, StoreError> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(&format!(
                    "SELECT {APP_COLUMNS} FROM applications WHERE owner_id = $1 ORDER BY id"
                ))
                .bind(owner)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {APP_COLUMNS} FROM applications ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(err)?;
        rows.iter()
            .map(app_from_row)
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    async fn set_client_secret(
        &self,
        application_id: i64,
        secret_digest: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE applications SET secret_digest = $1, updated_at = $2 \
             WHERE id = $3 AND client_type = 'confidential'",
        )
        .bind(secret_digest)
        .bind(now)
        .bind(application_id)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn update_application(&self, app: &Application, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let grant_types: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
        let done = sqlx::query(
            "UPDATE applications SET name = $1, grant_types = $2, redirect_uris = $3, \
             post_logout_redirect_uris = $4, allowed_origins = $5, scopes = $6, skip_consent = $7, \
             allow_plain_pkce = $8, algorithm = $9, updated_at = $10, reviewed = $11 WHERE id = $12",
        )
        .bind(&app.name)
        .bind(grant_types.join(" "))
        .bind(app.redirect_uris.join(" "))
        .bind(app.post_logout_redirect_uris.join(" "))
        .bind(app.allowed_origins.join(" "))
        .bind(app.scopes.to_string())
        .bind(app.skip_consent)
        .bind(app.allow_plain_pkce)
        .bind(app.algorithm.as_str())
        .bind(now)
        .bind(app.reviewed)
        .bind(app.id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(err)?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM application_origins WHERE application_id = $1")
            .bind(app.id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        for origin in &app.allowed_origins {
            sqlx::query(
                "INSERT INTO application_origins (application_id, origin) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(app.id)
            .bind(origin)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn delete_application(&self, application_id: i64) -> Result<bool, StoreError> {
        // Codes, tokens, grants and origins go through ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM applications WHERE id = $1")
            .bind(application_id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn origin_allowed(&self, origin: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar::<_, i64>(
            "SELECT 1::BIGINT FROM application_origins WHERE origin = $1 LIMIT 1",
        )
        .bind(origin)
        .fetch_optional(&self.pool)
        .await
        .map(|r| r.is_some())
        .map_err(err)
    }

    async fn granted_scopes(
        &self,
        user_id: i64,
        application_id: i64,
    ) -> Result<Option<ScopeSet>, StoreError> {
        let scopes: Option<String> = sqlx::query_scalar(
            "SELECT scopes FROM grants WHERE user_id = $1 AND application_id = $2",
        )
        .bind(user_id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        Ok(scopes.map(|s| ScopeSet::from_stored(&s)))
    }

    async fn save_grant(
        &self,
        user_id: i64,
        application_id: i64,
        scopes: ScopeSet,
        now: i64,
    ) -> Result<(), StoreError> {
        // Make sure the row exists, then widen it under its row lock, so
        // concurrent grants (on any replica) add up instead of overwriting.
        let mut tx = self.pool.begin().await.map_err(err)?;
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
            "SELECT scopes FROM grants WHERE user_id = $1 AND application_id = $2 FOR UPDATE",
        )
        .bind(user_id)
        .bind(application_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        let scopes = ScopeSet::from_stored(&before).union(scopes);
        sqlx::query(
            "UPDATE grants SET scopes = $1, updated_at = $2 \
             WHERE user_id = $3 AND application_id = $4",
        )
        .bind(scopes.to_string())
        .bind(now)
        .bind(user_id)
        .bind(application_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn user_grants(&self, user_id: i64) -> Result<Vec<GrantRecord>, StoreError> {
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
        .fetch_all(&self.pool)
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
    }

    async fn revoke_grant(&self, user_id: i64, application_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let mut removed = 0;
        for table in [
            "grants",
            "access_tokens",
            "refresh_tokens",
            "authorization_codes",
            "device_codes",
        ] {
            removed += sqlx::query(&format!(
                "DELETE FROM {table} WHERE user_id = $1 AND application_id = $2"
            ))
            .bind(user_id)
            .bind(application_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        }
        tx.commit().await.map_err(err)?;
        Ok(removed > 0)
    }

    async fn create_code(&self, code: &CodeRecord) -> Result<(), StoreError> {
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
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn code(&self, digest: &SecretDigest) -> Result<Option<CodeRecord>, StoreError> {
        let row = sqlx::query(
            // A deactivated account's codes are as good as gone.
            "SELECT c.digest, c.application_id, c.user_id, c.redirect_uri, c.redirect_uri_sent, \
             c.scopes, c.code_challenge, c.code_challenge_method, c.nonce, c.auth_time, c.family, \
             c.created_at, c.expires_at, c.redeemed_at FROM authorization_codes c \
             JOIN users u ON u.id = c.user_id WHERE c.digest = $1 AND u.is_active",
        )
        .bind(digest.as_str())
        .fetch_optional(&self.pool)
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
            digest,
            now,
            tokens,
        )
        .await
    }

    async fn insert_tokens(&self, tokens: &IssuedTokens) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        insert_tokens(&mut tx, tokens).await.map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<TokenLookup>, StoreError> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| lookup_sql("refresh_tokens", "t.rotated_at IS NOT NULL"));
        self.lookup(sql, digest).await
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
            digest,
            now,
            tokens,
        )
        .await
    }

    async fn access_token(&self, digest: &SecretDigest) -> Result<Option<TokenLookup>, StoreError> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| lookup_sql("access_tokens", "FALSE"));
        self.lookup(sql, digest).await
    }

    async fn revoke_access_token(
        &self,
        digest: &SecretDigest,
        application_id: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM access_tokens WHERE digest = $1 AND application_id = $2")
                .bind(digest.as_str())
                .bind(application_id)
                .execute(&self.pool)
                .await
                .map_err(err)?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        // Another app's token: report it as handled without touching it.
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1::BIGINT FROM access_tokens WHERE digest = $1")
                .bind(digest.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(err)?;
        Ok(exists.is_some())
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let mut removed = 0;
        for sql in [
            "DELETE FROM access_tokens WHERE family = $1",
            "DELETE FROM refresh_tokens WHERE family = $1",
        ] {
            removed += sqlx::query(sql)
                .bind(family)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
        }
        tx.commit().await.map_err(err)?;
        Ok(removed)
    }

    async fn create_device_code(&self, record: &DeviceRecord) -> Result<bool, StoreError> {
        self.device_create(record).await
    }

    async fn device_code_by_user_code(
        &self,
        user_code_digest: &SecretDigest,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        self.device_by_user_code(user_code_digest).await
    }

    async fn decide_device_code(
        &self,
        user_code_digest: &SecretDigest,
        approved_by: Option<(i64, i64)>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.device_decide(user_code_digest, approved_by, now).await
    }

    async fn poll_device_code(
        &self,
        device_digest: &SecretDigest,
        now: i64,
    ) -> Result<Option<DevicePoll>, StoreError> {
        self.device_poll(device_digest, now).await
    }

    async fn redeem_device_code(
        &self,
        device_digest: &SecretDigest,
        now: i64,
        tokens: &IssuedTokens,
    ) -> Result<Claim, StoreError> {
        self.device_redeem(device_digest, now, tokens).await
    }

    async fn delete_expired_tokens(&self, now: i64) -> Result<u64, StoreError> {
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
                .execute(&self.pool)
                .await
                .map_err(err)?
                .rows_affected();
        }
        Ok(removed)
    }
}
