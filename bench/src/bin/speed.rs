//! Native speed of the store beside quick_cache (a secondary figure: the one
//! that matters is under V8, `bench/wasm-speed.sh`). Same workload as the
//! wasm benchmark: Zipf get-or-insert with u64 keys (edgecache's
//! `Store<V, u64>`), u64 keys formatted in decimal for the `&str`-keyed store,
//! and 40-byte string keys.
//!
//! Usage: `cargo run --release -p edgecache-bench --bin speed -- [ops] [runs]`

use std::time::Instant;

use edgecache_bench::replay::{run_edge, run_quick};
use edgecache_bench::workload::SessionKeys;

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
        let keys = SessionKeys::new(items, 42);
        for (kind, label) in [(0u32, "u64"), (2, "u64 as decimal str"), (1, "40-byte str")] {
            let e = median_ns(ops, runs, || run_edge(&trace, &keys, cap, kind));
            let q = if only.is_some() {
                0.0
            } else {
                median_ns(ops, runs, || run_quick(&trace, &keys, cap, kind))
            };
            println!("| {items} | {s:.1} | {cap} | {label} | {e:.1} | {q:.1} |");
        }
    }
}
