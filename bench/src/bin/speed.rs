//! Native speed of the store beside quick_cache (a secondary figure: the one
//! that matters is under V8, `bench/wasm-speed.sh`). Same workload as the
//! wasm benchmark: Zipf get-or-insert with u64 keys (edgecache's
//! `Store<V, u64>`), u64 keys formatted in decimal for the `&str`-keyed store,
//! and 40-byte string keys.
//!
//! Usage: `cargo run --release -p edgecache-bench --bin speed -- [ops] [runs]`

use std::time::Instant;

use edgecache_bench::store::{Store, StoreKey, StoreLimits};
use edgecache_bench::workload::fmt_u64;

fn edge_store<K: StoreKey>(cap: usize) -> Store<u64, K> {
    Store::new(StoreLimits {
        max_entries: cap,
        max_bytes: usize::MAX,
    })
}

/// kind 0 = u64 keys, 1 = 40-byte strings, 2 = u64 formatted as decimal.
fn run_edge(trace: &[u32], strings: &[String], cap: usize, kind: u32) -> u32 {
    let mut hits = 0;
    if kind == 0 {
        let mut s = edge_store::<u64>(cap);
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
    let mut s = edge_store::<Box<str>>(cap);
    let mut buf = [0u8; 20];
    for &item in trace {
        let key = if kind == 2 {
            fmt_u64(&mut buf, item as u64)
        } else {
            &strings[item as usize]
        };
        if s.get(key, 0).is_some() {
            hits += 1;
        } else {
            let _ = s.insert(key, item as u64, key.len() + 8, None, 0);
        }
    }
    hits
}

fn run_quick(trace: &[u32], strings: &[String], cap: usize, kind: u32) -> u32 {
    let mut hits = 0;
    if kind != 1 {
        let mut c = quick_cache::unsync::Cache::<u64, u64>::new(cap);
        for &item in trace {
            let k = item as u64;
            if c.get(&k).is_some() {
                hits += 1;
            } else {
                c.insert(k, k);
            }
        }
    } else {
        let mut c = quick_cache::unsync::Cache::<String, u64>::new(cap);
        for &item in trace {
            let k: &str = &strings[item as usize];
            if c.get(k).is_some() {
                hits += 1;
            } else {
                c.insert(k.to_owned(), item as u64);
            }
        }
    }
    hits
}

fn median_ns(ops: usize, runs: usize, mut f: impl FnMut() -> u32) -> f64 {
    f();
    let mut xs: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ops: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let only = std::env::var("SPEED_ONLY").ok();
    println!("| items | exponent | capacity | keys | edgecache ns/op | quick_cache ns/op |");
    println!("|---:|---:|---:|---|---:|---:|");
    for (items, s, cap) in [
        (100_000usize, 0.9f64, 1_000usize),
        (100_000, 0.9, 10_000),
        (10_000, 1.0, 1_000),
        (10_000, 1.0, 10_000),
    ] {
        let trace: Vec<u32> = edgecache_bench::zipf_trace(items, s, ops, 42)
            .into_iter()
            .map(|k| k as u32)
            .collect();
        let mut rng = edgecache_bench::Rng::new(42 ^ 0xABCD);
        let strings: Vec<String> = (0..items as u64)
            .map(|i| format!("session:{:016x}{:016x}", rng.next_u64(), i))
            .collect();
        for (kind, label) in [(0u32, "u64"), (2, "u64 as decimal str"), (1, "40-byte str")] {
            let e = median_ns(ops, runs, || run_edge(&trace, &strings, cap, kind));
            let q = if only.is_some() {
                0.0
            } else {
                median_ns(ops, runs, || run_quick(&trace, &strings, cap, kind))
            };
            println!("| {items} | {s:.1} | {cap} | {label} | {e:.1} | {q:.1} |");
        }
    }
}
