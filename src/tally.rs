//! Counts of what the use cases did — sign-ins by outcome, tokens issued
//! by grant, introspections, refresh-token reuse — kept as plain atomics
//! and read when the server's metrics are scraped. The core knows no
//! metrics library: the server exports these.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::oauth::client::GrantType;

/// How a password check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    Ok,
    /// Wrong password, unknown or deactivated account.
    Failed,
    /// Refused before any check: too many recent failures.
    Throttled,
}

impl SignInOutcome {
    pub const ALL: [SignInOutcome; 3] = [
        SignInOutcome::Ok,
        SignInOutcome::Failed,
        SignInOutcome::Throttled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Ok => "ok",
            SignInOutcome::Failed => "failed",
            SignInOutcome::Throttled => "throttled",
        }
    }
}

#[derive(Debug, Default)]
pub struct Tally {
    sign_ins: [AtomicU64; 3],
    issued: [AtomicU64; 5],
    /// Inactive, active.
    introspections: [AtomicU64; 2],
    refresh_reuse: AtomicU64,
}

/// The counts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub sign_ins: Vec<(SignInOutcome, u64)>,
    pub issued: Vec<(GrantType, u64)>,
    /// `(active, count)`.
    pub introspections: Vec<(bool, u64)>,
    pub refresh_reuse: u64,
}

impl Tally {
    pub fn sign_in(&self, outcome: SignInOutcome) {
        self.sign_ins[outcome as usize].fetch_add(1, Relaxed);
    }

    pub fn issued(&self, grant: GrantType) {
        if let Some(i) = GrantType::ALL.iter().position(|g| *g == grant) {
            self.issued[i].fetch_add(1, Relaxed);
        }
    }

    pub fn introspected(&self, active: bool) {
        self.introspections[usize::from(active)].fetch_add(1, Relaxed);
    }

    pub fn refresh_reused(&self) {
        self.refresh_reuse.fetch_add(1, Relaxed);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            sign_ins: SignInOutcome::ALL
                .iter()
                .map(|o| (*o, self.sign_ins[*o as usize].load(Relaxed)))
                .collect(),
            issued: GrantType::ALL
                .iter()
                .zip(&self.issued)
                .map(|(g, n)| (*g, n.load(Relaxed)))
                .collect(),
            introspections: [false, true]
                .iter()
                .map(|a| (*a, self.introspections[usize::from(*a)].load(Relaxed)))
                .collect(),
            refresh_reuse: self.refresh_reuse.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_it_is_told() {
        let t = Tally::default();
        t.sign_in(SignInOutcome::Failed);
        t.sign_in(SignInOutcome::Failed);
        t.sign_in(SignInOutcome::Throttled);
        t.issued(GrantType::Password);
        t.introspected(true);
        t.introspected(false);
        t.introspected(false);
        t.refresh_reused();
        let c = t.counts();
        assert_eq!(
            c.sign_ins,
            vec![
                (SignInOutcome::Ok, 0),
                (SignInOutcome::Failed, 2),
                (SignInOutcome::Throttled, 1)
            ]
        );
        assert!(c.issued.contains(&(GrantType::Password, 1)));
        assert!(c.issued.contains(&(GrantType::ClientCredentials, 0)));
        assert_eq!(c.introspections, vec![(false, 2), (true, 1)]);
        assert_eq!(c.refresh_reuse, 1);
    }
}
