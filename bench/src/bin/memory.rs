//! Memory overhead of the store per entry, measured natively with a counting
//! global allocator (the wasm32 figure comes from `bench/wasm-speed.sh`).
//!
//! For each (entries, key length) a store bounded at `entries` entries is
//! filled (then churned through twice as many more keys, so that the figure
//! is the steady state with evictions), and the bytes it holds are counted.
//! Overhead = (allocated − Σ key bytes − entries × size_of::<V>()) / entries,
//! shown with and without the key's `Box<str>` pointer+length. A byte-bounded
//! store is also filled to show the real allocation stays within `max_bytes`.
//!
//! Usage: `cargo run --release -p edgecache-bench --bin memory`

use edgecache_bench::counting::{allocated, Counting};
use edgecache_bench::store::{Store, StoreLimits, ENTRY_OVERHEAD};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn key(i: usize, len: usize) -> String {
    let mut k = format!("{i:x}");
    while k.len() < len {
        k.push('.');
    }
    k
}

/// Fills a store with keys `0..n_keys` and returns (allocated bytes, Σ key
/// bytes held, entries held, bytes charged).
fn fill(limits: StoreLimits, n_keys: usize, key_len: usize) -> (usize, usize, usize, usize) {
    let keys: Vec<String> = (0..n_keys).map(|i| key(i, key_len)).collect();
    let before = allocated();
    let mut s: Store<u64> = Store::new(limits);
    for (i, k) in keys.iter().enumerate() {
        s.insert(k, i as u64, k.len() + 8, None, 0).expect("fits");
    }
    let allocated = allocated() - before;
    let mut key_bytes = 0;
    for k in &keys {
        if s.peek(k, 0).is_some() {
            key_bytes += k.len();
        }
    }
    (allocated, key_bytes, s.len(), s.bytes())
}

fn main() {
    let boxed = std::mem::size_of::<Box<str>>();
    let value = std::mem::size_of::<u64>();
    println!("Entry-bounded store, V = u64, steady state after 3 × entries inserts:\n");
    println!("| entries | key bytes | overhead incl. key ptr+len (B/entry) | overhead excl. key ptr+len (B/entry) |");
    println!("|---:|---:|---:|---:|");
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        for len in [16usize, 40] {
            let limits = StoreLimits {
                max_entries: n,
                max_bytes: usize::MAX,
            };
            let (alloc, keys, held, _) = fill(limits, 3 * n, len);
            let over = (alloc - keys - held * value) as f64 / held as f64;
            println!("| {n} | {len} | {over:.2} | {:.2} |", over - boxed as f64);
        }
    }
    println!("\nByte-bounded store (max_entries unbounded), V = u64, declared bytes = key + 8, ENTRY_OVERHEAD = {ENTRY_OVERHEAD}:\n");
    println!("| max_bytes | entries held | bytes charged | bytes allocated | allocated / max_bytes |");
    println!("|---:|---:|---:|---:|---:|");
    for max_bytes in [1usize << 20, 8 << 20, 32 << 20] {
        let limits = StoreLimits {
            max_entries: usize::MAX,
            max_bytes,
        };
        let per = 40 + 8 + ENTRY_OVERHEAD;
        let (alloc, _, held, charged) = fill(limits, 3 * max_bytes / per, 40);
        println!(
            "| {max_bytes} | {held} | {charged} | {alloc} | {:.3} |",
            alloc as f64 / max_bytes as f64
        );
    }
}
