//! Eviction and admission: regrets move the window, the sketch decides
//! between a candidate and main's victim, expired entries go first.

use crate::*;

/// What the store remembers of main's victim between inserts.
#[derive(Clone, Copy)]
pub(crate) struct VictimMemo {
    /// Entry index (`NIL`: none).
    pub(crate) index: u32,
    pub(crate) hash: u64,
    /// Sketch block of its counters (`usize::MAX`: `freq` unknown), and the
    /// sketch's halvings when `freq` was read.
    pub(crate) block: usize,
    pub(crate) epoch: u32,
    pub(crate) freq: u32,
}

impl VictimMemo {
    pub(crate) const NONE: VictimMemo = VictimMemo {
        index: NIL,
        hash: 0,
        block: usize::MAX,
        epoch: 0,
        freq: 0,
    };
}

/// An entry waiting for room: it takes over the first evicted entry's slot.
pub(crate) struct Incoming<'a, B: ?Sized, V> {
    pub(crate) key: &'a B,
    pub(crate) value: V,
    pub(crate) deadline: u64,
    pub(crate) size: usize,
    pub(crate) hash: u64,
}

impl<V, K: StoreKey> Store<V, K> {
    /// A miss: if the key was evicted lately, count a regret for the side
    /// that evicted it, and move the window when the evidence suffices.
    #[inline(always)]
    pub(crate) fn regret(&mut self, hash: u32) {
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
    pub(crate) fn count_access(&mut self, h: u64) {
        if self.sketch.increment(h32(h)) == self.victim.block {
            self.victim.block = usize::MAX;
        }
    }

    /// Recomputes the window's and protected's shares of the bounds.
    pub(crate) fn set_shares(&mut self) {
        let (e, b) = (self.max_entries, self.limits.max_bytes);
        self.window = Share::of(e, b, self.window_frac);
        self.protected = Share::of(e, b, (1.0 - self.window_frac) * PROTECTED_SHARE);
    }

    /// Whether the window's candidate (estimated frequency `fc`) should
    /// replace main's victim (frequency `fv`).
    #[inline(always)]
    pub(crate) fn admit(&self, candidate: u32, mut fc: u32, victim: u32, mut fv: u32) -> bool {
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
    pub(crate) fn touch(&mut self, i: u32, h: u64) {
        if !self.nodes[i as usize].referenced() {
            self.count_access(h);
        }
        self.nodes[i as usize].set_referenced(true);
    }

    /// Clears entry `i`'s mark (its second chance is used) and tells its key
    /// ([`StoreKey::unmarked`]).
    #[inline(always)]
    pub(crate) fn unmark(&mut self, i: u32) {
        let n = &mut self.nodes[i as usize];
        n.set_referenced(false);
        n.key.unmarked();
    }

    /// Demotes protected's unmarked LRU entries to probation while protected
    /// is over its share (marked ones go back to its head, once each).
    pub(crate) fn rebalance_protected(&mut self) {
        let mut chances = self.queues[Q::Protected as usize].len;
        loop {
            let p = self.queues[Q::Protected as usize];
            if p.len <= 1 || !self.protected.exceeded(p.len, p.bytes) {
                return;
            }
            let t = p.tail;
            if chances > 0 && self.nodes[t as usize].referenced() {
                chances -= 1;
                self.unmark(t);
                self.move_to_front(t, Q::Protected);
            } else {
                self.move_to_front(t, Q::Probation);
            }
        }
    }

    /// The LRU end of queue `q` other than `keep`.
    #[inline]
    pub(crate) fn tail_except(&self, q: Q, keep: Option<u32>) -> u32 {
        let t = self.queues[q as usize].tail;
        if t != NIL && Some(t) == keep {
            self.nodes[t as usize].prev()
        } else {
            t
        }
    }

    /// The window's candidate: its LRU end, after marked entries there got
    /// their second chance.
    pub(crate) fn window_candidate(&mut self, keep: Option<u32>) -> u32 {
        let mut chances = self.queues[Q::Window as usize].len;
        loop {
            let t = self.tail_except(Q::Window, keep);
            if t == NIL || chances == 0 || !self.nodes[t as usize].referenced() {
                return t;
            }
            chances -= 1;
            self.unmark(t);
            self.move_to_front(t, Q::Window);
        }
    }

    #[inline]
    pub(crate) fn fits(&self, extra_entries: usize, extra_bytes: usize) -> bool {
        self.nodes.len() + extra_entries <= self.max_entries && self.bytes + extra_bytes <= self.limits.max_bytes
    }

    /// Moves window overflow into probation while main is under its share
    /// (while the store fills up, or after the window shrank).
    #[inline(always)]
    pub(crate) fn spill_window(&mut self) {
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
    pub(crate) fn main_victim(&mut self, keep: Option<u32>) -> Option<u32> {
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
            self.unmark(t);
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
            self.unmark(t);
            self.move_to_front(t, Q::Protected);
        }
    }

    /// Evicts live entry `i` (hash `h`), remembering it in a regret filter.
    /// If an `incoming` entry (with its key's hash) waits for room, it takes
    /// over `i`'s slot (no entry has to move), enters the table, and `keep`
    /// follows it from then on.
    pub(crate) fn evict(
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
    pub(crate) fn note_eviction(&mut self, i: u32, h: u64, extra_entries: usize) {
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
    pub(crate) fn reuse_slot(&mut self, i: u32, p: usize, inc: Incoming<'_, K::Borrowed, V>) {
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
    pub(crate) fn quick_evictee(&mut self, bytes: usize, now_ms: u64) -> Option<(u32, u64)> {
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
    pub(crate) fn purge_expired(&mut self, now_ms: u64, keep: &mut Option<u32>) {
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
    pub(crate) fn make_room(
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
}
