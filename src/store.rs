//! The bounded, TTL-aware in-memory store behind the local-memory backend.
//!
//! Pure logic: no clock, no I/O. Callers pass `now_ms` (milliseconds on any
//! monotonic-enough scale) so that tests drive time by hand and wasm can use
//! `Date.now()`.
//!
//! Bounds: at most `max_entries` entries and at most `max_bytes` bytes, where an
//! entry's bytes are the `bytes` its caller declares (key + value) plus
//! [`ENTRY_OVERHEAD`]. The store never exceeds either bound.
//!
//! Eviction: this first version is plain LRU over an index-linked list; expired
//! entries are dropped lazily when touched and before any live entry is evicted
//! (a bounded scan from the cold end).

use std::collections::HashMap;

/// Bytes charged per entry on top of key and value: the slab slot, the list
/// links and the hash-map slot.
pub const ENTRY_OVERHEAD: usize = 32;

const NIL: u32 = u32::MAX;

/// Limits of a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// Counters kept by a [`Store`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub updates: u64,
    /// Live entries evicted because the entry bound was reached.
    pub evicted_entries_bound: u64,
    /// Live entries evicted because the byte bound was reached.
    pub evicted_bytes_bound: u64,
    /// Entries dropped because their TTL had passed.
    pub expirations: u64,
    /// Entries removed by the caller (delete, clear).
    pub removals: u64,
    pub entries: u64,
    pub bytes: u64,
}

/// Why an insert was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// The entry alone is larger than the byte bound.
    TooLarge { bytes: usize, max_bytes: usize },
}

struct Slot<V> {
    key: Box<str>,
    value: V,
    bytes: usize,
    expires_at: Option<u64>,
    prev: u32,
    next: u32,
}

/// A bounded map from string keys to values with per-entry expiry.
pub struct Store<V> {
    limits: StoreLimits,
    index: HashMap<Box<str>, u32>,
    slots: Vec<Option<Slot<V>>>,
    free: Vec<u32>,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    bytes: usize,
    stats: StoreStats,
}

fn expired(expires_at: Option<u64>, now_ms: u64) -> bool {
    matches!(expires_at, Some(t) if t <= now_ms)
}

impl<V> Store<V> {
    pub fn new(limits: StoreLimits) -> Self {
        Store {
            limits,
            index: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            bytes: 0,
            stats: StoreStats::default(),
        }
    }

    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes charged, overhead included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            entries: self.index.len() as u64,
            bytes: self.bytes as u64,
            ..self.stats
        }
    }

    fn slot(&self, i: u32) -> &Slot<V> {
        self.slots[i as usize].as_ref().expect("linked slot is live")
    }

    fn slot_mut(&mut self, i: u32) -> &mut Slot<V> {
        self.slots[i as usize].as_mut().expect("linked slot is live")
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = self.slot(i);
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slot_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slot_mut(next).prev = prev;
        }
    }

    fn push_front(&mut self, i: u32) {
        let head = self.head;
        {
            let s = self.slot_mut(i);
            s.prev = NIL;
            s.next = head;
        }
        if head != NIL {
            self.slot_mut(head).prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }

    fn take(&mut self, i: u32) -> Slot<V> {
        self.unlink(i);
        let slot = self.slots[i as usize].take().expect("live slot");
        self.index.remove(&slot.key);
        self.free.push(i);
        self.bytes -= slot.bytes;
        slot
    }

    /// Index of a live (unexpired) entry; drops it if expired.
    fn live(&mut self, key: &str, now_ms: u64) -> Option<u32> {
        let i = *self.index.get(key)?;
        if expired(self.slot(i).expires_at, now_ms) {
            self.take(i);
            self.stats.expirations += 1;
            return None;
        }
        Some(i)
    }

    /// Looks a key up, counting a hit or a miss and refreshing its recency.
    pub fn get(&mut self, key: &str, now_ms: u64) -> Option<&V> {
        match self.live(key, now_ms) {
            Some(i) => {
                self.stats.hits += 1;
                self.unlink(i);
                self.push_front(i);
                Some(&self.slot(i).value)
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Looks a key up without touching counters or recency.
    pub fn peek(&self, key: &str, now_ms: u64) -> Option<&V> {
        self.peek_with_expiry(key, now_ms).map(|(v, _)| v)
    }

    /// Like [`Store::peek`], also returning the entry's expiry.
    pub fn peek_with_expiry(&self, key: &str, now_ms: u64) -> Option<(&V, Option<u64>)> {
        let s = self.slot(*self.index.get(key)?);
        if expired(s.expires_at, now_ms) {
            None
        } else {
            Some((&s.value, s.expires_at))
        }
    }

    /// Inserts or replaces `key`. `bytes` is the caller's size of key and value;
    /// [`ENTRY_OVERHEAD`] is added to it. Other entries are evicted (expired
    /// ones first) until both bounds hold.
    pub fn insert(
        &mut self,
        key: &str,
        value: V,
        bytes: usize,
        expires_at: Option<u64>,
        now_ms: u64,
    ) -> Result<(), Rejected> {
        let bytes = bytes.saturating_add(ENTRY_OVERHEAD);
        if bytes > self.limits.max_bytes || self.limits.max_entries == 0 {
            return Err(Rejected::TooLarge {
                bytes,
                max_bytes: self.limits.max_bytes,
            });
        }
        if let Some(&i) = self.index.get(key) {
            let old = self.slot(i).bytes;
            {
                let s = self.slot_mut(i);
                s.value = value;
                s.bytes = bytes;
                s.expires_at = expires_at;
            }
            self.bytes = self.bytes - old + bytes;
            self.unlink(i);
            self.push_front(i);
            self.stats.updates += 1;
            self.make_room(0, 0, now_ms, Some(i));
            return Ok(());
        }
        self.make_room(1, bytes, now_ms, None);
        let slot = Slot {
            key: key.into(),
            value,
            bytes,
            expires_at,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key.into(), i);
        self.bytes += bytes;
        self.push_front(i);
        self.stats.inserts += 1;
        Ok(())
    }

    /// Evicts until `extra_entries` more entries of `extra_bytes` fit; never
    /// evicts `keep`.
    fn make_room(&mut self, extra_entries: usize, extra_bytes: usize, now_ms: u64, keep: Option<u32>) {
        let fits = |s: &Self| {
            s.index.len() + extra_entries <= s.limits.max_entries && s.bytes + extra_bytes <= s.limits.max_bytes
        };
        if fits(self) {
            return;
        }
        // Reclaim expired entries first: a bounded scan from the cold end.
        let mut i = self.tail;
        let mut budget = 64;
        while i != NIL && budget > 0 && !fits(self) {
            let prev = self.slot(i).prev;
            if Some(i) != keep && expired(self.slot(i).expires_at, now_ms) {
                self.take(i);
                self.stats.expirations += 1;
            }
            i = prev;
            budget -= 1;
        }
        while !fits(self) {
            let mut victim = self.tail;
            if Some(victim) == keep {
                victim = self.slot(victim).prev;
            }
            if victim == NIL {
                break;
            }
            let by_entries = self.index.len() + extra_entries > self.limits.max_entries;
            self.take(victim);
            if by_entries {
                self.stats.evicted_entries_bound += 1;
            } else {
                self.stats.evicted_bytes_bound += 1;
            }
        }
    }

    /// Removes `key`; returns its value if it was live.
    pub fn remove(&mut self, key: &str, now_ms: u64) -> Option<V> {
        let i = self.live(key, now_ms)?;
        self.stats.removals += 1;
        Some(self.take(i).value)
    }

    /// Sets a live entry's expiry; false if absent or expired.
    pub fn set_expiry(&mut self, key: &str, expires_at: Option<u64>, now_ms: u64) -> bool {
        match self.live(key, now_ms) {
            Some(i) => {
                self.slot_mut(i).expires_at = expires_at;
                true
            }
            None => false,
        }
    }

    /// Keeps only the entries for which `keep` is true; returns how many went.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &V) -> bool) -> usize {
        let doomed: Vec<u32> = self
            .index
            .values()
            .copied()
            .filter(|&i| {
                let s = self.slot(i);
                !keep(&s.key, &s.value)
            })
            .collect();
        for &i in &doomed {
            self.take(i);
        }
        self.stats.removals += doomed.len() as u64;
        doomed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_entries: usize, max_bytes: usize) -> Store<u32> {
        Store::new(StoreLimits { max_entries, max_bytes })
    }

    #[test]
    fn get_after_insert_and_replace() {
        let mut s = store(10, 10_000);
        s.insert("a", 1, 2, None, 0).unwrap();
        assert_eq!(s.get("a", 0), Some(&1));
        s.insert("a", 2, 2, None, 0).unwrap();
        assert_eq!(s.get("a", 0), Some(&2));
        assert_eq!(s.len(), 1);
        assert_eq!(s.bytes(), 2 + ENTRY_OVERHEAD);
        let st = s.stats();
        assert_eq!((st.hits, st.inserts, st.updates), (2, 1, 1));
    }

    #[test]
    fn expiry_hides_and_reclaims() {
        let mut s = store(10, 10_000);
        s.insert("a", 1, 1, Some(100), 0).unwrap();
        assert_eq!(s.get("a", 99), Some(&1));
        assert_eq!(s.get("a", 100), None);
        assert_eq!(s.len(), 0);
        assert_eq!(s.stats().expirations, 1);
    }

    #[test]
    fn entry_bound_holds_and_counts_evictions() {
        let mut s = store(3, 10_000);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            s.insert(k, i as u32, 1, None, 0).unwrap();
            assert!(s.len() <= 3);
        }
        assert_eq!(s.peek("a", 0), None);
        assert_eq!(s.stats().evicted_entries_bound, 1);
    }

    #[test]
    fn byte_bound_holds_and_oversize_is_rejected() {
        let per = 10 + ENTRY_OVERHEAD;
        let mut s = store(100, per * 3);
        for k in ["a", "b", "c", "d", "e"] {
            s.insert(k, 0, 10, None, 0).unwrap();
            assert!(s.bytes() <= per * 3);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.stats().evicted_bytes_bound, 2);
        assert!(matches!(
            s.insert("big", 0, per * 3, None, 0),
            Err(Rejected::TooLarge { .. })
        ));
        assert_eq!(s.len(), 3, "a rejected insert loses nothing");
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        let mut s = store(3, 10_000);
        s.insert("old-live", 0, 1, None, 0).unwrap();
        s.insert("short", 0, 1, Some(5), 0).unwrap();
        s.insert("new-live", 0, 1, None, 0).unwrap();
        s.insert("x", 0, 1, None, 10).unwrap();
        assert!(s.peek("old-live", 10).is_some());
        assert_eq!(s.stats().expirations, 1);
        assert_eq!(s.stats().evicted_entries_bound, 0);
    }

    #[test]
    fn remove_touch_retain() {
        let mut s = store(10, 10_000);
        s.insert("p:1", 1, 1, None, 0).unwrap();
        s.insert("p:2", 2, 1, None, 0).unwrap();
        s.insert("q:1", 3, 1, None, 0).unwrap();
        assert!(s.set_expiry("p:1", Some(50), 0));
        assert!(!s.set_expiry("nope", Some(50), 0));
        assert_eq!(s.peek_with_expiry("p:1", 0), Some((&1, Some(50))));
        assert_eq!(s.remove("p:2", 0), Some(2));
        assert_eq!(s.remove("p:2", 0), None);
        assert_eq!(s.retain(|k, _| !k.starts_with("q:")), 1);
        assert_eq!(s.len(), 1);
    }
}
