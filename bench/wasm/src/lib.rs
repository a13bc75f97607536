//! edgecache's store (the `edgecache-store` crate) and `quick_cache` compiled into one wasm
//! module with plain `extern "C"` exports (no wasm-bindgen), driven by
//! `bench/wasm/speed.mjs` under Node (V8).
//!
//! A run replays `ops` Zipf-distributed requests as "get; on a miss, insert"
//! through a fresh cache. The trace and the key strings are made by `setup`
//! before the clock starts. Key kinds:
//!
//! * `0` (u64): the item's number, as a `u64` key in both caches (edgecache's
//!   `Store<V, u64>`: the store is generic over its key type; the cache API
//!   uses `Box<str>` keys looked up by `&str`).
//! * `2` (u64 as decimal `&str`): edgecache's string-keyed store, each request
//!   formatting the number into a stack buffer (counted in the timed loop);
//!   quick_cache runs its `u64` keys here.
//! * `1` (40-byte strings): `"session:"` + 32 hex digits, made once per item
//!   into one buffer (`workload::SessionKeys`); both caches look up a `&str`
//!   slice of it and copy it on insert (quick_cache into a
//!   `String`, edgecache into a `Box<str>`).
//!
//! A counting global allocator also lets the module report the bytes the
//! store allocates per entry on wasm32 (`store_overhead_x100`).

use edgecache_bench::{counting, replay, store, workload};

use std::cell::RefCell;

use counting::{allocated, Counting};
use replay::edge_store;

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Workload {
    capacity: usize,
    /// Item number of each request.
    trace: Vec<u32>,
    /// 40-byte key of each item.
    keys: workload::SessionKeys,
}

thread_local! {
    static WORK: RefCell<Option<Workload>> = const { RefCell::new(None) };
}

/// Makes the trace: `ops` requests over `items` items, Zipf `exponent_milli`
/// / 1000, for caches of `capacity` entries. Returns the number of requests.
#[no_mangle]
pub extern "C" fn setup(items: u32, exponent_milli: u32, capacity: u32, ops: u32, seed: u32) -> u32 {
    let trace: Vec<u32> = workload::zipf_trace(
        items as usize,
        exponent_milli as f64 / 1000.0,
        ops as usize,
        seed as u64,
    )
    .into_iter()
    .map(|k| k as u32)
    .collect();
    let keys = workload::SessionKeys::new(items as usize, seed as u64);
    let n = trace.len() as u32;
    WORK.with(|w| {
        *w.borrow_mut() = Some(Workload {
            capacity: capacity as usize,
            trace,
            keys,
        })
    });
    n
}

fn with_work<R>(f: impl FnOnce(&Workload) -> R) -> R {
    WORK.with(|w| f(w.borrow().as_ref().expect("setup first")))
}

/// edgecache's store, keys of `kind` (0 = u64, 1 = 40-byte strings, 2 = u64
/// formatted as decimal strings); returns hits.
#[no_mangle]
pub extern "C" fn run_edge(kind: u32) -> u32 {
    with_work(|w| replay::run_edge(&w.trace, &w.keys, w.capacity, kind))
}

/// quick_cache (foldhash), keys of `kind`; returns hits.
#[no_mangle]
pub extern "C" fn run_quick(kind: u32) -> u32 {
    with_work(|w| replay::run_quick(&w.trace, &w.keys, w.capacity, kind))
}

/// Bytes the store allocates per entry beyond the key's bytes and the value
/// (`u64`), × 100, once `entries` entries of `key_len`-byte keys fill a store
/// bounded at `entries`. `with_key_header` = 0 also leaves out the key's
/// pointer and length (`size_of::<Box<str>>()`).
#[no_mangle]
pub extern "C" fn store_overhead_x100(entries: u32, key_len: u32, with_key_header: u32) -> u32 {
    let n = entries as usize;
    let before = allocated();
    let mut s = edge_store::<Box<str>>(n);
    let mut key = String::new();
    let mut keys = 0;
    for i in 0..n {
        key.clear();
        let digits = format!("{i}");
        key.push_str(&digits);
        while key.len() < key_len as usize {
            key.push('.');
        }
        keys += key.len();
        let _ = s.insert(&key, i as u64, key.len() + 8, None, 0);
    }
    let total = allocated() - before;
    let values = n * std::mem::size_of::<u64>();
    let mut over = total - keys - values;
    if with_key_header == 0 {
        over -= n * std::mem::size_of::<Box<str>>();
    }
    drop(s);
    (over * 100 / n) as u32
}
