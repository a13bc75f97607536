//! Invalidation: by URL (with its Vary variants) and by URL prefix.

use super::entry::CachedResponse;
use super::key::normalize_url;
use super::{CachePolicy, ResponseCache};
use crate::http::{HttpRequest, HttpResponse};
use crate::primitives::error::{CacheError, Result};

impl ResponseCache {
    /// Invalidates the entry of one URL and its Vary variants (which live
    /// under the key plus `\u{1f}`; a store that cannot delete by prefix,
    /// the Cache API, keeps them until they expire, and they are served
    /// again once a new pointer names the same headers).
    pub async fn purge_url(&self, url: &str, policy: &CachePolicy) -> Result<bool> {
        let store = self.store(policy.backend.as_deref())?;
        let key = self.full_key(&*store, &HttpRequest::get(url), policy).await?;
        // Only a Vary pointer has variants: other URLs skip the prefix
        // delete, which on Redis scans the keyspace.
        let varies = match store.get(&key, policy.version).await {
            Ok(Some(raw)) => CachedResponse::decode(&raw).map_or(true, |e| e.is_variants()),
            _ => true,
        };
        let main = store.delete(&key, policy.version).await?;
        if !varies {
            return Ok(main);
        }
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
            let _ = self.purge_url(u.as_str(), policy).await;
        }
    }
}
