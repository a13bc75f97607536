//! The response cache's counters.

/// Counters of the response cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResponseStats {
    /// Fresh entries served.
    pub hits: u64,
    /// Of the hits, those the platform answered from a ready answer
    /// (`HitOffer`) without running the engine.
    pub ready_hits: u64,
    /// Lookups that found no servable entry and went to the origin.
    pub misses: u64,
    /// Stale entries served while a background refresh ran (stale-while-revalidate).
    pub stale_served: u64,
    /// Stale entries served because the origin failed (stale-if-error).
    pub stale_if_error_served: u64,
    /// Background refreshes started.
    pub background_refreshes: u64,
    /// Requests answered with a concurrent request's origin response.
    pub collapsed: u64,
    /// Waiters that gave up on the request in flight and asked the origin themselves.
    pub lock_timeouts: u64,
    /// Requests that skipped the cache (method, cookies, `Authorization`, `no-store`, …).
    pub bypassed: u64,
    /// Origin responses written to the store.
    pub stored: u64,
    /// Origin responses that were not storable.
    pub not_stored: u64,
    /// Store failures survived by serving the origin (fail open).
    pub store_errors: u64,
    /// Origin requests that failed: unreachable, timed out, bad status or handler error.
    pub origin_errors: u64,
    /// Purges recorded through this cache (any scope, hard or soft).
    pub purges: u64,
    /// Syncs with the shared purge log.
    pub purge_syncs: u64,
    /// Syncs that failed or timed out (the isolate went on with what it had).
    pub purge_sync_errors: u64,
}
