//! Shared helpers of edgecache's store benchmarks: trace loading, seeded Zipf
//! workloads and the caches compared by the hit-ratio replay.
//!
//! The store is the `edgecache-store` crate, the same code the `local`
//! backend runs. Without the default `native` feature (the wasm module in
//! `bench/wasm`) only the replay, the workloads and the counting allocator
//! are built.

pub use edgecache_store as store;

pub mod counting;
pub mod replay;
#[cfg(feature = "native")]
pub mod sims;
pub mod workload;

pub use workload::{zipf_trace, Rng, Zipf};

#[cfg(feature = "native")]
mod traces;
#[cfg(feature = "native")]
pub use traces::*;

/// Writes `key` in decimal into `buf` (cleared first) and returns it.
pub fn fmt_key(buf: &mut String, key: u64) -> &str {
    use std::fmt::Write;
    buf.clear();
    write!(buf, "{key}").expect("write to String");
    buf
}
