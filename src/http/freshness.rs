//! How long a stored response is fresh, and where it stands at a moment
//! (RFC 9111 §4.2, RFC 5861 stale windows).

use crate::primitives::ttl::Timeout;

/// How long responses stay fresh, and stale windows (all in seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreshnessRules {
    /// The configured lifetime (the decorator's or route's `ttl`): with
    /// `origin_ttl`, only for responses without freshness information.
    pub ttl: Timeout,
    /// RFC 9111 mode: the origin's `s-maxage`/`max-age`/`Expires` decide
    /// (then heuristic freshness from `Last-Modified`, then `ttl`); off =
    /// Ellar's mode, where the configured `ttl` wins.
    pub origin_ttl: bool,
    /// Cap of heuristic freshness (10 % of the time since `Last-Modified`,
    /// RFC 9111 §4.2.2), in seconds; 0 turns heuristics off.
    pub heuristic_max: f64,
    /// How long a stale response with a validator (`ETag`,
    /// `Last-Modified`) is kept past its stale windows so the next request
    /// revalidates it with a conditional request instead of a full fetch.
    pub keep: f64,
    /// Serve stale this long while refreshing in the background (the
    /// origin's `stale-while-revalidate` takes precedence when `origin_ttl`).
    pub stale_while_revalidate: f64,
    /// Serve stale this long when the origin fails.
    pub stale_if_error: f64,
}

/// Default cap of heuristic freshness: one day (Squid caps at three).
pub const DEFAULT_HEURISTIC_MAX: f64 = 86_400.0;
/// Default time a stale entry with a validator is kept for revalidation:
/// ten minutes (nginx keeps unused entries that long by default).
pub const DEFAULT_KEEP: f64 = 600.0;

impl Default for FreshnessRules {
    fn default() -> Self {
        FreshnessRules {
            ttl: Timeout::default(),
            origin_ttl: false,
            heuristic_max: DEFAULT_HEURISTIC_MAX,
            keep: DEFAULT_KEEP,
            stale_while_revalidate: 0.0,
            stale_if_error: 0.0,
        }
    }
}

/// How long one stored response is fresh and may be served stale, in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Freshness {
    /// `None` = fresh until evicted.
    pub fresh_ms: Option<u64>,
    /// Stale-while-revalidate window after freshness ends, in ms.
    pub swr_ms: u64,
    /// Stale-if-error window after freshness ends, in ms (from the same point, not after `swr_ms`).
    pub sie_ms: u64,
    /// How long past freshness the entry is kept only to be revalidated
    /// (it has a validator), in ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_ms: u64,
    /// Never served stale without revalidation, not even on request
    /// (`no-cache`, `must-revalidate`, `proxy-revalidate`, `s-maxage`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_revalidate: bool,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Freshness {
    /// How long the backend must keep the entry: fresh plus the longest of
    /// the stale windows and the revalidation window.
    pub fn storage_secs(&self) -> Option<f64> {
        self.fresh_ms
            .map(|f| f.saturating_add(self.swr_ms.max(self.sie_ms).max(self.keep_ms)) as f64 / 1000.0)
    }
}

/// Where a stored response stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Staleness {
    /// Fresh, with this many ms left (`None` = no limit).
    Fresh(Option<u64>),
    /// Stale by this many ms, inside the stale-while-revalidate window.
    Revalidatable(u64),
    /// Stale by this many ms; usable only if the origin fails.
    ErrorOnly(u64),
    /// Too old to serve without revalidating it (kept for its validator).
    Dead,
}

/// Where a response stored at `stored_at_ms` stands at `now_ms` (ms on one clock).
pub fn staleness(stored_at_ms: u64, f: &Freshness, now_ms: u64) -> Staleness {
    let Some(fresh) = f.fresh_ms else {
        return Staleness::Fresh(None);
    };
    let age = now_ms.saturating_sub(stored_at_ms);
    if age < fresh {
        return Staleness::Fresh(Some(fresh - age));
    }
    let stale_by = age - fresh;
    if stale_by < f.swr_ms {
        Staleness::Revalidatable(stale_by)
    } else if stale_by < f.sie_ms {
        Staleness::ErrorOnly(stale_by)
    } else {
        Staleness::Dead
    }
}
