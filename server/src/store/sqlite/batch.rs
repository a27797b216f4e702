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

use gatehouse::store::{IssuedTokens, StoreError, TokenRecord};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// At most this many grants per transaction.
const MAX_BATCH: usize = 256;

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
    /// Starts the writer task on the current runtime.
    pub fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool.clone(), queue));
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
            return store_one(&self.pool, &work).await.map_err(StoreError::new);
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

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match store(&pool, &batch).await {
            Ok(stored) => {
                for ((_, done), stored) in batch.drain(..).zip(stored) {
                    // The caller may have gone (client hung up): nothing to do.
                    let _ = done.send(Ok(stored));
                }
            }
            Err(e) => {
                // One bad grant (say, its app deleted a moment ago) must not
                // fail the others: write each alone and answer each.
                tracing::warn!(error = %e, grants = batch.len(), "token batch failed; writing one by one");
                for (work, done) in batch.drain(..) {
                    let result = store_one(&pool, &work).await.map_err(|e| e.to_string());
                    let _ = done.send(result);
                }
            }
        }
    }
}

/// One write in its own transaction.
async fn store_one(pool: &SqlitePool, work: &Work) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
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
/// one per token would spend the batch on thread wake-ups. Returns, per
/// job, whether its tokens were stored.
async fn store(pool: &SqlitePool, batch: &[Job]) -> Result<Vec<bool>, sqlx::Error> {
    let mut tx = pool.begin().await?;
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
    tx.commit().await?;
    Ok(stored)
}
