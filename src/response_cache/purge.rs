//! Invalidation: by URL (with its Vary variants) and by URL prefix.

use super::entry::CachedResponse;
use super::key::normalize_url;
use super::purge_log::Purge;
use super::{CachePolicy, ResponseCache};
use crate::http::{HttpRequest, HttpResponse};
use crate::primitives::error::{CacheError, Result};

impl ResponseCache {
    /// Invalidates the entry of one URL and its Vary variants (which live
    /// under the key plus `\u{1f}`; a store that cannot delete by prefix,
    /// the Cache API, keeps them until they expire, and they are served
    /// again once a new pointer names the same headers).
    /// It is also recorded in the purge log (see
    /// [`invalidate`](Self::invalidate)), so it reaches every isolate that
    /// shares the log and every store, including the Cache API.
    pub async fn purge_url(&self, url: &str, policy: &CachePolicy) -> Result<bool> {
        self.invalidate(Purge::hard(Self::url_scope(url, policy))).await?;
        self.drop_url(url, policy, true).await
    }

    /// [`purge_url`](Self::purge_url)'s work. Only a Vary pointer has
    /// variants, so other URLs skip the prefix delete (on Redis a keyspace
    /// scan, in memory a walk over every entry). With no entry at all, a
    /// purge still scans (variants may outlive an evicted pointer), while
    /// the invalidation after each write does not: it runs on every
    /// successful POST, and variants written with a pointer expire with it.
    async fn drop_url(&self, url: &str, policy: &CachePolicy, scan_when_absent: bool) -> Result<bool> {
        let store = self.store(policy.backend.as_deref())?;
        let key = self.full_key(&*store, &HttpRequest::get(url), policy).await?;
        let varies = match store.get(&key, policy.version).await {
            Ok(Some(raw)) => CachedResponse::decode(&raw).map_or(true, |e| e.is_variants()),
            Ok(None) => scan_when_absent,
            Err(_) => true,
        };
        self.inner.slots.borrow_mut().forget_key(&key);
        let main = store.delete(&key, policy.version).await?;
        if !varies {
            return Ok(main);
        }
        self.inner.slots.borrow_mut().clear();
        let variants = match store.delete_prefix(&format!("{key}\u{1f}"), policy.version).await {
            Ok(n) => n,
            Err(CacheError::Unsupported(_)) => 0,
            Err(e) => return Err(e),
        };
        Ok(main || variants > 0)
    }

    /// Invalidates every entry whose URL starts with `url_prefix` (stores that can list keys).
    pub async fn purge_prefix(&self, url_prefix: &str, policy: &CachePolicy) -> Result<usize> {
        let store = self.store(policy.backend.as_deref())?;
        let start = format!("GET {}", normalize_url(url_prefix, policy.sort_query));
        self.inner.slots.borrow_mut().clear();
        store.delete_prefix(&start, policy.version).await
    }

    /// After a successful unsafe request (POST, PUT, DELETE, PATCH) to
    /// `url`: drops the URL's entry and those of the `Location` and
    /// `Content-Location` URLs on the same origin (RFC 9111 §4.4). Store
    /// errors are ignored: the write went through, the answer stands.
    pub async fn invalidate_after_write(&self, url: &str, response: &HttpResponse, policy: &CachePolicy) {
        let Ok(base) = url::Url::parse(url) else {
            return;
        };
        let mut urls = vec![base.clone()];
        for h in ["location", "content-location"] {
            if let Some(u) = response.header(h).and_then(|v| base.join(v.trim()).ok()) {
                if u.origin() == base.origin() && !urls.contains(&u) {
                    urls.push(u);
                }
            }
        }
        for u in urls {
            let _ = self.drop_url(u.as_str(), policy, false).await;
        }
    }
}
