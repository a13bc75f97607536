//! The frequency sketch that decides admission.

use crate::*;

/// Count-min sketch of 4-bit counters: blocks of four `u64` words; a key's
/// four counters sit one in each word of its block.
pub(crate) struct Sketch {
    pub(crate) blocks: Vec<[u64; 4]>,
    /// Halvings so far.
    pub(crate) epoch: u32,
    pub(crate) additions: usize,
    pub(crate) sample: usize,
    pub(crate) capacity: usize,
}

impl Sketch {
    pub(crate) fn new(capacity: usize) -> Sketch {
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
    pub(crate) fn slots(&self, hash: u32) -> (usize, [u64; 4]) {
        let m = hash.wrapping_mul(0x2545_F491) as u64;
        let sh = [(m & 15) << 2, (m >> 6) & 60, (m >> 14) & 60, (m >> 22) & 60];
        (reduce(hash, self.blocks.len()), sh)
    }

    #[inline]
    pub(crate) fn counts(block: &[u64; 4], sh: &[u64; 4]) -> [u64; 4] {
        [
            (block[0] >> sh[0]) & 15,
            (block[1] >> sh[1]) & 15,
            (block[2] >> sh[2]) & 15,
            (block[3] >> sh[3]) & 15,
        ]
    }

    #[inline]
    pub(crate) fn frequency(&self, hash: u32) -> u32 {
        self.block_and_frequency(hash).1
    }

    /// Counts one access; returns the block it changed (`usize::MAX` if
    /// none), so that callers holding an estimate from that block know it is
    /// stale.
    #[inline(always)]
    pub(crate) fn increment(&mut self, hash: u32) -> usize {
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
    pub(crate) fn block_and_frequency(&self, hash: u32) -> (usize, u32) {
        let (b, sh) = self.slots(hash);
        let c = Self::counts(&self.blocks[b], &sh);
        (b, c[0].min(c[1]).min(c[2]).min(c[3]) as u32)
    }

    /// Ages popularity: every counter halved.
    #[cold]
    pub(crate) fn halve(&mut self) {
        for w in self.blocks.iter_mut().flatten() {
            *w = (*w >> 1) & 0x7777_7777_7777_7777;
        }
        self.additions /= 2;
        self.epoch = self.epoch.wrapping_add(1);
    }
}
