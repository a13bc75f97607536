//! The request path: look the request up, serve it fresh or stale, or go to
//! the origin.

use super::client::ClientAsk;
use super::entry::CachedResponse;
use super::fetch::Fetched;
use super::screen::screen;
use super::store::ResponseStore;
use super::{CachePolicy, Io, ResponseCache};
use crate::http::{
    request_mode, staleness, variant_key, BypassReason, CacheStatus, Forward, FreshnessRules, HttpRequest,
    HttpResponse, RequestMode, Staleness,
};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::Timeout;

/// `Cache-Status` `ttl` of an answer stale by `by_ms`: freshness lifetime
/// minus age, in whole seconds rounded down (RFC 9211, RFC 9111 §4.2).
fn stale_ttl(by_ms: u64) -> i64 {
    -(by_ms.div_ceil(1000) as i64)
}

/// How often a client's `no-cache` may refetch one key, when honoured.
const REVALIDATE_EVERY_MS: u64 = 1000;

impl ResponseCache {
    pub(super) fn rules(policy: &CachePolicy, store: &dyn ResponseStore) -> FreshnessRules {
        // In RFC 9111 mode only a ttl set on the route (or wrapper) fills in
        // for a response without freshness information: by default such a
        // response is not reused (nginx without proxy_cache_valid), so an
        // origin that says nothing is not cached for the backend's 300 s.
        let fallback = match policy.origin_ttl {
            true => Timeout::Seconds(0.0),
            false => store.default_timeout(),
        };
        FreshnessRules {
            ttl: policy.ttl.or(fallback),
            origin_ttl: policy.origin_ttl,
            heuristic_max: policy.heuristic_max,
            keep: policy.keep,
            stale_while_revalidate: policy.stale_while_revalidate,
            stale_if_error: policy.stale_if_error,
        }
    }

    /// Answers `req` from the cache or the origin.
    pub async fn handle(&self, mut req: HttpRequest, policy: &CachePolicy, io: &Io) -> HttpResponse {
        let mut mode = request_mode(
            &req.method,
            req.header("cache-control").as_deref(),
            req.header("pragma").as_deref(),
        );
        if mode == RequestMode::Revalidate && !policy.honor_client_no_cache {
            mode = RequestMode::Lookup;
        }
        if mode != RequestMode::Bypass(BypassReason::Method) {
            if let Some(why) = screen(&mut req, policy) {
                mode = RequestMode::Bypass(why);
            }
        }
        if let RequestMode::Bypass(why) = mode {
            self.count(|s| s.bypassed += 1);
            // RFC 9111 §4.4: a successful unsafe request invalidates the URL.
            let written =
                (why == BypassReason::Method && !req.method.eq_ignore_ascii_case("OPTIONS")).then(|| req.url.clone());
            let r = self.forward(req, policy, io, why).await;
            if let Some(url) = written.filter(|_| r.status < 400) {
                self.invalidate_after_write(&url, &r, policy).await;
            }
            return r;
        }
        // The client's conditions and ranges are answered here, from the
        // whole response; the origin is asked for the whole response.
        let ask = ClientAsk::take(&mut req, policy.honor_request_directives);
        let r = self.lookup_or_fetch(req, policy, io, mode, &ask).await;
        ask.answer(r)
    }

    async fn lookup_or_fetch(
        &self,
        req: HttpRequest,
        policy: &CachePolicy,
        io: &Io,
        mode: RequestMode,
        ask: &ClientAsk,
    ) -> HttpResponse {
        let store = match self.store(policy.backend.as_deref()) {
            Ok(s) => s,
            Err(_) => {
                self.count(|s| s.store_errors += 1);
                return self.forward(req, policy, io, BypassReason::StoreUnknown).await;
            }
        };
        let (key, found) = match self.key_and_entry(&*store, &req, policy).await {
            Ok(k) => k,
            Err(_) => {
                self.count(|s| s.store_errors += 1);
                return self.forward(req, policy, io, BypassReason::StoreError).await;
            }
        };
        self.sync_purges().await;
        let now = self.inner.runtime.now_ms();
        let found = match found {
            Ok(found) => found.and_then(|e| self.after_purges(e, &req, &key, policy)),
            Err(_) => {
                self.count(|s| s.store_errors += 1);
                None
            }
        };
        let is_head = req.method.eq_ignore_ascii_case("HEAD");
        if let Some(entry) = found.as_ref() {
            // A client's no-cache (when honoured) revalidates, at most once
            // per REVALIDATE_EVERY_MS per key: a younger entry is served.
            let forced =
                mode == RequestMode::Revalidate && now.saturating_sub(entry.stored_at_ms) >= REVALIDATE_EVERY_MS;
            let state = match forced {
                true => Staleness::Dead,
                false => ask.judge(staleness(entry.stored_at_ms, &entry.freshness, now), entry, now),
            };
            match state {
                Staleness::Fresh(left) => {
                    self.count(|s| s.hits += 1);
                    if mode == RequestMode::Lookup {
                        self.offer_hit(&store, &key, &req, policy, entry, left, now);
                    }
                    let status = CacheStatus {
                        hit: true,
                        ttl: left.map(|ms| (ms / 1000) as i64),
                        ..Default::default()
                    };
                    return self.serve_entry(entry.clone(), status, now, is_head);
                }
                Staleness::Revalidatable(by) => {
                    self.count(|s| s.stale_served += 1);
                    self.refresh_in_background(
                        store.clone(),
                        key.clone(),
                        req.clone(),
                        policy.clone(),
                        io,
                        entry.clone(),
                    );
                    let status = CacheStatus {
                        hit: true,
                        ttl: Some(stale_ttl(by)),
                        detail: Some("stale-while-revalidate".into()),
                        ..Default::default()
                    };
                    return self.serve_entry(entry.clone(), status, now, is_head);
                }
                Staleness::ErrorOnly(by) if !ask.only_if_cached => {
                    let result = self.fetch_collapsed(&*store, &key, &req, policy, io, Some(entry)).await;
                    match result {
                        Ok((f, _)) if f.response.status < 500 => {
                            return self.finish(f, Forward::Stale, false, is_head);
                        }
                        other => {
                            self.count(|s| s.stale_if_error_served += 1);
                            let fwd_status = match other {
                                Ok((f, _)) => f.response.status,
                                Err(e) => e.status(),
                            };
                            // Forwarded, then answered from the cache:
                            // `fwd=stale`, not `hit` (RFC 9211).
                            let status = CacheStatus {
                                fwd: Some(Forward::Stale),
                                fwd_status: Some(fwd_status),
                                ttl: Some(stale_ttl(by)),
                                detail: Some("stale-if-error".into()),
                                ..Default::default()
                            };
                            return self.serve_entry(entry.clone(), status, now, is_head);
                        }
                    }
                }
                _ => {}
            }
        }
        if ask.only_if_cached {
            // RFC 9111 §5.2.1.7: nothing usable stored, and the origin must
            // not be asked.
            self.count(|s| s.misses += 1);
            let mut r = HttpResponse::text(504, "not in the cache (only-if-cached)");
            r.set_header(
                "cache-status",
                CacheStatus {
                    detail: Some("only-if-cached".into()),
                    ..Default::default()
                }
                .to_string(),
            );
            return r;
        }
        let fwd = match (mode, &found) {
            (RequestMode::Revalidate, _) => Forward::Request,
            (_, Some(e)) if e.has_validator() => Forward::Stale,
            _ => Forward::Miss,
        };
        self.count(|s| s.misses += 1);
        match self
            .fetch_collapsed(&*store, &key, &req, policy, io, found.as_ref())
            .await
        {
            Ok((f, collapsed)) => self.finish(f, fwd, collapsed, is_head),
            Err(e) => {
                // (Counted in origin_errors where the fetch failed.)
                let mut r = HttpResponse::text(e.status(), &e.to_string());
                r.set_header(
                    "cache-status",
                    CacheStatus {
                        fwd: Some(fwd),
                        detail: Some("origin-error".into()),
                        ..Default::default()
                    }
                    .to_string(),
                );
                r
            }
        }
    }

    pub(super) fn finish(&self, f: Fetched, fwd: Forward, collapsed: bool, is_head: bool) -> HttpResponse {
        let mut r = (*f.response).clone();
        if is_head {
            r.body.clear();
            r.stream = None;
        }
        r.set_header(
            "cache-status",
            CacheStatus {
                fwd: Some(fwd),
                fwd_status: f.revalidated.then_some(304),
                stored: f.stored,
                collapsed,
                // Streamed: stored after its last byte, if it fits.
                detail: match (f.refusal, &f.pending) {
                    (Some(r), _) => Some(r.as_str().to_string()),
                    (None, Some(_)) => Some("streamed".into()),
                    (None, None) => None,
                },
                ..Default::default()
            }
            .to_string(),
        );
        r
    }

    pub(super) fn serve_entry(
        &self,
        entry: CachedResponse,
        status: CacheStatus,
        now: u64,
        is_head: bool,
    ) -> HttpResponse {
        let age = entry.age_secs(now);
        let mut r = HttpResponse {
            status: entry.status,
            headers: entry.headers,
            body: if is_head { Vec::new() } else { entry.body },
            stream: None,
        };
        r.set_header("age", age.to_string());
        r.set_header("cache-status", status.to_string());
        r
    }

    /// Reads the entry for `req`, following a Vary pointer to its variant.
    pub(super) async fn lookup(
        &self,
        store: &dyn ResponseStore,
        key: &str,
        req: &HttpRequest,
        version: Option<i64>,
    ) -> Result<Option<CachedResponse>> {
        let Some(raw) = store.get(key, version).await? else {
            return Ok(None);
        };
        let entry = CachedResponse::decode(&raw)?;
        if !entry.is_variants() {
            return Ok(Some(entry));
        }
        let corrupt = |what: &str| Err(CacheError::Corrupt(format!("{what} at {key:?}")));
        if entry.vary.is_empty() {
            return corrupt("a Vary pointer without header names");
        }
        let vkey = variant_key(key, &entry.vary, |h| req.header(h));
        match store.get(&vkey, version).await? {
            Some(raw) => match CachedResponse::decode(&raw)? {
                v if v.is_variants() => corrupt("a Vary pointer to another pointer"),
                v => Ok(Some(v)),
            },
            None => Ok(None),
        }
    }
}
