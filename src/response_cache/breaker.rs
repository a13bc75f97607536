//! A circuit breaker per remote store: after consecutive failures, or one
//! slow failure (a timeout), the store is skipped for [`OPEN_MS`], so a dead
//! Redis costs at most one timeout before requests go straight to the
//! origin; then one request probes it, and a success closes the breaker.

use std::cell::Cell;
use std::rc::Rc;

use async_trait::async_trait;

use super::store::ResponseStore;
use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::{Timeout, Ttl};
use crate::runtime::Runtime;

/// Consecutive failures that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 2;
/// A failure that took this long (a timeout, a hanging server) opens the
/// breaker at once: waiting for a second one would cost a second timeout.
pub const SLOW_FAILURE_MS: u64 = 500;
/// How long an open breaker skips the store before one probe.
pub const OPEN_MS: u64 = 5_000;

/// Where a breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail at once until the probe time.
    Open,
    /// One probe call is under way; the others fail at once.
    HalfOpen,
}

/// A breaker's state and counters (for stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BreakerStats {
    /// Where it stands.
    pub state: BreakerState,
    /// Consecutive failures so far.
    pub failures: u32,
    /// Times it opened.
    pub opened: u64,
    /// Calls skipped while open.
    pub skipped: u64,
}

/// The breaker's logic, apart from any store (pure; times in ms).
#[derive(Debug)]
pub struct Breaker {
    state: Cell<BreakerState>,
    failures: Cell<u32>,
    open_until: Cell<u64>,
    opened: Cell<u64>,
    skipped: Cell<u64>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: Cell::new(BreakerState::Closed),
            failures: Cell::new(0),
            open_until: Cell::new(0),
            opened: Cell::new(0),
            skipped: Cell::new(0),
        }
    }
}

impl Breaker {
    /// Whether a call may go to the store now (an open breaker past its
    /// time lets one probe through).
    pub fn allow(&self, now_ms: u64) -> bool {
        match self.state.get() {
            BreakerState::Closed => true,
            BreakerState::Open if now_ms >= self.open_until.get() => {
                self.state.set(BreakerState::HalfOpen);
                true
            }
            _ => {
                self.skipped.set(self.skipped.get() + 1);
                false
            }
        }
    }

    /// A call succeeded.
    pub fn success(&self) {
        self.failures.set(0);
        self.state.set(BreakerState::Closed);
    }

    /// A call failed at `now_ms` after `took_ms`.
    pub fn failure(&self, now_ms: u64, took_ms: u64) {
        let failures = self.failures.get() + 1;
        self.failures.set(failures);
        let open =
            self.state.get() == BreakerState::HalfOpen || failures >= FAILURES_TO_OPEN || took_ms >= SLOW_FAILURE_MS;
        if open && self.state.get() != BreakerState::Open {
            self.state.set(BreakerState::Open);
            self.open_until.set(now_ms + OPEN_MS);
            self.opened.set(self.opened.get() + 1);
        }
    }

    /// State and counters.
    pub fn stats(&self) -> BreakerStats {
        BreakerStats {
            state: self.state.get(),
            failures: self.failures.get(),
            opened: self.opened.get(),
            skipped: self.skipped.get(),
        }
    }
}

/// A remote store behind a breaker. Only server failures count (a
/// `Backend` error); refusals such as `Unsupported` or a corrupt entry do not.
pub(super) struct GuardedStore {
    pub(super) inner: Rc<dyn ResponseStore>,
    pub(super) breaker: Rc<Breaker>,
    pub(super) runtime: Rc<dyn Runtime>,
}

impl GuardedStore {
    async fn guard<T>(&self, call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let start = self.runtime.now_ms();
        if !self.breaker.allow(start) {
            return Err(CacheError::backend(
                self.inner.name(),
                "skipped: the store failed just now (circuit breaker open)",
            ));
        }
        let r = call.await;
        let now = self.runtime.now_ms();
        match &r {
            Err(CacheError::Backend { .. }) => self.breaker.failure(now, now.saturating_sub(start)),
            _ => self.breaker.success(),
        }
        r
    }
}

#[async_trait(?Send)]
impl ResponseStore for GuardedStore {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn default_timeout(&self) -> Timeout {
        self.inner.default_timeout()
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Vec<u8>>> {
        self.guard(self.inner.get(key, version)).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, ttl: Ttl, version: Option<i64>) -> Result<()> {
        self.guard(self.inner.put(key, bytes, ttl, version)).await
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        self.guard(self.inner.delete(key, version)).await
    }

    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        self.guard(self.inner.delete_prefix(prefix, version)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_probes_once_then_closes() {
        let b = Breaker::default();
        assert!(b.allow(0));
        b.failure(10, 5);
        assert!(b.allow(10), "one fast failure does not open it");
        b.failure(20, 5);
        assert_eq!(b.stats().state, BreakerState::Open);
        assert!(!b.allow(21));
        assert!(!b.allow(20 + OPEN_MS - 1));
        assert!(b.allow(20 + OPEN_MS), "one probe after the interval");
        assert!(!b.allow(20 + OPEN_MS), "only one");
        b.success();
        assert!(b.allow(20 + OPEN_MS + 1));
        assert_eq!(
            b.stats(),
            BreakerStats {
                state: BreakerState::Closed,
                failures: 0,
                opened: 1,
                skipped: 3
            }
        );
    }

    #[test]
    fn one_slow_failure_opens_it_and_a_failed_probe_reopens_it() {
        let b = Breaker::default();
        b.failure(2_000, SLOW_FAILURE_MS);
        assert_eq!(b.stats().state, BreakerState::Open);
        assert!(b.allow(2_000 + OPEN_MS));
        b.failure(2_000 + OPEN_MS + 3, 3);
        assert_eq!(b.stats().state, BreakerState::Open);
        assert!(!b.allow(2_000 + OPEN_MS + 4));
        assert_eq!(b.stats().opened, 2);
    }
}
