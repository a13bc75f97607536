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

use std::mem::size_of;

/// Bytes charged per entry on top of the declared key and value bytes: the
/// key's pointer and length plus 32 bytes for the entry's bookkeeping, its
/// table slot, and its share of the frequency sketch and regret filters (see
/// the module docs for the formula).
pub const ENTRY_OVERHEAD: usize = 32 + size_of::<Box<str>>();

/// Most entries a store holds (indices are 24 bits).
const MAX_ENTRIES: usize = (1 << 24) - 1;
/// The "no entry" link.
const NIL: u32 = (1 << 24) - 1;
const NO_DEADLINE: u64 = (1 << 47) - 1;
/// Largest charged size of one entry (30 bits).
const MAX_ENTRY_BYTES: usize = (1 << 30) - 1;

/// Counters per entry of capacity = 64 / this.
const ENTRIES_PER_BLOCK: usize = 4;
/// Sketch counters are halved after this many increments per entry of capacity.
const SAMPLE_PER_ENTRY: usize = 40;
/// Sketch capacity of a new store (grown with its entries).
const INITIAL_SKETCH: usize = 1024;
/// Window share: initial and minimum, and step per decision.
const MIN_WINDOW: f64 = 0.002;
const WINDOW_STEP: f64 = 0.01;
/// Regrets needed for a window decision: max(this, capacity / EVIDENCE_DIV).
const EVIDENCE: u32 = 32;
const EVIDENCE_DIV: usize = 64;
/// Each regret filter generation remembers capacity / this keys.
const GHOST_DIV: usize = 8;
/// Protected's share of main.
const PROTECTED_SHARE: f64 = 0.6;

/// Limits of a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// Counters kept by a [`Store`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub updates: u64,
    /// Live entries evicted because the entry bound was reached.
    pub evicted_entries_bound: u64,
    /// Live entries evicted because the byte bound was reached.
    pub evicted_bytes_bound: u64,
    /// Entries dropped because their TTL had passed.
    pub expirations: u64,
    /// Entries removed by the caller (delete, clear).
    pub removals: u64,
    pub entries: u64,
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
    TooLarge { bytes: usize, max_bytes: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Q {
    Window = 0,
    Probation = 1,
    Protected = 2,
}

struct Node<K, V> {
    key: K,
    value: V,
    /// Charged size (low 30 bits) | deadline's low 34 bits.
    a: u64,
    /// prev (24 bits) | next (24 bits) | queue (2 bits) | referenced since
    /// last looked at (1 bit) | deadline's high 13 bits. The fields an
    /// eviction reads (links, queue, size) each sit in one word; the deadline,
    /// read once per hit, is the one split.
    b: u64,
}

const M24: u64 = (1 << 24) - 1;
const M30: u64 = (1 << 30) - 1;
const M34: u64 = (1 << 34) - 1;
const M51: u64 = (1 << 51) - 1;
const QUEUE_SHIFT: u32 = 48;
const REFERENCED: u64 = 1 << 50;

impl<K: StoreKey, V> Node<K, V> {
    fn new(key: &K::Borrowed, value: V, deadline: u64, size: usize, q: Q) -> Self {
        let mut n = Node {
            key: K::from_borrowed(key),
            value,
            a: 0,
            b: 0,
        };
        n.reset(deadline, size, q);
        n
    }
    /// Fresh bookkeeping: unlinked, unmarked.
    fn reset(&mut self, deadline: u64, size: usize, q: Q) {
        self.a = size as u64;
        self.b = (NIL as u64) | ((NIL as u64) << 24) | ((q as u64) << QUEUE_SHIFT);
        self.set_deadline(deadline);
    }
    #[inline]
    fn deadline(&self) -> u64 {
        ((self.b >> 51) << 34) | (self.a >> 30)
    }
    fn set_deadline(&mut self, d: u64) {
        let d = d.min(NO_DEADLINE);
        self.a = (self.a & M30) | ((d & M34) << 30);
        self.b = (self.b & M51) | ((d >> 34) << 51);
    }
    #[inline]
    fn referenced(&self) -> bool {
        self.b & REFERENCED != 0
    }
    #[inline]
    fn set_referenced(&mut self, r: bool) {
        self.b = (self.b & !REFERENCED) | if r { REFERENCED } else { 0 };
    }
    #[inline]
    fn size(&self) -> usize {
        (self.a & M30) as usize
    }
    fn set_size(&mut self, s: usize) {
        self.a = (self.a & !M30) | s as u64;
    }
    #[inline]
    fn queue(&self) -> Q {
        match (self.b >> QUEUE_SHIFT) & 3 {
            0 => Q::Window,
            1 => Q::Probation,
            _ => Q::Protected,
        }
    }
    #[inline]
    fn set_queue(&mut self, q: Q) {
        self.b = (self.b & !(3 << QUEUE_SHIFT)) | ((q as u64) << QUEUE_SHIFT);
    }
    #[inline]
    fn prev(&self) -> u32 {
        (self.b & M24) as u32
    }
    #[inline]
    fn set_prev(&mut self, i: u32) {
        self.b = (self.b & !M24) | i as u64;
    }
    #[inline]
    fn next(&self) -> u32 {
        ((self.b >> 24) & M24) as u32
    }
    #[inline]
    fn set_next(&mut self, i: u32) {
        self.b = (self.b & !(M24 << 24)) | ((i as u64) << 24);
    }
    fn expiry(&self) -> Option<u64> {
        let d = self.deadline();
        (d != NO_DEADLINE).then_some(d)
    }
    /// The key's hash (not stored: recomputed for the few entries an
    /// eviction or a rebuild needs).
    #[inline(always)]
    fn hash(&self) -> u64 {
        K::hash_of(self.key.borrowed())
    }
}

#[derive(Clone, Copy)]
struct Queue {
    head: u32,
    tail: u32,
    len: usize,
    bytes: usize,
}

const EMPTY_QUEUE: Queue = Queue {
    head: NIL,
    tail: NIL,
    len: 0,
    bytes: 0,
};

/// A share of the bounds, in entries and bytes.
#[derive(Clone, Copy, Debug)]
struct Share {
    entries: usize,
    bytes: usize,
}

impl Share {
    fn of(max_entries: usize, max_bytes: usize, frac: f64) -> Share {
        let f = frac.clamp(0.0, 1.0);
        Share {
            entries: (max_entries as f64 * f) as usize,
            bytes: (max_bytes as f64 * f) as usize,
        }
    }
    fn exceeded(&self, len: usize, bytes: usize) -> bool {
        len > self.entries || bytes > self.bytes
    }
}

/// FxHash-style string hash with a final avalanche (non-cryptographic: the
/// store is not a DoS boundary). Two lanes take alternate words, so that the
/// multiply chain is half as long; the last 1–7 bytes are read as two
/// overlapping loads rather than copied into a buffer (on wasm32 such a copy
/// becomes a `memory.copy` that V8 runs out of line: short keys took twice as
/// long to hash).
#[inline(always)]
fn hash_str(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    #[inline(always)]
    fn round(h: u64, w: u64) -> u64 {
        (h.rotate_left(5) ^ w).wrapping_mul(K)
    }
    let b = s.as_bytes();
    let (mut h1, mut h2) = (b.len() as u64, 0u64);
    let mut pairs = b.chunks_exact(16);
    for c in &mut pairs {
        h1 = round(h1, le64(&c[..8]));
        h2 = round(h2, le64(&c[8..]));
    }
    let mut rest = pairs.remainder();
    if rest.len() >= 8 {
        h1 = round(h1, le64(&rest[..8]));
        rest = &rest[8..];
    }
    let n = rest.len();
    if n >= 4 {
        // Two overlapping four-byte loads cover 4–7 bytes.
        h2 = round(h2, le32(&rest[..4]) | le32(&rest[n - 4..]) << 32);
    } else if n > 0 {
        // First, middle and last byte cover 1–3 bytes.
        h2 = round(
            h2,
            rest[0] as u64 | (rest[n / 2] as u64) << 8 | (rest[n - 1] as u64) << 16,
        );
    }
    let mut h = h1 ^ h2.rotate_left(32);
    h ^= h >> 32;
    h = h.wrapping_mul(0xd6e8_feb8_6659_fd93);
    h ^ (h >> 32)
}

/// The first eight bytes of `b`, little-endian.
#[inline(always)]
fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The first four bytes of `b`, little-endian.
#[inline(always)]
fn le32(b: &[u8]) -> u64 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64
}

/// A key type the store can own. The cache API uses the default, `Box<str>`
/// looked up by `&str`; `u64` keys serve callers (and benchmarks) whose keys
/// are numbers, without formatting or allocating them.
pub trait StoreKey {
    /// What lookups take (`str` for `Box<str>`).
    type Borrowed: ?Sized + PartialEq;
    fn from_borrowed(key: &Self::Borrowed) -> Self;
    /// Makes `self` equal to `key`, reusing what `self` owns where it can (an
    /// evicted entry's key becomes the incoming entry's).
    #[inline]
    fn assign(&mut self, key: &Self::Borrowed)
    where
        Self: Sized,
    {
        *self = Self::from_borrowed(key);
    }
    fn borrowed(&self) -> &Self::Borrowed;
    fn hash_of(key: &Self::Borrowed) -> u64;
    /// Whether this key equals `key`.
    #[inline]
    fn matches(&self, key: &Self::Borrowed) -> bool {
        self.borrowed() == key
    }
}

impl StoreKey for Box<str> {
    type Borrowed = str;
    #[inline]
    fn from_borrowed(key: &str) -> Self {
        key.into()
    }
    /// Same length: the bytes are copied into the existing allocation (no
    /// free and malloc per eviction when keys have one length).
    #[inline]
    fn assign(&mut self, key: &str) {
        if self.len() == key.len() {
            let mut s = std::mem::take(self).into_string();
            s.clear();
            s.push_str(key);
            *self = s.into_boxed_str();
        } else {
            *self = key.into();
        }
    }
    #[inline]
    fn borrowed(&self) -> &str {
        self
    }
    #[inline]
    fn hash_of(key: &str) -> u64 {
        hash_str(key)
    }
    #[inline]
    fn matches(&self, key: &str) -> bool {
        if cfg!(target_arch = "wasm32") {
            eq_bytes(self.as_bytes(), key.as_bytes())
        } else {
            **self == *key
        }
    }
}

/// Byte-slice equality eight bytes at a time: on wasm32, `==` on slices
/// calls a `memcmp` that compares one byte per step (elsewhere the platform's
/// `memcmp` is faster than this).
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (c, d) in (&mut x).zip(&mut y) {
        if le64(c) != le64(d) {
            return false;
        }
    }
    let (c, d) = (x.remainder(), y.remainder());
    match c.len() {
        0 => true,
        // Overlapping loads cover 4–7 bytes; first, middle and last 1–3.
        n @ 4.. => le32(c) == le32(d) && le32(&c[n - 4..]) == le32(&d[n - 4..]),
        n => c[0] == d[0] && c[n / 2] == d[n / 2] && c[n - 1] == d[n - 1],
    }
}

impl StoreKey for u64 {
    type Borrowed = u64;
    #[inline]
    fn from_borrowed(key: &u64) -> Self {
        *key
    }
    #[inline]
    fn borrowed(&self) -> &u64 {
        self
    }
    #[inline]
    fn hash_of(key: &u64) -> u64 {
        let h = (*key ^ (*key >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
        let h = (h ^ (h >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
        h ^ (h >> 32)
    }
}

/// The 32-bit hash the sketch and the regret filters use.
#[inline]
fn h32(h: u64) -> u32 {
    (h >> 32) as u32
}

/// `x` mapped onto `0..n` (Lemire's multiply-shift).
#[inline]
fn reduce(x: u32, n: usize) -> usize {
    ((x as u64 * n as u64) >> 32) as usize
}

/// Count-min sketch of 4-bit counters: blocks of four `u64` words; a key's
/// four counters sit one in each word of its block.
struct Sketch {
    blocks: Vec<[u64; 4]>,
    /// Halvings so far.
    epoch: u32,
    additions: usize,
    sample: usize,
    capacity: usize,
}

impl Sketch {
    fn new(capacity: usize) -> Sketch {
        let capacity = capacity.max(16);
        Sketch {
            blocks: vec![[0; 4]; capacity.div_ceil(ENTRIES_PER_BLOCK)],
            epoch: 0,
            additions: 0,
            sample: capacity.saturating_mul(SAMPLE_PER_ENTRY),
            capacity,
        }
    }

    /// The key's block, and its four counters' shifts in the block's words.
    #[inline]
    fn slots(&self, hash: u32) -> (usize, [u64; 4]) {
        let m = hash.wrapping_mul(0x2545_F491) as u64;
        let sh = [(m & 15) << 2, (m >> 6) & 60, (m >> 14) & 60, (m >> 22) & 60];
        (reduce(hash, self.blocks.len()), sh)
    }

    #[inline]
    fn counts(block: &[u64; 4], sh: &[u64; 4]) -> [u64; 4] {
        [
            (block[0] >> sh[0]) & 15,
            (block[1] >> sh[1]) & 15,
            (block[2] >> sh[2]) & 15,
            (block[3] >> sh[3]) & 15,
        ]
    }

    #[inline]
    fn frequency(&self, hash: u32) -> u32 {
        self.block_and_frequency(hash).1
    }

    /// Counts one access; returns the block it changed (`usize::MAX` if
    /// none), so that callers holding an estimate from that block know it is
    /// stale.
    #[inline(always)]
    fn increment(&mut self, hash: u32) -> usize {
        let (b, sh) = self.slots(hash);
        let block = &mut self.blocks[b];
        let c = Self::counts(block, &sh);
        let min = c[0].min(c[1]).min(c[2]).min(c[3]);
        if min == 15 {
            return usize::MAX;
        }
        // Conservative update: raise only the counters at the minimum.
        for r in 0..4 {
            block[r] += ((c[r] == min) as u64) << sh[r];
        }
        self.additions += 1;
        if self.additions >= self.sample {
            self.halve();
        }
        b
    }

    /// The key's block and its estimated frequency.
    #[inline(always)]
    fn block_and_frequency(&self, hash: u32) -> (usize, u32) {
        let (b, sh) = self.slots(hash);
        let c = Self::counts(&self.blocks[b], &sh);
        (b, c[0].min(c[1]).min(c[2]).min(c[3]) as u32)
    }

    /// Ages popularity: every counter halved.
    #[cold]
    fn halve(&mut self) {
        for w in self.blocks.iter_mut().flatten() {
            *w = (*w >> 1) & 0x7777_7777_7777_7777;
        }
        self.additions /= 2;
        self.epoch = self.epoch.wrapping_add(1);
    }
}

/// Which queue evicted a key, for the regret filters.
#[derive(Clone, Copy)]
enum Side {
    Window = 0,
    Main = 1,
}

/// Two two-generation Bloom filters of recently evicted keys' hashes, one
/// per side (window, main): "was this key evicted lately, and by whom?" at
/// about ten bits per remembered key. The four words a key maps to (two
/// sides × two generations) share one 32-byte block, so that the check made
/// on every miss reads one cache line.
struct Ghosts {
    /// Per block: window generation 0 and 1, main generation 0 and 1.
    blocks: Vec<[u64; 4]>,
    /// Each side's current generation (0 or 1).
    current: [usize; 2],
    inserted: [usize; 2],
    generation: usize,
}

impl Ghosts {
    fn new(generation: usize) -> Ghosts {
        let generation = generation.max(16);
        // ~10 bits per key of a generation, 3 bits in one word: ~3 % false
        // positives.
        Ghosts {
            blocks: vec![[0; 4]; (generation * 10).div_ceil(64)],
            current: [0; 2],
            inserted: [0; 2],
            generation,
        }
    }

    /// The key's block and its three bits in each word of it.
    #[inline(always)]
    fn probe(&self, hash: u32) -> (usize, u64) {
        let m = hash.wrapping_mul(0x85EB_CA6B);
        let bits = (1u64 << (m & 63)) | (1u64 << ((m >> 6) & 63)) | (1u64 << ((m >> 12) & 63));
        (reduce(hash, self.blocks.len()), bits)
    }

    #[inline(always)]
    fn insert(&mut self, side: Side, hash: u32) {
        let s = side as usize;
        if self.inserted[s] >= self.generation {
            self.current[s] ^= 1;
            let lane = 2 * s + self.current[s];
            for b in &mut self.blocks {
                b[lane] = 0;
            }
            self.inserted[s] = 0;
        }
        let (w, bits) = self.probe(hash);
        self.blocks[w][2 * s + self.current[s]] |= bits;
        self.inserted[s] += 1;
    }

    /// Whether the key was evicted lately by the window, and by main.
    #[inline(always)]
    fn contains(&self, hash: u32) -> (bool, bool) {
        let (w, bits) = self.probe(hash);
        let b = &self.blocks[w];
        (
            b[0] & bits == bits || b[1] & bits == bits,
            b[2] & bits == bits || b[3] & bits == bits,
        )
    }
}

/// A free table slot.
const SLOT_EMPTY: u32 = u32::MAX;
/// Slots per bucket.
const BUCKET: usize = 4;
/// Bits of a slot that hold the entry index (the rest is the tag).
const IDX_BITS: u32 = 24;
const IDX_MASK: u32 = (1 << IDX_BITS) - 1;
/// Displacements an insert tries before it puts an entry in the stash.
const MAX_KICKS: usize = 64;
/// Stash length past which an insert asks for a bigger table (at first).
const STASH_LIMIT: usize = 8;

/// The key index: buckets of four `u32` slots (8-bit hash tag, 24-bit entry
/// index), two candidate buckets per key (cuckoo hashing, 2 × 4-way), and a
/// small stash for entries that found no room.
///
/// Why this shape: a lookup reads two 16-byte buckets whose addresses are
/// known at once and compares eight tags without a data-dependent loop; a
/// removal clears one slot (no tombstones, nothing shifts); an insert takes
/// a free slot of either bucket, and only when both are full moves an entry
/// to its other bucket (5–8 % of inserts under churn at the target load of
/// 75 %; 2 × 4-way cuckoo tables fill to over 90 % before inserts fail;
/// putting each entry in the emptier of its buckets cut the moves by only a
/// tenth and was slower). At 80 % the moves cost 2–3 % more time per miss
/// in V8. A slot-at-a-time probe (Robin Hood, linear) took about a third of
/// a miss's time under V8, mostly in mispredicted loop exits.
///
/// The stash (scanned only while non-empty) keeps the table correct whatever
/// the keys: more than eight keys with one 64-bit hash (colliding on
/// purpose, say) cannot share two buckets, and a table that merely grew too
/// full is rebuilt bigger once its stash passes a limit. The limit doubles
/// with each rebuild that leaves the stash long, so colliding keys cost
/// lookups a scan of the stash, never a rebuild per insert.
struct Table {
    buckets: Vec<[u32; BUCKET]>,
    /// Slots that found no room in their buckets.
    stash: Vec<u32>,
    stash_limit: usize,
    /// Rotates the slot a displacement starts from.
    kick: usize,
}

impl Table {
    fn new(slots: usize) -> Table {
        let n = slots.div_ceil(BUCKET).max(4);
        Table {
            buckets: vec![[SLOT_EMPTY; BUCKET]; n],
            stash: Vec::new(),
            stash_limit: STASH_LIMIT,
            kick: 0,
        }
    }

    /// Slots for `entries` entries at the table's target load (3/4).
    fn slots_for(entries: usize) -> usize {
        (entries * 4).div_ceil(3) + BUCKET
    }

    fn slots(&self) -> usize {
        self.buckets.len() * BUCKET
    }

    /// Entries held (tests only: counted, not kept up to date on every
    /// insert and removal).
    #[cfg(test)]
    fn len(&self) -> usize {
        let full = self.buckets.iter().flatten().filter(|&&s| s != SLOT_EMPTY).count();
        full + self.stash.len()
    }

    /// Whether the stash is past its limit (the table should be rebuilt
    /// bigger).
    fn crowded(&self) -> bool {
        self.stash.len() > self.stash_limit
    }

    /// The key's two buckets and its slot tag (never 0xFF, which marks a
    /// free slot).
    #[inline]
    fn place_of(&self, h: u64) -> (usize, usize, u32) {
        let n = self.buckets.len();
        let b1 = reduce((h >> 32) as u32, n);
        let b2 = reduce(h as u32, n);
        let tag = ((h >> 32) as u32 & 0xFF).min(0xFE);
        (b1, b2, tag << IDX_BITS)
    }

    /// Bit `k` set where slot `k` of `b`, masked by `mask`, equals `want`.
    #[inline]
    fn matches(b: &[u32; BUCKET], mask: u32, want: u32) -> u32 {
        ((b[0] & mask == want) as u32)
            | ((b[1] & mask == want) as u32) << 1
            | ((b[2] & mask == want) as u32) << 2
            | ((b[3] & mask == want) as u32) << 3
    }

    /// Bit `k` set where slot `k` of `b` has tag `tag` (shifted into place).
    #[inline]
    fn tag_matches(b: &[u32; BUCKET], tag: u32) -> u32 {
        Self::matches(b, !IDX_MASK, tag)
    }

    #[inline]
    fn free(b: &[u32; BUCKET]) -> u32 {
        Self::matches(b, u32::MAX, SLOT_EMPTY)
    }

    /// Slot and index of the entry with hash `h` for which `is` holds; a
    /// miss tells whether no slot with `h`'s tag was met (then no entry with
    /// hash `h` is present).
    #[inline(always)]
    fn find(&self, h: u64, mut is: impl FnMut(u32) -> bool) -> Result<(usize, u32), bool> {
        let (b1, b2, tag) = self.place_of(h);
        let mut clean = true;
        // Both buckets' matches in one mask: bits 0–3 for `b1`, 4–7 for `b2`.
        let mut m = Self::tag_matches(&self.buckets[b1], tag) | Self::tag_matches(&self.buckets[b2], tag) << 4;
        while m != 0 {
            let k = m.trailing_zeros() as usize;
            m &= m - 1;
            let b = if k < BUCKET { b1 } else { b2 };
            let i = self.buckets[b][k % BUCKET] & IDX_MASK;
            if is(i) {
                return Ok((b * BUCKET + k % BUCKET, i));
            }
            clean = false;
        }
        if !self.stash.is_empty() {
            return self.find_in_stash(tag, is, clean);
        }
        Err(clean)
    }

    #[cold]
    fn find_in_stash(&self, tag: u32, mut is: impl FnMut(u32) -> bool, mut clean: bool) -> Result<(usize, u32), bool> {
        for (k, &s) in self.stash.iter().enumerate() {
            if s & !IDX_MASK == tag {
                if is(s & IDX_MASK) {
                    return Ok((self.slots() + k, s & IDX_MASK));
                }
                clean = false;
            }
        }
        Err(clean)
    }

    /// Slot of entry `i`, whose key hashes to `h`.
    #[inline(always)]
    fn find_index(&self, h: u64, i: u32) -> Option<usize> {
        let (b1, b2, tag) = self.place_of(h);
        let want = tag | i;
        for b in [b1, b2] {
            let m = Self::matches(&self.buckets[b], u32::MAX, want);
            if m != 0 {
                return Some(b * BUCKET + m.trailing_zeros() as usize);
            }
        }
        let k = self.stash.iter().position(|&s| s == want)?;
        Some(self.slots() + k)
    }

    /// Adds entry `i` with hash `h` (not present). When both of its buckets
    /// are full, entries move to their other bucket (`hash_of` gives an
    /// entry's hash); an entry left without room goes to the stash. Returns
    /// whether the table is now crowded (see [`Table::crowded`]).
    #[inline(always)]
    fn insert(&mut self, h: u64, i: u32, hash_of: impl Fn(u32) -> u64) -> bool {
        let (b1, b2, tag) = self.place_of(h);
        for b in [b1, b2] {
            let f = Self::free(&self.buckets[b]);
            if f != 0 {
                self.buckets[b][f.trailing_zeros() as usize] = tag | i;
                return false;
            }
        }
        self.displace(b1, tag | i, hash_of)
    }

    /// Cuckoo displacement: puts `slot` into full bucket `b`, moving one of
    /// its entries to that entry's other bucket, and so on; the entry left
    /// over after `MAX_KICKS` moves goes to the stash. Not a cold path: at
    /// 75 % load about one insert in eighteen finds both buckets full.
    #[inline(always)]
    fn displace(&mut self, mut b: usize, mut slot: u32, hash_of: impl Fn(u32) -> u64) -> bool {
        for _ in 0..MAX_KICKS {
            self.kick = (self.kick + 1) % BUCKET;
            let out = std::mem::replace(&mut self.buckets[b][self.kick], slot);
            let (c1, c2, _) = self.place_of(hash_of(out & IDX_MASK));
            b = if c1 == b { c2 } else { c1 };
            let f = Self::free(&self.buckets[b]);
            if f != 0 {
                self.buckets[b][f.trailing_zeros() as usize] = out;
                return false;
            }
            slot = out;
        }
        self.stash.push(slot);
        self.crowded()
    }

    /// Frees slot `p`.
    #[inline]
    fn remove(&mut self, p: usize) {
        let slots = self.slots();
        match self.buckets.get_mut(p / BUCKET) {
            Some(b) => b[p % BUCKET] = SLOT_EMPTY,
            None => {
                self.stash.swap_remove(p - slots);
            }
        }
    }

    /// Slot `p` now holds entry `i` (same key).
    #[inline]
    fn repoint(&mut self, p: usize, i: u32) {
        let slots = self.slots();
        let s = match self.buckets.get_mut(p / BUCKET) {
            Some(b) => &mut b[p % BUCKET],
            None => &mut self.stash[p - slots],
        };
        *s = (*s & !IDX_MASK) | i;
    }
}

/// What the store remembers of main's victim between inserts.
#[derive(Clone, Copy)]
struct VictimMemo {
    /// Entry index (`NIL`: none).
    index: u32,
    hash: u64,
    /// Sketch block of its counters (`usize::MAX`: `freq` unknown), and the
    /// sketch's halvings when `freq` was read.
    block: usize,
    epoch: u32,
    freq: u32,
}

impl VictimMemo {
    const NONE: VictimMemo = VictimMemo {
        index: NIL,
        hash: 0,
        block: usize::MAX,
        epoch: 0,
        freq: 0,
    };
}

/// An entry waiting for room: it takes over the first evicted entry's slot.
struct Incoming<'a, B: ?Sized, V> {
    key: &'a B,
    value: V,
    deadline: u64,
    size: usize,
    hash: u64,
}

/// A bounded map from string keys (or other [`StoreKey`]s) to values with
/// per-entry expiry.
pub struct Store<V, K: StoreKey = Box<str>> {
    limits: StoreLimits,
    /// The most entries that can ever be held: `limits.max_entries`, capped
    /// by what indices address and by `max_bytes / ENTRY_OVERHEAD`.
    max_entries: usize,
    nodes: Vec<Node<K, V>>,
    /// Key → entry index.
    table: Table,
    queues: [Queue; 3],
    bytes: usize,
    stats: StoreStats,
    sketch: Sketch,
    /// Candidates recently evicted from the window (lost admission) and
    /// victims recently evicted from main.
    ghosts: Ghosts,
    window_frac: f64,
    window_regrets: u32,
    main_regrets: u32,
    window: Share,
    protected: Share,
    /// No entry expires before this (a lower bound).
    earliest_deadline: u64,
    /// Whether `trim` ran.
    trimmed: bool,
    /// Hash of the key of the last `get` that missed, if its probe met no
    /// slot with the key's tag and home, and the table has not changed
    /// since: then no key with this hash is present, and the `insert` that
    /// follows a miss skips its own probe.
    missed: Option<u64>,
    /// Main's last victim, which usually stays the victim for many inserts
    /// (candidates keep losing to it): its key's hash and its frequency
    /// estimate are not recomputed each time.
    victim: VictimMemo,
    /// Tests only: always take `make_room`'s general path.
    #[cfg(test)]
    no_quick_path: bool,
}

#[inline]
fn expired(deadline: u64, now_ms: u64) -> bool {
    deadline != NO_DEADLINE && deadline <= now_ms
}

impl<V, K: StoreKey> Store<V, K> {
    pub fn new(limits: StoreLimits) -> Self {
        let sketch_capacity = limits.max_entries.min(INITIAL_SKETCH);
        let mut s = Store {
            limits,
            max_entries: limits
                .max_entries
                .min(MAX_ENTRIES)
                .min(limits.max_bytes / ENTRY_OVERHEAD),
            nodes: Vec::new(),
            table: Table::new(16),
            queues: [EMPTY_QUEUE; 3],
            bytes: 0,
            stats: StoreStats::default(),
            sketch: Sketch::new(sketch_capacity),
            ghosts: Ghosts::new(sketch_capacity / GHOST_DIV),
            window_frac: MIN_WINDOW,
            window_regrets: 0,
            main_regrets: 0,
            window: Share::of(0, 0, MIN_WINDOW),
            protected: Share::of(0, 0, 0.0),
            earliest_deadline: NO_DEADLINE,
            trimmed: false,
            missed: None,
            victim: VictimMemo::NONE,
            #[cfg(test)]
            no_quick_path: false,
        };
        s.set_shares();
        s
    }

    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Bytes charged, overhead included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            entries: self.nodes.len() as u64,
            bytes: self.bytes as u64,
            window_permille: (self.window_frac * 1000.0).round() as u64,
            ..self.stats
        }
    }

    // ---- hash table ------------------------------------------------------

    /// Puts entry `i` (hash `h`) into the table; rebuilds it bigger if its
    /// stash grew past its limit.
    #[inline(always)]
    fn place(&mut self, h: u64, i: u32) {
        self.missed = None;
        let nodes = &self.nodes;
        if self.table.insert(h, i, |j| nodes[j as usize].hash()) {
            self.rebuild_table(self.table.slots() + self.table.slots() / 8);
        }
    }

    /// Rebuilds the table with at least `slots` slots, and enough for every
    /// entry at the table's target load (rehashing every key). If entries
    /// still crowd the stash, a bigger table is tried twice; after that the
    /// crowding comes from colliding hashes, not load, and the new table's
    /// stash limit is raised to twice its stash instead.
    #[cold]
    fn rebuild_table(&mut self, slots: usize) {
        self.missed = None;
        let mut slots = slots.max(Table::slots_for(self.nodes.len()));
        for attempt in 0.. {
            let mut table = Table::new(slots);
            let nodes = &self.nodes;
            let hash = |j: u32| nodes[j as usize].hash();
            for i in 0..nodes.len() as u32 {
                table.insert(hash(i), i, hash);
            }
            if !table.crowded() || attempt == 2 {
                table.stash_limit = table.stash_limit.max(2 * table.stash.len());
                self.table = table;
                return;
            }
            slots += slots / 8 + BUCKET;
        }
    }

    /// Makes room in the table, the entry array and the sketch for one more
    /// entry. The table and the array grow by a quarter at a time (at most to
    /// `max_entries`), so the spare room of a growing store stays small; the
    /// sketch doubles, and `trim` fits it once the store is first full.
    fn reserve_one(&mut self) {
        let len = self.nodes.len() + 1;
        let grow_to = |len: usize, max: usize| (len + len / 4 + 4).min(max.max(len));
        if Table::slots_for(len) > self.table.slots() {
            self.rebuild_table(Table::slots_for(grow_to(len, self.max_entries)));
        }
        if self.nodes.len() == self.nodes.capacity() {
            let add = grow_to(self.nodes.len(), self.max_entries) - self.nodes.len();
            self.nodes.reserve_exact(add.max(1));
        }
        if len > self.sketch.capacity && self.sketch.capacity < self.max_entries {
            // Doubling: each resize forgets the history of absent keys.
            self.resize_sketch((len * 2).min(self.max_entries));
        }
    }

    /// Replaces the sketch (and the regret filters) with ones sized for
    /// `capacity` entries, carrying the residents' estimates over.
    fn resize_sketch(&mut self, capacity: usize) {
        let mut sketch = Sketch::new(capacity);
        for n in &self.nodes {
            let h = h32(n.hash());
            for _ in 0..self.sketch.frequency(h) {
                sketch.increment(h);
            }
        }
        self.sketch = sketch;
        self.victim.block = usize::MAX;
        self.ghosts = Ghosts::new(self.sketch.capacity / GHOST_DIV);
    }

    /// Called when the store first becomes full: gives back the spare room
    /// that growth left in the entry array, the table and the sketch (the
    /// store's size is known from now on).
    fn trim(&mut self) {
        self.trimmed = true;
        let len = self.nodes.len().max(16);
        self.nodes.shrink_to_fit();
        if self.table.slots() > Table::slots_for(len) {
            self.rebuild_table(Table::slots_for(len));
        }
        let sketch = len.max(INITIAL_SKETCH);
        if self.sketch.capacity > sketch + sketch / 16 {
            self.resize_sketch(sketch);
        }
    }

    /// Table position and entry index of `key` (hash `h`).
    #[inline]
    fn find(&self, key: &K::Borrowed, h: u64) -> Option<(usize, u32)> {
        self.probe(key, h).ok()
    }

    /// Like `find`; a miss tells whether the probe met no slot with the
    /// key's tag (then no key with hash `h` is present at all).
    #[inline]
    fn probe(&self, key: &K::Borrowed, h: u64) -> Result<(usize, u32), bool> {
        let nodes = &self.nodes;
        self.table.find(h, |i| nodes[i as usize].key.matches(key))
    }

    /// Table position of entry `i`, whose key hashes to `h`.
    #[inline]
    fn position_of(&self, i: u32, h: u64) -> usize {
        self.table.find_index(h, i).expect("entry in the table")
    }

    /// Empties table slot `p`.
    #[inline]
    fn clear_slot(&mut self, p: usize) {
        self.missed = None;
        self.table.remove(p);
    }

    // ---- queues ------------------------------------------------------------

    #[inline(always)]
    fn unlink(&mut self, i: u32) {
        let (prev, next, q, size) = {
            let n = &self.nodes[i as usize];
            (n.prev(), n.next(), n.queue(), n.size())
        };
        if prev == NIL {
            self.queues[q as usize].head = next;
        } else {
            self.nodes[prev as usize].set_next(next);
        }
        if next == NIL {
            self.queues[q as usize].tail = prev;
        } else {
            self.nodes[next as usize].set_prev(prev);
        }
        let queue = &mut self.queues[q as usize];
        queue.len -= 1;
        queue.bytes -= size;
    }

    #[inline(always)]
    fn push_front(&mut self, i: u32, q: Q) {
        let queue = &mut self.queues[q as usize];
        let head = queue.head;
        queue.head = i;
        if head == NIL {
            queue.tail = i;
        }
        queue.len += 1;
        queue.bytes += self.nodes[i as usize].size();
        if head != NIL {
            self.nodes[head as usize].set_prev(i);
        }
        let node = &mut self.nodes[i as usize];
        node.set_prev(NIL);
        node.set_next(head);
        node.set_queue(q);
    }

    #[inline(always)]
    fn move_to_front(&mut self, i: u32, q: Q) {
        self.unlink(i);
        self.push_front(i, q);
    }

    /// Removes entry `i` (at table position `pos`) entirely. The last entry
    /// moves into index `i`; if `keep` named it, `keep` follows it.
    fn remove_at(&mut self, i: u32, pos: usize, keep: &mut Option<u32>) -> Node<K, V> {
        self.clear_slot(pos);
        self.unlink(i);
        let last = (self.nodes.len() - 1) as u32;
        if self.victim.index == i || self.victim.index == last {
            self.victim = VictimMemo::NONE;
        }
        if i != last {
            // Repoint the table slot and the neighbours of the last entry.
            let h = self.nodes[last as usize].hash();
            let p = self.position_of(last, h);
            self.table.repoint(p, i);
            let (prev, next, q) = {
                let n = &self.nodes[last as usize];
                (n.prev(), n.next(), n.queue())
            };
            // (An entry being inserted is in no queue yet: no links to fix.)
            let queue = &mut self.queues[q as usize];
            if prev == NIL {
                if queue.head == last {
                    queue.head = i;
                }
            } else {
                self.nodes[prev as usize].set_next(i);
            }
            let queue = &mut self.queues[q as usize];
            if next == NIL {
                if queue.tail == last {
                    queue.tail = i;
                }
            } else {
                self.nodes[next as usize].set_prev(i);
            }
            if *keep == Some(last) {
                *keep = Some(i);
            }
        }
        let node = self.nodes.swap_remove(i as usize);
        self.bytes -= node.size();
        node
    }

    /// Removes entry `i` when its table position is not known.
    fn remove_index(&mut self, i: u32, keep: &mut Option<u32>) -> Node<K, V> {
        let h = self.nodes[i as usize].hash();
        let p = self.position_of(i, h);
        self.remove_at(i, p, keep)
    }

    // ---- policy ------------------------------------------------------------

    /// A miss: if the key was evicted lately, count a regret for the side
    /// that evicted it, and move the window when the evidence suffices.
    #[inline(always)]
    fn regret(&mut self, hash: u32) {
        let (window, main) = self.ghosts.contains(hash);
        self.window_regrets += window as u32;
        self.main_regrets += main as u32;
        let evidence = EVIDENCE.max((self.sketch.capacity / EVIDENCE_DIV) as u32);
        if self.window_regrets + self.main_regrets >= evidence {
            if self.window_regrets > self.main_regrets {
                self.window_frac = (self.window_frac + WINDOW_STEP).min(1.0);
            } else if self.main_regrets > self.window_regrets {
                self.window_frac = (self.window_frac - WINDOW_STEP).max(MIN_WINDOW);
            }
            self.window_regrets = 0;
            self.main_regrets = 0;
            self.set_shares();
        }
    }

    /// Counts an access to the key with hash `h` in the sketch.
    #[inline]
    fn count_access(&mut self, h: u64) {
        if self.sketch.increment(h32(h)) == self.victim.block {
            self.victim.block = usize::MAX;
        }
    }

    /// Recomputes the window's and protected's shares of the bounds.
    fn set_shares(&mut self) {
        let (e, b) = (self.max_entries, self.limits.max_bytes);
        self.window = Share::of(e, b, self.window_frac);
        self.protected = Share::of(e, b, (1.0 - self.window_frac) * PROTECTED_SHARE);
    }

    /// Whether the window's candidate (estimated frequency `fc`) should
    /// replace main's victim (frequency `fv`).
    #[inline(always)]
    fn admit(&self, candidate: u32, mut fc: u32, victim: u32, mut fv: u32) -> bool {
        let (c, v) = (&self.nodes[candidate as usize], &self.nodes[victim as usize]);
        // Object hit ratio: an entry n ≥ 4 times the other's size must be
        // log2(n) − 1 counts more popular to win (within 4× sizes compete on
        // popularity alone: a penalty from 2× cost the CDN trace 0.5 point at
        // its largest budget).
        let (sc, sv) = (c.size(), v.size());
        if sc >= 4 * sv {
            fv += (sc / sv).ilog2() - 1;
        } else if sv >= 4 * sc {
            fc += (sv / sc).ilog2() - 1;
        }
        fc > fv + 1 || (fc == fv && fv <= 1)
    }

    /// An access (hit or update) to entry `i`, hash `h`: counted in the
    /// sketch if it opens a burst (the entry is unmarked; module docs), then
    /// marked (CLOCK-style), so an access touches no other entry. Recency and
    /// promotion are applied when the queue ends are examined: a marked
    /// window candidate gets a second chance in the window, a marked
    /// probation victim is promoted to protected, a marked protected entry is
    /// not demoted.
    #[inline(always)]
    fn touch(&mut self, i: u32, h: u64) {
        if !self.nodes[i as usize].referenced() {
            self.count_access(h);
        }
        self.nodes[i as usize].set_referenced(true);
    }

    /// Demotes protected's unmarked LRU entries to probation while protected
    /// is over its share (marked ones go back to its head, once each).
    fn rebalance_protected(&mut self) {
        let mut chances = self.queues[Q::Protected as usize].len;
        loop {
            let p = self.queues[Q::Protected as usize];
            if p.len <= 1 || !self.protected.exceeded(p.len, p.bytes) {
                return;
            }
            let t = p.tail;
            if chances > 0 && self.nodes[t as usize].referenced() {
                chances -= 1;
                self.nodes[t as usize].set_referenced(false);
                self.move_to_front(t, Q::Protected);
            } else {
                self.move_to_front(t, Q::Probation);
            }
        }
    }

    /// The LRU end of queue `q` other than `keep`.
    #[inline]
    fn tail_except(&self, q: Q, keep: Option<u32>) -> u32 {
        let t = self.queues[q as usize].tail;
        if t != NIL && Some(t) == keep {
            self.nodes[t as usize].prev()
        } else {
            t
        }
    }

    /// The window's candidate: its LRU end, after marked entries there got
    /// their second chance.
    fn window_candidate(&mut self, keep: Option<u32>) -> u32 {
        let mut chances = self.queues[Q::Window as usize].len;
        loop {
            let t = self.tail_except(Q::Window, keep);
            if t == NIL || chances == 0 || !self.nodes[t as usize].referenced() {
                return t;
            }
            chances -= 1;
            self.nodes[t as usize].set_referenced(false);
            self.move_to_front(t, Q::Window);
        }
    }

    #[inline]
    fn fits(&self, extra_entries: usize, extra_bytes: usize) -> bool {
        self.nodes.len() + extra_entries <= self.max_entries && self.bytes + extra_bytes <= self.limits.max_bytes
    }

    /// Moves window overflow into probation while main is under its share
    /// (while the store fills up, or after the window shrank).
    #[inline(always)]
    fn spill_window(&mut self) {
        loop {
            let w = self.queues[Q::Window as usize];
            if w.len <= 1 || !self.window.exceeded(w.len, w.bytes) {
                return;
            }
            let main_len = self.nodes.len() - w.len;
            let main_bytes = self.bytes - w.bytes;
            let main_entries_share = self.max_entries - self.window.entries.min(self.max_entries);
            let main_bytes_share = self.limits.max_bytes - self.window.bytes.min(self.limits.max_bytes);
            let size = self.nodes[w.tail as usize].size();
            if main_len < main_entries_share && main_bytes + size <= main_bytes_share {
                self.move_to_front(w.tail, Q::Probation);
            } else {
                return;
            }
        }
    }

    /// Main's eviction victim: probation's LRU end, else protected's, after
    /// marked entries there were promoted (probation) or kept (protected).
    fn main_victim(&mut self, keep: Option<u32>) -> Option<u32> {
        let mut chances = self.queues[Q::Probation as usize].len + self.queues[Q::Protected as usize].len;
        loop {
            let t = self.tail_except(Q::Probation, keep);
            if t == NIL {
                break;
            }
            if chances == 0 || !self.nodes[t as usize].referenced() {
                return Some(t);
            }
            chances -= 1;
            self.nodes[t as usize].set_referenced(false);
            self.move_to_front(t, Q::Protected);
            self.rebalance_protected();
        }
        loop {
            let t = self.tail_except(Q::Protected, keep);
            if t == NIL {
                return None;
            }
            if chances == 0 || !self.nodes[t as usize].referenced() {
                return Some(t);
            }
            chances -= 1;
            self.nodes[t as usize].set_referenced(false);
            self.move_to_front(t, Q::Protected);
        }
    }

    /// Evicts live entry `i` (hash `h`), remembering it in a regret filter.
    /// If an `incoming` entry (with its key's hash) waits for room, it takes
    /// over `i`'s slot (no entry has to move), enters the table, and `keep`
    /// follows it from then on.
    fn evict(
        &mut self,
        i: u32,
        h: u64,
        keep: &mut Option<u32>,
        extra_entries: usize,
        incoming: &mut Option<Incoming<'_, K::Borrowed, V>>,
    ) {
        self.note_eviction(i, h, extra_entries);
        let p = self.position_of(i, h);
        match incoming.take() {
            Some(inc) => {
                self.reuse_slot(i, p, inc);
                *keep = Some(i);
            }
            None => {
                self.remove_at(i, p, keep);
            }
        }
    }

    /// Remembers that live entry `i` (hash `h`) is being evicted, while
    /// `extra_entries` entries wait to be added: regret filter and counters.
    #[inline(always)]
    fn note_eviction(&mut self, i: u32, h: u64, extra_entries: usize) {
        let side = if self.nodes[i as usize].queue() == Q::Window {
            Side::Window
        } else {
            Side::Main
        };
        self.ghosts.insert(side, h32(h));
        // (`max_entries` may be lowered by the byte bound: that counts as bytes.)
        if self.nodes.len() + extra_entries > self.limits.max_entries.min(MAX_ENTRIES) {
            self.stats.evicted_entries_bound += 1;
        } else {
            self.stats.evicted_bytes_bound += 1;
        }
    }

    /// Drops entry `i` (at table position `p`) and puts `inc` in its slot,
    /// unlinked from any queue (no other entry moves).
    #[inline(always)]
    fn reuse_slot(&mut self, i: u32, p: usize, inc: Incoming<'_, K::Borrowed, V>) {
        if self.victim.index == i {
            self.victim = VictimMemo::NONE;
        }
        self.clear_slot(p);
        self.unlink(i);
        let n = &mut self.nodes[i as usize];
        self.bytes -= n.size();
        n.key.assign(inc.key);
        n.value = inc.value;
        n.reset(inc.deadline, inc.size, Q::Window);
        self.place(inc.hash, i);
    }

    /// The common case of making room for a new entry, decided without
    /// `make_room`'s general loop: the store is full and past its first
    /// fill, no deadline has passed, the window's LRU entry (the candidate,
    /// if any) and probation's LRU entry (main's victim) are both unmarked
    /// (no second chance or promotion is due), and one eviction makes room.
    /// If the incoming entry puts the window over its share, candidate and
    /// victim compete (a winning candidate moves to probation); else the
    /// victim goes. Returns the entry to evict and its hash, exactly as
    /// `make_room` would choose it; else changes nothing and returns `None`.
    #[inline(always)]
    fn quick_evictee(&mut self, bytes: usize, now_ms: u64) -> Option<(u32, u64)> {
        #[cfg(test)]
        if self.no_quick_path {
            return None;
        }
        if !self.trimmed || now_ms >= self.earliest_deadline || self.nodes.len() < self.max_entries {
            return None;
        }
        let w = self.queues[Q::Window as usize];
        let (c, v) = (w.tail, self.queues[Q::Probation as usize].tail);
        if v == NIL || self.nodes[v as usize].referenced() || (c != NIL && self.nodes[c as usize].referenced()) {
            return None;
        }
        if self.victim.index != v {
            let hash = self.nodes[v as usize].hash();
            self.victim = VictimMemo {
                index: v,
                hash,
                ..VictimMemo::NONE
            };
        }
        let hv = self.victim.hash;
        if c == NIL || !self.window.exceeded(w.len + 1, w.bytes + bytes) {
            // The window has room: main's victim goes, no contest.
            if self.bytes - self.nodes[v as usize].size() + bytes > self.limits.max_bytes {
                return None;
            }
            return Some((v, hv));
        }
        let hc = self.nodes[c as usize].hash();
        if self.victim.block == usize::MAX || self.victim.epoch != self.sketch.epoch {
            (self.victim.block, self.victim.freq) = self.sketch.block_and_frequency(h32(hv));
            self.victim.epoch = self.sketch.epoch;
        }
        let fc = self.sketch.frequency(h32(hc));
        let admitted = self.admit(c, fc, v, self.victim.freq);
        let (e, he) = if admitted { (v, hv) } else { (c, hc) };
        if self.bytes - self.nodes[e as usize].size() + bytes > self.limits.max_bytes {
            return None;
        }
        if admitted {
            self.move_to_front(c, Q::Probation);
        } else {
            self.stats.admission_rejections += 1;
        }
        Some((e, he))
    }

    /// Drops every expired entry if a deadline may have passed.
    fn purge_expired(&mut self, now_ms: u64, keep: &mut Option<u32>) {
        if now_ms < self.earliest_deadline {
            return;
        }
        let mut earliest = NO_DEADLINE;
        let mut i = self.nodes.len();
        while i > 0 {
            i -= 1;
            let d = self.nodes[i].deadline();
            if expired(d, now_ms) && *keep != Some(i as u32) {
                self.remove_index(i as u32, keep);
                self.stats.expirations += 1;
            } else {
                earliest = earliest.min(d);
            }
        }
        self.earliest_deadline = earliest;
    }

    /// Evicts until `extra_entries` more entries of `extra_bytes` fit; never
    /// evicts `keep`. Expired entries go first. A new entry to be inserted
    /// comes as `incoming` with its key's hash (and `extra_entries` = 1): it
    /// is put in the first evicted entry's slot and in the table, and its
    /// index is returned.
    fn make_room(
        &mut self,
        mut extra_entries: usize,
        extra_bytes: usize,
        now_ms: u64,
        mut keep: Option<u32>,
        incoming: &mut Option<Incoming<'_, K::Borrowed, V>>,
    ) -> Option<u32> {
        if self.fits(extra_entries, extra_bytes) {
            return None;
        }
        // A new entry is about to enter the window: count it in.
        let entering = extra_entries;
        self.purge_expired(now_ms, &mut keep);
        if !self.trimmed && !self.fits(extra_entries, extra_bytes) {
            self.trim();
        }
        while !self.fits(extra_entries, extra_bytes) {
            let cand = self.window_candidate(keep);
            let victim = self.main_victim(keep);
            let w = self.queues[Q::Window as usize];
            let hash = |s: &Self, i: u32| s.nodes[i as usize].hash();
            let (evictee, h) = match (cand, victim) {
                (NIL, None) => break,
                (NIL, Some(v)) => (v, hash(self, v)),
                (c, None) => (c, hash(self, c)),
                (c, Some(v)) => {
                    if self.window.exceeded(w.len + entering, w.bytes + extra_bytes) {
                        let (hc, hv) = (hash(self, c), hash(self, v));
                        let (fc, fv) = (self.sketch.frequency(h32(hc)), self.sketch.frequency(h32(hv)));
                        if self.admit(c, fc, v, fv) {
                            self.move_to_front(c, Q::Probation);
                            (v, hv)
                        } else {
                            self.stats.admission_rejections += 1;
                            (c, hc)
                        }
                    } else {
                        (v, hash(self, v))
                    }
                }
            };
            let placing = incoming.is_some();
            self.evict(evictee, h, &mut keep, extra_entries, incoming);
            if placing {
                extra_entries = 0;
            }
        }
        if incoming.is_none() {
            keep
        } else {
            None
        }
    }

    // ---- public API --------------------------------------------------------

    /// Index of a live (unexpired) entry; drops it if expired.
    fn live(&mut self, key: &K::Borrowed, now_ms: u64) -> Option<(usize, u32)> {
        let (p, i) = self.find(key, K::hash_of(key))?;
        if expired(self.nodes[i as usize].deadline(), now_ms) {
            self.remove_at(i, p, &mut None);
            self.stats.expirations += 1;
            return None;
        }
        Some((p, i))
    }

    /// Looks a key up, counting a hit or a miss and refreshing its recency
    /// and frequency.
    #[inline]
    pub fn get(&mut self, key: &K::Borrowed, now_ms: u64) -> Option<&V> {
        let i = self.lookup(key, now_ms)?;
        Some(&self.nodes[i as usize].value)
    }

    /// Like [`Store::get`], also returning the entry's expiry.
    pub fn get_with_expiry(&mut self, key: &K::Borrowed, now_ms: u64) -> Option<(&V, Option<u64>)> {
        let i = self.lookup(key, now_ms)?;
        let n = &self.nodes[i as usize];
        Some((&n.value, n.expiry()))
    }

    /// `get`'s work: the live entry's index, with the hit or miss counted.
    #[inline(always)]
    fn lookup(&mut self, key: &K::Borrowed, now_ms: u64) -> Option<u32> {
        let h = K::hash_of(key);
        let found = match self.probe(key, h) {
            Ok((p, i)) if expired(self.nodes[i as usize].deadline(), now_ms) => {
                self.remove_at(i, p, &mut None);
                self.stats.expirations += 1;
                None
            }
            Ok(found) => Some(found),
            Err(clean) => {
                if clean {
                    self.missed = Some(h);
                }
                None
            }
        };
        match found {
            Some((_, i)) => {
                self.stats.hits += 1;
                self.touch(i, h);
                Some(i)
            }
            None => {
                self.stats.misses += 1;
                self.regret(h32(h));
                None
            }
        }
    }

    /// Looks a key up without touching counters, recency or frequency.
    pub fn peek(&self, key: &K::Borrowed, now_ms: u64) -> Option<&V> {
        self.peek_with_expiry(key, now_ms).map(|(v, _)| v)
    }

    /// Like [`Store::peek`], also returning the entry's expiry.
    pub fn peek_with_expiry(&self, key: &K::Borrowed, now_ms: u64) -> Option<(&V, Option<u64>)> {
        let (_, i) = self.find(key, K::hash_of(key))?;
        let n = &self.nodes[i as usize];
        if expired(n.deadline(), now_ms) {
            None
        } else {
            Some((&n.value, n.expiry()))
        }
    }

    /// Inserts or replaces `key`. `bytes` is the caller's size of key and value;
    /// [`ENTRY_OVERHEAD`] is added to it. Other entries are evicted (expired
    /// ones first) until both bounds hold; the entry written is never evicted
    /// by its own insert, so an immediate `get` finds it. An `expires_at`
    /// already reached removes the key instead (a zero TTL) and evicts
    /// nothing.
    pub fn insert(
        &mut self,
        key: &K::Borrowed,
        value: V,
        bytes: usize,
        expires_at: Option<u64>,
        now_ms: u64,
    ) -> Result<(), Rejected> {
        let bytes = bytes.saturating_add(ENTRY_OVERHEAD);
        if bytes > self.limits.max_bytes || bytes > MAX_ENTRY_BYTES || self.max_entries == 0 {
            return Err(Rejected::TooLarge {
                bytes,
                max_bytes: self.limits.max_bytes.min(MAX_ENTRY_BYTES),
            });
        }
        let deadline = expires_at.unwrap_or(NO_DEADLINE).min(NO_DEADLINE);
        let h = K::hash_of(key);
        if expired(deadline, now_ms) {
            // Dead on arrival (a zero TTL): the write removes the key and
            // evicts nothing.
            if let Some((p, i)) = self.find(key, h) {
                self.remove_at(i, p, &mut None);
                self.stats.expirations += 1;
            }
            return Ok(());
        }
        let found = if self.missed == Some(h) {
            None
        } else {
            self.find(key, h)
        };
        if let Some((_, i)) = found {
            let (old, q) = {
                let n = &self.nodes[i as usize];
                (n.size(), n.queue())
            };
            self.queues[q as usize].bytes = self.queues[q as usize].bytes - old + bytes;
            self.bytes = self.bytes - old + bytes;
            {
                let n = &mut self.nodes[i as usize];
                n.value = value;
                n.set_size(bytes);
                n.set_deadline(deadline);
            }
            self.earliest_deadline = self.earliest_deadline.min(deadline);
            self.stats.updates += 1;
            self.touch(i, h);
            self.make_room(0, 0, now_ms, Some(i), &mut None);
            return Ok(());
        }
        let inc = Incoming {
            key,
            value,
            deadline,
            size: bytes,
            hash: h,
        };
        if let Some((e, he)) = self.quick_evictee(bytes, now_ms) {
            self.note_eviction(e, he, 1);
            let p = self.position_of(e, he);
            self.reuse_slot(e, p, inc);
            self.finish_insert(e, bytes, h);
            return Ok(());
        }
        let mut incoming = Some(inc);
        let i = match self.make_room(1, bytes, now_ms, None, &mut incoming) {
            Some(i) => i,
            None => {
                self.reserve_one();
                let i = self.nodes.len() as u32;
                self.nodes
                    .extend(incoming.map(|inc| Node::new(inc.key, inc.value, inc.deadline, inc.size, Q::Window)));
                self.place(h, i);
                i
            }
        };
        self.finish_insert(i, bytes, h);
        Ok(())
    }

    /// Counts in new entry `i` (`bytes`, hash `h`), just placed in the
    /// table: it enters the window.
    #[inline(always)]
    fn finish_insert(&mut self, i: u32, bytes: usize, h: u64) {
        // Here, not before making room: a purge then recomputes the bound
        // from the entries held, which do not include this one yet.
        self.earliest_deadline = self.earliest_deadline.min(self.nodes[i as usize].deadline());
        self.bytes += bytes;
        self.push_front(i, Q::Window);
        self.count_access(h);
        self.spill_window();
        self.stats.inserts += 1;
    }

    /// Removes `key`; returns its value if it was live.
    pub fn remove(&mut self, key: &K::Borrowed, now_ms: u64) -> Option<V> {
        let (p, i) = self.live(key, now_ms)?;
        self.stats.removals += 1;
        Some(self.remove_at(i, p, &mut None).value)
    }

    /// Sets a live entry's expiry; false if absent or expired.
    pub fn set_expiry(&mut self, key: &K::Borrowed, expires_at: Option<u64>, now_ms: u64) -> bool {
        match self.live(key, now_ms) {
            Some((_, i)) => {
                let deadline = expires_at.unwrap_or(NO_DEADLINE).min(NO_DEADLINE);
                self.nodes[i as usize].set_deadline(deadline);
                self.earliest_deadline = self.earliest_deadline.min(deadline);
                true
            }
            None => false,
        }
    }

    /// Keeps only the entries for which `keep` is true; returns how many went.
    pub fn retain(&mut self, mut keep: impl FnMut(&K::Borrowed, &V) -> bool) -> usize {
        let mut removed = 0;
        let mut i = self.nodes.len();
        while i > 0 {
            i -= 1;
            let n = &self.nodes[i];
            if !keep(n.key.borrowed(), &n.value) {
                self.remove_index(i as u32, &mut None);
                removed += 1;
            }
        }
        self.stats.removals += removed as u64;
        removed
    }
}

#[cfg(test)]
impl<V, K: StoreKey> Store<V, K> {
    /// Checks every internal invariant (tests only).
    fn check(&self) {
        assert!(self.nodes.len() <= self.max_entries);
        assert!(self.bytes <= self.limits.max_bytes);
        let earliest = self.nodes.iter().map(|n| n.deadline()).min();
        assert!(
            earliest.is_none_or(|d| self.earliest_deadline <= d),
            "earliest_deadline {} above a held deadline {earliest:?}",
            self.earliest_deadline
        );
        let used = self.table.len();
        assert_eq!(used, self.nodes.len(), "table slots vs entries");
        for (i, n) in self.nodes.iter().enumerate() {
            let key = n.key.borrowed();
            let found = self.find(key, K::hash_of(key)).map(|(_, j)| j);
            assert_eq!(found, Some(i as u32), "entry {i} not found");
        }
        let mut total = 0;
        let mut bytes = 0;
        for (qi, q) in self.queues.iter().enumerate() {
            let (mut len, mut qbytes, mut prev, mut i) = (0, 0, NIL, q.head);
            while i != NIL {
                let n = &self.nodes[i as usize];
                assert_eq!(n.queue() as usize, qi);
                assert_eq!(n.prev(), prev);
                len += 1;
                qbytes += n.size();
                prev = i;
                i = n.next();
            }
            assert_eq!(prev, q.tail);
            assert_eq!((len, qbytes), (q.len, q.bytes), "queue {qi}");
            total += len;
            bytes += qbytes;
        }
        assert_eq!((total, bytes), (self.nodes.len(), self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator for the randomized tests.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn fresh_insert_is_readable_even_when_main_is_hot() {
        let mut s = store(50, usize::MAX);
        for round in 0..20 {
            for i in 0..50 {
                let k = format!("hot{i}");
                if s.get(&k, 0).is_none() {
                    s.insert(&k, round, 1, None, 0).unwrap();
                }
            }
        }
        for i in 0..200 {
            let k = format!("cold{i}");
            s.insert(&k, i, 1, None, 0).unwrap();
            assert_eq!(s.get(&k, 0), Some(&i), "set then get");
            assert!(s.len() <= 50);
        }
        s.check();
    }

    #[test]
    fn a_loop_larger_than_the_cache_still_hits() {
        // LRU scores 0 % here; W-TinyLFU keeps a stable part of the loop.
        let mut s: Store<(), u64> = Store::new(StoreLimits {
            max_entries: 100,
            max_bytes: usize::MAX,
        });
        for _ in 0..60 {
            for k in 0..150u64 {
                if s.get(&k, 0).is_none() {
                    s.insert(&k, (), 8, None, 0).unwrap();
                }
            }
        }
        let st = s.stats();
        let ratio = st.hits as f64 / (st.hits + st.misses) as f64;
        assert!(ratio > 0.5, "hit ratio {ratio}");
        s.check();
    }

    #[test]
    fn randomized_operations_keep_invariants() {
        for &(max_entries, max_bytes, max_size) in &[
            (8, usize::MAX, 40),
            (50, 4_000, 40),
            (300, usize::MAX, 40),
            (1_000, 3_000, 600),
        ] {
            let mut s: Store<u64> = Store::new(StoreLimits { max_entries, max_bytes });
            let mut rng = 7;
            for step in 0..20_000u64 {
                let k = format!("k{}", lcg(&mut rng) % (max_entries as u64 * 3));
                let now = step / 10;
                let op = lcg(&mut rng) % 10;
                let evicted = s.stats().evicted_entries_bound + s.stats().evicted_bytes_bound;
                match op {
                    0..=4 => {
                        if s.get(&k, now).is_none() {
                            let ttl = lcg(&mut rng).is_multiple_of(4).then_some(now + 1 + lcg(&mut rng) % 50);
                            let size = (lcg(&mut rng) % max_size) as usize;
                            s.insert(&k, step, size, ttl, now).unwrap();
                            assert_eq!(s.get(&k, now), Some(&step), "set then get");
                        }
                    }
                    5..=7 => {
                        s.insert(&k, step, (lcg(&mut rng) % max_size) as usize, None, now)
                            .unwrap();
                        assert_eq!(s.peek(&k, now), Some(&step));
                    }
                    8 => {
                        s.remove(&k, now);
                        assert_eq!(s.peek(&k, now), None);
                    }
                    _ => {
                        s.set_expiry(&k, Some(now + 5), now);
                    }
                }
                if s.stats().evicted_entries_bound + s.stats().evicted_bytes_bound > evicted {
                    let held = s.nodes.iter().filter(|n| expired(n.deadline(), now)).count();
                    assert_eq!(held, 0, "step {step}: a live entry went while expired ones stayed");
                }
                if step.is_multiple_of(7) {
                    s.check();
                }
            }
            s.check();
            s.retain(|k, _| k.len() % 2 == 0);
            s.check();
        }
    }

    #[test]
    fn string_hash_and_equality_see_every_byte() {
        // Every length from 0 to 40 (word, tail and overlapping-load paths):
        // changing any one byte changes the hash and breaks equality.
        for len in 0..=40usize {
            let base: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let h = hash_str(&base);
            assert!(eq_bytes(base.as_bytes(), base.clone().as_bytes()));
            for pos in 0..len {
                let mut other = base.clone().into_bytes();
                other[pos] = b'Z';
                let other = String::from_utf8(other).unwrap();
                assert_ne!(hash_str(&other), h, "len {len}, byte {pos}");
                assert!(!eq_bytes(base.as_bytes(), other.as_bytes()), "len {len}, byte {pos}");
            }
            let longer = format!("{base}a");
            assert_ne!(hash_str(&longer), h, "len {len} vs {}", len + 1);
            assert!(!eq_bytes(base.as_bytes(), longer.as_bytes()));
        }
    }

    /// The key index finds every entry, moves entries between their two
    /// buckets when both are full, frees slots, and reports a full table.
    #[test]
    fn cuckoo_table_places_finds_and_removes() {
        let hash = |i: u32| <u64 as StoreKey>::hash_of(&(i as u64));
        let mut t = Table::new(400);
        let n = t.slots() as u32;
        // Fill to 92 %: past the target load, displacements are needed.
        let placed = n * 23 / 25;
        for i in 0..placed {
            assert!(!t.insert(hash(i), i, hash), "entry {i} of {placed} in {n} slots");
        }
        assert_eq!(t.len(), placed as usize);
        assert!(t.stash.is_empty(), "{} in the stash", t.stash.len());
        for i in 0..placed {
            let p = t.find_index(hash(i), i).expect("placed entry found");
            assert_eq!(t.find(hash(i), |j| j == i), Ok((p, i)));
        }
        // Remove every other entry; the rest stay findable, the removed not.
        for i in (0..placed).step_by(2) {
            let p = t.find_index(hash(i), i).unwrap();
            t.remove(p);
        }
        for i in 0..placed {
            assert_eq!(t.find_index(hash(i), i).is_some(), i % 2 == 1, "entry {i}");
        }
        // An entry moves to another index: repoint.
        let p = t.find_index(hash(1), 1).unwrap();
        t.repoint(p, 7_000);
        assert_eq!(t.find(hash(1), |j| j == 7_000), Ok((p, 7_000)));
        // Overfull: entries go to the stash, stay findable and removable,
        // and the table reports that it is crowded.
        let mut t = Table::new(64);
        let crowded = (0..200).map(|i| t.insert(hash(i), i, hash)).filter(|&c| c).count();
        assert!(crowded > 0 && t.crowded());
        for i in 0..200 {
            let p = t.find_index(hash(i), i).expect("overfull entry found");
            assert_eq!(t.find(hash(i), |j| j == i), Ok((p, i)));
        }
        for i in 0..200 {
            let p = t.find_index(hash(i), i).unwrap();
            t.remove(p);
            assert!(t.find_index(hash(i), i).is_none());
        }
        assert_eq!(t.len(), 0);
    }

    /// Keys whose hashes collide entirely (a bad `StoreKey` or keys made to
    /// collide) are all kept and found; inserts neither loop nor rebuild each
    /// time.
    #[test]
    fn colliding_hashes_do_not_break_the_store() {
        let mut s: Store<u32, Few<1>> = Store::new(StoreLimits {
            max_entries: 100,
            max_bytes: usize::MAX,
        });
        for round in 0..3u32 {
            for k in 0..150u32 {
                if s.get(&k, 0).is_none() {
                    s.insert(&k, k + round, 8, None, 0).unwrap();
                }
                assert!(s.peek(&k, 0).is_some(), "key {k} readable after insert");
            }
            s.check();
        }
        assert_eq!(s.len(), 100);
        let present = (0..150u32).filter(|k| s.peek(k, 0).is_some()).count();
        assert_eq!(present, 100);
        for k in 0..150u32 {
            s.remove(&k, 0);
        }
        assert!(s.is_empty());
        s.check();
    }

    /// The quick eviction path decides exactly as the general one: same
    /// hits, same counters, same residents, on skewed traffic with and
    /// without a byte bound and with some marks, expiries and removals.
    #[test]
    fn quick_eviction_path_matches_the_general_path() {
        for &(max_entries, max_bytes, ttl_every) in &[(100, usize::MAX, 0), (500, 60_000, 0), (200, usize::MAX, 50)] {
            let mut quick: Store<u64> = Store::new(StoreLimits { max_entries, max_bytes });
            let mut general: Store<u64> = Store::new(StoreLimits { max_entries, max_bytes });
            general.no_quick_path = true;
            let mut rng = 11;
            for step in 0..60_000u64 {
                // Skewed keys (a few hot, a long cold tail), and in every
                // other stretch of 5,000 requests a sliding working set that
                // grows the window (then main's victim goes without contest).
                let r = lcg(&mut rng) % 1_000;
                let k = if (step / 5_000) % 2 == 1 {
                    format!("slide-{}", step / 4 + r % 64)
                } else {
                    format!("key-{}", (r * r) / 100)
                };
                let size = (lcg(&mut rng) % 120) as usize;
                let ttl = (ttl_every > 0 && step % ttl_every == 0).then_some(step + 200);
                for s in [&mut quick, &mut general] {
                    if s.get(&k, step).is_none() {
                        s.insert(&k, step, size, ttl, step).unwrap();
                    }
                    if step % 997 == 0 {
                        s.remove("key-0", step);
                    }
                }
            }
            assert_eq!(quick.stats(), general.stats());
            general.check();
            quick.check();
            let mut a: Vec<_> = quick.nodes.iter().map(|n| (n.key.clone(), n.value)).collect();
            let mut b: Vec<_> = general.nodes.iter().map(|n| (n.key.clone(), n.value)).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
    }

    fn store(max_entries: usize, max_bytes: usize) -> Store<u32> {
        Store::new(StoreLimits { max_entries, max_bytes })
    }

    #[test]
    fn get_after_insert_and_replace() {
        let mut s = store(10, 10_000);
        s.insert("a", 1, 2, None, 0).unwrap();
        assert_eq!(s.get("a", 0), Some(&1));
        s.insert("a", 2, 2, None, 0).unwrap();
        assert_eq!(s.get("a", 0), Some(&2));
        assert_eq!(s.len(), 1);
        assert_eq!(s.bytes(), 2 + ENTRY_OVERHEAD);
        let st = s.stats();
        assert_eq!((st.hits, st.inserts, st.updates), (2, 1, 1));
    }

    #[test]
    fn expiry_hides_and_reclaims() {
        let mut s = store(10, 10_000);
        s.insert("a", 1, 1, Some(100), 0).unwrap();
        assert_eq!(s.get("a", 99), Some(&1));
        assert_eq!(s.get("a", 100), None);
        assert_eq!(s.len(), 0);
        assert_eq!(s.stats().expirations, 1);
    }

    #[test]
    fn entry_bound_holds_and_counts_evictions() {
        let mut s = store(3, 10_000);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            s.insert(k, i as u32, 1, None, 0).unwrap();
            assert!(s.len() <= 3);
        }
        assert_eq!(s.peek("a", 0), None);
        assert_eq!(s.stats().evicted_entries_bound, 1);
    }

    #[test]
    fn byte_bound_holds_and_oversize_is_rejected() {
        let per = 10 + ENTRY_OVERHEAD;
        let mut s = store(100, per * 3);
        for k in ["a", "b", "c", "d", "e"] {
            s.insert(k, 0, 10, None, 0).unwrap();
            assert!(s.bytes() <= per * 3);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.stats().evicted_bytes_bound, 2);
        assert!(matches!(
            s.insert("big", 0, per * 3, None, 0),
            Err(Rejected::TooLarge { .. })
        ));
        assert_eq!(s.len(), 3, "a rejected insert loses nothing");
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        let mut s = store(3, 10_000);
        s.insert("old-live", 0, 1, None, 0).unwrap();
        s.insert("short", 0, 1, Some(5), 0).unwrap();
        s.insert("new-live", 0, 1, None, 0).unwrap();
        s.insert("x", 0, 1, None, 10).unwrap();
        assert!(s.peek("old-live", 10).is_some());
        assert_eq!(s.stats().expirations, 1);
        assert_eq!(s.stats().evicted_entries_bound, 0);
    }

    /// An entry inserted while a purge ran keeps its deadline in the
    /// earliest-deadline bound, so once expired it goes before a live entry
    /// (entry bound, then byte bound).
    #[test]
    fn an_entry_inserted_during_a_purge_still_expires_first() {
        let mut s = store(2, usize::MAX);
        s.insert("a", 1, 1, Some(10), 0).unwrap();
        s.insert("b", 2, 1, None, 0).unwrap();
        s.insert("c", 3, 1, Some(20), 10).unwrap(); // purges "a"
        s.insert("d", 4, 1, None, 20).unwrap(); // "c" has expired: it goes, not "b"
        s.check();
        assert_eq!(s.peek("b", 20), Some(&2));
        assert_eq!((s.stats().expirations, s.stats().evicted_entries_bound), (2, 0));

        let per = 10 + ENTRY_OVERHEAD;
        let mut s = store(100, 4 * per);
        s.insert("t", 0, 10, Some(5), 0).unwrap();
        for k in ["a", "b", "c"] {
            s.insert(k, 1, 10, None, 0).unwrap();
        }
        s.insert("x", 2, 10, Some(50), 5).unwrap(); // purges "t"
        s.insert("y", 3, 10, None, 60).unwrap(); // "x" has expired
        s.check();
        assert_eq!((s.stats().expirations, s.stats().evicted_bytes_bound), (2, 0));
    }

    #[test]
    fn an_already_expired_insert_removes_the_key_and_evicts_nothing() {
        let mut s = store(2, usize::MAX);
        s.insert("a", 1, 1, None, 10).unwrap();
        s.insert("b", 2, 1, None, 10).unwrap();
        s.insert("dead", 3, 1, Some(5), 10).unwrap();
        s.insert("a", 4, 1, Some(10), 10).unwrap(); // deadline = now
        s.check();
        assert_eq!(s.peek("a", 10), None);
        assert_eq!(s.peek("b", 10), Some(&2));
        assert_eq!(s.peek("dead", 10), None);
        assert_eq!(s.len(), 1);
        assert_eq!((s.stats().expirations, s.stats().evicted_entries_bound), (1, 0));
    }

    /// Keys with only `HASHES` distinct hashes among them (the stash and
    /// tag collisions at work; `Few<1>`: every hash equal).
    #[derive(Clone, PartialEq, Debug)]
    struct Few<const HASHES: u32>(u32);

    impl<const HASHES: u32> StoreKey for Few<HASHES> {
        type Borrowed = u32;
        fn from_borrowed(key: &u32) -> Self {
            Few(*key)
        }
        fn borrowed(&self) -> &u32 {
            &self.0
        }
        fn hash_of(key: &u32) -> u64 {
            <u64 as StoreKey>::hash_of(&((*key % HASHES) as u64))
        }
    }

    /// Two stores, one kept off the quick eviction path, fed the same
    /// random operations (edge sizes and deadlines included) and checked
    /// against the last value written per key: a read returns that value or
    /// nothing (evicted), never an expired or older one; a fresh insert is
    /// readable; no live entry goes while an expired one stays; both stores
    /// decide alike; `check()` holds throughout.
    fn model_fuzz<K: StoreKey + Clone>(max_entries: usize, max_bytes: usize, seed: u64, make: impl Fn(u32) -> K) {
        use std::collections::HashMap;
        let limits = StoreLimits { max_entries, max_bytes };
        let (mut quick, mut general) = (Store::<u64, K>::new(limits), Store::<u64, K>::new(limits));
        general.no_quick_path = true;
        let mut last: HashMap<u32, (u64, u64)> = HashMap::new();
        let (mut rng, mut now) = (seed, 100u64);
        let fit = max_bytes.saturating_sub(ENTRY_OVERHEAD);
        for step in 0..12_000u64 {
            now += lcg(&mut rng) % 3;
            let i = (lcg(&mut rng) % (max_entries as u64 * 3 + 2)) as u32;
            let (key, op, r) = (make(i), lcg(&mut rng) % 10, lcg(&mut rng));
            let size = match r % 16 {
                0 => fit,
                1 => fit + 1,
                _ => (r / 16 % 64) as usize,
            };
            let ttl = match r / 1024 % 12 {
                0 => Some(now),
                1 => Some(now - 1),
                2 => Some(u64::MAX),
                3 => Some(NO_DEADLINE - 1),
                4..=6 => Some(now + 1 + r % 30),
                _ => None,
            };
            let ctx = format!("seed {seed} step {step} key {i} op {op}");
            for s in [&mut quick, &mut general] {
                let evicted = s.stats().evicted_entries_bound + s.stats().evicted_bytes_bound;
                let read = match op {
                    0..=4 => s.get(key.borrowed(), now).copied(),
                    5 => s.peek(key.borrowed(), now).copied(),
                    6 => s.remove(key.borrowed(), now),
                    7 => {
                        let live = s.peek(key.borrowed(), now).is_some();
                        assert_eq!(s.set_expiry(key.borrowed(), ttl, now), live, "{ctx}");
                        None
                    }
                    _ => None,
                };
                if let Some(v) = read {
                    let (want, deadline) = last[&i];
                    assert_eq!(v, want, "{ctx}: an older value came back");
                    assert!(!expired(deadline, now), "{ctx}: an expired value came back");
                }
                let writes = op == 8 || op == 9 || (op <= 4 && read.is_none());
                if writes
                    && s.insert(key.borrowed(), step, size, ttl, now).is_ok()
                    && !expired(ttl.unwrap_or(NO_DEADLINE).min(NO_DEADLINE), now)
                {
                    assert_eq!(
                        s.peek(key.borrowed(), now),
                        Some(&step),
                        "{ctx}: fresh insert unreadable"
                    );
                }
                if s.stats().evicted_entries_bound + s.stats().evicted_bytes_bound > evicted {
                    let stale = s.nodes.iter().filter(|n| expired(n.deadline(), now)).count();
                    assert_eq!(stale, 0, "{ctx}: a live entry went while expired ones stayed");
                }
                if max_entries <= 64 || step % 17 == 0 {
                    s.check();
                }
            }
            assert_eq!(quick.stats(), general.stats(), "{ctx}");
            // What a later read may return.
            match op {
                6 => {
                    last.remove(&i);
                }
                7 => {
                    if let (Some(e), true) = (last.get_mut(&i), quick.peek(key.borrowed(), now).is_some()) {
                        e.1 = ttl.unwrap_or(NO_DEADLINE).min(NO_DEADLINE);
                    }
                }
                _ => {
                    match quick.peek_with_expiry(key.borrowed(), now) {
                        Some((v, d)) => last.insert(i, (*v, d.unwrap_or(NO_DEADLINE))),
                        None => last.remove(&i),
                    };
                }
            }
        }
    }

    #[test]
    fn random_operations_match_a_model_on_both_eviction_paths() {
        for (seed, max_entries, max_bytes) in [
            (1, 1, usize::MAX),
            (2, 3, usize::MAX),
            (3, 16, 1_500),
            (4, 64, usize::MAX),
            (5, 300, 12_000),
        ] {
            model_fuzz::<Box<str>>(max_entries, max_bytes, seed, |i| format!("key-{i}").into());
            model_fuzz::<Few<4>>(max_entries, max_bytes, seed, Few);
        }
    }

    #[test]
    fn word_wise_key_equality() {
        let a: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..a.len() {
            assert!(eq_bytes(&a[..len], &a[..len]));
            assert!(!eq_bytes(&a[..len], &a[..len + 1]));
            for at in 0..len {
                let mut b = a[..len].to_vec();
                b[at] ^= 1;
                assert!(!eq_bytes(&a[..len], &b), "len {len}, differing at {at}");
            }
        }
    }

    #[test]
    fn evicted_keys_are_reused_and_misses_remembered_soundly() {
        let mut s = store(4, usize::MAX);
        for round in 0..3u32 {
            for i in 0..40u32 {
                // Same-length and different-length keys through evicted slots.
                let k = if i % 3 == 0 {
                    format!("key{i:04}")
                } else {
                    format!("k{i}")
                };
                if s.get(&k, 0).is_none() {
                    // Another key's miss and insert between this miss and its insert.
                    let other = format!("other{round}-{i}");
                    assert!(s.get(&other, 0).is_none());
                    s.insert(&other, 0, 1, None, 0).unwrap();
                    s.insert(&k, i, 1, None, 0).unwrap();
                }
                assert_eq!(s.get(&k, 0), Some(&i));
                // An insert of a key just missed, twice: the second one updates.
                let fresh = format!("fresh{round}-{i}");
                assert!(s.get(&fresh, 0).is_none());
                s.insert(&fresh, 1, 1, None, 0).unwrap();
                s.insert(&fresh, 2, 1, None, 0).unwrap();
                assert_eq!(s.peek(&fresh, 0), Some(&2));
                s.check();
            }
        }
    }

    #[test]
    fn remove_touch_retain() {
        let mut s = store(10, 10_000);
        s.insert("p:1", 1, 1, None, 0).unwrap();
        s.insert("p:2", 2, 1, None, 0).unwrap();
        s.insert("q:1", 3, 1, None, 0).unwrap();
        assert!(s.set_expiry("p:1", Some(50), 0));
        assert!(!s.set_expiry("nope", Some(50), 0));
        assert_eq!(s.peek_with_expiry("p:1", 0), Some((&1, Some(50))));
        assert_eq!(s.remove("p:2", 0), Some(2));
        assert_eq!(s.remove("p:2", 0), None);
        assert_eq!(s.retain(|k, _| !k.starts_with("q:")), 1);
        assert_eq!(s.len(), 1);
    }
}
