//! Tests of the store: invariants, both eviction paths, randomized models.

use crate::key::{eq_bytes, hash_str};
use crate::*;

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

#[test]
fn record_miss_then_insert_steers_the_policy_as_a_get_that_missed() {
    // A recency-heavy trace (a sliding working set larger than the default
    // window), replayed by a front-end that finds misses itself: the window
    // must move as it does for `get` misses, so both stores keep the same
    // entries and count the same hits and misses.
    let limits = StoreLimits {
        max_entries: 200,
        max_bytes: 1 << 20,
    };
    let mut by_get: Store<(), u64> = Store::new(limits);
    let mut by_front: Store<(), u64> = Store::new(limits);
    let mut s = 7u64;
    let (mut hits_get, mut hits_front) = (0, 0);
    for t in 0..60_000u64 {
        let k = t / 3 + lcg(&mut s) % 150;
        if by_get.get(&k, 0).is_some() {
            hits_get += 1;
        } else {
            by_get.insert(&k, (), 1, None, 0).unwrap();
        }
        if by_front.peek(&k, 0).is_some() {
            by_front.get(&k, 0);
            hits_front += 1;
        } else {
            by_front.record_miss(&k);
            by_front.insert(&k, (), 1, None, 0).unwrap();
        }
    }
    assert_eq!(hits_get, hits_front);
    assert_eq!(by_get.stats().misses, by_front.stats().misses);
    assert_eq!(by_get.stats().window_permille, by_front.stats().window_permille);
    assert!(by_get.stats().window_permille > 10, "the trace did move the window");
    by_front.check();
}

std::thread_local! {
    /// Keys whose mark was cleared (`Tracked::unmarked`).
    static UNMARKED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A `u64` key that reports cleared marks, as the npm package's does.
#[derive(PartialEq)]
struct Tracked(u64);

impl StoreKey for Tracked {
    type Borrowed = u64;
    fn from_borrowed(key: &u64) -> Self {
        Tracked(*key)
    }
    fn borrowed(&self) -> &u64 {
        &self.0
    }
    fn hash_of(key: &u64) -> u64 {
        <u64 as StoreKey>::hash_of(key)
    }
    fn unmarked(&self) {
        UNMARKED.with(|u| u.borrow_mut().push(self.0));
    }
}

#[test]
fn a_front_end_that_mirrors_marks_may_skip_hits_of_marked_entries() {
    // The same traces through a store given every hit, and through one whose
    // front-end keeps a copy of the marks (`StoreKey::unmarked`) and passes
    // on only hits of entries it believes unmarked: both must keep the same
    // entries and take the same decisions. A recency-heavy trace, a Zipf-like
    // one and a loop, with entry and byte bounds, so that all three
    // second-chance sites (window, probation, protected) clear marks.
    for (seed, max_entries, max_bytes) in [(7, 200, 1 << 20), (11, 1000, 1 << 20), (13, 5000, 60_000)] {
        let limits = StoreLimits { max_entries, max_bytes };
        let mut every: Store<(), u64> = Store::new(limits);
        let mut front: Store<(), Tracked> = Store::new(limits);
        let mut marked = std::collections::HashSet::new();
        let (mut skipped, mut unmarks) = (0, 0);
        let mut s = seed;
        for t in 0..120_000u64 {
            let r = lcg(&mut s);
            let k = match t % 3 {
                0 => t / 4 + r % 150,
                1 => (r % 1000) * (r % 7) / 3,
                _ => t % (max_entries as u64 + 50),
            };
            let size = 1 + (k % 5) as usize * 8;
            let hit_every = every.get(&k, 0).is_some();
            if !hit_every {
                every.insert(&k, (), size, None, 0).unwrap();
            }
            let hit_front = front.peek(&k, 0).is_some();
            assert_eq!(hit_every, hit_front, "request {t}, key {k}");
            if hit_front {
                if marked.insert(k) {
                    front.get(&k, 0);
                } else {
                    skipped += 1;
                }
            } else {
                front.record_miss(&k);
                front.insert(&k, (), size, None, 0).unwrap();
                marked.remove(&k);
            }
            UNMARKED.with(|u| {
                for k in u.borrow_mut().drain(..) {
                    marked.remove(&k);
                    unmarks += 1;
                }
            });
        }
        assert!(
            skipped > 10_000 && unmarks > 1_000,
            "seed {seed}: {skipped} hits skipped, {unmarks} unmarks"
        );
        let (a, b) = (every.stats(), front.stats());
        assert_eq!(
            (
                a.evicted_entries_bound,
                a.evicted_bytes_bound,
                a.admission_rejections,
                a.window_permille
            ),
            (
                b.evicted_entries_bound,
                b.evicted_bytes_bound,
                b.admission_rejections,
                b.window_permille
            ),
            "seed {seed}"
        );
        let mut held: Vec<u64> = every.nodes.iter().map(|n| n.key).collect();
        let mut held_front: Vec<u64> = front.nodes.iter().map(|n| n.key.0).collect();
        held.sort_unstable();
        held_front.sort_unstable();
        assert_eq!(held, held_front, "seed {seed}");
        front.check();
    }
}
