//! Group commit for token inserts. SQLite has one writer and each commit
//! appends every touched page to the WAL, so a transaction per token caps
//! the token endpoint at a few thousand per second. Grants that consume
//! nothing (client credentials, password) hand their tokens to one writer
//! task, which stores whatever has queued up in a single transaction and
//! then answers each caller; a caller's response is sent only after its
//! tokens are committed.

use gatehouse::store::{IssuedTokens, StoreError, TokenRecord};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// At most this many grants per transaction.
const MAX_BATCH: usize = 256;

type Job = (IssuedTokens, oneshot::Sender<Result<(), String>>);

#[derive(Clone)]
pub struct TokenWriter {
    jobs: mpsc::Sender<Job>,
    pool: SqlitePool,
}

impl TokenWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool.clone(), queue));
        Self { jobs, pool }
    }

    /// Stores `tokens`, returning once they are committed. Should the
    /// writer task be gone, stores them directly.
    pub async fn insert(&self, tokens: IssuedTokens) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((tokens, _))) = self.jobs.send((tokens, done)).await {
            tracing::error!("token writer gone; storing directly");
            return store_one(&self.pool, &tokens)
                .await
                .map_err(StoreError::new);
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
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

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match store(&pool, &batch).await {
            Ok(()) => {
                for (_, done) in batch.drain(..) {
                    // The caller may have gone (client hung up): nothing to do.
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                // One bad grant (say, its app deleted a moment ago) must not
                // fail the others: store each alone and answer each.
                tracing::warn!(error = %e, grants = batch.len(), "token batch failed; storing one by one");
                for (tokens, done) in batch.drain(..) {
                    let result = store_one(&pool, &tokens).await.map_err(|e| e.to_string());
                    let _ = done.send(result);
                }
            }
        }
    }
}

async fn store_one(pool: &SqlitePool, tokens: &IssuedTokens) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    insert_tokens!(&mut *tx, tokens).await?;
    tx.commit().await
}

/// Rows per INSERT statement (8 values each: far inside SQLite's limit).
const ROWS_PER_STATEMENT: usize = 128;

/// The batch in one transaction, with one multi-row INSERT per table (per
/// 128 rows): each statement is a round trip to the connection's thread,
/// so one per token would spend the batch on thread wake-ups.
async fn store(pool: &SqlitePool, batch: &[Job]) -> Result<(), sqlx::Error> {
    let access: Vec<&TokenRecord> = batch.iter().map(|(t, _)| &t.access).collect();
    let refresh: Vec<&TokenRecord> = batch
        .iter()
        .filter_map(|(t, _)| t.refresh.as_ref())
        .collect();
    let mut tx = pool.begin().await?;
    for (table, rows) in [("access_tokens", &access), ("refresh_tokens", &refresh)] {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                "INSERT INTO {table} (digest, application_id, user_id, scopes, family, \
                 created_at, expires_at, auth_time) "
            ));
            q.push_values(chunk, |mut b, t| {
                b.push_bind(t.digest.as_str())
                    .push_bind(t.application_id)
                    .push_bind(t.user_id)
                    .push_bind(t.scopes.to_string())
                    .push_bind(t.family.as_str())
                    .push_bind(t.created_at)
                    .push_bind(t.expires_at)
                    .push_bind(t.auth_time);
            });
            q.build().execute(&mut *tx).await?;
        }
    }
    tx.commit().await
}
