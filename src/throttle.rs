//! Sign-in throttling policy: how long a key (an account or a client
//! address) must wait after repeated failures. Pure: the caller passes the
//! stored counter and the current time; storage keeps counters across
//! restarts.
//!
//! Backoff doubles after a few free failures and is capped, so an attacker
//! who knows a username can slow its owner down for minutes, never lock
//! them out for long. Counters are forgotten after a quiet period.

/// What a throttled key looks like in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub failures: u32,
    /// Unix seconds of the most recent failure.
    pub last_failure_at: i64,
}

/// One kind of key and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures allowed before any wait is imposed.
    pub free_failures: u32,
    /// Wait after the first failure past the free ones, in seconds.
    pub base_delay: i64,
    /// The longest wait ever imposed, in seconds.
    pub max_delay: i64,
    /// Failures older than this (seconds since the last one) are forgotten.
    pub reset_after: i64,
}

impl Policy {
    /// Per account: five free tries, then 2 s, 4 s, … capped at 5 minutes.
    pub const ACCOUNT: Policy = Policy {
        free_failures: 5,
        base_delay: 2,
        max_delay: 300,
        reset_after: 900,
    };
    /// Per client address: more headroom (shared NATs, classrooms), then
    /// 2 s, 4 s, … capped at 15 minutes.
    pub const ADDRESS: Policy = Policy {
        free_failures: 20,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };

    /// Wrong device user codes per session (RFC 8628 §5.1): five free
    /// typos, then 2 s, 4 s, … capped at 5 minutes.
    pub const DEVICE_SESSION: Policy = Policy {
        free_failures: 5,
        base_delay: 2,
        max_delay: 300,
        reset_after: 900,
    };
    /// Wrong device user codes per client address.
    pub const DEVICE_ADDRESS: Policy = Policy {
        free_failures: 20,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };
    /// Wrong device user codes across the whole server: bounds the rate at
    /// which many sessions and addresses together can guess. 200 free per
    /// 10 minutes, then a wait capped at a minute, so people typing real
    /// codes are held up briefly at worst.
    pub const DEVICE_GLOBAL: Policy = Policy {
        free_failures: 200,
        base_delay: 1,
        max_delay: 60,
        reset_after: 600,
    };
    /// Account API sign-ups per client address: 20 an hour, then 2 s,
    /// 4 s, … capped at 15 minutes (each costs a password hash).
    pub const API_SIGNUP: Policy = Policy {
        free_failures: 20,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };

    /// Seconds the key must still wait at `now`; 0 means it may try.
    pub fn wait(&self, count: Option<FailureCount>, now: i64) -> i64 {
        let Some(c) = count else { return 0 };
        if now - c.last_failure_at >= self.reset_after || c.failures < self.free_failures {
            return 0;
        }
        let over = c.failures - self.free_failures; // 0 for the first delayed try
        let delay = self
            .base_delay
            .saturating_mul(1i64 << over.min(30))
            .min(self.max_delay);
        (c.last_failure_at + delay - now).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy::ACCOUNT;

    fn count(failures: u32, at: i64) -> Option<FailureCount> {
        Some(FailureCount {
            failures,
            last_failure_at: at,
        })
    }

    #[test]
    fn free_failures_cost_nothing() {
        assert_eq!(P.wait(None, 100), 0);
        assert_eq!(P.wait(count(4, 100), 100), 0);
    }

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(P.wait(count(5, 100), 100), 2);
        assert_eq!(P.wait(count(6, 100), 100), 4);
        assert_eq!(P.wait(count(7, 100), 100), 8);
        assert_eq!(P.wait(count(50, 100), 100), 300);
        assert_eq!(P.wait(count(u32::MAX, 100), 100), 300);
    }

    #[test]
    fn wait_shrinks_with_time() {
        assert_eq!(P.wait(count(7, 100), 105), 3);
        assert_eq!(P.wait(count(7, 100), 108), 0);
    }

    #[test]
    fn counters_reset_after_quiet_period() {
        assert_eq!(P.wait(count(50, 100), 100 + 900), 0);
    }
}
