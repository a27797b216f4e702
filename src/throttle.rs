//! Sign-in throttling policy: how long a key (an account or a client
//! address) must wait after repeated failures. Pure: the caller passes the
//! stored counter and the current time; storage keeps counters across
//! restarts.
//!
//! Backoff doubles after a few free failures and is capped, so an attacker
//! who knows a username can slow its owner down for minutes, never lock
//! them out for long. Counters are forgotten after a quiet period.
//!
//! Every place a secret is checked keeps one discipline ([`attempt`]): the
//! attempt is reserved in storage, atomically and before the check, and
//! given back when the secret was right. A burst of parallel guesses is
//! therefore checked no more often than the free tries allow.

#[cfg(feature = "server")]
pub mod attempt;

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
    /// Per account and client address together: the person at the
    /// keyboard. Five free tries, then 2 s, 4 s, … capped at 5 minutes.
    pub const PAIR: Policy = Policy {
        free_failures: 5,
        base_delay: 2,
        max_delay: 300,
        reset_after: 900,
    };
    /// Per account, from anywhere: bounds guessing spread over many
    /// addresses. Roomier than [`Policy::PAIR`], so one guesser (held back
    /// by the pair counter after five tries) cannot keep the owner out.
    pub const ACCOUNT: Policy = Policy {
        free_failures: 20,
        base_delay: 2,
        max_delay: 300,
        reset_after: 900,
    };
    /// Per client address (IPv6 by /64): catches one address trying many
    /// accounts or many passwords. A failure followed by the right password
    /// from the same address is forgiven, so a crowd behind one NAT, each
    /// mistyping once or twice, is not held back by the others' typos.
    pub const ADDRESS: Policy = Policy {
        free_failures: 50,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };
    /// Checks of the current password of a signed-in person (password
    /// change, account deletion): a stolen session cannot brute-force it.
    pub const CURRENT_PASSWORD: Policy = Policy {
        free_failures: 5,
        base_delay: 2,
        max_delay: 300,
        reset_after: 900,
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
    /// Sign-ups per client address, in the portal and the account API
    /// alike: 20 an hour by default (the `signups_per_address` setting
    /// replaces the 20), then 2 s, 4 s, … capped at 15 minutes (each costs
    /// a password hash).
    pub const SIGNUP: Policy = Policy {
        free_failures: 20,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };

    /// "Is this username free?" questions per client address (the sign-up
    /// page asks while typing): 120 an hour, then 2 s, 4 s, … capped at 15
    /// minutes, so the accounts cannot be listed by asking.
    pub const USERNAME_CHECK: Policy = Policy {
        free_failures: 120,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };

    /// Password reset requests per client address: 10 an hour, then 2 s,
    /// 4 s, … capped at 15 minutes (each may send a mail).
    pub const RESET_ADDRESS: Policy = Policy {
        free_failures: 10,
        base_delay: 2,
        max_delay: 900,
        reset_after: 3600,
    };
    /// Mail to one account that someone else asked for (reset links,
    /// sign-up attempts with its address), or verification mail its owner
    /// asks for again: 3 an hour, then at most one a minute, … an hour, so
    /// nobody can flood an inbox through Gatehouse.
    pub const MAIL_ACCOUNT: Policy = Policy {
        free_failures: 3,
        base_delay: 60,
        max_delay: 3600,
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

/// The address a throttle counts: IPv4 as is, IPv6 by its /64 (one
/// subscriber's network, which its owner can rotate through freely), an
/// IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn address_group(client_addr: &str) -> String {
    match client_addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => client_addr.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy::PAIR;

    #[test]
    fn ipv6_is_grouped_by_64() {
        assert_eq!(
            address_group("2001:db8:1:2:aaaa::1"),
            address_group("2001:db8:1:2:bbbb:cccc:dddd:eeee")
        );
        assert_eq!(address_group("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(
            address_group("2001:db8:1:2::1"),
            address_group("2001:db8:1:3::1")
        );
        assert_eq!(address_group("::ffff:192.0.2.4"), "192.0.2.4");
        assert_eq!(address_group("192.0.2.4"), "192.0.2.4");
        assert_eq!(address_group("unknown"), "unknown");
    }

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
