//! The response cache: Ellar's `@Cache(ttl, key_prefix, version, backend,
//! make_key_callback)` for HTTP handlers, plus what an edge cache needs on
//! top: Vary variants, request collapsing, stale-while-revalidate,
//! stale-if-error, and failing open when the store is down.
//!
//! Runtime-agnostic: requests and responses are plain data, the origin is an
//! async function, background work goes to a spawner (`waitUntil` in a
//! Worker) and timeouts come from a sleep function. `workers.rs` binds it to
//! workers-rs; the tests here drive it natively with a fake clock.

mod breaker;
mod client;
mod entry;
mod fetch;
mod hit_slots;
mod key;
mod lookup;
mod policy;
mod purge;
pub mod purge_log;
mod purge_sync;
#[cfg(test)]
mod purge_sync_tests;
mod screen;
pub mod single_flight;
mod stats;
mod store;
mod tee;
#[cfg(test)]
mod tee_tests;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use breaker::GuardedStore;
pub use breaker::{Breaker, BreakerState, BreakerStats};
pub use entry::CachedResponse;
use fetch::FetchResult;
pub use hit_slots::{HitOffer, MAX_SLOTS, MAX_SLOT_BODY};
pub use key::{default_response_key, normalize_url, GENERATION_REFRESH_MS};
pub use policy::{AuthorizationPolicy, CachePolicy, CookiePolicy, MakeKey, Origin, DEFAULT_ORIGIN_TIMEOUT_MS};
pub use purge_sync::{DEFAULT_PURGE_SYNC_MS, PURGE_SYNC_TIMEOUT_MS};
pub use stats::ResponseStats;
pub use store::{BackendStore, ResponseStore};
pub use tee::{BodyTee, Release, Teed};

use crate::primitives::error::{CacheError, Result};
use crate::runtime::Runtime;
pub use crate::runtime::Spawner;
use single_flight::SingleFlight;

/// The response cache of one isolate: stores by name, a collapsing table and
/// counters. Cheap to clone (shared state).
#[derive(Clone)]
pub struct ResponseCache {
    inner: Rc<Inner>,
}

struct Inner {
    stores: BTreeMap<String, Rc<dyn ResponseStore>>,
    runtime: Rc<dyn Runtime>,
    flights: SingleFlight<FetchResult>,
    refreshing: RefCell<std::collections::HashSet<String>>,
    /// Generations by store and prefix, with when they were read.
    generations: RefCell<std::collections::HashMap<String, (u64, u64)>>,
    stats: Cell<ResponseStats>,
    /// The circuit breakers of the remote stores, by store name.
    breakers: BTreeMap<String, Rc<Breaker>>,
    /// The purge log's index and its sync.
    purges: purge_sync::PurgeState,
    /// Ready answers held by the platform.
    slots: RefCell<hit_slots::HitSlots>,
    /// How to keep a copy of a streamed body (none: streamed bodies are not stored).
    tee: RefCell<Option<Rc<dyn BodyTee>>>,
    /// The answers still streaming to their leader, by flight key: a
    /// request for the same key waits for the whole body instead of asking
    /// the origin again.
    streaming: RefCell<std::collections::HashMap<String, fetch::Fetched>>,
}

/// Where the pieces of one request go: the origin that answers misses, and
/// where background work after the response runs (`waitUntil`).
pub struct Io {
    /// The wrapped handler, or a fetch to the upstream.
    pub origin: Origin,
    /// Background refreshes (stale-while-revalidate) of this request.
    pub spawn: Spawner,
}

impl ResponseCache {
    /// A response cache over `stores` (by name; policies name them, `None`
    /// = `default`) on `runtime`'s clock, timers and wake signal.
    pub fn new(stores: BTreeMap<String, Rc<dyn ResponseStore>>, runtime: Rc<dyn Runtime>) -> Self {
        let signal_rt = runtime.clone();
        let mut breakers = BTreeMap::new();
        let stores = stores
            .into_iter()
            .map(|(name, store)| {
                if !store.remote() {
                    return (name, store);
                }
                let breaker = Rc::new(Breaker::default());
                breakers.insert(name.clone(), breaker.clone());
                let guarded = GuardedStore {
                    inner: store,
                    breaker,
                    runtime: runtime.clone(),
                };
                (name, Rc::new(guarded) as Rc<dyn ResponseStore>)
            })
            .collect();
        ResponseCache {
            inner: Rc::new(Inner {
                stores,
                flights: SingleFlight::with_signal(Rc::new(move || signal_rt.signal())),
                runtime,
                refreshing: RefCell::default(),
                generations: RefCell::default(),
                stats: Cell::default(),
                breakers,
                purges: Default::default(),
                slots: RefCell::new(hit_slots::HitSlots::new()),
                tee: RefCell::default(),
                streaming: RefCell::default(),
            }),
        }
    }

    /// A response cache over every backend of a [`CacheService`](crate::CacheService), by name.
    pub fn for_service(service: &crate::service::CacheService, runtime: Rc<dyn Runtime>) -> Self {
        let stores = service
            .names()
            .into_iter()
            .filter_map(|name| {
                let backend = service.backend(&name).ok()?.clone();
                Some((
                    name.clone(),
                    Rc::new(BackendStore { name, backend }) as Rc<dyn ResponseStore>,
                ))
            })
            .collect();
        Self::new(stores, runtime)
    }

    /// Stores streamed bodies too: each goes to the client through `tee`,
    /// and is stored after its last byte if it fits the policy's
    /// `max_entry_bytes`.
    pub fn set_body_tee(&self, tee: Rc<dyn BodyTee>) {
        *self.inner.tee.borrow_mut() = Some(tee);
    }

    /// The circuit breaker of each remote store, by name.
    pub fn breakers(&self) -> BTreeMap<String, BreakerStats> {
        self.inner
            .breakers
            .iter()
            .map(|(n, b)| (n.clone(), b.stats()))
            .collect()
    }

    /// The counters so far.
    pub fn stats(&self) -> ResponseStats {
        self.inner.stats.get()
    }

    pub(super) fn count(&self, f: impl FnOnce(&mut ResponseStats)) {
        let mut s = self.inner.stats.get();
        f(&mut s);
        self.inner.stats.set(s);
    }

    /// The store a policy names.
    pub fn store(&self, name: Option<&str>) -> Result<Rc<dyn ResponseStore>> {
        let name = name.unwrap_or("default");
        self.inner
            .stores
            .get(name)
            .cloned()
            .ok_or_else(|| CacheError::UnknownBackend {
                name: name.to_string(),
                known: self.inner.stores.keys().cloned().collect(),
            })
    }
}
