//! The Workers Cache API as a response store (`cf-cache` in route rules).

use async_trait::async_trait;
use worker::{Cache, Headers, Response};

use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::{Timeout, Ttl};
use crate::response_cache::ResponseStore;

/// The Workers Cache API (`caches.default`) as a response store. Entries are
/// kept under synthetic URLs; freshness lives in the entry itself, the
/// Cache API only holds it for the retention time.
pub struct CfCacheStore {
    /// Retention used when a policy's ttl is the default.
    pub timeout: Timeout,
}

/// Host of the synthetic URLs; `.invalid` never resolves.
const CF_HOST: &str = "https://edgecache.invalid/";

impl CfCacheStore {
    fn url(key: &str, version: Option<i64>) -> String {
        let k = percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC);
        format!("{CF_HOST}{k}?v={}", version.unwrap_or(1))
    }

    fn fail(e: worker::Error) -> CacheError {
        CacheError::backend("cf-cache", e.to_string())
    }
}

#[async_trait(?Send)]
impl ResponseStore for CfCacheStore {
    fn name(&self) -> &str {
        "cf-cache"
    }

    fn default_timeout(&self) -> Timeout {
        self.timeout
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Vec<u8>>> {
        let found = Cache::default()
            .get(Self::url(key, version), true)
            .await
            .map_err(Self::fail)?;
        match found {
            None => Ok(None),
            Some(mut r) => Ok(Some(r.bytes().await.map_err(Self::fail)?)),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, ttl: Ttl, version: Option<i64>) -> Result<()> {
        let secs = match ttl.or(self.timeout) {
            Timeout::Never => 365 * 24 * 3600,
            Timeout::Seconds(s) if s <= 0.0 => return self.delete(key, version).await.map(|_| ()),
            Timeout::Seconds(s) => s.ceil() as u64,
        };
        let headers = Headers::new();
        headers
            .set("cache-control", &format!("public, max-age={secs}"))
            .map_err(Self::fail)?;
        headers
            .set("content-type", "application/octet-stream")
            .map_err(Self::fail)?;
        let resp = Response::from_bytes(bytes).map_err(Self::fail)?.with_headers(headers);
        Cache::default()
            .put(Self::url(key, version), resp)
            .await
            .map_err(Self::fail)
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let outcome = Cache::default()
            .delete(Self::url(key, version), true)
            .await
            .map_err(Self::fail)?;
        Ok(matches!(outcome, worker::CacheDeletionOutcome::Success))
    }

    async fn delete_prefix(&self, _: &str, _: Option<i64>) -> Result<usize> {
        Err(CacheError::Unsupported(
            "the Cache API cannot list keys; purge by URL or bump the generation".into(),
        ))
    }
}
