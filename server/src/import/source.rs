//! Reading a Django + django-oauth-toolkit database, read-only: its own
//! SQLite file or a PostgreSQL URL. Columns that older DOT releases lack
//! are read as their default; tables that are missing make it "not a DOT
//! database", a clear error before anything is written.

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, PgPool, SqlitePool};

use super::ImportError;

pub const APPLICATIONS: &str = "oauth2_provider_application";
pub const ACCESS_TOKENS: &str = "oauth2_provider_accesstoken";
pub const REFRESH_TOKENS: &str = "oauth2_provider_refreshtoken";
pub const USERS: &str = "auth_user";

/// The Django database, opened read-only.
pub enum Source {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DjangoUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password: String,
    pub is_active: i64,
    pub is_staff: i64,
    pub is_superuser: i64,
    pub date_joined: Option<i64>,
    pub last_login: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DotApplication {
    pub id: i64,
    pub client_id: String,
    pub client_secret: String,
    pub hash_client_secret: i64,
    pub name: String,
    pub client_type: String,
    pub authorization_grant_type: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_origins: String,
    pub user_id: Option<i64>,
    pub skip_authorization: i64,
    pub algorithm: String,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DotAccessToken {
    pub id: i64,
    pub token: String,
    pub expires: i64,
    pub scope: String,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DotRefreshToken {
    pub id: i64,
    pub token: String,
    pub access_token_id: Option<i64>,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub created: Option<i64>,
    pub revoked: Option<i64>,
}

/// Everything read from the source.
pub struct SourceRows {
    pub users: Vec<DjangoUser>,
    pub applications: Vec<DotApplication>,
    pub access_tokens: Vec<DotAccessToken>,
    pub refresh_tokens: Vec<DotRefreshToken>,
}

/// A table name given on the command line: a plain SQL identifier, as
/// Django makes them (it is put into SQL text).
pub fn valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl Source {
    /// Opens `url` without the right to change it: a SQLite file
    /// (`sqlite://PATH`, `sqlite:PATH` or a path) read-only, or PostgreSQL
    /// (`postgres://…`) with every transaction read-only.
    pub async fn open(url: &str) -> Result<Self, ImportError> {
        let open_error = |e: sqlx::Error| ImportError::Source(format!("cannot open {url}: {e}"));
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(open_error)?
                .options([("default_transaction_read_only", "on")])
                // Reading a whole table is slow by nature: not a warning.
                .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(open_error)?;
            return Ok(Self::Postgres(pool));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(ImportError::Source(format!(
                "unsupported database URL {url:?}: give the Django site's SQLite file \
                 (sqlite://PATH) or its PostgreSQL URL (postgres://…)"
            )));
        }
        if !std::path::Path::new(path).is_file() {
            return Err(ImportError::Source(format!(
                "no SQLite database file at {path}"
            )));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(Self::Sqlite(pool))
    }

    async fn table<'t>(&self, table: &'t str) -> Result<Columns<'t>, ImportError> {
        Ok(Columns {
            table,
            names: self.columns(table).await?,
            postgres: matches!(self, Self::Postgres(_)),
        })
    }

    /// The columns of `table`; empty when there is no such table.
    async fn columns(&self, table: &str) -> Result<Vec<String>, ImportError> {
        let read = |e: sqlx::Error| ImportError::Source(format!("cannot read {table}: {e}"));
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(pool)
                .await
                .map_err(read),
            Self::Postgres(pool) => sqlx::query_scalar(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_name = $1 AND table_schema = current_schema()",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .map_err(read),
        }
    }

    async fn rows<T>(&self, table: &str, sql: &str) -> Result<Vec<T>, ImportError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let read = |e: sqlx::Error| ImportError::Source(format!("cannot read {table}: {e}"));
        match self {
            Self::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.map_err(read),
            Self::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.map_err(read),
        }
    }

    /// Reads users (from `user_table`), DOT applications and live tokens.
    pub async fn read(&self, user_table: &str) -> Result<SourceRows, ImportError> {
        let users = self.table(user_table).await?;
        let apps = self.table(APPLICATIONS).await?;
        let access = self.table(ACCESS_TOKENS).await?;
        let refresh = self.table(REFRESH_TOKENS).await?;
        let missing: Vec<String> = [&users, &apps, &access, &refresh]
            .iter()
            .filter(|t| t.names.is_empty())
            .map(|t| t.table.to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::NotDjango(missing));
        }
        users.require(&["id", "password", "email"])?;
        apps.require(&[
            "id",
            "client_id",
            "client_secret",
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "name",
        ])?;
        access.require(&[
            "id",
            "token",
            "expires",
            "scope",
            "application_id",
            "user_id",
        ])?;
        refresh.require(&[
            "id",
            "token",
            "access_token_id",
            "application_id",
            "user_id",
        ])?;

        let username = if users.has("username") {
            "username"
        } else {
            // A custom user model that signs in with its email.
            "email"
        };
        let users_sql = format!(
            "SELECT {id} AS id, {username} AS username, {email} AS email, \
             {first} AS first_name, {last} AS last_name, {password} AS password, \
             {active} AS is_active, {staff} AS is_staff, {superuser} AS is_superuser, \
             {joined} AS date_joined, {login} AS last_login FROM {table} ORDER BY id",
            id = users.int("id"),
            username = users.text(username),
            email = users.text("email"),
            first = users.text("first_name"),
            last = users.text("last_name"),
            password = users.text("password"),
            active = users.flag("is_active", true),
            staff = users.flag("is_staff", false),
            superuser = users.flag("is_superuser", false),
            joined = users.epoch("date_joined"),
            login = users.epoch("last_login"),
            table = users.quoted(),
        );
        let apps_sql = format!(
            "SELECT {id} AS id, {client_id} AS client_id, {secret} AS client_secret, \
             {hashed} AS hash_client_secret, {name} AS name, {client_type} AS client_type, \
             {grant} AS authorization_grant_type, {redirects} AS redirect_uris, \
             {logout} AS post_logout_redirect_uris, {origins} AS allowed_origins, \
             {owner} AS user_id, {skip} AS skip_authorization, {algorithm} AS algorithm, \
             {created} AS created FROM {table} ORDER BY id",
            id = apps.int("id"),
            client_id = apps.text("client_id"),
            secret = apps.text("client_secret"),
            // Before DOT 2.0 secrets were kept in clear.
            hashed = apps.flag("hash_client_secret", false),
            name = apps.text("name"),
            client_type = apps.text("client_type"),
            grant = apps.text("authorization_grant_type"),
            redirects = apps.text("redirect_uris"),
            logout = apps.text("post_logout_redirect_uris"),
            origins = apps.text("allowed_origins"),
            owner = apps.int("user_id"),
            skip = apps.flag("skip_authorization", false),
            algorithm = apps.text("algorithm"),
            created = apps.epoch("created"),
            table = apps.quoted(),
        );
        let access_sql = format!(
            "SELECT {id} AS id, {token} AS token, {expires} AS expires, {scope} AS scope, \
             {app} AS application_id, {user} AS user_id, {created} AS created \
             FROM {table} WHERE expires IS NOT NULL ORDER BY id",
            id = access.int("id"),
            token = access.text("token"),
            expires = access.epoch("expires"),
            scope = access.text("scope"),
            app = access.int("application_id"),
            user = access.int("user_id"),
            created = access.epoch("created"),
            table = access.quoted(),
        );
        let refresh_sql = format!(
            "SELECT {id} AS id, {token} AS token, {access} AS access_token_id, \
             {app} AS application_id, {user} AS user_id, {created} AS created, \
             {revoked} AS revoked FROM {table} ORDER BY id",
            id = refresh.int("id"),
            token = refresh.text("token"),
            access = refresh.int("access_token_id"),
            app = refresh.int("application_id"),
            user = refresh.int("user_id"),
            created = refresh.epoch("created"),
            revoked = refresh.epoch("revoked"),
            table = refresh.quoted(),
        );
        Ok(SourceRows {
            users: self.rows(user_table, &users_sql).await?,
            applications: self.rows(APPLICATIONS, &apps_sql).await?,
            access_tokens: self.rows(ACCESS_TOKENS, &access_sql).await?,
            refresh_tokens: self.rows(REFRESH_TOKENS, &refresh_sql).await?,
        })
    }
}

/// One source table's columns, and how each is read so that both
/// databases answer with the same types: integers as BIGINT, booleans as
/// 0/1, times as Unix seconds, text never NULL.
struct Columns<'a> {
    table: &'a str,
    names: Vec<String>,
    postgres: bool,
}

impl Columns<'_> {
    fn has(&self, column: &str) -> bool {
        self.names.iter().any(|n| n == column)
    }

    fn require(&self, columns: &[&str]) -> Result<(), ImportError> {
        let missing: Vec<String> = columns
            .iter()
            .filter(|c| !self.has(c))
            .map(|c| format!("{}.{c}", self.table))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ImportError::NotDjango(missing))
        }
    }

    fn quoted(&self) -> String {
        format!("\"{}\"", self.table)
    }

    fn int(&self, column: &str) -> String {
        if self.has(column) {
            format!("CAST(\"{column}\" AS BIGINT)")
        } else {
            "CAST(NULL AS BIGINT)".into()
        }
    }

    fn text(&self, column: &str) -> String {
        if self.has(column) {
            format!("COALESCE(CAST(\"{column}\" AS TEXT), '')")
        } else {
            "''".into()
        }
    }

    fn flag(&self, column: &str, absent: bool) -> String {
        if self.has(column) {
            format!("CAST(CASE WHEN \"{column}\" THEN 1 ELSE 0 END AS BIGINT)")
        } else {
            format!("CAST({} AS BIGINT)", i64::from(absent))
        }
    }

    fn epoch(&self, column: &str) -> String {
        match (self.has(column), self.postgres) {
            (false, _) => "CAST(NULL AS BIGINT)".into(),
            (true, true) => format!("CAST(EXTRACT(EPOCH FROM \"{column}\") AS BIGINT)"),
            (true, false) => format!("CAST(strftime('%s', \"{column}\") AS BIGINT)"),
        }
    }
}
