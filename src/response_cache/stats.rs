//! The response cache's counters.

/// Counters of the response cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResponseStats {
    pub hits: u64,
    pub misses: u64,
    pub stale_served: u64,
    pub stale_if_error_served: u64,
    pub background_refreshes: u64,
    pub collapsed: u64,
    pub lock_timeouts: u64,
    pub bypassed: u64,
    pub stored: u64,
    pub not_stored: u64,
    /// Store failures survived by serving the origin (fail open).
    pub store_errors: u64,
    pub origin_errors: u64,
}
