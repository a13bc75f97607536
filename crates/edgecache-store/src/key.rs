//! Key types the store can hold ([`StoreKey`]) and their hashes.

/// The hash of `str` keys: [`hash_bytes`] of their UTF-8.
#[inline(always)]
pub(crate) fn hash_str(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

/// The store's string hash, over any bytes (public so that a front-end
/// hashing keys it encoded itself, such as the npm package's `LocalCache`,
/// shares it). FxHash-style with a final avalanche (non-cryptographic: the
/// store is not a DoS boundary). Two lanes take alternate words, so that the
/// multiply chain is half as long; the last 1–7 bytes are read as two
/// overlapping loads rather than copied into a buffer (on wasm32 such a copy
/// becomes a `memory.copy` that V8 runs out of line: short keys took twice as
/// long to hash).
#[inline(always)]
pub fn hash_bytes(b: &[u8]) -> u64 {
    pub(crate) const K: u64 = 0x517c_c1b7_2722_0a95;
    #[inline(always)]
    pub(crate) fn round(h: u64, w: u64) -> u64 {
        (h.rotate_left(5) ^ w).wrapping_mul(K)
    }
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
pub(crate) fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The first four bytes of `b`, little-endian.
#[inline(always)]
pub(crate) fn le32(b: &[u8]) -> u64 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64
}

/// A key type the store can own. The cache API uses the default, `Box<str>`
/// looked up by `&str`; `u64` keys serve callers (and benchmarks) whose keys
/// are numbers, without formatting or allocating them.
pub trait StoreKey {
    /// What lookups take (`str` for `Box<str>`).
    type Borrowed: ?Sized + PartialEq;
    /// Makes an owned key from a borrowed one.
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
    /// This key in the form lookups take.
    fn borrowed(&self) -> &Self::Borrowed;
    /// The key's 64-bit hash (non-cryptographic); equal keys must hash equal.
    fn hash_of(key: &Self::Borrowed) -> u64;
    /// Whether this key equals `key`.
    #[inline]
    fn matches(&self, key: &Self::Borrowed) -> bool {
        self.borrowed() == key
    }
    /// Called when the policy clears the mark of this key's entry; nothing
    /// by default.
    ///
    /// A hit marks its entry, and a hit of an entry already marked changes
    /// nothing (the module docs: one burst is counted once) until the policy
    /// examines the entry at a queue end and clears the mark. A front-end
    /// that keeps its own index and knows which entries are marked (the npm
    /// package's `LocalCache`) can therefore leave those hits out and lose
    /// nothing: it learns of a mark from its own hits, of a cleared one
    /// here, and a new key (or a new entry in an evicted one's place) starts
    /// unmarked.
    #[inline(always)]
    fn unmarked(&self) {}
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
pub(crate) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
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
pub(crate) fn h32(h: u64) -> u32 {
    (h >> 32) as u32
}

/// `x` mapped onto `0..n` (Lemire's multiply-shift).
#[inline]
pub(crate) fn reduce(x: u32, n: usize) -> usize {
    ((x as u64 * n as u64) >> 32) as usize
}
