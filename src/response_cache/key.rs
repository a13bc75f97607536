//! Response keys: Ellar's `route_cache_make_key` over a normalized URL, and
//! the per-prefix generation that invalidates a whole prefix without a scan.

use super::entry::CachedResponse;
use super::store::ResponseStore;
use super::{CachePolicy, ResponseCache};
use crate::http::HttpRequest;
use crate::primitives::error::{CacheError, Result};
use crate::primitives::order;
use crate::primitives::ttl::Ttl;

/// How long an isolate trusts the generation it read for a key prefix.
pub const GENERATION_REFRESH_MS: u64 = 1000;

/// Normalizes a URL for keys: lower-case scheme and host, no default port,
/// no fragment, no empty query; query parameters sorted when asked.
pub fn normalize_url(raw: &str, sort_query: bool) -> String {
    let Ok(mut u) = url::Url::parse(raw) else {
        return raw.to_string();
    };
    u.set_fragment(None);
    if u.query() == Some("") {
        u.set_query(None);
    }
    if sort_query {
        if let Some(q) = u.query() {
            let mut pairs: Vec<&str> = q.split('&').filter(|p| !p.is_empty()).collect();
            // By name only, and stable: `?q=a&q=b` and `?q=b&q=a` differ
            // (frameworks read the first or the last), so they never share.
            order::sort_by(&mut pairs, &|a, b| name_of(a).cmp(name_of(b)));
            let q = pairs.join("&");
            u.set_query(if q.is_empty() { None } else { Some(&q) });
        }
    }
    u.to_string()
}

/// A query parameter's name (`a` of `a=1`).
fn name_of(pair: &str) -> &str {
    pair.split('=').next().unwrap_or("")
}

/// The default response key: `GET <normalized url>:<prefix or "view">`, as
/// Ellar's `route_cache_make_key` (HEAD shares GET's entry).
pub fn default_response_key(req: &HttpRequest, key_prefix: &str, sort_query: bool) -> String {
    let prefix = if key_prefix.is_empty() { "view" } else { key_prefix };
    format!("GET {}:{prefix}", normalize_url(&req.url, sort_query))
}

impl ResponseCache {
    /// The key a request is stored under with this policy, before the
    /// generation suffix.
    pub fn key_for(&self, req: &HttpRequest, policy: &CachePolicy) -> String {
        match &policy.make_key {
            Some(f) => f(req, &policy.key_prefix),
            None => default_response_key(req, &policy.key_prefix, policy.sort_query),
        }
    }

    pub(super) fn generation_key(policy: &CachePolicy) -> String {
        let prefix = if policy.key_prefix.is_empty() {
            "view"
        } else {
            &policy.key_prefix
        };
        format!("edgecache:generation:{prefix}")
    }

    fn generation_id(store: &dyn ResponseStore, policy: &CachePolicy) -> String {
        format!(
            "{}\u{1e}{}\u{1e}{:?}",
            store.name(),
            Self::generation_key(policy),
            policy.version
        )
    }

    /// The generation this isolate last read and until when it is trusted
    /// ([`GENERATION_REFRESH_MS`] after the read); `None`: never read.
    pub(super) fn last_generation(&self, store: &dyn ResponseStore, policy: &CachePolicy) -> Option<(u64, u64)> {
        let id = Self::generation_id(store, policy);
        let (g, at) = self.inner.generations.borrow().get(&id).copied()?;
        Some((g, at + GENERATION_REFRESH_MS))
    }

    /// The generation this isolate last read, and whether it is still
    /// trusted.
    fn known_generation(&self, store: &dyn ResponseStore, policy: &CachePolicy) -> Option<(u64, bool)> {
        let now = self.inner.runtime.now_ms();
        self.last_generation(store, policy).map(|(g, until)| (g, now < until))
    }

    /// The current generation of a policy's key prefix (0 until bumped),
    /// read from the store at most once per [`GENERATION_REFRESH_MS`] per
    /// isolate: a bump made in this isolate shows at once, one made in
    /// another isolate (on a shared store) within that time.
    pub async fn generation(&self, store: &dyn ResponseStore, policy: &CachePolicy) -> Result<u64> {
        if let Some((g, true)) = self.known_generation(store, policy) {
            return Ok(g);
        }
        let now = self.inner.runtime.now_ms();
        let g = self.read_generation(store, policy).await?;
        self.inner
            .generations
            .borrow_mut()
            .insert(Self::generation_id(store, policy), (g, now));
        Ok(g)
    }

    /// The full key for `req` and the entry under it (`Err` inside: the
    /// entry could not be read). When the generation is due a re-read, it
    /// is read together with the entry under the generation last seen (0 at
    /// first), so a store that pipelines concurrent reads (Redis) answers
    /// both in one round trip; only after a bump does the entry take a
    /// second read, under the new key.
    pub(super) async fn key_and_entry(
        &self,
        store: &dyn ResponseStore,
        req: &HttpRequest,
        policy: &CachePolicy,
    ) -> Result<(String, Result<Option<CachedResponse>>)> {
        let key = self.key_for(req, policy);
        let with = |g: u64| match g {
            0 => key.clone(),
            g => format!("{key}#g{g}"),
        };
        let guess = match self.known_generation(store, policy) {
            Some((g, true)) => {
                let k = with(g);
                let entry = self.lookup(store, &k, req, policy.version).await;
                return Ok((k, entry));
            }
            Some((g, false)) => g,
            None => 0,
        };
        let guessed = with(guess);
        let (g, entry) = futures::future::join(
            self.generation(store, policy),
            self.lookup(store, &guessed, req, policy.version),
        )
        .await;
        match g? {
            g if g == guess => Ok((guessed, entry)),
            g => {
                let k = with(g);
                let entry = self.lookup(store, &k, req, policy.version).await;
                Ok((k, entry))
            }
        }
    }

    pub(super) async fn read_generation(&self, store: &dyn ResponseStore, policy: &CachePolicy) -> Result<u64> {
        Ok(match store.get(&Self::generation_key(policy), policy.version).await? {
            Some(raw) => std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| CacheError::Corrupt("generation counter is not a number".into()))?,
            None => 0,
        })
    }

    /// Invalidates every entry of a policy's key prefix at once, without
    /// scanning: keys embed the generation, so old entries are never read
    /// again and age out. Returns the new generation.
    pub async fn bump_generation(&self, policy: &CachePolicy) -> Result<u64> {
        let store = self.store(policy.backend.as_deref())?;
        let next = self.read_generation(&*store, policy).await? + 1;
        store
            .put(
                &Self::generation_key(policy),
                next.to_string().into_bytes(),
                Ttl::Never,
                policy.version,
            )
            .await?;
        let id = Self::generation_id(&*store, policy);
        self.inner.slots.borrow_mut().clear();
        self.inner
            .generations
            .borrow_mut()
            .insert(id, (next, self.inner.runtime.now_ms()));
        Ok(next)
    }

    pub(super) async fn full_key(
        &self,
        store: &dyn ResponseStore,
        req: &HttpRequest,
        policy: &CachePolicy,
    ) -> Result<String> {
        let key = self.key_for(req, policy);
        Ok(match self.generation(store, policy).await? {
            0 => key,
            g => format!("{key}#g{g}"),
        })
    }
}
