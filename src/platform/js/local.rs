//! `LocalCache`'s policy: the W-TinyLFU store deciding what a synchronous
//! JS cache keeps, while the lookup stays in JS.
//!
//! The JS↔wasm boundary decides the speed of a cache call (a string crossing
//! it costs more than a whole `lru-cache` get), so a hit never crosses it:
//! JS finds the entry in its own `Map` (key → entry id) and appends the id
//! to an access log in wasm memory; the log is replayed into the store's
//! policy (frequency sketch, queue marks) when it fills or before a write.
//! Writes and evictions cross with numbers only: the store is keyed by
//! entry id, and the ids it drops (evicted, expired, removed) are handed
//! back in a buffer so JS forgets those keys. The values never enter wasm.
//!
//! Most hits change nothing in the policy: an entry already marked by a hit
//! stays marked until the policy examines it at a queue end (80 % of hits
//! on the orm-busy trace, 57 % on OLTP). JS keeps a copy of the marks and
//! logs only hits of entries it believes unmarked; the store hands back the
//! ids whose marks it clears ([`StoreKey::unmarked`]), so the copy never
//! claims a mark the store no longer has, and nothing the policy would have
//! seen is lost (a store test proves the decisions identical).
//!
//! Ids are reused after an eviction, so the policy must not see them as the
//! keys: the frequency sketch and the regret filters would credit a new key
//! with an evicted one's history and forget a returning key's. A write of a
//! new key therefore brings a 32-bit hash of its text (the store's string
//! hash of the UTF-8 that JS encodes into a buffer here, `KeyIn`), and
//! the store's key is that hash with the id ([`Slot`]): lookups stay exact
//! (by id), while the policy hashes only the key's text. With ids as keys
//! the hit ratio on the real traces fell far below LRU's (web07 39.6 %,
//! OLTP 14.6 %, orm-busy 29.9 % at 1000 entries, against 50.4, 32.8, 79.6).

use std::cell::{Cell, RefCell};

use edgecache_store::{hash_bytes, Store, StoreKey, StoreLimits};
use wasm_bindgen::prelude::*;

/// Ids in the access log replayed per `record` call.
const LOG: usize = 256;
/// Dropped ids handed back per call (more: JS calls `drain` again).
const DROPPED: usize = 256;
/// Unmarked ids handed back per call (more: JS clears every mark).
const UNMARKED: usize = 256;
/// Bytes of the buffer JS encodes a new key into (a longer key is hashed
/// in JS).
const KEY_BUFFER: usize = 1024;

/// How a write names its key.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyIn {
    /// The key entry `id` holds (a new value for it).
    Held = 0,
    /// A new key, its UTF-8 bytes written into the key buffer by JS: the
    /// text hash is the store's string hash of them.
    Buffer = 1,
    /// A new key too long for the buffer, hashed in JS (`text_hash`).
    Hash = 2,
}

thread_local! {
    /// Ids of entries the store dropped during the current call.
    static GONE: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    /// The id being replaced by a write (its old value is not "dropped").
    static KEEP: Cell<u32> = const { Cell::new(u32::MAX) };
    /// Ids of entries whose mark the policy cleared during the current call.
    static UNMARKED_IDS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// A store key: the JS key's text hash (high 32 bits) and the entry's id
/// (low 32 bits). Equal only for the same id, hashed only by the text hash.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Slot(u64);

impl Slot {
    fn new(text_hash: u32, id: u32) -> Slot {
        Slot(u64::from(text_hash) << 32 | u64::from(id))
    }
}

impl StoreKey for Slot {
    type Borrowed = Slot;
    #[inline]
    fn from_borrowed(key: &Slot) -> Self {
        *key
    }
    #[inline]
    fn borrowed(&self) -> &Slot {
        self
    }
    /// High half: the text hash, mixed (the policy reads only this half,
    /// and the table its first bucket). Low half: mixed with the id (the
    /// table's second bucket), so keys whose texts collide, by chance or
    /// crafted, spread over the table instead of piling into its stash.
    #[inline]
    fn hash_of(key: &Slot) -> u64 {
        let text = fmix32((key.0 >> 32) as u32);
        let own = fmix32(key.0 as u32 ^ text.rotate_left(16));
        u64::from(text) << 32 | u64::from(own)
    }
    /// JS's copy of the marks forgets this one (module docs).
    #[inline]
    fn unmarked(&self) {
        UNMARKED_IDS.with(|u| u.borrow_mut().push(self.0 as u32));
    }
}

/// A 32-bit avalanche (MurmurHash3's finaliser): every input bit moves
/// about half the output bits.
#[inline]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// An entry's id; when the store drops it, JS is told.
struct Entry(u32);

impl Drop for Entry {
    fn drop(&mut self) {
        if KEEP.with(Cell::get) != self.0 {
            GONE.with(|g| g.borrow_mut().push(self.0));
        }
    }
}

/// The store behind `LocalCache` (see the module docs).
#[wasm_bindgen]
pub struct LocalStore {
    store: Store<Entry, Slot>,
    /// The text hash of each id's key (while the id is held).
    hashes: Vec<u32>,
    log: Box<[u32]>,
    dropped: Box<[u32]>,
    /// How many ids follow (`u32::MAX`: too many, clear every mark), then
    /// the ids whose mark the policy cleared during the last call.
    unmarked: Box<[u32]>,
    /// Where JS encodes a new key (UTF-8) for its text hash.
    key_buf: Box<[u8]>,
}

/// A store freed by JS (its `LocalCache` collected) drops its entries
/// silently (see `forget_all`).
impl Drop for LocalStore {
    fn drop(&mut self) {
        self.forget_all();
    }
}

/// A deadline in ms from JS (`Infinity`, NaN or negative: never).
fn deadline(expires_at: f64) -> Option<u64> {
    (expires_at.is_finite() && expires_at >= 0.0).then_some(expires_at as u64)
}

impl LocalStore {
    /// The store's key for entry `id` (held, or just dropped).
    fn slot(&self, id: u32) -> Slot {
        Slot::new(self.hashes.get(id as usize).copied().unwrap_or(0), id)
    }

    /// Replays the first `n` logged hits into the policy.
    fn replay(&mut self, n: usize, now: f64) {
        for i in 0..n.min(LOG) {
            let key = self.slot(self.log[i]);
            let _ = self.store.get(&key, now as u64);
        }
    }

    /// Drops every entry without handing the ids back: the list of dropped
    /// ids is shared by all stores of the module, so ids of a store being
    /// cleared or freed must not reach the next call on another store (it
    /// would forget live entries and reuse ids still held).
    fn forget_all(&mut self) {
        let before = GONE.with(|g| g.borrow().len());
        self.store.retain(|_, _| false);
        GONE.with(|g| g.borrow_mut().truncate(before));
    }

    /// Moves the ids whose mark the policy cleared into their buffer.
    fn hand_back_unmarked(&mut self) {
        UNMARKED_IDS.with(|u| {
            let mut u = u.borrow_mut();
            let n = u.len();
            self.unmarked[0] = if n <= UNMARKED {
                self.unmarked[1..=n].copy_from_slice(&u);
                n as u32
            } else {
                u32::MAX
            };
            u.clear();
        });
    }

    /// Moves the ids dropped so far into the shared buffer; how many.
    fn hand_back(&mut self) -> usize {
        self.hand_back_unmarked();
        GONE.with(|g| {
            let mut g = g.borrow_mut();
            let n = g.len().min(DROPPED);
            for (slot, id) in self.dropped.iter_mut().zip(g.drain(..n)) {
                *slot = id;
            }
            n
        })
    }
}

#[wasm_bindgen]
impl LocalStore {
    /// A policy for at most `max_entries` entries and `max_bytes` bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(max_entries: usize, max_bytes: usize) -> LocalStore {
        LocalStore {
            store: Store::new(StoreLimits { max_entries, max_bytes }),
            hashes: Vec::new(),
            log: vec![0; LOG].into_boxed_slice(),
            dropped: vec![0; DROPPED].into_boxed_slice(),
            unmarked: vec![0; UNMARKED + 1].into_boxed_slice(),
            key_buf: vec![0; KEY_BUFFER].into_boxed_slice(),
        }
    }

    /// Where JS appends the ids of hits (`u32`s; stable for the store's life).
    #[wasm_bindgen(js_name = logBuffer)]
    pub fn log_buffer(&mut self) -> *mut u32 {
        self.log.as_mut_ptr()
    }

    /// Where the ids of dropped entries are handed back (`u32`s).
    #[wasm_bindgen(js_name = droppedBuffer)]
    pub fn dropped_buffer(&self) -> *const u32 {
        self.dropped.as_ptr()
    }

    /// Where the ids whose mark was cleared are handed back (`u32`s: the
    /// count, then the ids).
    #[wasm_bindgen(js_name = unmarkedBuffer)]
    pub fn unmarked_buffer(&self) -> *const u32 {
        self.unmarked.as_ptr()
    }

    /// Where JS encodes a new key (bytes).
    #[wasm_bindgen(js_name = keyBuffer)]
    pub fn key_buffer(&mut self) -> *mut u8 {
        self.key_buf.as_mut_ptr()
    }

    /// The sizes of the four buffers: log, dropped and unmarked in `u32`s,
    /// the key buffer in bytes.
    #[wasm_bindgen(js_name = bufferSizes)]
    pub fn buffer_sizes(&self) -> Vec<u32> {
        vec![LOG as u32, DROPPED as u32, UNMARKED as u32 + 1, KEY_BUFFER as u32]
    }

    /// Replays the first `n` logged hits into the policy; returns how many
    /// dropped ids are in the dropped buffer (an expired entry goes when touched).
    pub fn record(&mut self, n: usize, now: f64) -> usize {
        self.replay(n, now);
        self.hand_back()
    }

    /// Writes entry `id` charged `bytes`, live until `expires_at` (ms;
    /// `Infinity` = never): a new value for the key `id` holds, or a new key
    /// (see `KeyIn`). Returns how many dropped ids are in the dropped
    /// buffer, or -1 if the entry can never fit (a replaced entry then keeps
    /// its old value).
    ///
    /// The first `logged` ids of the access log are replayed first, so the
    /// policy knows the latest hits before it picks a victim.
    #[allow(clippy::too_many_arguments)]
    pub fn set(
        &mut self,
        id: u32,
        key: KeyIn,
        key_bytes: usize,
        text_hash: u32,
        bytes: usize,
        expires_at: f64,
        now: f64,
        logged: usize,
    ) -> i32 {
        self.replay(logged, now);
        let text_hash = match key {
            KeyIn::Held => None,
            KeyIn::Buffer => Some((hash_bytes(&self.key_buf[..key_bytes.min(KEY_BUFFER)]) >> 32) as u32),
            KeyIn::Hash => Some(text_hash),
        };
        let key = match text_hash {
            None => self.slot(id),
            Some(text_hash) => {
                let i = id as usize;
                if i >= self.hashes.len() {
                    self.hashes.resize(i + 1, 0);
                }
                self.hashes[i] = text_hash;
                let key = Slot::new(text_hash, id);
                // A new key is a miss to the policy (JS found it absent): its
                // regret steers the window as a `get` that missed would.
                self.store.record_miss(&key);
                key
            }
        };
        KEEP.with(|k| k.set(id));
        let until = deadline(expires_at);
        let stored = self.store.insert(&key, Entry(id), bytes, until, now as u64);
        KEEP.with(|k| k.set(u32::MAX));
        match stored {
            Ok(()) => {
                // A zero TTL removed the entry (the store's rule: a deadline
                // already reached): the id goes back too.
                if until.is_some_and(|d| d <= now as u64) {
                    GONE.with(|g| g.borrow_mut().push(id));
                }
                self.hand_back() as i32
            }
            Err(_) => {
                self.hand_back_unmarked();
                -1
            }
        }
    }

    /// Removes entry `id`; returns how many dropped ids are in the buffer
    /// (it among them if it was held).
    pub fn remove(&mut self, id: u32, now: f64) -> usize {
        let key = self.slot(id);
        let _ = self.store.remove(&key, now as u64);
        self.hand_back()
    }

    /// More dropped ids, after a call that handed back a full buffer.
    pub fn drain(&mut self) -> usize {
        self.hand_back()
    }

    /// Forgets every entry (JS resets its side; nothing is handed back).
    pub fn clear(&mut self) {
        self.forget_all();
    }

    /// The policy's counters (hits are replayed hits).
    pub fn stats(&self) -> JsValue {
        let s = self.store.stats();
        let o = js_sys::Object::new();
        for (k, v) in [
            ("inserts", s.inserts),
            ("updates", s.updates),
            ("evictions", s.evicted_entries_bound + s.evicted_bytes_bound),
            ("expirations", s.expirations),
            ("entries", self.store.len() as u64),
            ("bytes", self.store.bytes() as u64),
        ] {
            let _ = js_sys::Reflect::set(&o, &k.into(), &JsValue::from_f64(v as f64));
        }
        o.into()
    }
}

/// For the package's tests (`testkit`): the hits that `LocalCache`'s
/// policy scores on `keys` (get, and set on a miss; values of 64 bytes, no
/// ttl) when it is given every hit, with ids assigned as `LocalCache`
/// assigns them. `LocalCache` leaves out hits of entries it knows marked;
/// a test compares its hits with these, which must be equal.
#[cfg(feature = "testkit")]
#[wasm_bindgen(js_name = localPolicyEveryHit)]
pub fn every_hit(keys: Vec<String>, max_entries: usize) -> u32 {
    use std::collections::HashMap;
    let mut s = LocalStore::new(max_entries, 1 << 30);
    let (mut ids, mut key_of) = (HashMap::<String, u32>::new(), Vec::<String>::new());
    let (mut free, mut next, mut hits) = (Vec::new(), 0u32, 0);
    // JS's `#drop`: forget the dropped ids' keys, free the ids.
    let forget =
        |s: &mut LocalStore, mut n: usize, ids: &mut HashMap<String, u32>, key_of: &[String], free: &mut Vec<u32>| {
            while n > 0 {
                for &id in &s.dropped[..n] {
                    ids.remove(&key_of[id as usize]);
                    free.push(id);
                }
                n = if n == DROPPED { s.drain() } else { 0 };
            }
        };
    for key in keys {
        if let Some(&id) = ids.get(&key) {
            hits += 1;
            s.log[0] = id;
            let n = s.record(1, 0.0);
            forget(&mut s, n, &mut ids, &key_of, &mut free);
            continue;
        }
        let id = free.pop().unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        let b = key.as_bytes();
        assert!(b.len() <= KEY_BUFFER, "keys of the reference fit the key buffer");
        s.key_buf[..b.len()].copy_from_slice(b);
        let n = s.set(
            id,
            KeyIn::Buffer,
            b.len(),
            0,
            2 * key.encode_utf16().count() + 64,
            f64::INFINITY,
            0.0,
            0,
        );
        let n = usize::try_from(n).expect("the entry fits");
        if key_of.len() <= id as usize {
            key_of.resize(id as usize + 1, String::new());
        }
        key_of[id as usize] = key.clone();
        ids.insert(key, id);
        forget(&mut s, n, &mut ids, &key_of, &mut free);
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_whose_texts_collide_are_all_held_found_and_evicted_one_by_one() {
        let n = 4096;
        let mut s = LocalStore::new(n, 1 << 30);
        for id in 0..n as u32 {
            assert_eq!(s.set(id, KeyIn::Hash, 0, 7, 10, f64::INFINITY, 0.0, 0), 0, "id {id}");
        }
        for id in 0..n as u32 {
            assert!(s.store.peek(&s.slot(id), 0).is_some(), "id {id} lost");
        }
        // A new key (same text hash again) evicts exactly one other entry.
        assert_eq!(s.set(n as u32, KeyIn::Hash, 0, 7, 10, f64::INFINITY, 0.0, 0), 1);
        let gone = s.dropped[0];
        assert_ne!(gone, n as u32);
        assert!(s.store.peek(&s.slot(gone), 0).is_none());
        assert!(s.store.peek(&s.slot(n as u32), 0).is_some());
    }

    #[test]
    fn a_store_freed_or_cleared_hands_no_ids_to_another_store() {
        let fill = |s: &mut LocalStore| {
            for id in 0..100 {
                assert_eq!(s.set(id, KeyIn::Hash, 0, id, 10, f64::INFINITY, 0.0, 0), 0);
            }
        };
        let mut other = LocalStore::new(1000, 1 << 20);
        let mut freed = LocalStore::new(1000, 1 << 20);
        fill(&mut freed);
        drop(freed);
        let mut cleared = LocalStore::new(1000, 1 << 20);
        fill(&mut cleared);
        cleared.clear();
        assert_eq!(other.set(0, KeyIn::Hash, 0, 1, 10, f64::INFINITY, 0.0, 0), 0);
        assert_eq!(other.record(0, 0.0), 0);
        assert_eq!(other.drain(), 0);
        assert_eq!(other.store.len(), 1);
    }

    #[test]
    fn a_new_key_reusing_an_id_is_a_new_key_to_the_policy() {
        let mut s = LocalStore::new(8, 1 << 20);
        assert_eq!(s.set(0, KeyIn::Hash, 0, 1, 10, f64::INFINITY, 0.0, 0), 0);
        assert_eq!(s.remove(0, 0.0), 1);
        assert_eq!(s.set(0, KeyIn::Hash, 0, 2, 10, f64::INFINITY, 0.0, 0), 0);
        assert_eq!(s.slot(0), Slot::new(2, 0));
        assert!(s.store.peek(&Slot::new(2, 0), 0).is_some());
        assert!(s.store.peek(&Slot::new(1, 0), 0).is_none());
        // A new value for the key id 0 holds keeps its text hash.
        assert_eq!(s.set(0, KeyIn::Held, 0, 0, 20, f64::INFINITY, 0.0, 0), 0);
        assert!(s.store.peek(&Slot::new(2, 0), 0).is_some());
    }
}
