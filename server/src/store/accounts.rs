//! People and their browser sessions.

use async_trait::async_trait;
use gatehouse::audit::Event;
use gatehouse::password::PasswordHash;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{
    AccountStore, NewUser, ProfileUpdate, SessionRecord, SessionStore, StoreError, UniqueError,
    User,
};
use sqlx::Row;

use super::rows::user_from_row;
use super::{err, unique_error, Db, SqlStore};

/// The columns of `users`, in the order `user_from_row` expects; with a
/// table alias prefix when given one.
macro_rules! user_columns {
    () => {
        "id, username, email, first_name, last_name, password_hash, \
         is_active, is_staff, is_superuser, email_verified, date_joined, last_login"
    };
    (u) => {
        "u.id, u.username, u.email, u.first_name, u.last_name, u.password_hash, \
         u.is_active, u.is_staff, u.is_superuser, u.email_verified, u.date_joined, u.last_login"
    };
}

/// What a deactivated account leaves behind: nothing issued before may
/// come back to life.
pub(super) const ISSUED_TO_USER: [&str; 5] = [
    "DELETE FROM sessions WHERE user_id = $1",
    "DELETE FROM access_tokens WHERE user_id = $1",
    "DELETE FROM refresh_tokens WHERE user_id = $1",
    "DELETE FROM authorization_codes WHERE user_id = $1",
    "DELETE FROM device_codes WHERE user_id = $1",
];

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_user(&self, new: NewUser<'_>, event: &Event) -> Result<User, UniqueError> {
        const SQL: &str = concat!(
            "INSERT INTO users (username, email, password_hash, is_staff, is_superuser, date_joined) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            user_columns!()
        );
        let user = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(|e| UniqueError::Store(err(e)))?;
            let row = sqlx::query(SQL)
                .bind(new.username)
                .bind(new.email)
                .bind(new.password_hash.as_str())
                .bind(new.is_staff)
                .bind(new.is_superuser)
                .bind(new.now)
                .fetch_one(&mut *tx)
                .await
                .map_err(unique_error)?;
            let user = user_from_row(&row).map_err(|e| UniqueError::Store(err(e)))?;
            let event = event.clone().user(user.id, &user.username);
            insert_event!(&mut *tx, &event)
                .await
                .map_err(|e| UniqueError::Store(err(e)))?;
            tx.commit().await.map_err(|e| UniqueError::Store(err(e)))?;
            event.log();
            user
        });
        Ok(user)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        self.find(SQL, id).await
    }

    async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        // A login with `@` is an email (Gatehouse's own usernames cannot
        // hold one); failing that, a username, as accounts imported from
        // Django may have `@` in theirs. Each comparison is the expression
        // of its unique index: ASCII case folding (SQLite's NOCASE column,
        // PostgreSQL's lower() under the "C" collation).
        let by_email = self.sql(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE email = $1 AND email <> ''"
            ),
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\") \
                 AND email <> ''"
            ),
        );
        let by_username = self.sql(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE username = $1"
            ),
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE lower(username COLLATE \"C\") = lower($1 COLLATE \"C\")"
            ),
        );
        if login.contains('@') {
            if let Some(user) = self.find(by_email, login).await? {
                return Ok(Some(user));
            }
        }
        self.find(by_username, login).await
    }

    async fn update_profile(
        &self,
        id: i64,
        update: ProfileUpdate<'_>,
        event: &Event,
    ) -> Result<(), UniqueError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(|e| UniqueError::Store(err(e)))?;
            // A new address is not verified (the same one, in another
            // case, stays as it was).
            sqlx::query(self.sql(
                "UPDATE users SET first_name = $1, last_name = $2, \
                 email_verified = CASE WHEN email = $3 THEN email_verified ELSE FALSE END, \
                 email = $3, username = COALESCE($4, username) WHERE id = $5",
                "UPDATE users SET first_name = $1, last_name = $2, \
                 email_verified = CASE WHEN lower(email COLLATE \"C\") = lower($3 COLLATE \"C\") \
                 THEN email_verified ELSE FALSE END, \
                 email = $3, username = COALESCE($4, username) WHERE id = $5",
            ))
            .bind(update.first_name)
            .bind(update.last_name)
            .bind(update.email)
            .bind(update.username)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(unique_error)?;
            insert_event!(&mut *tx, event)
                .await
                .map_err(|e| UniqueError::Store(err(e)))?;
            tx.commit().await.map_err(|e| UniqueError::Store(err(e)))?;
        });
        event.log();
        Ok(())
    }

    async fn set_password(
        &self,
        id: i64,
        hash: &PasswordHash,
        event: Option<&Event>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash.as_str())
                .bind(id)
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

    async fn record_login(&self, id: i64, now: i64, event: &Event) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
        });
        event.log();
        Ok(())
    }

    async fn delete_user(&self, id: i64, event: &Event) -> Result<(), StoreError> {
        // Sessions, grants and tokens go with it through ON DELETE CASCADE.
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
        });
        event.log();
        Ok(())
    }

    async fn search_users(
        &self,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        // instr()/strpos() rather than LIKE: `%` and `_` typed in a search
        // are literal.
        let sql = self.sql(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users \
                 WHERE $1 = '' OR instr(lower(username), lower($1)) > 0 \
                    OR instr(lower(email), lower($1)) > 0 \
                 ORDER BY username COLLATE NOCASE, id LIMIT $2 OFFSET $3"
            ),
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users \
                 WHERE $1 = '' OR strpos(lower(username COLLATE \"C\"), lower($1 COLLATE \"C\")) > 0 \
                    OR strpos(lower(email COLLATE \"C\"), lower($1 COLLATE \"C\")) > 0 \
                 ORDER BY lower(username COLLATE \"C\"), id LIMIT $2 OFFSET $3"
            ),
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query(sql)
                .bind(query)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter()
                .map(user_from_row)
                .collect::<Result<_, _>>()
                .map_err(err)
        })
    }

    async fn set_user_active(
        &self,
        id: i64,
        active: bool,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let done = sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
                .bind(active)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            if !active {
                for sql in ISSUED_TO_USER {
                    sqlx::query(sql)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
            }
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            true
        });
        event.log();
        Ok(done)
    }

    async fn set_user_staff(
        &self,
        id: i64,
        staff: bool,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let done = sqlx::query("UPDATE users SET is_staff = $1 WHERE id = $2")
                .bind(staff)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            true
        });
        event.log();
        Ok(done)
    }

    async fn usernames(&self, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One query however many ids: PostgreSQL takes them as an array,
        // SQLite as a JSON array unpacked by json_each.
        match &self.db {
            Db::Sqlite(db) => {
                let list = serde_json::to_string(ids).map_err(StoreError::new)?;
                sqlx::query_as(
                    "SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each($1))",
                )
                .bind(list)
                .fetch_all(&db.pool)
                .await
            }
            Db::Postgres(db) => {
                sqlx::query_as("SELECT id, username FROM users WHERE id = ANY($1)")
                    .bind(ids)
                    .fetch_all(&db.pool)
                    .await
            }
        }
        .map_err(err)
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id_digest, user_id, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(s.digest.as_str())
            .bind(s.user_id)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .execute(pool)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    async fn session_with_user(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(SessionRecord, User)>, StoreError> {
        const SQL: &str = concat!(
            "SELECT s.id_digest, s.user_id, s.created_at, s.last_seen_at, ",
            user_columns!(u),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_digest = $1 AND u.is_active"
        );
        with_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(digest.as_str())
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            let Some(row) = row else { return Ok(None) };
            let session = SessionRecord {
                digest: SecretDigest::from_stored(row.try_get("id_digest").map_err(err)?),
                user_id: row.try_get("user_id").map_err(err)?,
                created_at: row.try_get("created_at").map_err(err)?,
                last_seen_at: row.try_get("last_seen_at").map_err(err)?,
            };
            let user = user_from_row(&row).map_err(err)?;
            Ok(Some((session, user)))
        })
    }

    async fn touch_session(&self, digest: &SecretDigest, now: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_digest = $2")
                .bind(now)
                .bind(digest.as_str())
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    async fn delete_session(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
                .bind(digest.as_str())
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    async fn delete_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&SecretDigest>,
        event: Option<&Event>,
    ) -> Result<u64, StoreError> {
        let event = event.cloned();
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let done = sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1 AND id_digest IS DISTINCT FROM $2",
            )
            .bind(user_id)
            .bind(keep.map(|d| d.as_str()))
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
            if let Some(event) = &event {
                let event = event.clone().detail(format!("{done} session(s) ended"));
                insert_event!(&mut *tx, &event).await.map_err(err)?;
                tx.commit().await.map_err(err)?;
                event.log();
            } else {
                tx.commit().await.map_err(err)?;
            }
            done
        });
        Ok(done)
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            let done =
                sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2")
                    .bind(idle_before)
                    .bind(created_before)
                    .execute(pool)
                    .await
                    .map_err(err)?;
            Ok(done.rows_affected())
        })
    }
}
