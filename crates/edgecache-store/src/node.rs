//! An entry's packed layout (size, deadline, links, queue in two words), the
//! three queues' heads and the window/protected shares.

use crate::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Q {
    Window = 0,
    Probation = 1,
    Protected = 2,
}

pub(crate) struct Node<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// Charged size (low 30 bits) | deadline's low 34 bits.
    pub(crate) a: u64,
    /// prev (24 bits) | next (24 bits) | queue (2 bits) | referenced since
    /// last looked at (1 bit) | deadline's high 13 bits. The fields an
    /// eviction reads (links, queue, size) each sit in one word; the deadline,
    /// read once per hit, is the one split.
    pub(crate) b: u64,
}

pub(crate) const M24: u64 = (1 << 24) - 1;
pub(crate) const M30: u64 = (1 << 30) - 1;
pub(crate) const M34: u64 = (1 << 34) - 1;
pub(crate) const M51: u64 = (1 << 51) - 1;
pub(crate) const QUEUE_SHIFT: u32 = 48;
pub(crate) const REFERENCED: u64 = 1 << 50;

impl<K: StoreKey, V> Node<K, V> {
    pub(crate) fn new(key: &K::Borrowed, value: V, deadline: u64, size: usize, q: Q) -> Self {
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
    pub(crate) fn reset(&mut self, deadline: u64, size: usize, q: Q) {
        self.a = size as u64;
        self.b = (NIL as u64) | ((NIL as u64) << 24) | ((q as u64) << QUEUE_SHIFT);
        self.set_deadline(deadline);
    }
    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        ((self.b >> 51) << 34) | (self.a >> 30)
    }
    pub(crate) fn set_deadline(&mut self, d: u64) {
        let d = d.min(NO_DEADLINE);
        self.a = (self.a & M30) | ((d & M34) << 30);
        self.b = (self.b & M51) | ((d >> 34) << 51);
    }
    #[inline]
    pub(crate) fn referenced(&self) -> bool {
        self.b & REFERENCED != 0
    }
    #[inline]
    pub(crate) fn set_referenced(&mut self, r: bool) {
        self.b = (self.b & !REFERENCED) | if r { REFERENCED } else { 0 };
    }
    #[inline]
    pub(crate) fn size(&self) -> usize {
        (self.a & M30) as usize
    }
    pub(crate) fn set_size(&mut self, s: usize) {
        self.a = (self.a & !M30) | s as u64;
    }
    #[inline]
    pub(crate) fn queue(&self) -> Q {
        match (self.b >> QUEUE_SHIFT) & 3 {
            0 => Q::Window,
            1 => Q::Probation,
            _ => Q::Protected,
        }
    }
    #[inline]
    pub(crate) fn set_queue(&mut self, q: Q) {
        self.b = (self.b & !(3 << QUEUE_SHIFT)) | ((q as u64) << QUEUE_SHIFT);
    }
    #[inline]
    pub(crate) fn prev(&self) -> u32 {
        (self.b & M24) as u32
    }
    #[inline]
    pub(crate) fn set_prev(&mut self, i: u32) {
        self.b = (self.b & !M24) | i as u64;
    }
    #[inline]
    pub(crate) fn next(&self) -> u32 {
        ((self.b >> 24) & M24) as u32
    }
    #[inline]
    pub(crate) fn set_next(&mut self, i: u32) {
        self.b = (self.b & !(M24 << 24)) | ((i as u64) << 24);
    }
    pub(crate) fn expiry(&self) -> Option<u64> {
        let d = self.deadline();
        (d != NO_DEADLINE).then_some(d)
    }
    /// The key's hash (not stored: recomputed for the few entries an
    /// eviction or a rebuild needs).
    #[inline(always)]
    pub(crate) fn hash(&self) -> u64 {
        K::hash_of(self.key.borrowed())
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Queue {
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) len: usize,
    pub(crate) bytes: usize,
}

pub(crate) const EMPTY_QUEUE: Queue = Queue {
    head: NIL,
    tail: NIL,
    len: 0,
    bytes: 0,
};

/// A share of the bounds, in entries and bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Share {
    pub(crate) entries: usize,
    pub(crate) bytes: usize,
}

impl Share {
    pub(crate) fn of(max_entries: usize, max_bytes: usize, frac: f64) -> Share {
        let f = frac.clamp(0.0, 1.0);
        Share {
            entries: (max_entries as f64 * f) as usize,
            bytes: (max_bytes as f64 * f) as usize,
        }
    }
    pub(crate) fn exceeded(&self, len: usize, bytes: usize) -> bool {
        len > self.entries || bytes > self.bytes
    }
}
