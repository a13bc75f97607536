//! The speed benchmarks' replay, shared by the native run (`--bin speed`)
//! and the wasm module (`bench/wasm`, which includes this file by path):
//! Zipf requests as "get; on a miss, insert" through a fresh cache, for
//! edgecache's store and for quick_cache. Key kinds: 0 = the item's number
//! as a `u64` key, 1 = the item's 40-byte string (`workload::SessionKeys`),
//! 2 = the number formatted in decimal for edgecache's `&str`-keyed store
//! (quick_cache keeps `u64` keys there).

use crate::store::{Store, StoreKey, StoreLimits};
use crate::workload::{fmt_u64, SessionKeys};

/// edgecache's store bounded at `capacity` entries only.
pub fn edge_store<K: StoreKey>(capacity: usize) -> Store<u64, K> {
    Store::new(StoreLimits {
        max_entries: capacity,
        max_bytes: usize::MAX,
    })
}

/// Replays `trace` (item numbers) through edgecache's store; returns hits.
pub fn run_edge(trace: &[u32], keys: &SessionKeys, capacity: usize, kind: u32) -> u32 {
    let mut hits = 0;
    if kind == 0 {
        let mut s = edge_store::<u64>(capacity);
        for &item in trace {
            let key = item as u64;
            if s.get(&key, 0).is_some() {
                hits += 1;
            } else {
                let _ = s.insert(&key, key, 16, None, 0);
            }
        }
        return hits;
    }
    let mut s = edge_store::<Box<str>>(capacity);
    let mut buf = [0u8; 20];
    for &item in trace {
        let key = if kind == 2 {
            fmt_u64(&mut buf, item as u64)
        } else {
            keys.key(item as usize)
        };
        if s.get(key, 0).is_some() {
            hits += 1;
        } else {
            let _ = s.insert(key, item as u64, key.len() + 8, None, 0);
        }
    }
    hits
}

/// Replays `trace` through quick_cache; returns hits.
pub fn run_quick(trace: &[u32], keys: &SessionKeys, capacity: usize, kind: u32) -> u32 {
    let mut hits = 0;
    if kind != 1 {
        let mut c = quick_cache::unsync::Cache::<u64, u64>::new(capacity);
        for &item in trace {
            let k = item as u64;
            if c.get(&k).is_some() {
                hits += 1;
            } else {
                c.insert(k, k);
            }
        }
    } else {
        let mut c = quick_cache::unsync::Cache::<String, u64>::new(capacity);
        for &item in trace {
            let k: &str = keys.key(item as usize);
            if c.get(k).is_some() {
                hits += 1;
            } else {
                c.insert(k.to_owned(), item as u64);
            }
        }
    }
    hits
}
