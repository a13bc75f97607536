//! `LocalCache`'s engine: the W-TinyLFU store for synchronous hot paths in
//! JS, holding keys and policy while the values stay on the JS side.
//!
//! The JS↔wasm boundary decides the speed of a cache call, so only numbers
//! cross it: JS writes the key straight into a buffer in wasm memory (no
//! allocation, no wasm-bindgen string copy), the clock comes in as a
//! number, and the store's value is a *slot*: an index into a JS array
//! holding the JS values themselves, so a hit returns the stored object
//! (never re-serialised) and no JS object is handed through wasm. A slot is
//! freed when its entry goes (evicted, expired, replaced, deleted) and is
//! reused by a later write, which overwrites the JS array there.

use std::cell::{Cell, RefCell};

use edgecache_store::{Store, StoreLimits};
use wasm_bindgen::prelude::*;

thread_local! {
    /// Slots freed by dropped entries, reused first (all stores share them,
    /// as all `LocalCache`s share the JS array).
    static FREE: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static NEXT: Cell<u32> = const { Cell::new(0) };
}

/// An entry's index into the JS values array; freed on drop.
struct Slot(u32);

impl Slot {
    fn take() -> Slot {
        let id = FREE.with(|f| f.borrow_mut().pop()).unwrap_or_else(|| {
            NEXT.with(|n| {
                let id = n.get();
                n.set(id + 1);
                id
            })
        });
        Slot(id)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        FREE.with(|f| f.borrow_mut().push(self.0));
    }
}

/// Longest key in bytes that the shared buffer takes; longer keys go
/// through [`LocalStore::set_key`] first.
const KEY_BUFFER: usize = 4096;

/// The store behind `LocalCache` (see the module docs).
#[wasm_bindgen]
pub struct LocalStore {
    store: Store<Slot>,
    key: Box<[u8]>,
}

impl LocalStore {
    fn key(&self, len: usize) -> Option<&str> {
        std::str::from_utf8(self.key.get(..len)?).ok()
    }
}

/// A deadline in ms from JS (`Infinity`, NaN or negative: never).
fn deadline(expires_at: f64) -> Option<u64> {
    (expires_at.is_finite() && expires_at >= 0.0).then_some(expires_at as u64)
}

#[wasm_bindgen]
impl LocalStore {
    /// A store of at most `max_entries` entries and `max_bytes` bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(max_entries: usize, max_bytes: usize) -> LocalStore {
        LocalStore {
            store: Store::new(StoreLimits { max_entries, max_bytes }),
            key: vec![0u8; KEY_BUFFER].into_boxed_slice(),
        }
    }

    /// Where JS writes a key's UTF-8 bytes before a call (stable for the
    /// store's life).
    #[wasm_bindgen(js_name = keyBuffer)]
    pub fn key_buffer(&mut self) -> *mut u8 {
        self.key.as_mut_ptr()
    }

    /// The buffer's size in bytes.
    #[wasm_bindgen(js_name = keyBufferSize)]
    pub fn key_buffer_size(&self) -> usize {
        KEY_BUFFER
    }

    /// The slot of the key in the buffer's first `len` bytes, or -1.
    pub fn get(&mut self, len: usize, now: f64) -> i32 {
        let Some(key) = std::str::from_utf8(self.key.get(..len).unwrap_or_default()).ok() else {
            return -1;
        };
        match self.store.get(key, now as u64) {
            Some(slot) => slot.0 as i32,
            None => -1,
        }
    }

    /// Whether the key is live (does not count as a use).
    pub fn has(&self, len: usize, now: f64) -> bool {
        self.key(len).is_some_and(|k| self.store.peek(k, now as u64).is_some())
    }

    /// Makes an entry charged `size` bytes besides the key, live until
    /// `expires_at` (ms; `Infinity` = never); the slot JS puts the value in,
    /// or -1 if it can never fit (or already expired).
    pub fn set(&mut self, len: usize, size: usize, expires_at: f64, now: f64) -> i32 {
        let Some(key) = std::str::from_utf8(self.key.get(..len).unwrap_or_default()).ok() else {
            return -1;
        };
        let slot = Slot::take();
        let id = slot.0 as i32;
        let bytes = key.len().saturating_add(size);
        let deadline = deadline(expires_at);
        if deadline.is_some_and(|d| d <= now as u64) {
            // A zero TTL removes the key (the store drops it).
            let _ = self.store.insert(key, slot, bytes, deadline, now as u64);
            return -1;
        }
        match self.store.insert(key, slot, bytes, deadline, now as u64) {
            Ok(()) => id,
            Err(_) => -1,
        }
    }

    /// Removes the key; its slot (for JS to let go of the value), or -1 if
    /// it was not live.
    pub fn delete(&mut self, len: usize, now: f64) -> i32 {
        match std::str::from_utf8(self.key.get(..len).unwrap_or_default()) {
            Ok(k) => self.store.remove(k, now as u64).map_or(-1, |s| s.0 as i32),
            Err(_) => -1,
        }
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.store.retain(|_, _| false);
    }

    /// Live and not yet reclaimed entries.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.store.len()
    }

    /// Counters as a plain object.
    pub fn stats(&self) -> JsValue {
        let s = self.store.stats();
        let o = js_sys::Object::new();
        for (k, v) in [
            ("hits", s.hits),
            ("misses", s.misses),
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
