//! The caches the hit-ratio replay compares, behind one trait. Each replays a
//! request as "get; on a miss, insert" and says whether it was a hit.

use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, Hasher};

use crate::store::{Store, StoreLimits, ENTRY_OVERHEAD};

/// A capacity: a number of entries, or a byte budget (weights = object sizes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    Entries(usize),
    Bytes(u64),
}

pub trait Sim {
    /// Replays one request of `key` (an object of `size` bytes); true on a hit.
    fn access(&mut self, key: u64, size: u64) -> bool;
}

/// edgecache's store, with keys formatted as decimal strings (its API takes
/// `&str`). With a byte budget, an entry's declared bytes are its object size
/// less [`ENTRY_OVERHEAD`], so that the store is charged exactly the object
/// size, like the other caches' weighters.
pub struct Edge {
    store: Store<()>,
    buf: String,
    sized: bool,
}

impl Edge {
    pub fn new(cap: Capacity) -> Self {
        let (limits, sized) = match cap {
            Capacity::Entries(n) => (
                StoreLimits {
                    max_entries: n,
                    max_bytes: usize::MAX,
                },
                false,
            ),
            Capacity::Bytes(b) => (
                StoreLimits {
                    max_entries: usize::MAX,
                    max_bytes: b as usize,
                },
                true,
            ),
        };
        Edge {
            store: Store::new(limits),
            buf: String::with_capacity(24),
            sized,
        }
    }
}

impl Sim for Edge {
    fn access(&mut self, key: u64, size: u64) -> bool {
        let k = crate::fmt_key(&mut self.buf, key);
        if self.store.get(k, 0).is_some() {
            return true;
        }
        let bytes = if self.sized {
            (size as usize).saturating_sub(ENTRY_OVERHEAD)
        } else {
            k.len()
        };
        let _ = self.store.insert(k, (), bytes, None, 0);
        false
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        if std::env::var_os("EDGECACHE_BENCH_DEBUG").is_some() {
            eprintln!("{:?} {:?}", self.store.limits(), self.store.stats());
        }
    }
}

/// `lru::LruCache`; with a byte budget, least recently used entries are popped
/// until the new object fits.
pub struct Lru {
    cache: lru::LruCache<u64, u64>,
    budget: Option<u64>,
    used: u64,
}

impl Lru {
    pub fn new(cap: Capacity) -> Self {
        match cap {
            Capacity::Entries(n) => Lru {
                cache: lru::LruCache::new(n.try_into().expect("capacity > 0")),
                budget: None,
                used: 0,
            },
            Capacity::Bytes(b) => Lru {
                cache: lru::LruCache::unbounded(),
                budget: Some(b),
                used: 0,
            },
        }
    }
}

impl Sim for Lru {
    fn access(&mut self, key: u64, size: u64) -> bool {
        if self.cache.get(&key).is_some() {
            return true;
        }
        match self.budget {
            None => {
                self.cache.put(key, size);
            }
            Some(budget) => {
                if size <= budget {
                    while self.used + size > budget {
                        let (_, s) = self.cache.pop_lru().expect("non-empty");
                        self.used -= s;
                    }
                    self.cache.put(key, size);
                    self.used += size;
                }
            }
        }
        false
    }
}

#[derive(Clone)]
pub struct SizeWeighter;

impl quick_cache::Weighter<u64, u64> for SizeWeighter {
    fn weight(&self, _key: &u64, size: &u64) -> u64 {
        *size
    }
}

/// `quick_cache::unsync::Cache` (S3-FIFO-like CLOCK-Pro), weighted by size with
/// a byte budget.
pub struct Quick {
    cache: quick_cache::unsync::Cache<u64, u64, SizeWeighter>,
}

impl Quick {
    pub fn new(cap: Capacity) -> Self {
        let cache = match cap {
            Capacity::Entries(n) => quick_cache::unsync::Cache::with_weighter(n, n as u64, SizeWeighter),
            Capacity::Bytes(b) => {
                quick_cache::unsync::Cache::with_weighter((b / 4096).max(16) as usize, b, SizeWeighter)
            }
        };
        Quick { cache }
    }
}

impl Sim for Quick {
    fn access(&mut self, key: u64, size: u64) -> bool {
        if self.cache.get(&key).is_some() {
            return true;
        }
        self.cache.insert(key, size);
        false
    }
}

/// Quick with entry capacity: every weight is 1.
pub struct QuickUnit {
    cache: quick_cache::unsync::Cache<u64, ()>,
}

impl QuickUnit {
    pub fn new(n: usize) -> Self {
        QuickUnit {
            cache: quick_cache::unsync::Cache::new(n),
        }
    }
}

impl Sim for QuickUnit {
    fn access(&mut self, key: u64, _size: u64) -> bool {
        if self.cache.get(&key).is_some() {
            return true;
        }
        self.cache.insert(key, ());
        false
    }
}

/// `moka::sync::Cache` (W-TinyLFU without an adaptive window), weighted by
/// size with a byte budget.
pub struct Moka {
    cache: moka::sync::Cache<u64, u64>,
}

impl Moka {
    pub fn new(cap: Capacity) -> Self {
        let cache = match cap {
            Capacity::Entries(n) => moka::sync::Cache::new(n as u64),
            Capacity::Bytes(b) => moka::sync::Cache::builder()
                .max_capacity(b)
                .weigher(|_k: &u64, v: &u64| (*v).min(u32::MAX as u64) as u32)
                .build(),
        };
        Moka { cache }
    }
}

impl Sim for Moka {
    fn access(&mut self, key: u64, size: u64) -> bool {
        if self.cache.get(&key).is_some() {
            return true;
        }
        self.cache.insert(key, size);
        false
    }
}

#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _bytes: &[u8]) {
        unimplemented!("u64 keys only")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(26);
    }
}

#[derive(Default, Clone, Copy)]
struct BuildId;

impl BuildHasher for BuildId {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// Bélády's OPT with entry capacity: on a miss the new key is always
/// admitted, evicting the resident key whose next use is farthest away.
pub fn opt_hit_ratio(trace: &[u64], cap: usize) -> f64 {
    let n = trace.len();
    let mut next = vec![usize::MAX; n];
    let mut last: HashMap<u64, usize, BuildId> = HashMap::default();
    for i in (0..n).rev() {
        if let Some(&j) = last.get(&trace[i]) {
            next[i] = j;
        }
        last.insert(trace[i], i);
    }
    // Resident key -> its next use; a max-heap of (next use, key) with lazy
    // deletion of stale pairs.
    let mut resident: HashMap<u64, usize, BuildId> = HashMap::default();
    let mut heap = BinaryHeap::new();
    let mut hits = 0u64;
    for (i, &key) in trace.iter().enumerate() {
        if let Some(nu) = resident.get_mut(&key) {
            hits += 1;
            *nu = next[i];
        } else {
            if resident.len() >= cap {
                while let Some((nu, k)) = heap.pop() {
                    if resident.get(&k) == Some(&nu) {
                        resident.remove(&k);
                        break;
                    }
                }
            }
            resident.insert(key, next[i]);
        }
        heap.push((next[i], key));
    }
    hits as f64 / n.max(1) as f64
}
