//! The key index: a cuckoo table of tagged slots with a small stash.

use crate::*;

/// A free table slot.
pub(crate) const SLOT_EMPTY: u32 = u32::MAX;
/// Slots per bucket.
pub(crate) const BUCKET: usize = 4;
/// Bits of a slot that hold the entry index (the rest is the tag).
pub(crate) const IDX_BITS: u32 = 24;
pub(crate) const IDX_MASK: u32 = (1 << IDX_BITS) - 1;
/// Displacements an insert tries before it puts an entry in the stash.
pub(crate) const MAX_KICKS: usize = 64;
/// Stash length past which an insert asks for a bigger table (at first).
pub(crate) const STASH_LIMIT: usize = 8;

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
pub(crate) struct Table {
    pub(crate) buckets: Vec<[u32; BUCKET]>,
    /// Slots that found no room in their buckets.
    pub(crate) stash: Vec<u32>,
    pub(crate) stash_limit: usize,
    /// Rotates the slot a displacement starts from.
    pub(crate) kick: usize,
}

impl Table {
    pub(crate) fn new(slots: usize) -> Table {
        let n = slots.div_ceil(BUCKET).max(4);
        Table {
            buckets: vec![[SLOT_EMPTY; BUCKET]; n],
            stash: Vec::new(),
            stash_limit: STASH_LIMIT,
            kick: 0,
        }
    }

    /// Slots for `entries` entries at the table's target load (3/4).
    pub(crate) fn slots_for(entries: usize) -> usize {
        (entries * 4).div_ceil(3) + BUCKET
    }

    pub(crate) fn slots(&self) -> usize {
        self.buckets.len() * BUCKET
    }

    /// Entries held (tests only: counted, not kept up to date on every
    /// insert and removal).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let full = self.buckets.iter().flatten().filter(|&&s| s != SLOT_EMPTY).count();
        full + self.stash.len()
    }

    /// Whether the stash is past its limit (the table should be rebuilt
    /// bigger).
    pub(crate) fn crowded(&self) -> bool {
        self.stash.len() > self.stash_limit
    }

    /// The key's two buckets and its slot tag (never 0xFF, which marks a
    /// free slot).
    #[inline]
    pub(crate) fn place_of(&self, h: u64) -> (usize, usize, u32) {
        let n = self.buckets.len();
        let b1 = reduce((h >> 32) as u32, n);
        let b2 = reduce(h as u32, n);
        let tag = ((h >> 32) as u32 & 0xFF).min(0xFE);
        (b1, b2, tag << IDX_BITS)
    }

    /// Bit `k` set where slot `k` of `b`, masked by `mask`, equals `want`.
    #[inline]
    pub(crate) fn matches(b: &[u32; BUCKET], mask: u32, want: u32) -> u32 {
        ((b[0] & mask == want) as u32)
            | ((b[1] & mask == want) as u32) << 1
            | ((b[2] & mask == want) as u32) << 2
            | ((b[3] & mask == want) as u32) << 3
    }

    /// Bit `k` set where slot `k` of `b` has tag `tag` (shifted into place).
    #[inline]
    pub(crate) fn tag_matches(b: &[u32; BUCKET], tag: u32) -> u32 {
        Self::matches(b, !IDX_MASK, tag)
    }

    #[inline]
    pub(crate) fn free(b: &[u32; BUCKET]) -> u32 {
        Self::matches(b, u32::MAX, SLOT_EMPTY)
    }

    /// Slot and index of the entry with hash `h` for which `is` holds; a
    /// miss tells whether no slot with `h`'s tag was met (then no entry with
    /// hash `h` is present).
    #[inline(always)]
    pub(crate) fn find(&self, h: u64, mut is: impl FnMut(u32) -> bool) -> Result<(usize, u32), bool> {
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
    pub(crate) fn find_in_stash(
        &self,
        tag: u32,
        mut is: impl FnMut(u32) -> bool,
        mut clean: bool,
    ) -> Result<(usize, u32), bool> {
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
    pub(crate) fn find_index(&self, h: u64, i: u32) -> Option<usize> {
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
    pub(crate) fn insert(&mut self, h: u64, i: u32, hash_of: impl Fn(u32) -> u64) -> bool {
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
    pub(crate) fn displace(&mut self, mut b: usize, mut slot: u32, hash_of: impl Fn(u32) -> u64) -> bool {
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
    pub(crate) fn remove(&mut self, p: usize) {
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
    pub(crate) fn repoint(&mut self, p: usize, i: u32) {
        let slots = self.slots();
        let s = match self.buckets.get_mut(p / BUCKET) {
            Some(b) => &mut b[p % BUCKET],
            None => &mut self.stash[p - slots],
        };
        *s = (*s & !IDX_MASK) | i;
    }
}
