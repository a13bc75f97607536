//! The regret filters: keys recently evicted from the window or from main.

use crate::*;

/// Which queue evicted a key, for the regret filters.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Window = 0,
    Main = 1,
}

/// Two two-generation Bloom filters of recently evicted keys' hashes, one
/// per side (window, main): "was this key evicted lately, and by whom?" at
/// about ten bits per remembered key. The four words a key maps to (two
/// sides × two generations) share one 32-byte block, so that the check made
/// on every miss reads one cache line.
pub(crate) struct Ghosts {
    /// Per block: window generation 0 and 1, main generation 0 and 1.
    pub(crate) blocks: Vec<[u64; 4]>,
    /// Each side's current generation (0 or 1).
    pub(crate) current: [usize; 2],
    pub(crate) inserted: [usize; 2],
    pub(crate) generation: usize,
}

impl Ghosts {
    pub(crate) fn new(generation: usize) -> Ghosts {
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
    pub(crate) fn probe(&self, hash: u32) -> (usize, u64) {
        let m = hash.wrapping_mul(0x85EB_CA6B);
        let bits = (1u64 << (m & 63)) | (1u64 << ((m >> 6) & 63)) | (1u64 << ((m >> 12) & 63));
        (reduce(hash, self.blocks.len()), bits)
    }

    #[inline(always)]
    pub(crate) fn insert(&mut self, side: Side, hash: u32) {
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
    pub(crate) fn contains(&self, hash: u32) -> (bool, bool) {
        let (w, bits) = self.probe(hash);
        let b = &self.blocks[w];
        (
            b[0] & bits == bits || b[1] & bits == bits,
            b[2] & bits == bits || b[3] & bits == bits,
        )
    }
}
