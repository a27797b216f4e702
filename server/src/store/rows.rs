//! Decoding rows into the core's records, shared by both backends: their
//! tables have the same columns, and sqlx decodes each column type to the
//! same Rust type on SQLite and PostgreSQL.

use gatehouse::oauth::client::{Application, ClientType, GrantType, SigningAlgorithm};
use gatehouse::oauth::device::DeviceStatus;
use gatehouse::oauth::ScopeSet;
use gatehouse::password::PasswordHash;
use gatehouse::secret::SecretDigest;
use gatehouse::store::{DeviceRecord, TokenRecord, User};
use sqlx::{ColumnIndex, Decode, Row, Type};

/// What a row of either backend can decode: the column types of the
/// migrations (text, integers, booleans).
pub trait StoreRow<'r>: Row {
    fn field<T>(&'r self, name: &'r str) -> Result<T, sqlx::Error>
    where
        T: Decode<'r, Self::Database> + Type<Self::Database>;
}

impl<'r, R: Row> StoreRow<'r> for R
where
    &'r str: ColumnIndex<R>,
{
    fn field<T>(&'r self, name: &'r str) -> Result<T, sqlx::Error>
    where
        T: Decode<'r, R::Database> + Type<R::Database>,
    {
        self.try_get(name)
    }
}

/// A space-separated list column.
fn words(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn unknown(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("{column}: unknown value {value:?}").into())
}

pub fn user_from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<User, sqlx::Error>
where
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(User {
        id: row.field("id")?,
        username: row.field("username")?,
        email: row.field("email")?,
        first_name: row.field("first_name")?,
        last_name: row.field("last_name")?,
        password_hash: PasswordHash::from_stored(row.field("password_hash")?),
        is_active: row.field("is_active")?,
        is_staff: row.field("is_staff")?,
        is_superuser: row.field("is_superuser")?,
        email_verified: row.field("email_verified")?,
        date_joined: row.field("date_joined")?,
        last_login: row.field("last_login")?,
    })
}

pub fn app_from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<Application, sqlx::Error>
where
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let client_type: String = row.field("client_type")?;
    let algorithm: String = row.field("algorithm")?;
    let grant_types: String = row.field("grant_types")?;
    let redirect_uris: &str = row.field("redirect_uris")?;
    let post_logout: &str = row.field("post_logout_redirect_uris")?;
    let origins: &str = row.field("allowed_origins")?;
    let scopes: &str = row.field("scopes")?;
    Ok(Application {
        id: row.field("id")?,
        client_id: row.field("client_id")?,
        secret_digest: row.field("secret_digest")?,
        name: row.field("name")?,
        client_type: ClientType::parse(&client_type)
            .ok_or_else(|| unknown("applications.client_type", &client_type))?,
        grant_types: grant_types
            .split(' ')
            .filter_map(GrantType::parse)
            .collect(),
        redirect_uris: words(redirect_uris),
        post_logout_redirect_uris: words(post_logout),
        allowed_origins: words(origins),
        scopes: ScopeSet::from_stored(scopes),
        skip_consent: row.field("skip_consent")?,
        allow_plain_pkce: row.field("allow_plain_pkce")?,
        algorithm: SigningAlgorithm::parse(&algorithm)
            .ok_or_else(|| unknown("applications.algorithm", &algorithm))?,
        owner_id: row.field("owner_id")?,
        created_at: row.field("created_at")?,
        reviewed: row.field("reviewed")?,
        weak_secret: row.field("weak_secret")?,
    })
}

pub fn token_from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<TokenRecord, sqlx::Error>
where
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let scopes: &str = row.field("scopes")?;
    Ok(TokenRecord {
        digest: SecretDigest::from_stored(row.field("digest")?),
        application_id: row.field("application_id")?,
        user_id: row.field("user_id")?,
        scopes: ScopeSet::from_stored(scopes),
        family: row.field("family")?,
        created_at: row.field("created_at")?,
        expires_at: row.field("expires_at")?,
        auth_time: row.field("auth_time")?,
    })
}

pub fn device_from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<DeviceRecord, sqlx::Error>
where
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: String = row.field("status")?;
    let scopes: &str = row.field("scopes")?;
    Ok(DeviceRecord {
        device_digest: SecretDigest::from_stored(row.field("device_digest")?),
        user_code_digest: SecretDigest::from_stored(row.field("user_code_digest")?),
        application_id: row.field("application_id")?,
        scopes: ScopeSet::from_stored(scopes),
        family: row.field("family")?,
        created_at: row.field("created_at")?,
        expires_at: row.field("expires_at")?,
        interval: row.field("poll_interval")?,
        status: DeviceStatus::parse(&status)
            .ok_or_else(|| unknown("device_codes.status", &status))?,
        user_id: row.field("user_id")?,
        auth_time: row.field("auth_time")?,
    })
}

/// A record one row of either backend decodes to, for helpers that fetch
/// any of them.
pub trait FromRow: Sized {
    fn from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<Self, sqlx::Error>
    where
        &'r str: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        bool: Decode<'r, R::Database> + Type<R::Database>;
}

impl FromRow for User {
    fn from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<Self, sqlx::Error>
    where
        &'r str: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        bool: Decode<'r, R::Database> + Type<R::Database>,
    {
        user_from_row(row)
    }
}

impl FromRow for Application {
    fn from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<Self, sqlx::Error>
    where
        &'r str: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        bool: Decode<'r, R::Database> + Type<R::Database>,
    {
        app_from_row(row)
    }
}
