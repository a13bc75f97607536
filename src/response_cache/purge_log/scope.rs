//! What a purge names, and what the log keeps per name.

use serde::{Deserialize, Serialize};

/// What a purge invalidates. The order of the variants is the index's
/// order: URL prefixes are one contiguous range (scanned), the rest are
/// looked up exactly.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every entry.
    All,
    /// One URL (normalized as the route's keys are) and its Vary variants.
    Url(String),
    /// Every URL starting with this (normalized) prefix.
    UrlPrefix(String),
    /// Every entry of a route's key prefix (empty = `view`).
    KeyPrefix(String),
    /// Every entry whose origin response carried this cache tag.
    Tag(String),
}

/// One purge: a scope, hard (gone) or soft (stale: served under
/// stale-while-revalidate/stale-if-error while one request refreshes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    /// What it invalidates.
    pub scope: Scope,
    /// Mark stale instead of gone.
    #[serde(default)]
    pub soft: bool,
}

impl Purge {
    /// A hard purge of `scope`.
    pub fn hard(scope: Scope) -> Self {
        Purge { scope, soft: false }
    }

    /// A soft purge of `scope`.
    pub fn soft(scope: Scope) -> Self {
        Purge { scope, soft: true }
    }
}

/// The last purges of one scope: their sequence numbers (0 = none). Merging
/// two marks takes the maximum of each, so syncing is idempotent and the
/// order of replies does not matter. Two marks are equal when their
/// sequences are (when an isolate learned of them is its own business).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Mark {
    /// Sequence of the last hard purge.
    #[serde(default)]
    pub hard: u64,
    /// Sequence of the last soft purge.
    #[serde(default)]
    pub soft: u64,
    /// When this isolate learned of `soft` (its own clock): a soft-purged
    /// entry is stale from then, so its stale windows count from then.
    #[serde(skip)]
    pub soft_seen_ms: u64,
}

impl PartialEq for Mark {
    fn eq(&self, other: &Self) -> bool {
        (self.hard, self.soft) == (other.hard, other.soft)
    }
}

impl Eq for Mark {}

impl Mark {
    /// The mark one purge leaves: sequence `seq` as a soft or a hard purge.
    pub fn of(soft: bool, seq: u64) -> Mark {
        match soft {
            true => Mark {
                soft: seq,
                ..Mark::default()
            },
            false => Mark {
                hard: seq,
                ..Mark::default()
            },
        }
    }

    /// The later of the two sequences.
    pub fn last(&self) -> u64 {
        self.hard.max(self.soft)
    }

    /// Folds `other` in; returns whether anything moved.
    pub fn merge(&mut self, other: &Mark, now_ms: u64) -> bool {
        let mut moved = false;
        if other.hard > self.hard {
            self.hard = other.hard;
            moved = true;
        }
        if other.soft > self.soft {
            self.soft = other.soft;
            self.soft_seen_ms = now_ms;
            moved = true;
        }
        moved
    }
}
