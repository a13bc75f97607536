//! The response cache's side of the purge log: appending purges, syncing
//! the isolate's index at most once per `purge_sync_ms` (before a lookup,
//! by the request that finds it due; the others go on with the index they
//! have), and the check of each hit against it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::{select, Either};

use super::entry::CachedResponse;
use super::key::normalize_url;
use super::purge_log::{EntryFacts, Purge, PurgeIndex, PurgeLog, Reach, Scope, Verdict};
use super::{CachePolicy, ResponseCache};
use crate::http::HttpRequest;
use crate::primitives::error::Result;

/// How often an isolate syncs with a shared log by default: a purge reaches
/// every isolate within about a second, for one log request per isolate
/// per second.
pub const DEFAULT_PURGE_SYNC_MS: u64 = 1000;
/// How long a sync may take before the request goes on with the index it
/// has (a hanging log delays one request per interval by at most this).
pub const PURGE_SYNC_TIMEOUT_MS: u64 = 1000;

/// The normalized URL inside a default key (`GET <url>:<prefix>`, then
/// `#g<generation>` once bumped), without parsing the URL again; `None`
/// for keys of a `make_key` callback.
fn url_of_key<'a>(key: &'a str, policy: &CachePolicy) -> Option<&'a str> {
    if policy.make_key.is_some() {
        return None;
    }
    // A normalized URL has no fragment, so a `#` can only start the suffix.
    let key = key.rfind("#g").map_or(key, |i| &key[..i]);
    let prefix = if policy.key_prefix.is_empty() {
        "view"
    } else {
        &policy.key_prefix
    };
    key.strip_prefix("GET ")?.strip_suffix(prefix)?.strip_suffix(':')
}

/// The purge log state of one response cache.
#[derive(Default)]
pub(super) struct PurgeState {
    index: RefCell<PurgeIndex>,
    log: RefCell<Option<Rc<dyn PurgeLog>>>,
    sync_ms: Cell<u64>,
    /// When the last sync started (success or not: a failing log is asked
    /// again after the interval, not on every request).
    last_sync_ms: Cell<Option<u64>>,
    syncing: Rc<Cell<bool>>,
}

/// Clears the in-flight flag even when the request is dropped mid-sync.
struct SyncGuard(Rc<Cell<bool>>);

impl Drop for SyncGuard {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl ResponseCache {
    /// Shares invalidation with every isolate through `log`, syncing at
    /// most every `sync_ms`. Without it, purges reach this cache only.
    pub fn set_purge_log(&self, log: Rc<dyn PurgeLog>, sync_ms: u64) {
        let p = &self.inner.purges;
        *p.log.borrow_mut() = Some(log);
        self.inner.slots.borrow_mut().clear();
        p.sync_ms.set(sync_ms);
        p.last_sync_ms.set(None);
    }

    /// How far a purge through this cache reaches, and the log's name.
    pub fn purge_reach(&self) -> (Reach, String) {
        match &*self.inner.purges.log.borrow() {
            Some(l) => (l.reach(), l.name().to_string()),
            None => (Reach::Isolate, "none".to_string()),
        }
    }

    /// The sync interval (0 without a shared log).
    pub fn purge_sync_ms(&self) -> u64 {
        self.inner.purges.sync_ms.get()
    }

    /// Records `purge` in the log (shared, or this cache's own): entries
    /// stored before it are gone (stale, for a soft purge) here at once and
    /// in other isolates after their next sync. Returns its sequence.
    pub async fn invalidate(&self, purge: Purge) -> Result<u64> {
        let log = self.inner.purges.log.borrow().clone();
        let now = self.inner.runtime.now_ms();
        self.inner.slots.borrow_mut().clear();
        let seq = match log {
            Some(log) => {
                let seq = log.append(&purge).await?;
                self.inner.purges.index.borrow_mut().record(&purge, seq, now);
                // The next request syncs: until the cursor passes `seq`,
                // what this isolate stores counts as purged.
                self.inner.purges.last_sync_ms.set(None);
                seq
            }
            None => self.inner.purges.index.borrow_mut().append(&purge, now),
        };
        self.count(|s| s.purges += 1);
        Ok(seq)
    }

    /// The scope of one URL under `policy` (normalized as its keys are).
    pub fn url_scope(url: &str, policy: &CachePolicy) -> Scope {
        Scope::Url(normalize_url(url, policy.sort_query))
    }

    /// The scope of every URL starting with `prefix` (an absolute URL).
    pub fn url_prefix_scope(prefix: &str) -> Scope {
        Scope::UrlPrefix(normalize_url(prefix, false))
    }

    /// The sequence an entry fetched now carries: the log's last one this
    /// isolate synced.
    pub(super) fn purge_seq(&self) -> u64 {
        self.inner.purges.index.borrow().head()
    }

    /// Until when this isolate may answer without syncing: `Some(u64::MAX)`
    /// without a shared log, `None` while a sync is due or running.
    pub(super) fn purge_sync_until(&self) -> Option<u64> {
        let p = &self.inner.purges;
        if p.log.borrow().is_none() {
            return Some(u64::MAX);
        }
        match (p.syncing.get(), p.last_sync_ms.get()) {
            (false, Some(at)) => Some(at.saturating_add(p.sync_ms.get())),
            _ => None,
        }
    }

    /// Brings the index up to date when the interval has passed.
    pub(super) async fn sync_purges(&self) {
        let p = &self.inner.purges;
        let Some(log) = p.log.borrow().clone() else {
            return;
        };
        let now = self.inner.runtime.now_ms();
        if p.syncing.get()
            || p.last_sync_ms
                .get()
                .is_some_and(|at| now.saturating_sub(at) < p.sync_ms.get())
        {
            return;
        }
        p.syncing.set(true);
        let _guard = SyncGuard(p.syncing.clone());
        p.last_sync_ms.set(Some(now));
        let cursor = p.index.borrow().head();
        let call = log.since(cursor);
        let timeout = self.inner.runtime.sleep(PURGE_SYNC_TIMEOUT_MS);
        let outcome = match select(call, timeout).await {
            Either::Left((r, _)) => r.ok(),
            Either::Right(_) => None,
        };
        match outcome {
            Some(reply) => {
                if !reply.marks.is_empty() {
                    self.inner.slots.borrow_mut().clear();
                }
                p.index.borrow_mut().merge(&reply, self.inner.runtime.now_ms());
                self.count(|s| s.purge_syncs += 1);
            }
            None => self.count(|s| s.purge_sync_errors += 1),
        }
    }

    /// The entry as the log has it: `None` when hard-purged, stale from when
    /// this isolate learned of a soft purge, else unchanged.
    pub(super) fn after_purges(
        &self,
        mut entry: CachedResponse,
        req: &HttpRequest,
        key: &str,
        policy: &CachePolicy,
    ) -> Option<CachedResponse> {
        let index = self.inner.purges.index.borrow();
        if index.is_empty() {
            return Some(entry);
        }
        let normalized;
        let url = match index.has_url_marks() {
            false => "",
            true => match url_of_key(key, policy) {
                Some(u) => u,
                None => {
                    normalized = normalize_url(&req.url, policy.sort_query);
                    &normalized
                }
            },
        };
        let facts = EntryFacts {
            url,
            key_prefix: &policy.key_prefix,
            tags: &entry.tags,
            purge_seq: entry.purge_seq,
        };
        match index.verdict(&facts) {
            Verdict::Keep => Some(entry),
            Verdict::Gone => None,
            Verdict::Stale { since_ms } => {
                let until = since_ms.saturating_sub(entry.stored_at_ms);
                entry.freshness.fresh_ms = Some(entry.freshness.fresh_ms.map_or(until, |f| f.min(until)));
                Some(entry)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response_cache::default_response_key;

    #[test]
    fn the_url_in_a_key_is_the_normalized_url() {
        for (url, prefix, sort) in [
            ("https://Site.TEST:443/a?b=2&a=1#frag", "", false),
            ("https://site.test/a?b=2&a=1", "shop", true),
            ("http://site.test:8080/x:y/view?", "view", false),
            ("https://site.test/%7Efoo?q=a#b", "a:b", false),
        ] {
            let policy = CachePolicy {
                key_prefix: prefix.into(),
                sort_query: sort,
                ..Default::default()
            };
            let key = default_response_key(&HttpRequest::get(url), prefix, sort);
            let want = normalize_url(url, sort);
            assert_eq!(url_of_key(&key, &policy), Some(want.as_str()), "{key}");
            assert_eq!(url_of_key(&format!("{key}#g12"), &policy), Some(want.as_str()));
        }
        let custom = CachePolicy {
            make_key: Some(std::rc::Rc::new(|_: &HttpRequest, _: &str| "k".to_string())),
            ..Default::default()
        };
        assert_eq!(url_of_key("GET https://s.test/:view", &custom), None);
    }
}
