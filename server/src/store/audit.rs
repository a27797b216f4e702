//! The audit trail's table: events recorded alone (failed and throttled
//! sign-ins, reuse detections), searches and pruning. Events that record
//! a change are inserted by the change's own transaction (`insert_event!`).

use async_trait::async_trait;
use gatehouse::audit::{Event, EventFilter, EventKind};
use gatehouse::store::{AuditStore, StoreError};
use sqlx::{Decode, Type};

use super::rows::StoreRow;
use super::{err, SqlStore};

pub(super) const EVENT_COLUMNS: &str = "id, at, kind, user_id, username, actor_id, \
     actor_username, client_id, address, user_agent, detail";

pub(super) fn event_from_row<'r, R: StoreRow<'r>>(row: &'r R) -> Result<Event, sqlx::Error>
where
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = row.field("kind")?;
    Ok(Event {
        id: row.field("id")?,
        at: row.field("at")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("kind: unknown value {kind:?}").into()))?,
        user_id: row.field("user_id")?,
        username: row.field("username")?,
        actor_id: row.field("actor_id")?,
        actor_username: row.field("actor_username")?,
        client_id: row.field("client_id")?,
        address: row.field("address")?,
        user_agent: row.field("user_agent")?,
        detail: row.field("detail")?,
    })
}

/// A parameter of an event search.
enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

/// Adds a condition (`?` stands for its parameter) and its value.
fn push<'a>(
    conditions: &mut Vec<String>,
    values: &mut Vec<Value<'a>>,
    sql: &str,
    value: Value<'a>,
) {
    values.push(value);
    conditions.push(sql.replace('?', &format!("${}", values.len())));
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_event(&self, event: &Event) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            insert_event!(pool, event).await.map_err(err)?;
        });
        event.log();
        Ok(())
    }

    async fn events(&self, filter: &EventFilter, limit: i64) -> Result<Vec<Event>, StoreError> {
        // Only the conditions asked for are in the statement, so each can
        // use its index (`($1 IS NULL OR …)` would make both planners scan
        // the table for a person's page).
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        let mut add = |sql: &str, value| push(&mut conditions, &mut values, sql, value);
        if let Some(id) = filter.user_id {
            add("user_id = ?", Value::Int(id));
        }
        if let Some(name) = filter.username.as_deref() {
            let sql = self.sql(
                "username = ?",
                "lower(username COLLATE \"C\") = lower(?::TEXT COLLATE \"C\")",
            );
            add(sql, Value::Text(name));
        }
        if let Some(client) = filter.client_id.as_deref() {
            add("client_id = ?", Value::Text(client));
        }
        if let Some(kind) = filter.kind {
            add("kind = ?", Value::Text(kind.as_str()));
        }
        if let Some(at) = filter.since {
            add("at >= ?", Value::Int(at));
        }
        if let Some(at) = filter.until {
            add("at < ?", Value::Int(at));
        }
        if let Some(id) = filter.before_id {
            add("id < ?", Value::Int(id));
        }
        if let Some(id) = filter.after_id {
            add("id > ?", Value::Int(id));
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events{where_}{conditions} \
             ORDER BY id {order} LIMIT ${limit_at}",
            where_ = if conditions.is_empty() { "" } else { " WHERE " },
            conditions = conditions.join(" AND "),
            order = if filter.oldest_first { "ASC" } else { "DESC" },
            limit_at = values.len() + 1,
        );
        with_pool!(self, |pool| {
            let mut query = sqlx::query(&sql);
            for value in &values {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Text(v) => query.bind(*v),
                };
            }
            let rows = query.bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter()
                .map(event_from_row)
                .collect::<Result<_, _>>()
                .map_err(err)
        })
    }

    async fn delete_events_before(&self, before: i64) -> Result<u64, StoreError> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(done.rows_affected())
        })
    }
}
