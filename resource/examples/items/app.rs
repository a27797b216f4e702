//! The items API of the deployment Gatehouse replaces, protected with the
//! `gatehouse-resource` kit: each person's items (name, description,
//! price) behind Gatehouse access tokens (`read` to look, `write` to
//! change), and the user endpoints that keep this API's client secret on
//! the server (`/users/signup/`, `/users/token/`, `/users/token/refresh/`,
//! `/users/password/`), forwarded to Gatehouse.
//!
//! Errors are Django REST framework's shape, as the replaced API's clients
//! expect: `{"field": ["message"]}` for refused fields (400, or 409 for a
//! name already taken) and `{"detail": "..."}` otherwise.
//!
//! The integration tests (`server/tests/it/resource.rs`) include this file
//! and run the router it builds.

// Handlers return their refusal as a ready `Response` (`Err(Response)`):
// it is built once per request and returned at once; boxing it gains
// nothing.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use gatehouse::oauth::paths;
use gatehouse_resource::{Auth, CacheConfig, IntrospectionConfig, Token};
use serde_json::{json, Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

/// The largest request body read, in bytes.
const MAX_BODY: usize = 16 * 1024;
const MAX_NAME: usize = 50;
const MAX_DESCRIPTION: usize = 250;
/// `DecimalField(max_digits=14, decimal_places=2)`.
const MAX_DIGITS: usize = 14;
const DECIMALS: usize = 2;
/// Sign-ups forwarded per client address and hour. Gatehouse lets a
/// confidential app forward sign-ups without its per-address limit (the
/// app answers for its users), so this API keeps one of its own.
const SIGNUPS_PER_HOUR: u32 = 10;

/// Configuration from the environment (see the README's "Protecting your
/// API").
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database_url: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub cache_ttl: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| {
            var(name).ok_or_else(|| {
                format!(
                    "{name} is required: the client id and secret of this API's app at Gatehouse"
                )
            })
        };
        let bind = var("ITEMS_BIND").unwrap_or_else(|| "127.0.0.1:3400".into());
        let cache_ttl = match var("ITEMS_CACHE_TTL_SECS") {
            None => 30,
            Some(s) => s
                .parse::<u64>()
                .map_err(|_| format!("ITEMS_CACHE_TTL_SECS must be whole seconds, not {s:?}"))?,
        };
        Ok(Settings {
            bind: bind
                .parse()
                .map_err(|_| format!("ITEMS_BIND must be ADDRESS:PORT, not {bind:?}"))?,
            database_url: var("ITEMS_DATABASE_URL")
                .unwrap_or_else(|| "sqlite://data/items.db".into()),
            issuer: var("ITEMS_ISSUER").unwrap_or_else(|| "http://127.0.0.1:3000".into()),
            client_id: required("ITEMS_CLIENT_ID")?,
            client_secret: required("ITEMS_CLIENT_SECRET")?,
            cache_ttl: Duration::from_secs(cache_ttl),
        })
    }
}

/// Opens (creating if needed) the items database: WAL, a small pool.
pub async fn open_database(url: &str) -> Result<SqlitePool, String> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| format!("ITEMS_DATABASE_URL {url:?}: {e}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    if let Some(parent) = std::path::Path::new(options.get_filename()).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot open {url}: {e}"))?;
    for statement in [
        "CREATE TABLE IF NOT EXISTS items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL,
            price_cents INTEGER NOT NULL,
            owner TEXT NOT NULL,
            owner_username TEXT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS items_by_owner ON items (owner, id)",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .map_err(|e| format!("cannot create the items table: {e}"))?;
    }
    Ok(pool)
}

#[derive(Clone)]
struct Items {
    db: SqlitePool,
    forward: Arc<Forward>,
    /// Sign-ups per address group in the current hour.
    signups: moka::sync::Cache<String, Arc<AtomicU32>>,
}

/// The whole API, ready to serve (with `ConnectInfo<SocketAddr>`).
pub async fn router(settings: &Settings) -> Result<Router, String> {
    let db = open_database(&settings.database_url).await?;
    let mut introspection = IntrospectionConfig::new(
        settings.issuer.clone(),
        settings.client_id.clone(),
        settings.client_secret.clone(),
    );
    introspection.cache = CacheConfig {
        ttl: settings.cache_ttl,
        ..CacheConfig::default()
    };
    let auth = Auth::introspection(introspection).map_err(|e| e.to_string())?;
    let forward = Forward {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| e.to_string())?,
        issuer: settings.issuer.trim_end_matches('/').to_owned(),
        client_id: settings.client_id.clone(),
        client_secret: settings.client_secret.clone(),
    };
    let state = Items {
        db,
        forward: Arc::new(forward),
        signups: moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(Duration::from_secs(3600))
            .build(),
    };
    let items = Router::new()
        .route("/items/", get(list).post(create))
        .route(
            "/items/{id}/",
            get(retrieve).put(replace).patch(update).delete(destroy),
        )
        .layer(auth.require_read_write());
    let password = Router::new()
        .route("/users/password/", put(change_password))
        .layer(auth.require_token());
    Ok(Router::new()
        .merge(items)
        .merge(password)
        .route("/users/signup/", post(sign_up))
        .route("/users/token/", post(token))
        .route("/users/token/refresh/", post(refresh))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not found.") })
        .method_not_allowed_fallback(|| async {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state))
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "detail": message }))).into_response()
}

fn field_errors(status: StatusCode, errors: Map<String, Value>) -> Response {
    (status, axum::Json(Value::Object(errors))).into_response()
}

/// The body as a JSON object or a form, field by field.
async fn fields(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, Response> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than 16 KB.",
        )
    })?;
    let kind = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match kind.as_deref() {
        _ if bytes.is_empty() => Ok(Map::new()),
        Some("application/json") => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(detail(
                StatusCode::BAD_REQUEST,
                "The body must be a JSON object.",
            )),
            Err(e) => Err(detail(
                StatusCode::BAD_REQUEST,
                &format!("JSON parse error: {e}"),
            )),
        },
        Some("application/x-www-form-urlencoded") => Ok(url::form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()),
        _ => Err(detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send application/json or application/x-www-form-urlencoded.",
        )),
    }
}

/// A text field as DRF's `CharField` reads it: trimmed, not blank, no
/// NUL or other control characters, at most `max` characters.
fn text(value: &Value, max: usize) -> Result<String, String> {
    let Value::String(s) = value else {
        return Err("Not a valid string.".into());
    };
    let s = s.trim();
    if s.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("Control characters are not allowed.".into());
    }
    if s.chars().count() > max {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    Ok(s.to_owned())
}

/// A price in cents, from a string (`"12.50"`) or a JSON number, with at
/// most 14 digits of which 2 after the point. Never through a float.
pub fn parse_price(value: &Value) -> Result<i64, String> {
    let invalid = || "A valid number is required.".to_owned();
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        // serde_json writes a number back as its shortest exact text.
        Value::Number(n) => n.to_string(),
        _ => return Err(invalid()),
    };
    let unsigned = text.strip_prefix('+').unwrap_or(&text);
    if unsigned.starts_with('-') {
        return Err("Ensure this value is greater than or equal to 0.".into());
    }
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(invalid());
    }
    if fraction.len() > DECIMALS {
        return Err(format!(
            "Ensure that there are no more than {DECIMALS} decimal places."
        ));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > MAX_DIGITS - DECIMALS {
        return Err(format!(
            "Ensure that there are no more than {} digits before the decimal point.",
            MAX_DIGITS - DECIMALS
        ));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    Ok(whole * 100 + cents)
}

pub fn format_price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The fields of an item sent to create (all required) or update
/// (`partial`: only those present).
#[derive(Default)]
struct ItemFields {
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
}

fn item_fields(body: &Map<String, Value>, partial: bool) -> Result<ItemFields, Response> {
    let mut errors = Map::new();
    let mut found = ItemFields::default();
    let mut read = |key: &str, check: &dyn Fn(&Value) -> Result<(), String>| {
        let refused = match body.get(key) {
            None if partial => return,
            None => "This field is required.".to_owned(),
            Some(Value::Null) => "This field may not be null.".to_owned(),
            Some(v) => match check(v) {
                Ok(()) => return,
                Err(message) => message,
            },
        };
        errors.insert(key.into(), json!([refused]));
    };
    read("name", &|v| text(v, MAX_NAME).map(|_| ()));
    read("description", &|v| text(v, MAX_DESCRIPTION).map(|_| ()));
    read("price", &|v| parse_price(v).map(|_| ()));
    if !errors.is_empty() {
        return Err(field_errors(StatusCode::BAD_REQUEST, errors));
    }
    found.name = body.get("name").and_then(|v| text(v, MAX_NAME).ok());
    found.description = body
        .get("description")
        .and_then(|v| text(v, MAX_DESCRIPTION).ok());
    found.price_cents = body.get("price").and_then(|v| parse_price(v).ok());
    Ok(found)
}

/// The person the token acts for; a token of an app acting for itself
/// (client_credentials) has nobody's items.
fn owner(token: &Token) -> Result<(String, String), Response> {
    match &token.subject {
        Some(sub) => Ok((sub.clone(), token.username.clone().unwrap_or_default())),
        None => Err(detail(
            StatusCode::FORBIDDEN,
            "Items belong to people; this token acts for no one (client_credentials).",
        )),
    }
}

fn item_id(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| detail(StatusCode::BAD_REQUEST, "Item ids are whole numbers."))
}

fn internal(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "items database");
    detail(
        StatusCode::SERVICE_UNAVAILABLE,
        "The items database is not answering; try again shortly.",
    )
}

fn stored_or_conflict(e: sqlx::Error) -> Response {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => field_errors(
            StatusCode::CONFLICT,
            Map::from_iter([(
                "name".to_owned(),
                json!(["An item with this name already exists."]),
            )]),
        ),
        _ => internal(e),
    }
}

type Row = (i64, String, String, i64, String, String);

fn item_json(row: &Row) -> Value {
    let (id, name, description, cents, owner, username) = row;
    json!({
        "id": id,
        "name": name,
        "description": description,
        "price": format_price(*cents),
        "user": { "id": owner, "username": username },
    })
}

const COLUMNS: &str = "id, name, description, price_cents, owner, owner_username";

async fn list(State(items): State<Items>, token: Token) -> Response {
    let (owner, _) = match owner(&token) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let rows: Result<Vec<Row>, _> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM items WHERE owner = ? ORDER BY id"
    ))
    .bind(&owner)
    .fetch_all(&items.db)
    .await;
    match rows {
        Ok(rows) => axum::Json(Value::Array(rows.iter().map(item_json).collect())).into_response(),
        Err(e) => internal(e),
    }
}

async fn create(State(items): State<Items>, token: Token, request: Request) -> Response {
    let (owner, username) = match owner(&token) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (parts, body) = request.into_parts();
    let body = match fields(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let new = match item_fields(&body, false) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let row: Result<Row, _> = sqlx::query_as(&format!(
        "INSERT INTO items (name, description, price_cents, owner, owner_username)
         VALUES (?, ?, ?, ?, ?) RETURNING {COLUMNS}"
    ))
    .bind(new.name)
    .bind(new.description)
    .bind(new.price_cents)
    .bind(&owner)
    .bind(&username)
    .fetch_one(&items.db)
    .await;
    match row {
        Ok(row) => (StatusCode::CREATED, axum::Json(item_json(&row))).into_response(),
        Err(e) => stored_or_conflict(e),
    }
}

async fn retrieve(State(items): State<Items>, token: Token, Path(id): Path<String>) -> Response {
    let (owner, id) = match owner(&token).and_then(|(o, _)| Ok((o, item_id(&id)?))) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let row: Result<Option<Row>, _> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM items WHERE id = ? AND owner = ?"
    ))
    .bind(id)
    .bind(&owner)
    .fetch_optional(&items.db)
    .await;
    match row {
        Ok(Some(row)) => axum::Json(item_json(&row)).into_response(),
        // Another person's item is not found, as a missing one.
        Ok(None) => detail(StatusCode::NOT_FOUND, "Not found."),
        Err(e) => internal(e),
    }
}

async fn replace(
    state: State<Items>,
    token: Token,
    id: Path<String>,
    request: Request,
) -> Response {
    save(state, token, id, request, false).await
}

async fn update(state: State<Items>, token: Token, id: Path<String>, request: Request) -> Response {
    save(state, token, id, request, true).await
}

async fn save(
    State(items): State<Items>,
    token: Token,
    Path(id): Path<String>,
    request: Request,
    partial: bool,
) -> Response {
    let (owner, id) = match owner(&token).and_then(|(o, _)| Ok((o, item_id(&id)?))) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let (parts, body) = request.into_parts();
    let body = match fields(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let change = match item_fields(&body, partial) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // One statement: absent fields keep their value.
    let row: Result<Option<Row>, _> = sqlx::query_as(&format!(
        "UPDATE items SET name = COALESCE(?, name), description = COALESCE(?, description),
             price_cents = COALESCE(?, price_cents)
         WHERE id = ? AND owner = ? RETURNING {COLUMNS}"
    ))
    .bind(change.name)
    .bind(change.description)
    .bind(change.price_cents)
    .bind(id)
    .bind(&owner)
    .fetch_optional(&items.db)
    .await;
    match row {
        Ok(Some(row)) => axum::Json(item_json(&row)).into_response(),
        Ok(None) => detail(StatusCode::NOT_FOUND, "Not found."),
        Err(e) => stored_or_conflict(e),
    }
}

async fn destroy(State(items): State<Items>, token: Token, Path(id): Path<String>) -> Response {
    let (owner, id) = match owner(&token).and_then(|(o, _)| Ok((o, item_id(&id)?))) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let done = sqlx::query("DELETE FROM items WHERE id = ? AND owner = ?")
        .bind(id)
        .bind(&owner)
        .execute(&items.db)
        .await;
    match done {
        Ok(r) if r.rows_affected() == 1 => StatusCode::NO_CONTENT.into_response(),
        Ok(_) => detail(StatusCode::NOT_FOUND, "Not found."),
        Err(e) => internal(e),
    }
}

/// Calls to Gatehouse with this API's client credentials.
struct Forward {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: String,
}

/// Headers of Gatehouse's answer that the caller needs too.
const PASSED_ON: [axum::http::HeaderName; 4] =
    [CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE];

impl Forward {
    /// Sends `form` to Gatehouse's `path`; answers with Gatehouse's status
    /// and JSON body.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        bearer: Option<&HeaderValue>,
    ) -> Response {
        let mut call = self
            .http
            .request(method, format!("{}{path}", self.issuer))
            .form(form);
        call = match bearer {
            Some(value) => call.header(AUTHORIZATION, value.clone()),
            None => {
                let encode = |s: &str| -> String {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
                };
                call.basic_auth(encode(&self.client_id), Some(encode(&self.client_secret)))
            }
        };
        let answer = match call.send().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, path, "Gatehouse unreachable");
                return detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Gatehouse cannot be reached; try again shortly.",
                );
            }
        };
        let status =
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut headers = HeaderMap::new();
        for name in PASSED_ON {
            if let Some(v) = answer.headers().get(name.as_str()) {
                if let Ok(v) = HeaderValue::from_bytes(v.as_bytes()) {
                    headers.insert(name, v);
                }
            }
        }
        match answer.json::<Value>().await {
            Ok(body) => (status, headers, axum::Json(body)).into_response(),
            Err(_) => detail(
                StatusCode::BAD_GATEWAY,
                "Gatehouse gave an answer that is not JSON.",
            ),
        }
    }
}

/// The named fields, each required to be a string.
fn strings<'a>(
    body: &'a Map<String, Value>,
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<(String, &'a str)>, Response> {
    let mut errors = Map::new();
    let mut found = Vec::new();
    for (name, needed) in required
        .iter()
        .map(|n| (n, true))
        .chain(optional.iter().map(|n| (n, false)))
    {
        match body.get(*name) {
            Some(Value::String(s)) => found.push(((*name).to_owned(), s.as_str())),
            None | Some(Value::Null) if !needed => {}
            None | Some(Value::Null) => {
                errors.insert((*name).into(), json!(["This field is required."]));
            }
            Some(_) => {
                errors.insert((*name).into(), json!(["Not a valid string."]));
            }
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(field_errors(StatusCode::BAD_REQUEST, errors))
    }
}

async fn sign_up(
    State(items): State<Items>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match fields(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let found = match strings(&body, &["email", "password", "password2"], &["username"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let group = gatehouse::throttle::address_group(&peer.ip().to_string());
    let count = items
        .signups
        .get_with(group, || Arc::new(AtomicU32::new(0)));
    if count.fetch_add(1, Ordering::Relaxed) >= SIGNUPS_PER_HOUR {
        let mut response = detail(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-ups from this address; try again later.",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        return response;
    }
    let form: Vec<(&str, &str)> = found.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    items
        .forward
        .send(reqwest::Method::POST, "/users/signup/", &form, None)
        .await
}

/// Sign-in with email (or username) and password: the password grant.
async fn token(State(items): State<Items>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match fields(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let login = if body.contains_key("email") {
        "email"
    } else {
        "username"
    };
    let found = match strings(&body, &[login, "password"], &["scope"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut form = vec![("grant_type", "password")];
    for (name, value) in &found {
        let name = if name == login {
            "username"
        } else {
            name.as_str()
        };
        form.push((name, *value));
    }
    items
        .forward
        .send(reqwest::Method::POST, paths::TOKEN, &form, None)
        .await
}

/// A new access token for a refresh token (`refresh`, as the replaced
/// API names it, or `refresh_token`).
async fn refresh(State(items): State<Items>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match fields(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = if body.contains_key("refresh_token") {
        "refresh_token"
    } else {
        "refresh"
    };
    let found = match strings(&body, &[name], &[]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", found[0].1),
    ];
    items
        .forward
        .send(reqwest::Method::POST, paths::TOKEN, &form, None)
        .await
}

/// The password change of the token's person, checked by Gatehouse.
async fn change_password(State(items): State<Items>, _: Token, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match fields(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let found = match strings(&body, &["old_password", "password", "password2"], &[]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let form: Vec<(&str, &str)> = found.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    items
        .forward
        .send(
            reqwest::Method::PUT,
            "/users/password/",
            &form,
            parts.headers.get(AUTHORIZATION),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        let p = |s: &str| parse_price(&Value::String(s.into()));
        assert_eq!(p("12.50"), Ok(1250));
        assert_eq!(p("12.5"), Ok(1250));
        assert_eq!(p("12"), Ok(1200));
        assert_eq!(p(".5"), Ok(50));
        assert_eq!(p("0"), Ok(0));
        assert_eq!(p("999999999999.99"), Ok(99_999_999_999_999));
        assert!(p("9999999999999").is_err(), "13 digits before the point");
        assert!(p("1.005").unwrap_err().contains("2 decimal places"));
        assert!(p("1.500").is_err(), "trailing zeros count, as in DRF");
        assert!(p("-1").unwrap_err().contains("greater than or equal to 0"));
        for bad in ["", ".", "1e3", "NaN", "inf", "1,5", "1.2.3", " "] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_price(&json!(12.5)), Ok(1250));
        assert_eq!(parse_price(&json!(7)), Ok(700));
        assert!(parse_price(&json!(0.125)).is_err());
        assert!(parse_price(&json!(true)).is_err());
        assert_eq!(format_price(1250), "12.50");
        assert_eq!(format_price(5), "0.05");
    }

    #[test]
    fn text_fields() {
        assert_eq!(text(&json!("  a  "), 5), Ok("a".into()));
        assert!(text(&json!(" "), 5).is_err());
        assert!(text(&json!("a\0b"), 5).is_err());
        assert!(text(&json!("é".repeat(6)), 5).is_err());
        assert!(text(&json!("é".repeat(5)), 5).is_ok());
        assert!(text(&json!(5), 5).is_err());
    }
}
