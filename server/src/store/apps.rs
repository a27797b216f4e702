//! Registered applications and their allowed origins.

use async_trait::async_trait;
use gatehouse::audit::Event;
use gatehouse::oauth::client::Application;
use gatehouse::store::{AppStore, ApplicationError, StoreError};

use super::rows::app_from_row;
use super::{err, SqlStore};

/// The columns `app_from_row` reads.
macro_rules! app_columns {
    () => {
        "id, client_id, secret_digest, name, client_type, grant_types, \
         redirect_uris, post_logout_redirect_uris, allowed_origins, scopes, skip_consent, \
         allow_plain_pkce, algorithm, owner_id, created_at, reviewed, weak_secret"
    };
}

/// Links an app to each of its allowed origins (for CORS).
const INSERT_ORIGIN: &str = "INSERT INTO application_origins (application_id, origin) \
     VALUES ($1, $2) ON CONFLICT DO NOTHING";

#[async_trait]
impl AppStore for SqlStore {
    async fn create_application(
        &self,
        app: &Application,
        event: &Event,
    ) -> Result<Application, ApplicationError> {
        let stored = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let grant_types: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
            let row = sqlx::query(concat!(
                "INSERT INTO applications (client_id, secret_digest, name, client_type, grant_types, \
                 redirect_uris, post_logout_redirect_uris, allowed_origins, scopes, skip_consent, \
                 allow_plain_pkce, algorithm, owner_id, created_at, updated_at, reviewed, \
                 weak_secret) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17) \
                 RETURNING ",
                app_columns!()
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
            .bind(app.weak_secret)
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
                sqlx::query(INSERT_ORIGIN)
                    .bind(stored.id)
                    .bind(origin)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            insert_event!(&mut *tx, event).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            stored
        });
        event.log();
        Ok(stored)
    }

    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            app_columns!(),
            " FROM applications WHERE client_id = $1"
        );
        self.find(SQL, client_id).await
    }

    async fn application_by_id(&self, id: i64) -> Result<Option<Application>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            app_columns!(),
            " FROM applications WHERE id = $1"
        );
        self.find(SQL, id).await
    }

    async fn applications(&self, owner: Option<i64>) -> Result<Vec<Application>, StoreError> {
        with_pool!(self, |pool| {
            let rows = match owner {
                Some(owner) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        app_columns!(),
                        " FROM applications WHERE owner_id = $1 ORDER BY id"
                    ))
                    .bind(owner)
                    .fetch_all(pool)
                    .await
                }
                None => {
                    sqlx::query(concat!(
                        "SELECT ",
                        app_columns!(),
                        " FROM applications ORDER BY id"
                    ))
                    .fetch_all(pool)
                    .await
                }
            }
            .map_err(err)?;
            rows.iter()
                .map(app_from_row)
                .collect::<Result<_, _>>()
                .map_err(err)
        })
    }

    async fn set_client_secret(
        &self,
        application_id: i64,
        secret_digest: &str,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            let done = sqlx::query(
                "UPDATE applications SET secret_digest = $1, updated_at = $2, weak_secret = FALSE \
                 WHERE id = $3 AND client_type = 'confidential'",
            )
            .bind(secret_digest)
            .bind(now)
            .bind(application_id)
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

    async fn replace_client_secret(
        &self,
        application_id: i64,
        old: &str,
        new: &str,
        weak: bool,
    ) -> Result<bool, StoreError> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "UPDATE applications SET secret_digest = $1, weak_secret = $2 \
                 WHERE id = $3 AND secret_digest = $4",
            )
            .bind(new)
            .bind(weak)
            .bind(application_id)
            .bind(old)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn update_application(
        &self,
        app: &Application,
        now: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
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
                sqlx::query(INSERT_ORIGIN)
                    .bind(app.id)
                    .bind(origin)
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

    async fn delete_application(
        &self,
        application_id: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(err)?;
            // Codes, tokens, grants and origins go through ON DELETE CASCADE.
            let done = sqlx::query("DELETE FROM applications WHERE id = $1")
                .bind(application_id)
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

    async fn origin_allowed(&self, origin: &str) -> Result<bool, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT 1 FROM application_origins WHERE origin = $1 LIMIT 1")
                .bind(origin)
                .fetch_optional(pool)
                .await
                .map(|r| r.is_some())
                .map_err(err)
        })
    }
}
