//! Ready answers: a fresh entry of an in-isolate store, handed to the
//! platform once so it can answer later requests for the same URL itself
//! (status, headers and body kept prebuilt on its side), asking the engine
//! only "does slot `id` still hold?" with numbers.
//!
//! Why: on the Workers platform a hit through the engine pays for the
//! request's conversion, the entry's copy and decode and the response's
//! construction header by header, several times what the lookup costs
//! (bench/README.md, "Where a hit's time goes"). A slot skips all of it.
//!
//! The engine withdraws a slot whenever what it answered may have changed:
//! a write or delete of its key, any purge or generation bump in the
//! isolate, a purge-log sync that brought marks, or the end of its
//! validity (the entry's freshness, the generation's trust window, the next
//! purge-log sync). Each use is counted as a hit and as a read of the store
//! (so the eviction policy sees the entry as hot), and an evicted entry
//! ends its slot.

use std::collections::HashMap;
use std::rc::Rc;

use super::entry::CachedResponse;
use super::store::ResponseStore;
use super::{CachePolicy, ResponseCache};
use crate::http::HttpRequest;

/// At most this many slots at once: the platform keeps their bodies.
pub const MAX_SLOTS: usize = 1024;
/// Bodies larger than this get no slot (copying them dominates anyway).
pub const MAX_SLOT_BODY: usize = 256 << 10;

/// A fresh entry offered to the platform (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitOffer {
    /// Asked back with [`crate::response_cache::ResponseCache::slot_hit`].
    pub id: u32,
    /// This engine's nonce: a slot of an earlier instance never matches.
    pub nonce: u32,
    /// The request URL, exactly as received: the platform's lookup key.
    pub url: String,
    /// The stored status.
    pub status: u16,
    /// The stored headers, without `age` and `cache-status`.
    pub headers: Vec<(String, String)>,
    /// The stored body.
    pub body: Vec<u8>,
    /// When the entry was stored (back-dated by the origin's `Age`): the
    /// answer's `age` is `(now - stored_at_ms) / 1000`.
    pub stored_at_ms: u64,
    /// End of freshness: `cache-status` says `ttl=(fresh_until_ms - now) /
    /// 1000`; `None` for an entry that never goes stale (no `ttl`).
    pub fresh_until_ms: Option<u64>,
    /// The slot must not be used at or after this time.
    pub until_ms: u64,
}

struct Slot {
    key: String,
    store: Rc<dyn ResponseStore>,
    /// The key as the store keeps it (made once, not on every use).
    local_key: String,
    until_ms: u64,
}

/// The slots of one engine (none until [`HitSlots::enable`]).
pub(super) struct HitSlots {
    enabled: bool,
    nonce: u32,
    next_id: u32,
    by_id: HashMap<u32, Slot>,
    by_key: HashMap<String, u32>,
    /// Offered but not yet taken by the platform: not usable until taken,
    /// so an offer the platform never saw blocks nothing.
    pending: Option<(Slot, HitOffer)>,
}

impl HitSlots {
    pub(super) fn new() -> Self {
        HitSlots {
            enabled: false,
            nonce: 0,
            next_id: 1,
            by_id: HashMap::new(),
            by_key: HashMap::new(),
            pending: None,
        }
    }

    pub(super) fn enable(&mut self, nonce: u32) {
        self.enabled = true;
        self.nonce = nonce;
    }

    /// Whether an offer for `key` at `now_ms` would be new (enabled, room
    /// left, no live slot or offer for it yet): checked before anything is
    /// copied. A slot past its time counts as gone, whether or not the
    /// platform said it dropped it.
    pub(super) fn wants(&self, key: &str, now_ms: u64) -> bool {
        let live = |id: &u32| self.by_id.get(id).is_some_and(|s| now_ms < s.until_ms);
        self.enabled
            && self.by_id.len() < MAX_SLOTS
            && !self.by_key.get(key).is_some_and(live)
            && self.pending.as_ref().is_none_or(|(s, _)| s.key != key)
    }

    /// Records `offer` of the entry at `key` in `store` (its id and nonce
    /// are set here), unless one is not [`wants`](Self::wants)ed.
    pub(super) fn offer(
        &mut self,
        key: &str,
        store: Rc<dyn ResponseStore>,
        version: Option<i64>,
        mut offer: HitOffer,
        now_ms: u64,
    ) {
        if !self.wants(key, now_ms) || offer.body.len() > MAX_SLOT_BODY {
            return;
        }
        offer.id = self.next_id;
        offer.nonce = self.nonce;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let Some(local_key) = store.local_key(key, version) else {
            return;
        };
        let slot = Slot {
            key: key.to_string(),
            store,
            local_key,
            until_ms: offer.until_ms,
        };
        self.pending = Some((slot, offer));
    }

    /// The offer waiting for the platform, which now holds it.
    pub(super) fn take(&mut self) -> Option<HitOffer> {
        let (slot, offer) = self.pending.take()?;
        if let Some(old) = self.by_key.insert(slot.key.clone(), offer.id) {
            self.by_id.remove(&old);
        }
        self.by_id.insert(offer.id, slot);
        Some(offer)
    }

    /// Whether slot `id` may answer at `now_ms`; counts a read of its entry
    /// in the store. A slot that may not is gone.
    pub(super) fn hit(&mut self, id: u32, nonce: u32, now_ms: u64) -> bool {
        if nonce != self.nonce {
            return false;
        }
        let Some(slot) = self.by_id.get(&id) else {
            return false;
        };
        let live = now_ms < slot.until_ms && slot.store.record_read(&slot.local_key) == Some(true);
        if !live {
            self.drop_slot(id);
        }
        live
    }

    /// The platform no longer holds slot `id`.
    pub(super) fn drop_slot(&mut self, id: u32) {
        if let Some(slot) = self.by_id.remove(&id) {
            self.by_key.remove(&slot.key);
        }
    }

    /// `key` was written or deleted.
    pub(super) fn forget_key(&mut self, key: &str) {
        if self.pending.as_ref().is_some_and(|(s, _)| s.key == key) {
            self.pending = None;
        }
        if let Some(id) = self.by_key.remove(key) {
            self.by_id.remove(&id);
        }
    }

    /// Anything may have changed (a purge, a generation bump, an admin
    /// call): every slot goes.
    pub(super) fn clear(&mut self) {
        self.pending = None;
        self.by_id.clear();
        self.by_key.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }
}

impl ResponseCache {
    /// Lets this engine offer ready answers ([`HitOffer`]) to a platform
    /// that takes them ([`take_hit_offer`](Self::take_hit_offer)) and asks
    /// back ([`slot_hit`](Self::slot_hit)); `nonce` tells this instance's
    /// slots from an earlier one's. Off by default: nothing is copied.
    pub fn enable_hit_slots(&self, nonce: u32) {
        self.inner.slots.borrow_mut().enable(nonce);
    }

    /// The ready answer offered by the last request, if any; the platform
    /// holds it from now on.
    pub fn take_hit_offer(&self) -> Option<HitOffer> {
        self.inner.slots.borrow_mut().take()
    }

    /// Whether the platform may answer from slot `id` at `now_ms`; if so the
    /// answer is counted as a hit (and a ready hit) and as a read of the
    /// store. On `false` the slot is gone: the platform drops it.
    pub fn slot_hit(&self, id: u32, nonce: u32, now_ms: u64) -> bool {
        let live = self.inner.slots.borrow_mut().hit(id, nonce, now_ms);
        if live {
            self.count(|s| {
                s.hits += 1;
                s.ready_hits += 1;
            });
        }
        live
    }

    /// The platform dropped slot `id` (its own bound).
    pub fn drop_hit_slot(&self, id: u32) {
        self.inner.slots.borrow_mut().drop_slot(id);
    }

    /// Ends every slot: for changes the engine does not see, such as the
    /// admin API writing to a backend directly.
    pub fn forget_hit_slots(&self) {
        self.inner.slots.borrow_mut().clear();
    }

    /// How many slots the platform holds.
    pub fn hit_slots(&self) -> usize {
        self.inner.slots.borrow().len()
    }

    /// After a fresh hit on `key` for a plain GET: offers the entry when
    /// the URL alone finds it again (no Vary, no custom key), its store is
    /// in the isolate, and nothing makes it unsafe to answer without the
    /// engine before `until_ms` (freshness, generation trust, purge sync).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn offer_hit(
        &self,
        store: &Rc<dyn ResponseStore>,
        key: &str,
        req: &HttpRequest,
        policy: &CachePolicy,
        entry: &CachedResponse,
        left_ms: Option<u64>,
        now_ms: u64,
    ) {
        if !self.inner.slots.borrow().wants(key, now_ms)
            || !req.method.eq_ignore_ascii_case("GET")
            || store.remote()
            || policy.make_key.is_some()
            || !entry.vary.is_empty()
            || entry.header("vary").is_some()
            || entry.body.len() > MAX_SLOT_BODY
        {
            return;
        }
        let (Some(generation_until), Some(sync_until)) = (
            self.last_generation(&**store, policy).map(|(_, until)| until),
            self.purge_sync_until(),
        ) else {
            return;
        };
        let fresh_until_ms = left_ms.map(|l| now_ms.saturating_add(l));
        let until_ms = generation_until.min(sync_until).min(fresh_until_ms.unwrap_or(u64::MAX));
        if until_ms <= now_ms {
            return;
        }
        let offer = HitOffer {
            id: 0,
            nonce: 0,
            url: req.url.clone(),
            status: entry.status,
            headers: entry
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("age") && !k.eq_ignore_ascii_case("cache-status"))
                .cloned()
                .collect(),
            body: entry.body.clone(),
            stored_at_ms: entry.stored_at_ms,
            fresh_until_ms,
            until_ms,
        };
        self.inner
            .slots
            .borrow_mut()
            .offer(key, store.clone(), policy.version, offer, now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LocalBackend;
    use crate::primitives::clock::ManualClock;
    use crate::primitives::ttl::{Timeout, Ttl};
    use crate::response_cache::BackendStore;
    use futures::executor::block_on;

    fn store() -> (Rc<dyn ResponseStore>, Rc<ManualClock>) {
        let clock = Rc::new(ManualClock::new(0));
        let backend = LocalBackend::with_clock("", 1, Timeout::Never, Default::default(), clock.clone());
        let store: Rc<dyn ResponseStore> = Rc::new(BackendStore {
            name: "default".into(),
            backend: Rc::new(backend),
        });
        block_on(store.put("k", b"x".to_vec(), Ttl::Never, None)).unwrap();
        (store, clock)
    }

    fn offer(until_ms: u64) -> HitOffer {
        HitOffer {
            id: 0,
            nonce: 0,
            url: "https://a.test/".into(),
            status: 200,
            headers: vec![],
            body: b"x".to_vec(),
            stored_at_ms: 0,
            fresh_until_ms: Some(until_ms),
            until_ms,
        }
    }

    fn slots() -> HitSlots {
        let mut s = HitSlots::new();
        s.enable(7);
        s
    }

    #[test]
    fn nothing_is_offered_until_enabled() {
        let (store, _) = store();
        let mut s = HitSlots::new();
        s.offer("k", store, None, offer(10), 0);
        assert_eq!(s.take(), None);
    }

    #[test]
    fn a_taken_offer_answers_until_its_time_then_goes() {
        let (store, _) = store();
        let mut s = slots();
        s.offer("k", store, None, offer(10), 0);
        let o = s.take().unwrap();
        assert_eq!((o.nonce, s.len()), (7, 1));
        assert!(s.hit(o.id, 7, 9));
        assert!(!s.hit(o.id, 8, 9), "another instance's nonce");
        assert!(!s.hit(o.id, 7, 10));
        assert!(!s.hit(o.id, 7, 0), "gone once expired");
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn an_untaken_offer_is_not_usable_and_blocks_nothing() {
        let (store, _) = store();
        let mut s = slots();
        s.offer("k", store.clone(), None, offer(10), 0);
        assert!(!s.wants("k", 0));
        s.forget_key("k");
        assert!(s.wants("k", 0), "a write of the key dropped the offer");
        s.offer("k", store, None, offer(10), 0);
        let o = s.take().unwrap();
        assert!(!s.wants("k", 0), "one slot per key");
        assert!(s.wants("k", 10), "unless that slot is past its time");
        s.forget_key("k");
        assert!(!s.hit(o.id, 7, 0));
    }

    #[test]
    fn an_entry_gone_from_the_store_ends_its_slot() {
        let (store, _) = store();
        let mut s = slots();
        s.offer("k", store.clone(), None, offer(10), 0);
        let o = s.take().unwrap();
        block_on(store.delete("k", None)).unwrap();
        assert!(!s.hit(o.id, 7, 0));
        assert!(s.wants("k", 0));
    }

    #[test]
    fn clear_and_drop_end_slots() {
        let (store, _) = store();
        let mut s = slots();
        s.offer("k", store.clone(), None, offer(10), 0);
        let a = s.take().unwrap();
        s.clear();
        assert!(!s.hit(a.id, 7, 0));
        s.offer("k", store, None, offer(10), 0);
        let b = s.take().unwrap();
        assert_ne!(a.id, b.id, "ids are never reused");
        s.drop_slot(b.id);
        assert!(!s.hit(b.id, 7, 0));
    }

    #[test]
    fn large_bodies_and_a_full_table_get_no_offer() {
        let (store, _) = store();
        let mut s = slots();
        let mut big = offer(10);
        big.body = vec![0; MAX_SLOT_BODY + 1];
        s.offer("k", store.clone(), None, big, 0);
        assert_eq!(s.take(), None);
        for i in 0..MAX_SLOTS {
            s.offer(&format!("k{i}"), store.clone(), None, offer(10), 0);
            s.take().unwrap();
        }
        assert!(!s.wants("k", 0));
    }
}
