//! One-time links sent by mail, and the mail queue.

use async_trait::async_trait;
use gatehouse::audit::Event;
use gatehouse::mail::OutgoingMail;
use gatehouse::password::PasswordHash;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{AccountLink, LinkPurpose, MailStore, QueuedMail, StoreError, Verified};
use sqlx::Row;

use super::accounts::ISSUED_TO_USER;
use super::{err, SqlStore};

const LINK_COLUMNS: &str = "digest, user_id, purpose, email, stamp, created_at, expires_at";

fn link_from_parts(
    digest: String,
    user_id: i64,
    purpose: String,
    email: String,
    stamp: String,
    created_at: i64,
    expires_at: i64,
) -> Result<AccountLink, sqlx::Error> {
    Ok(AccountLink {
        digest: SecretDigest::from_stored(digest),
        user_id,
        purpose: LinkPurpose::parse(&purpose).ok_or_else(|| {
            sqlx::Error::Decode(format!("purpose: unknown value {purpose:?}").into())
        })?,
        email,
        stamp,
        created_at,
        expires_at,
    })
}

/// Deletes the link (the first to do so wins), evaluating to whether this
/// call deleted it. `$conn` is the transaction's connection.
macro_rules! take_link {
    ($conn:expr, $link:expr, $now:expr) => {
        sqlx::query("DELETE FROM account_links WHERE digest = $1 AND expires_at > $2")
            .bind($link.digest.as_str())
            .bind($now)
            .execute($conn)
            .await
            .map(|done| done.rows_affected() == 1)
    };
}

#[async_trait]
impl MailStore for SqlStore {
    async fn queue_mail(
        &self,
        link: Option<&AccountLink>,
        mail: &OutgoingMail,
        now: i64,
        event: Option<&Event>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            if let Some(link) = link {
                sqlx::query(
                    "INSERT INTO account_links (digest, user_id, purpose, email, stamp, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(link.digest.as_str())
                .bind(link.user_id)
                .bind(link.purpose.as_str())
                .bind(&link.email)
                .bind(&link.stamp)
                .bind(link.created_at)
                .bind(link.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            sqlx::query(
                "INSERT INTO mail_queue (recipient, subject, text_body, html_body, created_at, \
                 next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(&mail.to)
            .bind(&mail.subject)
            .bind(&mail.text)
            .bind(&mail.html)
            .bind(now)
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

    async fn account_link(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> Result<Option<AccountLink>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM account_links WHERE digest = $1 AND expires_at > $2"
        );
        with_pool!(self, |pool| {
            let row = sqlx::query(&sql)
                .bind(digest.as_str())
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.map(|r| {
                link_from_parts(
                    r.try_get("digest")?,
                    r.try_get("user_id")?,
                    r.try_get("purpose")?,
                    r.try_get("email")?,
                    r.try_get("stamp")?,
                    r.try_get("created_at")?,
                    r.try_get("expires_at")?,
                )
            })
            .transpose()
            .map_err(err)
        })
    }

    async fn reset_password(
        &self,
        link: &AccountLink,
        old: &PasswordHash,
        hash: &PasswordHash,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            if !take_link!(&mut *tx, link, now).map_err(err)? {
                return Ok(false);
            }
            sqlx::query("DELETE FROM account_links WHERE user_id = $1 AND purpose = $2")
                .bind(link.user_id)
                .bind(LinkPurpose::ResetPassword.as_str())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            let updated = sqlx::query(
                "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
            )
            .bind(hash.as_str())
            .bind(link.user_id)
            .bind(old.as_str())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            if updated.rows_affected() != 1 {
                // Changed since the link was checked: the link is dead.
                return Ok(false);
            }
            for sql in ISSUED_TO_USER {
                sqlx::query(sql)
                    .bind(link.user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            true
        });
        event.log();
        Ok(done)
    }

    async fn verify_email(
        &self,
        link: &AccountLink,
        rename: bool,
        now: i64,
        event: &Event,
    ) -> Result<Verified, StoreError> {
        let verified = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            if !take_link!(&mut *tx, link, now).map_err(err)? {
                return Ok(Verified::Gone);
            }
            let updated = sqlx::query(
                "UPDATE users SET email = $1, email_verified = TRUE, \
                 username = CASE WHEN $3 THEN $1 ELSE username END WHERE id = $2",
            )
            .bind(&link.email)
            .bind(link.user_id)
            .bind(rename)
            .execute(&mut *tx)
            .await;
            match updated {
                Ok(done) if done.rows_affected() == 1 => {}
                Ok(_) => return Ok(Verified::Gone),
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    // Nothing changes (the link stays, and cannot work
                    // while the address is someone else's).
                    drop(tx);
                    return Ok(Verified::Taken);
                }
                Err(e) => return Err(err(e)),
            }
            // Other links for the same address are moot now.
            sqlx::query("DELETE FROM account_links WHERE user_id = $1 AND purpose = $2")
                .bind(link.user_id)
                .bind(LinkPurpose::VerifyEmail.as_str())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            Verified::Done {
                email: link.email.clone(),
            }
        });
        event.log();
        Ok(verified)
    }

    async fn pending_verification(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT email FROM account_links WHERE user_id = $1 AND purpose = $2 \
                 AND expires_at > $3 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(user_id)
            .bind(LinkPurpose::VerifyEmail.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
            .map_err(err)
        })
    }

    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        // PostgreSQL: replicas' senders skip each other's rows.
        let sql = self.sql(
            "UPDATE mail_queue SET next_attempt_at = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $3) \
             RETURNING id, recipient, subject, text_body, html_body, attempts",
            "UPDATE mail_queue SET next_attempt_at = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, recipient, subject, text_body, html_body, attempts",
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query(sql)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            let mut claimed = rows
                .iter()
                .map(|r| {
                    let attempts: i32 = r.try_get("attempts")?;
                    Ok(QueuedMail {
                        id: r.try_get("id")?,
                        mail: OutgoingMail {
                            to: r.try_get("recipient")?,
                            subject: r.try_get("subject")?,
                            text: r.try_get("text_body")?,
                            html: r.try_get("html_body")?,
                        },
                        attempts: (attempts - 1).max(0) as u32,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(err)?;
            claimed.sort_by_key(|m| m.id);
            Ok(claimed)
        })
    }

    async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM mail_queue WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: i64,
        retry_at: Option<i64>,
        error: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            match retry_at {
                Some(at) => sqlx::query(
                    "UPDATE mail_queue SET next_attempt_at = $1, last_error = $2 WHERE id = $3",
                )
                .bind(at)
                .bind(error)
                .bind(id)
                .execute(pool)
                .await
                .map_err(err)?,
                None => sqlx::query("DELETE FROM mail_queue WHERE id = $1")
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(err)?,
            };
        });
        Ok(())
    }

    async fn delete_expired_links(&self, now: i64) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM account_links WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(done.rows_affected())
        })
    }
}
