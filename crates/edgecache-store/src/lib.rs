//! The bounded, TTL-aware in-memory store behind the local-memory backend.
//!
//! Pure logic: no clock, no I/O, std only. Callers pass `now_ms` (milliseconds
//! on any monotonic-enough scale) so that tests drive time by hand and wasm can
//! use `Date.now()`.
//!
//! # Bounds
//!
//! At most `max_entries` entries and at most `max_bytes` bytes, where an
//! entry's bytes are the `bytes` its caller declares (key + value) plus
//! [`ENTRY_OVERHEAD`]. The store never exceeds either bound: room is made
//! before an entry is added or grown. Expired entries are always reclaimed
//! before any live entry is evicted. An insert never evicts the entry it
//! writes, so a `get` right after an accepted `insert` finds it.
//!
//! # Policy: W-TinyLFU with a regret-driven adaptive window
//!
//! Chosen from measurements (`bench/README.md`), not habit: on the same traces
//! LRU scores 0 % on a loop larger than the cache and loses 6–12 points to
//! frequency-aware policies on Zipf traffic and database traces, while TinyLFU
//! with a small fixed window loses ~12 points to LRU on a recency-heavy ORM
//! trace. The store uses W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A
//! Highly Efficient Cache Admission Policy") and sizes its window from the
//! workload:
//!
//! * **Window**: a queue that every new entry enters first, so a freshly
//!   written entry is always readable and recency bursts are served.
//! * **Main**: a segmented queue, *probation* (entries admitted from the
//!   window, and entries demoted from protected) and *protected* (entries hit
//!   while in probation; at most 60 % of main).
//! * **Hits only mark** the entry (CLOCK-style, one bit), so a hit touches no
//!   other entry. The queues act as LRU lists when their ends are examined: a
//!   marked window candidate goes back to the window's head, a marked
//!   probation victim is promoted to protected, a marked protected entry is
//!   kept rather than demoted (each once per mark).
//! * **Admission**: when the window is over its share and the store is full,
//!   the window's LRU entry (the candidate) competes with main's victim
//!   (probation's LRU end, else protected's). The candidate wins only if its
//!   estimated frequency exceeds the victim's by more than one: the candidate
//!   was just accessed and the victim was not, so an equal-popularity
//!   candidate is one count ahead; without the margin a loop larger than the
//!   cache degenerates into LRU (0 % hits). Cold ties (both seen at most once)
//!   go to the newer entry. With a byte bound, an entry `n ≥ 4` times the
//!   other's size needs `log2 n − 1` more counts, which favours object hit
//!   ratio.
//! * **Frequency sketch**: a count-min sketch of 4-bit counters (four per key,
//!   in one 32-byte block of four words, 16 counters per entry of capacity),
//!   conservative update, all counters halved after `40 × capacity`
//!   increments so that popularity ages. Inserts of new keys count, and so
//!   does a hit or an update of an unmarked entry: accesses to an entry
//!   already marked since the policy last looked at it are one burst,
//!   counted once (the "correlated references" of LRU-K and 2Q). That lifted the ORM trace by
//!   0.9 point at 5000 entries, moved no row out of its goal, and spares
//!   most hits the sketch's memory access (−5 ns of a 19 ns hit in V8).
//! * **Window sizing by regrets** (in the spirit of ARC's ghost lists, but
//!   steering W-TinyLFU's window): two small two-generation Bloom filters
//!   remember the keys recently evicted from the window (lost candidates) and
//!   from main (victims). A miss on a key in the first is a regret that the
//!   window was too small, in the second that main was too small. After
//!   `max(32, capacity / 64)` regrets the window moves by 1 % of capacity
//!   towards the side with more (between 0.2 % and 100 %). A recency-heavy
//!   trace grows the window towards plain LRU; a loop or a Zipf trace keeps it
//!   small (pure TinyLFU). Caffeine's hill climbing on the sampled hit ratio
//!   was tried first: on these traces its signal drowned in sampling noise
//!   (the ORM trace landed anywhere between 73.8 % and 77.8 %, LRU 78.8 %).
//!   Resizing is lazy: the queues converge as entries come and go.
//!
//! # Expiry
//!
//! An expired entry is invisible to `get`/`peek` and dropped when touched. The
//! store also keeps a lower bound on the earliest deadline it holds; when an
//! entry must be evicted and `now_ms` has reached that bound, one pass over the
//! entries drops everything expired (and recomputes the bound) before any live
//! entry is considered. That pass costs O(entries) at most once per distinct
//! earliest deadline, and nothing while no deadline has passed. Deadlines at
//! or beyond 2^47 − 1 ms (about the year 6400) mean "never".
//!
//! # Memory
//!
//! Entries live in one dense `Vec` (a removal moves the last entry into the
//! hole; an eviction made for an insert hands its slot to the new entry, and
//! a `Box<str>` key of the same length its allocation);
//! each holds its key, its value `V` and 16 bytes of bookkeeping:
//! deadline (47 bits), mark (1 bit), charged size (30 bits), queue (2 bits)
//! and the queue links (two 24-bit indices). The key index is a cuckoo
//! table of `u32` slots in buckets of four (two candidate buckets per key,
//! at most 75 % full; each slot holds an entry index and an 8-bit hash tag,
//! so that most failed lookups never touch an entry; see `Table`). No hash
//! is stored per entry: the few keys an eviction needs are rehashed (main's
//! victim's hash is remembered while it stays the victim). Per entry, beyond
//! the key (`Box<str>`: pointer, length and bytes) and the value
//! (`size_of::<V>()` plus whatever it owns):
//!
//! ```text
//! overhead = 16                 entry bookkeeping
//!          + 4 / load           table slot: 5.3 once full (load 0.75), up to
//!                               6.7 while growing (load 0.6)
//!          + 8                  frequency sketch (16 four-bit counters)
//!          + 0.625              two regret filters (2 × 2 generations of
//!                               capacity / 8 keys at 10 bits)
//!          ≈ 30.0 bytes once full (bench: 30.0 on wasm32 and x86-64)
//! ```
//!
//! plus padding of the entry to 8 bytes when `size_of::<V>()` is not a
//! multiple of 8, and the key's pointer and length (8 bytes on wasm32, 16 on
//! 64-bit). While a store grows, the entry `Vec` and the table grow by a
//! quarter at a time and the sketch doubles; when the store first becomes
//! full they are trimmed to size. The most entries a store can hold is
//! `min(max_entries, max_bytes / ENTRY_OVERHEAD, 2^24 − 1)`, which bounds that
//! growth for byte-bounded stores. [`ENTRY_OVERHEAD`] charges 32 bytes plus the
//! key's pointer and length, so the byte bound covers the store's own memory;
//! the caller declares the key's and value's bytes (`bench/src/bin/memory.rs`
//! measures allocation at 0.979 of `max_bytes` for small entries). At most
//! 1 GiB per entry.
//!
//! # Keys
//!
//! The store is generic over its key type ([`StoreKey`]); the default,
//! `Box<str>`, is looked up by `&str`, which is what the cache API uses.
//! `u64` keys exist for callers (and benchmarks) whose keys are numbers.
//! On wasm32, string keys are compared eight bytes at a time (the target's
//! `memcmp` takes one byte per step). A `get` that misses remembers its key's
//! hash when its probe met no slot with that hash's tag in its two buckets;
//! until the table changes, an `insert` of a key with that hash (the cache
//! API's get → miss → insert) knows the key is absent and skips its own
//! probe.
//!
//! # Inlining
//!
//! The small functions of the get and insert paths are `#[inline(always)]`:
//! LLVM left a dozen of them out of line, and V8 spills every live value
//! around a wasm call, which made those calls a sixth of the time of an
//! operation (`bench/README.md`: 56.7 → 47.5 ns/op on the worst u64 row).

#![warn(missing_docs)]

use std::mem::size_of;

mod evict;
mod ghosts;
mod key;
mod node;
mod sketch;
mod store;
mod table;
#[cfg(test)]
mod tests;

use evict::*;
use ghosts::*;
use key::{h32, reduce};
use node::*;
use sketch::*;
use table::*;

pub use key::{hash_bytes, StoreKey};
use store::expired;
pub use store::Store;

/// Bytes charged per entry on top of the declared key and value bytes: the
/// key's pointer and length plus 32 bytes for the entry's bookkeeping, its
/// table slot, and its share of the frequency sketch and regret filters (see
/// the module docs for the formula).
pub const ENTRY_OVERHEAD: usize = 32 + size_of::<Box<str>>();

/// Most entries a store holds (indices are 24 bits).
pub(crate) const MAX_ENTRIES: usize = (1 << 24) - 1;
/// The "no entry" link.
pub(crate) const NIL: u32 = (1 << 24) - 1;
pub(crate) const NO_DEADLINE: u64 = (1 << 47) - 1;
/// Largest charged size of one entry (30 bits).
pub(crate) const MAX_ENTRY_BYTES: usize = (1 << 30) - 1;

/// Counters per entry of capacity = 64 / this.
pub(crate) const ENTRIES_PER_BLOCK: usize = 4;
/// Sketch counters are halved after this many increments per entry of capacity.
pub(crate) const SAMPLE_PER_ENTRY: usize = 40;
/// Sketch capacity of a new store (grown with its entries).
pub(crate) const INITIAL_SKETCH: usize = 1024;
/// Window share: initial and minimum, and step per decision.
pub(crate) const MIN_WINDOW: f64 = 0.002;
pub(crate) const WINDOW_STEP: f64 = 0.01;
/// Regrets needed for a window decision: max(this, capacity / EVIDENCE_DIV).
pub(crate) const EVIDENCE: u32 = 32;
pub(crate) const EVIDENCE_DIV: usize = 64;
/// Each regret filter generation remembers capacity / this keys.
pub(crate) const GHOST_DIV: usize = 8;
/// Protected's share of main.
pub(crate) const PROTECTED_SHARE: f64 = 0.6;

/// Limits of a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most entries held at once (also capped by `max_bytes / ENTRY_OVERHEAD` and 2^24 − 1).
    pub max_entries: usize,
    /// Most bytes held: the declared key and value bytes plus [`ENTRY_OVERHEAD`] per entry.
    pub max_bytes: usize,
}

/// Counters kept by a [`Store`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// `get`s that found a live entry (`peek` is not counted).
    pub hits: u64,
    /// `get`s that found no live entry (an expired one counts as a miss).
    pub misses: u64,
    /// Inserts that added a new entry.
    pub inserts: u64,
    /// Inserts that replaced the value of a key already held.
    pub updates: u64,
    /// Live entries evicted because the entry bound was reached.
    pub evicted_entries_bound: u64,
    /// Live entries evicted because the byte bound was reached.
    pub evicted_bytes_bound: u64,
    /// Entries dropped because their TTL had passed.
    pub expirations: u64,
    /// Entries removed by the caller (delete, clear).
    pub removals: u64,
    /// Entries held now, expired ones not yet dropped included (not a counter).
    pub entries: u64,
    /// Bytes charged now, overhead included (not a counter).
    pub bytes: u64,
    /// New entries that lost the admission contest to main's victim (also
    /// counted in the eviction counters).
    pub admission_rejections: u64,
    /// Current window share, in parts per thousand of the bounds.
    pub window_permille: u64,
}

/// Why an insert was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// The entry alone is larger than the byte bound (or than 1 GiB).
    TooLarge {
        /// The entry's charged size: declared bytes plus [`ENTRY_OVERHEAD`].
        bytes: usize,
        /// Largest charged size accepted: the byte bound, at most 1 GiB.
        max_bytes: usize,
    },
}
