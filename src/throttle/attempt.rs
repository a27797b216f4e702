//! The attempt discipline: reserve first, check second, give back on
//! success.
//!
//! Each counter a check is charged to is reserved with one atomic statement
//! ([`ThrottleStore::reserve_attempt`]) that counts the attempt only if its
//! policy lets it go ahead. Reading the counters first and recording the
//! failure after the (slow) check would let a burst of parallel guesses all
//! pass the read before any of them is recorded.

use super::{FailureCount, Policy};
use crate::store::{StoreError, ThrottleStore};

/// The counters of one check, in the order they are reserved.
pub struct Counters(pub Vec<(String, Policy)>);

/// A check that may go ahead: what each counter holds with it counted.
#[derive(Debug)]
pub struct Reserved {
    pub counts: Vec<FailureCount>,
}

impl Counters {
    /// Reserves one attempt on every counter, in order. When one refuses,
    /// the reservations already made are given back and the caller learns
    /// how many seconds to wait (at least 1).
    pub async fn reserve(
        &self,
        store: &dyn ThrottleStore,
        now: i64,
    ) -> Result<Result<Reserved, i64>, StoreError> {
        let mut counts = Vec::with_capacity(self.0.len());
        for (i, (key, policy)) in self.0.iter().enumerate() {
            match store.reserve_attempt(key, now, policy).await? {
                Some(count) => counts.push(count),
                None => {
                    for (earlier, _) in &self.0[..i] {
                        store.forgive_failures(earlier, 1).await?;
                    }
                    let current = store.failure_counts(&[key]).await?;
                    let wait = policy.wait(current.first().map(|(_, c)| *c), now);
                    return Ok(Err(wait.max(1)));
                }
            }
        }
        Ok(Ok(Reserved { counts }))
    }

    /// Gives `n` attempts back on every counter (the reserved attempt was
    /// not a failure, or never checked).
    pub async fn give_back(&self, store: &dyn ThrottleStore, n: u32) -> Result<(), StoreError> {
        for (key, _) in &self.0 {
            store.forgive_failures(key, n).await?;
        }
        Ok(())
    }
}
