//! The store: its state, index maintenance and the public API.

use crate::*;

/// A bounded map from string keys (or other [`StoreKey`]s) to values with
/// per-entry expiry.
pub struct Store<V, K: StoreKey = Box<str>> {
    pub(crate) limits: StoreLimits,
    /// The most entries that can ever be held: `limits.max_entries`, capped
    /// by what indices address and by `max_bytes / ENTRY_OVERHEAD`.
    pub(crate) max_entries: usize,
    pub(crate) nodes: Vec<Node<K, V>>,
    /// Key → entry index.
    pub(crate) table: Table,
    pub(crate) queues: [Queue; 3],
    pub(crate) bytes: usize,
    pub(crate) stats: StoreStats,
    pub(crate) sketch: Sketch,
    /// Candidates recently evicted from the window (lost admission) and
    /// victims recently evicted from main.
    pub(crate) ghosts: Ghosts,
    pub(crate) window_frac: f64,
    pub(crate) window_regrets: u32,
    pub(crate) main_regrets: u32,
    pub(crate) window: Share,
    pub(crate) protected: Share,
    /// No entry expires before this (a lower bound).
    pub(crate) earliest_deadline: u64,
    /// Whether `trim` ran.
    pub(crate) trimmed: bool,
    /// Hash of the key of the last `get` that missed, if its probe met no
    /// slot with the key's tag and home, and the table has not changed
    /// since: then no key with this hash is present, and the `insert` that
    /// follows a miss skips its own probe.
    pub(crate) missed: Option<u64>,
    /// Main's last victim, which usually stays the victim for many inserts
    /// (candidates keep losing to it): its key's hash and its frequency
    /// estimate are not recomputed each time.
    pub(crate) victim: VictimMemo,
    /// Tests only: always take `make_room`'s general path.
    #[cfg(test)]
    pub(crate) no_quick_path: bool,
}

#[inline]
pub(crate) fn expired(deadline: u64, now_ms: u64) -> bool {
    deadline != NO_DEADLINE && deadline <= now_ms
}

impl<V, K: StoreKey> Store<V, K> {
    /// An empty store with these bounds; memory grows with the entries held.
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

    /// The bounds as given (before capping by `ENTRY_OVERHEAD` and index width).
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Entries held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no entries are held (expired ones count until dropped).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Bytes charged, overhead included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The counters, with `entries`, `bytes` and `window_permille` as of now.
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
    pub(crate) fn place(&mut self, h: u64, i: u32) {
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
    pub(crate) fn rebuild_table(&mut self, slots: usize) {
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
    pub(crate) fn reserve_one(&mut self) {
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
    pub(crate) fn resize_sketch(&mut self, capacity: usize) {
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
    pub(crate) fn trim(&mut self) {
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
    pub(crate) fn find(&self, key: &K::Borrowed, h: u64) -> Option<(usize, u32)> {
        self.probe(key, h).ok()
    }

    /// Like `find`; a miss tells whether the probe met no slot with the
    /// key's tag (then no key with hash `h` is present at all).
    #[inline]
    pub(crate) fn probe(&self, key: &K::Borrowed, h: u64) -> Result<(usize, u32), bool> {
        let nodes = &self.nodes;
        self.table.find(h, |i| nodes[i as usize].key.matches(key))
    }

    /// Table position of entry `i`, whose key hashes to `h`.
    #[inline]
    pub(crate) fn position_of(&self, i: u32, h: u64) -> usize {
        self.table.find_index(h, i).expect("entry in the table")
    }

    /// Empties table slot `p`.
    #[inline]
    pub(crate) fn clear_slot(&mut self, p: usize) {
        self.missed = None;
        self.table.remove(p);
    }

    // ---- queues ------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn unlink(&mut self, i: u32) {
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
    pub(crate) fn push_front(&mut self, i: u32, q: Q) {
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
    pub(crate) fn move_to_front(&mut self, i: u32, q: Q) {
        self.unlink(i);
        self.push_front(i, q);
    }

    /// Removes entry `i` (at table position `pos`) entirely. The last entry
    /// moves into index `i`; if `keep` named it, `keep` follows it.
    pub(crate) fn remove_at(&mut self, i: u32, pos: usize, keep: &mut Option<u32>) -> Node<K, V> {
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
    pub(crate) fn remove_index(&mut self, i: u32, keep: &mut Option<u32>) -> Node<K, V> {
        let h = self.nodes[i as usize].hash();
        let p = self.position_of(i, h);
        self.remove_at(i, p, keep)
    }
}

impl<V, K: StoreKey> Store<V, K> {
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

    /// Counts a miss of `key` that the caller found without [`Store::get`]
    /// (a front-end that keeps its own index, such as the npm package's
    /// `LocalCache`, and writes the key next): the same counters and regrets
    /// as a `get` that misses, without the lookup. The caller vouches that
    /// the key is absent, so an `insert` of it next skips its own probe.
    pub fn record_miss(&mut self, key: &K::Borrowed) {
        let h = K::hash_of(key);
        debug_assert!(self.find(key, h).is_none(), "record_miss of a key held");
        self.stats.misses += 1;
        self.missed = Some(h);
        self.regret(h32(h));
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
