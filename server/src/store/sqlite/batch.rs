//! Group commit for the token endpoint's writes. SQLite has one writer and
//! each commit appends every touched page to the WAL, so a transaction per
//! token caps the token endpoint at a few thousand per second, and
//! concurrent write transactions queue on SQLite's lock (busy waits, not
//! work). Grants hand their writes to one writer task, which performs
//! whatever has queued up in a single transaction and then answers each
//! caller; a caller's response is sent only after its writes are
//! committed. Two kinds of write:
//! - the tokens of a grant that consumes nothing (client credentials,
//!   password);
//! - a claim: a single-use code or refresh token marked used, and its
//!   successors' tokens stored only if this claim was the one that used it
//!   (of two claims of one code in a batch, the second finds it used).
//!
//! The writer keeps a connection of its own (outside the pool, so a pool
//! of one is never starved by it): taking one from the pool for each batch
//! costs a round trip to the connection's thread (sqlx pings a connection
//! before handing it out), and a batch that is a single INSERT (client
//! credentials, the common case) runs without BEGIN and COMMIT, one more
//! round trip each: a single statement is atomic on its own.

use gatehouse::store::{IssuedTokens, StoreError, TokenRecord};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

/// At most this many grants per transaction.
const MAX_BATCH: usize = 256;

/// How long the writer uses the pool after failing to open a connection
/// of its own.
const RECONNECT_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// One caller's write.
enum Work {
    Insert(IssuedTokens),
    /// `sql` marks the code or token used, binding `$1` = now and `$2` =
    /// its digest, and returns a row only when this statement used it.
    Claim {
        sql: &'static str,
        digest: String,
        now: i64,
        tokens: IssuedTokens,
    },
}

impl Work {
    fn tokens(&self) -> &IssuedTokens {
        match self {
            Work::Insert(t) | Work::Claim { tokens: t, .. } => t,
        }
    }
}

/// A write and where its outcome goes: whether its tokens were stored
/// (false: a claim that found its code or token already used).
type Job = (Work, oneshot::Sender<Result<bool, String>>);

#[derive(Clone)]
pub struct TokenWriter {
    jobs: mpsc::Sender<Job>,
    pool: SqlitePool,
}

impl TokenWriter {
    /// Starts the writer task on the current runtime; it connects with
    /// `options` (those of the pool's connections).
    pub fn start(pool: SqlitePool, options: SqliteConnectOptions) -> Self {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool.clone(), options, queue));
        Self { jobs, pool }
    }

    /// Stores `tokens`, returning once they are committed.
    pub async fn insert(&self, tokens: IssuedTokens) -> Result<(), StoreError> {
        self.submit(Work::Insert(tokens)).await.map(|_| ())
    }

    /// Marks a code or refresh token used with `sql` and stores `tokens`
    /// if this call used it; true then, false when it was already used
    /// (nothing stored).
    pub async fn claim(
        &self,
        sql: &'static str,
        digest: &str,
        now: i64,
        tokens: IssuedTokens,
    ) -> Result<bool, StoreError> {
        self.submit(Work::Claim {
            sql,
            digest: digest.to_owned(),
            now,
            tokens,
        })
        .await
    }

    /// Hands `work` to the writer and waits for its commit. Should the
    /// writer task be gone, does it directly.
    async fn submit(&self, work: Work) -> Result<bool, StoreError> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((work, _))) = self.jobs.send((work, done)).await {
            tracing::error!("token writer gone; writing directly");
            let mut conn = self.pool.acquire().await.map_err(StoreError::new)?;
            return store_one(&mut conn, &work).await.map_err(StoreError::new);
        }
        match answer.await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(e)) => Err(StoreError::new(BatchFailed(e))),
            Err(_) => Err(StoreError::new(WriterGone)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the token writer has stopped")]
struct WriterGone;

#[derive(Debug, thiserror::Error)]
#[error("storing tokens failed: {0}")]
struct BatchFailed(String);

async fn run(pool: SqlitePool, options: SqliteConnectOptions, mut queue: mpsc::Receiver<Job>) {
    // Every size of multi-row INSERT is a statement of its own: keep them
    // all prepared.
    let options = options.statement_cache_capacity(2 * ROWS_PER_STATEMENT + 16);
    let mut own: Option<SqliteConnection> = None;
    // When opening a connection of its own failed, the writer uses the
    // pool and tries again after a while, not on every batch (nor warns
    // on every batch).
    let mut connect_after = tokio::time::Instant::now();
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if own.is_none() && tokio::time::Instant::now() >= connect_after {
            match SqliteConnection::connect_with(&options).await {
                Ok(conn) => own = Some(conn),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = RECONNECT_AFTER.as_secs(), "token writer: no connection of its own; using the pool");
                    connect_after = tokio::time::Instant::now() + RECONNECT_AFTER;
                }
            }
        }
        let result = match own.as_mut() {
            Some(conn) => store(conn, &batch).await,
            None => match pool.acquire().await {
                Ok(mut conn) => store(&mut conn, &batch).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(stored) => {
                for ((_, done), stored) in batch.drain(..).zip(stored) {
                    // The caller may have gone (client hung up): nothing to do.
                    let _ = done.send(Ok(stored));
                }
            }
            Err(e) => {
                // One bad grant (say, its app deleted a moment ago) must not
                // fail the others: write each alone and answer each, on a
                // pooled connection.
                tracing::warn!(error = %e, grants = batch.len(), "token batch failed; writing one by one");
                // A statement the database refused (a constraint, say)
                // leaves the connection as it was; anything else (I/O, a
                // closed connection) may not have, and the next batch
                // opens a new one.
                if !matches!(e, sqlx::Error::Database(_)) {
                    own = None;
                }
                for (work, done) in batch.drain(..) {
                    let result = match pool.acquire().await {
                        Ok(mut conn) => store_one(&mut conn, &work).await,
                        Err(e) => Err(e),
                    };
                    let _ = done.send(result.map_err(|e| e.to_string()));
                }
            }
        }
    }
}

/// One write in its own transaction.
async fn store_one(conn: &mut SqliteConnection, work: &Work) -> Result<bool, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if let Work::Claim {
        sql, digest, now, ..
    } = work
    {
        let used: Option<String> = sqlx::query_scalar(sql)
            .bind(*now)
            .bind(digest.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if used.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    insert_tokens!(&mut *tx, work.tokens()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Rows per INSERT statement (8 values each: far inside SQLite's limit).
const ROWS_PER_STATEMENT: usize = 128;

/// The batch in one transaction: the claims first (one statement each,
/// in arrival order), then the tokens of the inserts and of the claims
/// that used their code, with one multi-row INSERT per table (per 128
/// rows): each statement is a round trip to the connection's thread, so
/// one per token would spend the batch on thread wake-ups. A batch that
/// is one INSERT runs without a transaction around it. Returns, per job,
/// whether its tokens were stored.
async fn store(conn: &mut SqliteConnection, batch: &[Job]) -> Result<Vec<bool>, sqlx::Error> {
    let single = batch.len() <= ROWS_PER_STATEMENT
        && batch
            .iter()
            .all(|(work, _)| matches!(work, Work::Insert(t) if t.refresh.is_none()));
    if single {
        let access: Vec<&TokenRecord> = batch.iter().map(|(w, _)| &w.tokens().access).collect();
        insert_rows("access_tokens", &access)
            .build()
            .execute(&mut *conn)
            .await?;
        return Ok(vec![true; batch.len()]);
    }
    let mut tx = conn.begin().await?;
    let mut stored = Vec::with_capacity(batch.len());
    for (work, _) in batch {
        stored.push(match work {
            Work::Insert(_) => true,
            Work::Claim {
                sql, digest, now, ..
            } => sqlx::query_scalar::<_, String>(sql)
                .bind(*now)
                .bind(digest.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some(),
        });
    }
    let kept: Vec<&IssuedTokens> = batch
        .iter()
        .zip(&stored)
        .filter(|(_, stored)| **stored)
        .map(|((work, _), _)| work.tokens())
        .collect();
    let access: Vec<&TokenRecord> = kept.iter().map(|t| &t.access).collect();
    let refresh: Vec<&TokenRecord> = kept.iter().filter_map(|t| t.refresh.as_ref()).collect();
    for (table, rows) in [("access_tokens", &access), ("refresh_tokens", &refresh)] {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            insert_rows(table, chunk).build().execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(stored)
}

/// A multi-row INSERT of `rows` (at most [`ROWS_PER_STATEMENT`]) into
/// `table`, every value bound.
fn insert_rows<'a>(
    table: &'static str,
    rows: &[&'a TokenRecord],
) -> sqlx::QueryBuilder<'a, sqlx::Sqlite> {
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
        "INSERT INTO {table} (digest, application_id, user_id, scopes, family, \
         created_at, expires_at, auth_time) "
    ));
    q.push_values(rows, |mut b, t| {
        b.push_bind(t.digest.as_str())
            .push_bind(t.application_id)
            .push_bind(t.user_id)
            .push_bind(t.scopes.to_string())
            .push_bind(t.family.as_str())
            .push_bind(t.created_at)
            .push_bind(t.expires_at)
            .push_bind(t.auth_time);
    });
    q
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gatehouse::oauth::ScopeSet;
    use gatehouse::secret::SecretDigest;
    use gatehouse::store::{IssuedTokens, TokenRecord};

    use crate::store::{open_sql, Db, PoolSettings, SqlStore};

    async fn store() -> (tempfile::TempDir, SqlStore, sqlx::SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let settings = PoolSettings {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        };
        let store = open_sql(&url, &settings).await.unwrap();
        let Db::Sqlite(db) = &store.db else {
            unreachable!("a sqlite URL opens SQLite")
        };
        let pool = db.pool.clone();
        sqlx::query(
            "INSERT INTO applications (id, client_id, name, client_type, grant_types, scopes, \
             created_at, updated_at) VALUES (1, 'app', 'App', 'confidential', \
             'client_credentials', 'read', 0, 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        (dir, store, pool)
    }

    fn record(n: usize, application_id: i64) -> TokenRecord {
        TokenRecord {
            digest: SecretDigest::of(&format!("token {n}")),
            application_id,
            user_id: None,
            scopes: ScopeSet::parse("read").unwrap(),
            family: format!("family {n}"),
            created_at: 0,
            expires_at: 3600,
            auth_time: None,
        }
    }

    fn tokens(n: usize, application_id: i64, refresh: bool) -> IssuedTokens {
        IssuedTokens {
            access: record(n, application_id),
            refresh: refresh.then(|| record(n + 100_000, application_id)),
        }
    }

    async fn count(db: impl sqlx::SqliteExecutor<'_>, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_grants_are_all_stored_and_the_pool_stays_usable() {
        // A pool of one: the writer's own connection must not take it.
        let (_dir, store, pool) = store().await;
        let Db::Sqlite(db) = &store.db else {
            unreachable!()
        };
        let writer = db.tokens.clone();
        // 300 at once: more than one statement's rows and than one batch,
        // some with refresh tokens (a transaction), most without (one INSERT).
        let calls = (0..300).map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.insert(tokens(n, 1, n % 7 == 0)).await })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap().unwrap();
        }
        assert_eq!(count(&pool, "access_tokens").await, 300);
        assert_eq!(count(&pool, "refresh_tokens").await, 43);
        // The pool's one connection still answers.
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_grant_fails_alone() {
        let (_dir, store, pool) = store().await;
        let Db::Sqlite(db) = &store.db else {
            unreachable!()
        };
        let writer = db.tokens.clone();
        // Application 2 does not exist: its insert breaks the foreign key,
        // and must not take the other grants of its batch down with it.
        let calls = (0..40).map(|n| {
            let writer = writer.clone();
            let app = if n == 20 { 2 } else { 1 };
            tokio::spawn(async move { (n, writer.insert(tokens(n, app, false)).await) })
        });
        for call in calls.collect::<Vec<_>>() {
            let (n, result) = call.await.unwrap();
            assert_eq!(result.is_err(), n == 20, "grant {n}: {result:?}");
        }
        assert_eq!(count(&pool, "access_tokens").await, 39);
        // And the writer goes on after the failure.
        writer.insert(tokens(1000, 1, false)).await.unwrap();
        assert_eq!(count(&pool, "access_tokens").await, 40);
    }

    #[tokio::test]
    async fn a_batch_is_stored_whole_or_not_at_all() {
        use sqlx::Connection;
        let (_dir, _store, pool) = store().await;
        let mut conn = pool.acquire().await.unwrap();
        let job = |n: usize, app: i64, refresh: bool| {
            let (done, _answer) = tokio::sync::oneshot::channel();
            (super::Work::Insert(tokens(n, app, refresh)), done)
        };
        // One INSERT (no transaction around it) and a transaction (refresh
        // tokens): either way a bad row stores nothing of its batch.
        for refresh in [false, true] {
            let batch = vec![job(1, 1, refresh), job(2, 2, refresh), job(3, 1, refresh)];
            assert!(super::store(&mut conn, &batch).await.is_err());
            assert_eq!(count(&mut *conn, "access_tokens").await, 0);
            assert_eq!(count(&mut *conn, "refresh_tokens").await, 0);
        }
        let batch = vec![job(1, 1, false), job(2, 1, true)];
        assert_eq!(super::store(&mut conn, &batch).await.unwrap(), [true, true]);
        assert_eq!(count(&mut *conn, "access_tokens").await, 2);
        assert_eq!(count(&mut *conn, "refresh_tokens").await, 1);
        // The connection is left outside any transaction.
        conn.begin().await.unwrap().rollback().await.unwrap();
    }
}
