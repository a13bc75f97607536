//! The folded log: one [`Mark`] per scope, the rule "an entry stored before
//! a matching purge is gone (or stale)", syncing, and compaction.

use serde::{Deserialize, Serialize};

use super::marks::Marks;
use super::scope::{Mark, Purge, Scope};
use crate::primitives::order;

/// Scopes kept before the oldest fold into [`Scope::All`]: enough for busy
/// purging (4096 distinct URLs or tags), small enough for one sync reply.
pub const DEFAULT_MAX_MARKS: usize = 4096;

/// What a sync returns: the marks that moved after the cursor, and the
/// cursor for the next sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReply {
    /// The log's last sequence when it answered.
    pub head: u64,
    /// Every mark whose last purge is after the cursor.
    pub marks: Vec<(Scope, Mark)>,
}

/// What a hit is checked with.
#[derive(Clone, Copy, Debug)]
pub struct EntryFacts<'a> {
    /// The request's URL, normalized as the route's keys are.
    pub url: &'a str,
    /// The route's key prefix (as configured; empty = `view`).
    pub key_prefix: &'a str,
    /// The entry's cache tags.
    pub tags: &'a [String],
    /// The log sequence its isolate had synced before going to the origin.
    pub purge_seq: u64,
}

/// What the log says about one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No purge after it.
    Keep,
    /// Soft-purged: stale since this isolate learned of it (its clock).
    Stale {
        /// When it became stale, in ms on this isolate's clock.
        since_ms: u64,
    },
    /// Hard-purged.
    Gone,
}

/// The folded log. The authority's (Durable Object, Redis, or the isolate's
/// own without a shared log) assigns sequence numbers; an isolate's copy
/// merges [`SyncReply`]s and keeps its cursor in `head`.
#[derive(Clone, Debug)]
pub struct PurgeIndex {
    head: u64,
    marks: Marks,
    max_marks: usize,
}

impl Default for PurgeIndex {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MARKS)
    }
}

impl PurgeIndex {
    /// An empty index keeping at most `max_marks` scopes (at least 1).
    pub fn new(max_marks: usize) -> Self {
        PurgeIndex {
            head: 0,
            marks: Marks::default(),
            max_marks: max_marks.max(1),
        }
    }

    /// The last sequence assigned (authority) or synced (isolate).
    pub fn head(&self) -> u64 {
        self.head
    }

    /// How many scopes have a mark.
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    /// The marks with their scopes, in scope order.
    pub fn marks(&self) -> Vec<(Scope, Mark)> {
        let mut all: Vec<(Scope, Mark)> = self.marks.iter().map(|(s, m)| (s, *m)).collect();
        order::sort_by(&mut all, &|a, b| a.0.cmp(&b.0));
        all
    }

    /// Whether no purge was ever recorded.
    pub fn is_empty(&self) -> bool {
        self.marks.len() == 0
    }

    /// The authority's append: the next sequence is above the last and at
    /// least `now_ms` (the authority's clock), so an authority that lost its
    /// state still numbers above what isolates have synced.
    pub fn append(&mut self, purge: &Purge, now_ms: u64) -> u64 {
        let seq = (self.head + 1).max(now_ms);
        self.head = seq;
        self.record(purge, seq, now_ms);
        seq
    }

    /// An isolate's record of its own append (sequence `seq` from the
    /// authority), effective at once here; the cursor does not move, so the
    /// next sync still fetches what others appended meanwhile.
    pub fn record(&mut self, purge: &Purge, seq: u64, now_ms: u64) {
        let mark = Mark::of(purge.soft, seq);
        self.marks.entry(&purge.scope).merge(&mark, now_ms);
        self.compact();
    }

    /// The marks that moved after `cursor` (all of them for 0), in scope order.
    pub fn since(&self, cursor: u64) -> SyncReply {
        let mut marks = self.marks.collect_where(|m| m.last() > cursor);
        order::sort_by(&mut marks, &|a, b| a.0.cmp(&b.0));
        SyncReply { head: self.head, marks }
    }

    /// Folds an authority's reply in and moves the cursor.
    pub fn merge(&mut self, reply: &SyncReply, now_ms: u64) {
        for (scope, mark) in &reply.marks {
            self.marks.entry(scope).merge(mark, now_ms);
        }
        self.head = self.head.max(reply.head);
        self.compact();
    }

    /// Over `max_marks`, the oldest marks (down to three quarters, so
    /// compaction is rare) fold into [`Scope::All`]: every entry stored
    /// before them then counts as purged. That costs a refetch of old
    /// entries, never a stale page.
    fn compact(&mut self) {
        if self.marks.len() <= self.max_marks {
            return;
        }
        let keep = (self.max_marks * 3 / 4).max(1);
        let mut by_age: Vec<(u64, Scope)> = self
            .marks
            .iter()
            .filter(|(s, _)| *s != Scope::All)
            .map(|(s, m)| (m.last(), s))
            .collect();
        order::sort(&mut by_age);
        let drop = self.marks.len().saturating_sub(keep).min(by_age.len());
        let mut folded = Mark::default();
        for (_, scope) in by_age.into_iter().take(drop) {
            if let Some(m) = self.marks.remove(&scope) {
                folded.hard = folded.hard.max(m.hard);
                folded.soft = folded.soft.max(m.soft);
                folded.soft_seen_ms = folded.soft_seen_ms.max(m.soft_seen_ms);
            }
        }
        let all = self.marks.entry(&Scope::All);
        all.hard = all.hard.max(folded.hard);
        if folded.soft > all.soft {
            all.soft = folded.soft;
            all.soft_seen_ms = folded.soft_seen_ms;
        }
    }

    /// Whether any URL or URL-prefix purge is recorded (the caller then
    /// needs the normalized URL).
    pub fn has_url_marks(&self) -> bool {
        !self.marks.urls.is_empty() || !self.marks.url_prefixes.is_empty()
    }

    /// The rule: an entry stored before a matching hard purge is gone; before
    /// a matching soft purge (and no hard one), stale.
    pub fn verdict(&self, e: &EntryFacts<'_>) -> Verdict {
        if self.is_empty() {
            return Verdict::Keep;
        }
        let mut stale_since: Option<u64> = None;
        let mut check = |m: Option<&Mark>| -> bool {
            let Some(m) = m else { return false };
            if m.hard > e.purge_seq {
                return true;
            }
            if m.soft > e.purge_seq {
                stale_since = Some(stale_since.map_or(m.soft_seen_ms, |s| s.min(m.soft_seen_ms)));
            }
            false
        };
        let m = &self.marks;
        let gone = check(m.all.as_ref())
            || (!m.urls.is_empty() && check(m.urls.get(e.url)))
            || (!m.key_prefixes.is_empty() && check(m.key_prefixes.get(e.key_prefix)))
            || (!m.tags.is_empty() && e.tags.iter().any(|t| check(m.tags.get(t.as_str()))))
            || m.url_prefixes
                .iter()
                .any(|(p, mark)| e.url.starts_with(p.as_str()) && check(Some(mark)));
        match (gone, stale_since) {
            (true, _) => Verdict::Gone,
            (false, Some(since_ms)) => Verdict::Stale { since_ms },
            (false, None) => Verdict::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(url: &'a str, key_prefix: &'a str, tags: &'a [String], purge_seq: u64) -> EntryFacts<'a> {
        EntryFacts {
            url,
            key_prefix,
            tags,
            purge_seq,
        }
    }

    const U: &str = "https://site.test/shop/a?x=1";

    #[test]
    fn sequences_rise_above_the_last_and_the_clock() {
        let mut log = PurgeIndex::default();
        assert_eq!(log.append(&Purge::hard(Scope::All), 0), 1);
        assert_eq!(log.append(&Purge::hard(Scope::All), 0), 2);
        assert_eq!(log.append(&Purge::hard(Scope::All), 500), 500);
        // The clock going back never reuses a sequence.
        assert_eq!(log.append(&Purge::hard(Scope::All), 100), 501);
        assert_eq!(log.head(), 501);
    }

    #[test]
    fn each_scope_matches_only_entries_stored_before_it() {
        let tags = vec!["product-7".to_string(), "home".to_string()];
        let cases = [
            (Scope::Url(U.into()), true),
            (Scope::Url("https://site.test/shop/b".into()), false),
            (Scope::UrlPrefix("https://site.test/shop/".into()), true),
            (Scope::UrlPrefix("https://site.test/blog/".into()), false),
            (Scope::KeyPrefix("shop".into()), true),
            (Scope::KeyPrefix("blog".into()), false),
            (Scope::Tag("home".into()), true),
            (Scope::Tag("product-8".into()), false),
            (Scope::All, true),
        ];
        for (scope, matches) in cases {
            let mut log = PurgeIndex::default();
            let seq = log.append(&Purge::hard(scope.clone()), 1000);
            let before = log.verdict(&facts(U, "shop", &tags, seq - 1));
            let after = log.verdict(&facts(U, "shop", &tags, seq));
            let want = if matches { Verdict::Gone } else { Verdict::Keep };
            assert_eq!(before, want, "{scope:?}");
            assert_eq!(after, Verdict::Keep, "{scope:?}: stored after the purge");
        }
    }

    #[test]
    fn soft_is_stale_from_when_it_was_learned_and_hard_wins() {
        let mut log = PurgeIndex::default();
        let s = log.append(&Purge::soft(Scope::Tag("t".into())), 1000);
        let tags = vec!["t".to_string()];
        assert_eq!(
            log.verdict(&facts(U, "", &tags, s - 1)),
            Verdict::Stale { since_ms: 1000 }
        );
        assert_eq!(log.verdict(&facts(U, "", &tags, s)), Verdict::Keep);
        log.append(&Purge::hard(Scope::Url(U.into())), 2000);
        assert_eq!(log.verdict(&facts(U, "", &tags, s - 1)), Verdict::Gone);
        // Stored after the soft purge, before the hard one: gone too.
        assert_eq!(log.verdict(&facts(U, "", &tags, s)), Verdict::Gone);
    }

    #[test]
    fn an_isolate_syncs_incrementally_and_merging_is_idempotent() {
        let mut authority = PurgeIndex::default();
        let mut isolate = PurgeIndex::default();
        let a = authority.append(&Purge::hard(Scope::Tag("a".into())), 10);
        isolate.merge(&authority.since(isolate.head()), 50);
        assert_eq!(isolate.head(), a);
        let b = authority.append(&Purge::soft(Scope::Tag("b".into())), 20);
        let reply = authority.since(isolate.head());
        assert_eq!(reply.marks.len(), 1, "only what moved after the cursor");
        isolate.merge(&reply, 60);
        isolate.merge(&reply, 70);
        assert_eq!(isolate.head(), b);
        let tags = vec!["b".to_string()];
        // Learned at 60 (the isolate's clock), not re-stamped by the repeat.
        assert_eq!(
            isolate.verdict(&facts(U, "", &tags, a)),
            Verdict::Stale { since_ms: 60 }
        );
        assert_eq!(isolate.since(0), authority.since(0));
    }

    #[test]
    fn an_own_record_acts_at_once_without_moving_the_cursor() {
        let mut authority = PurgeIndex::default();
        let mut isolate = PurgeIndex::default();
        let other = authority.append(&Purge::hard(Scope::Tag("other".into())), 10);
        let mine = authority.append(&Purge::hard(Scope::Tag("mine".into())), 20);
        isolate.record(&Purge::hard(Scope::Tag("mine".into())), mine, 30);
        assert_eq!(isolate.head(), 0);
        let tags = ["mine".to_string(), "other".to_string()];
        assert_eq!(isolate.verdict(&facts(U, "", &tags[..1], 0)), Verdict::Gone);
        isolate.merge(&authority.since(isolate.head()), 40);
        assert_eq!(isolate.verdict(&facts(U, "", &tags[1..], other - 1)), Verdict::Gone);
    }

    #[test]
    fn compaction_bounds_the_marks_and_never_resurrects() {
        let mut log = PurgeIndex::new(8);
        let mut seqs = Vec::new();
        for i in 0..20 {
            seqs.push(log.append(&Purge::hard(Scope::Url(format!("https://s.test/{i}"))), 0));
        }
        assert!(log.len() <= 8 + 1, "{} marks", log.len());
        for (i, seq) in seqs.iter().enumerate() {
            let url = format!("https://s.test/{i}");
            // Everything stored before its purge is still gone.
            assert_eq!(log.verdict(&facts(&url, "", &[], seq - 1)), Verdict::Gone, "{url}");
        }
        // The newest purges still act alone: a later entry of another URL lives.
        let last = *seqs.last().unwrap();
        assert_eq!(log.verdict(&facts("https://s.test/new", "", &[], last)), Verdict::Keep);
        // The isolate that syncs from scratch gets the folded All mark.
        let mut fresh = PurgeIndex::new(8);
        fresh.merge(&log.since(0), 0);
        assert_eq!(
            fresh.verdict(&facts("https://s.test/0", "", &[], seqs[0] - 1)),
            Verdict::Gone
        );
    }

    #[test]
    fn replies_survive_json() {
        let mut log = PurgeIndex::default();
        log.append(&Purge::soft(Scope::UrlPrefix("https://s.test/a".into())), 5);
        log.append(&Purge::hard(Scope::All), 6);
        let reply = log.since(0);
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<SyncReply>(&text).unwrap(), reply);
        let p: Purge = serde_json::from_str(r#"{"scope": {"tag": "x"}}"#).unwrap();
        assert_eq!(p, Purge::hard(Scope::Tag("x".into())));
    }
}
