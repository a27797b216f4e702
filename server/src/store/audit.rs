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
        // Every condition is written once with its parameter, and a NULL
        // parameter switches it off; the planner still uses the indexes
        // for the ones given on both backends at this table's sizes.
        let username = self.sql(
            "($2 IS NULL OR username = $2)",
            "($2::TEXT IS NULL OR lower(username COLLATE \"C\") = lower($2::TEXT COLLATE \"C\"))",
        );
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE \
             ($1 IS NULL OR user_id = $1) AND {username} \
             AND ($3 IS NULL OR client_id = $3) AND ($4 IS NULL OR kind = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
             AND ($7 IS NULL OR id < $7) AND ($9 IS NULL OR id > $9) \
             ORDER BY id {order} LIMIT $8",
            order = if filter.oldest_first { "ASC" } else { "DESC" },
        );
        let sql = match self.dialect() {
            super::Dialect::Sqlite => sql,
            // PostgreSQL must know each parameter's type to compare it with NULL.
            super::Dialect::Postgres => sql
                .replace("$1 IS NULL", "$1::BIGINT IS NULL")
                .replace("$3 IS NULL", "$3::TEXT IS NULL")
                .replace("$4 IS NULL", "$4::TEXT IS NULL")
                .replace("$5 IS NULL", "$5::BIGINT IS NULL")
                .replace("$6 IS NULL", "$6::BIGINT IS NULL")
                .replace("$7 IS NULL", "$7::BIGINT IS NULL")
                .replace("$9 IS NULL", "$9::BIGINT IS NULL"),
        };
        with_pool!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(filter.user_id)
                .bind(filter.username.as_deref())
                .bind(filter.client_id.as_deref())
                .bind(filter.kind.map(|k| k.as_str()))
                .bind(filter.since)
                .bind(filter.until)
                .bind(filter.before_id)
                .bind(limit)
                .bind(filter.after_id)
                .fetch_all(pool)
                .await
                .map_err(err)?;
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
