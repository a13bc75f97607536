//! Going to the origin: one fetch per key in flight (collapsing), storing
//! what may be stored, background refreshes, and plain forwarding.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::entry::CachedResponse;
use super::purge_log::take_tags;
use super::single_flight::Flight;
use super::store::ResponseStore;
use super::tee::{PendingBody, Release, Teed};
use super::{CachePolicy, Io, ResponseCache};
use crate::http::{
    decide_store, parse_age, strip_hop_by_hop, targeted_cache_control, unstored_fields, variant_key, vary_names,
    BypassReason, CacheStatus, Forward, HttpRequest, HttpResponse, NotStored, OriginError, StoreFacts, NOT_STORED,
    OWN_HEADERS, TARGETED,
};
use crate::primitives::ttl::Ttl;

/// What one origin fetch produced, shared with collapsed waiters.
#[derive(Clone)]
pub(super) struct Fetched {
    pub(super) response: Rc<HttpResponse>,
    pub(super) stored: bool,
    pub(super) refusal: Option<NotStored>,
    /// The variant key the leader's request picked (Vary), to check a waiter
    /// may share the leader's answer.
    pub(super) variant: Option<String>,
    /// The origin answered a conditional request with 304: `response` is
    /// the stored one, updated (RFC 9111 §4.3.4).
    pub(super) revalidated: bool,
    /// A storable body still streaming to the leader: the whole response
    /// once it has arrived (then stored in the background).
    pub(super) pending: Option<PendingBody>,
}

pub(super) type FetchResult = std::result::Result<Fetched, OriginError>;

/// The key of one fetch in flight: store, key and version.
fn flight_key(store: &str, key: &str, version: Option<i64>) -> String {
    format!("{store}\u{1e}{key}\u{1e}{version:?}")
}

/// A streamed answer to store: its head, its body to come, the waiters'
/// copy, and its flight key.
type Streamed = (
    HttpResponse,
    LocalBoxFuture<'static, Option<Vec<u8>>>,
    PendingBody,
    String,
);

/// Settles a streamed body as not kept, unless it was, and ends its entry
/// in the table of streaming answers (if still its own).
struct Unsettled {
    full: PendingBody,
    cache: ResponseCache,
    flight_key: String,
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        self.full.settle(None);
        let mut streaming = self.cache.inner.streaming.borrow_mut();
        if streaming
            .get(&self.flight_key)
            .and_then(|f| f.pending.as_ref())
            .is_some_and(|p| p.same(&self.full))
        {
            streaming.remove(&self.flight_key);
        }
    }
}

/// Where an entry goes: its key, its variant's key (Vary), TTL and version.
struct Placement {
    key: String,
    variant: Option<String>,
    names: Vec<String>,
    ttl: Ttl,
    version: Option<i64>,
    now: u64,
}

impl ResponseCache {
    /// Fetches from the origin once per key in this isolate and stores the
    /// answer; the bool says whether this caller joined another's fetch.
    pub(super) async fn fetch_collapsed(
        &self,
        store: &dyn ResponseStore,
        key: &str,
        req: &HttpRequest,
        policy: &CachePolicy,
        io: &Io,
        prior: Option<&CachedResponse>,
    ) -> std::result::Result<(Fetched, bool), OriginError> {
        let flight_key = flight_key(store.name(), key, policy.version);
        let streaming = self.inner.streaming.borrow().get(&flight_key).cloned();
        if let Some(f) = streaming {
            // An answer for this key is still streaming to its leader.
            if let Some(f) = self.join_stream(f, key, req, policy).await {
                return Ok((f, true));
            }
        }
        let timeout = self.inner.runtime.sleep(policy.lock_timeout_ms);
        let flight = self
            .inner
            .flights
            .run(
                &flight_key,
                || self.fetch_and_store(store, key, req, policy, io, prior),
                timeout,
            )
            .await;
        match flight {
            Flight::Led(r) => r.map(|f| (f, false)),
            Flight::TimedOut(r) => {
                self.count(|s| s.lock_timeouts += 1);
                r.map(|f| (f, false))
            }
            Flight::Joined(Ok(f)) if f.pending.is_some() => {
                // The leader's body is streaming to it: wait for the whole
                // body rather than ask the origin again (if it was kept).
                match self.join_stream(f, key, req, policy).await {
                    Some(f) => Ok((f, true)),
                    None => self
                        .fetch_and_store(store, key, req, policy, io, prior)
                        .await
                        .map(|f| (f, false)),
                }
            }
            Flight::Joined(Ok(f)) => {
                // Never shared: an answer meant for one request (private,
                // Set-Cookie, authorized, no-store, Vary: *, or a partial
                // 206); those waiters ask the origin themselves, like
                // Varnish's hit-for-pass. Shared: what could be stored, and
                // server errors (a failing origin is not asked again by
                // every waiter). Only with requests of the same variant.
                // A streaming body can be read once: only its leader gets it.
                let shareable = f.response.stream.is_none()
                    && (match f.refusal {
                        None => true,
                        Some(NotStored::Status) => f.response.status >= 500,
                        Some(r) => r.shareable(),
                    });
                let mine = f.variant.as_ref().map(|_| {
                    let names = vary_names(&f.response.header("vary").unwrap_or_default());
                    variant_key(key, &names, |h| req.header(h))
                });
                if shareable && mine == f.variant {
                    self.count(|s| s.collapsed += 1);
                    Ok((f, true))
                } else {
                    self.fetch_and_store(store, key, req, policy, io, prior)
                        .await
                        .map(|f| (f, false))
                }
            }
            Flight::Joined(Err(e)) => Err(e),
        }
    }

    /// The whole answer `f` is streaming to its leader, for `req` if it is
    /// of the same variant, once its body has arrived; `None` if it was not
    /// kept (too large, broken off) or took longer than the lock timeout.
    async fn join_stream(&self, f: Fetched, key: &str, req: &HttpRequest, policy: &CachePolicy) -> Option<Fetched> {
        let mine = f.variant.as_ref().map(|_| {
            let names = vary_names(&f.response.header("vary").unwrap_or_default());
            variant_key(key, &names, |h| req.header(h))
        });
        if mine != f.variant {
            return None;
        }
        let timeout = self.inner.runtime.sleep(policy.lock_timeout_ms);
        let response = f.pending.as_ref()?.wait(&*self.inner.runtime, timeout).await?;
        self.count(|s| s.collapsed += 1);
        Some(Fetched {
            response,
            stored: false,
            refusal: None,
            pending: None,
            ..f
        })
    }

    /// Fetches `req` from the origin and stores what may be stored. With a
    /// `prior` entry holding validators the request is conditional, and a
    /// 304 updates that entry instead of carrying a new body.
    pub(super) async fn fetch_and_store(
        &self,
        store: &dyn ResponseStore,
        key: &str,
        req: &HttpRequest,
        policy: &CachePolicy,
        io: &Io,
        prior: Option<&CachedResponse>,
    ) -> FetchResult {
        // Before the origin: a purge appended while it answers must still
        // invalidate what it answered.
        let purge_seq = self.purge_seq();
        // HEAD is fetched as GET so the body can be stored for later GETs
        // (as nginx's proxy_cache_convert_head and Varnish do).
        let mut upstream = req.clone();
        if upstream.method.eq_ignore_ascii_case("HEAD") {
            upstream.method = "GET".into();
        }
        let prior = prior.filter(|p| !p.is_variants() && p.has_validator());
        let sent = self.inner.runtime.now_ms();
        let mut revalidated = false;
        let mut response = match prior {
            // Without validators the request goes as is (no copy kept).
            None => self.call_origin_counted(upstream, policy, io).await?,
            Some(p) => {
                // RFC 9111 §4.3.1: the stored validators, ETag first.
                let mut conditional = upstream.clone();
                for (validator, condition) in [("etag", "if-none-match"), ("last-modified", "if-modified-since")] {
                    if let Some(v) = p.header(validator) {
                        conditional.headers.push((condition.into(), v));
                    }
                }
                let r = self.call_origin_counted(conditional, policy, io).await?;
                match r.status {
                    304 if p.validates(&r) => {
                        revalidated = true;
                        p.updated_by(&r)
                    }
                    // A 304 for another representation: fetch it whole.
                    304 => self.call_origin_counted(upstream, policy, io).await?,
                    _ => r,
                }
            }
        };
        strip_hop_by_hop(&mut response.headers);
        let now = self.inner.runtime.now_ms();
        // RFC 9111 §4.2.3: the age it arrived with, plus the round trip.
        let origin_age = response.header("age").map(|a| parse_age(&a));
        let age_ms = origin_age.unwrap_or(0).saturating_mul(1000) + now.saturating_sub(sent);
        response
            .headers
            .retain(|(k, _)| !OWN_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
        if origin_age.is_some() || age_ms >= 1000 {
            response.headers.push(("age".into(), (age_ms / 1000).to_string()));
        }
        // RFC 9213: a targeted field (CDN-Cache-Control) replaces
        // Cache-Control and Expires for this cache. As on Cloudflare, the
        // field meant for this CDN alone goes no further downstream, while
        // `CDN-Cache-Control` (meant for every CDN on the way) does.
        let targeted = targeted_cache_control(|h| response.header(h));
        response.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(TARGETED[0]));
        let mut tags = take_tags(&mut response, &policy.tags);
        if revalidated && tags.is_empty() {
            // A 304 need not repeat the tags: the stored entry's stand.
            tags = prior.map(|p| p.tags.clone()).unwrap_or_default();
        }
        let vary = response.header("vary");
        let cc = response.header("cache-control");
        let (expires, date) = (response.header("expires"), response.header("date"));
        let last_modified = response.header("last-modified");
        let facts = StoreFacts {
            status: response.status,
            cache_control: cc.as_deref(),
            targeted: targeted.as_ref().map(|(_, d)| d.as_slice()),
            has_set_cookie: response.header("set-cookie").is_some(),
            vary: vary.as_deref(),
            request_has_authorization: req.header("authorization").is_some(),
            expires: expires.as_deref(),
            date: date.as_deref(),
            last_modified: last_modified.as_deref(),
            has_validator: last_modified.is_some() || response.header("etag").is_some(),
            age_ms,
            received_ms: now,
        };
        let rules = Self::rules(policy, store);
        // A streamed body is stored after it has passed, through the
        // platform's tee, unless its Content-Length is already too large.
        let declared = response
            .header("content-length")
            .and_then(|n| n.trim().parse::<u64>().ok());
        let too_large =
            response.body.len() > policy.max_entry_bytes || declared.is_some_and(|n| n > policy.max_entry_bytes as u64);
        let tee = match &response.stream {
            Some(_) if !too_large => self.inner.tee.borrow().clone(),
            _ => None,
        };
        let decision = decide_store(&facts, &rules).and_then(|f| {
            if too_large || (response.stream.is_some() && tee.is_none()) {
                Err(NotStored::TooLarge)
            } else {
                Ok(f)
            }
        });
        let names = vary.as_deref().map(vary_names).unwrap_or_default();
        let variant = (!names.is_empty()).then(|| variant_key(key, &names, |h| req.header(h)));
        let mut pending = None;
        let (stored, refusal) = match decision {
            Err(why) => {
                self.count(|s| s.not_stored += 1);
                (false, Some(why))
            }
            Ok(freshness) => {
                let ttl = match freshness.storage_secs() {
                    Some(s) => Ttl::Seconds((s - age_ms as f64 / 1000.0).max(0.001)),
                    None => Ttl::Never,
                };
                // Not stored: connection headers, cookies, our own headers,
                // and the fields `no-cache="…"`/`private="…"` name.
                let unstored = cc.as_deref().map(unstored_fields).unwrap_or_default();
                let entry = CachedResponse {
                    status: response.status,
                    headers: response
                        .headers
                        .iter()
                        .filter(|(k, _)| {
                            let k = k.to_ascii_lowercase();
                            !NOT_STORED.contains(&k.as_str())
                                && !OWN_HEADERS.contains(&k.as_str())
                                && !unstored.contains(&k)
                        })
                        .cloned()
                        .collect(),
                    stored_at_ms: now.saturating_sub(age_ms),
                    freshness,
                    vary: names.clone(),
                    tags,
                    purge_seq,
                    body: response.body.clone(),
                };
                let place = Placement {
                    key: key.to_string(),
                    variant: variant.clone(),
                    names: names.clone(),
                    ttl,
                    version: policy.version,
                    now,
                };
                match (tee, &response.stream) {
                    (Some(tee), Some(stream)) => {
                        let Teed { client, body, release } = tee.tee(stream, policy.max_entry_bytes);
                        response.stream = Some(client);
                        let mut whole = response.clone();
                        whole.stream = None;
                        let full = PendingBody::default();
                        pending = Some(full.clone());
                        // Until its last byte, a request for this key waits for it.
                        let head = Fetched {
                            response: Rc::new(whole.clone()),
                            stored: false,
                            refusal: None,
                            variant: variant.clone(),
                            revalidated,
                            pending: pending.clone(),
                        };
                        let fkey = flight_key(store.name(), key, policy.version);
                        self.inner.streaming.borrow_mut().insert(fkey.clone(), head);
                        self.store_when_whole(store, entry, place, (whole, body, full, fkey), release, io);
                        (false, None)
                    }
                    _ => match self.write_entry(store, &entry, &place).await {
                        Ok(()) => {
                            self.count(|s| s.stored += 1);
                            (true, None)
                        }
                        Err(_) => {
                            // Fail open: the origin's answer is served anyway.
                            self.count(|s| s.store_errors += 1);
                            (false, Some(NotStored::StoreError))
                        }
                    },
                }
            }
        };
        Ok(Fetched {
            response: Rc::new(response),
            stored,
            refusal,
            variant,
            revalidated,
            pending,
        })
    }

    /// Writes `entry` where `place` says (and its Vary pointer).
    async fn write_entry(
        &self,
        store: &dyn ResponseStore,
        entry: &CachedResponse,
        place: &Placement,
    ) -> crate::primitives::error::Result<()> {
        {
            // The platform's ready answers for these keys end with the write.
            let mut slots = self.inner.slots.borrow_mut();
            slots.forget_key(&place.key);
            if let Some(vkey) = &place.variant {
                slots.forget_key(vkey);
            }
        }
        let (ttl, version) = (place.ttl, place.version);
        match &place.variant {
            None => store.put(&place.key, entry.encode(), ttl, version).await,
            Some(vkey) => {
                let pointer = CachedResponse::variants(place.names.clone(), place.now, entry.freshness);
                store.put(&place.key, pointer.encode(), ttl, version).await?;
                store.put(vkey, entry.encode(), ttl, version).await
            }
        }
    }

    /// Stores `entry` in the background once its streamed body is whole
    /// (a body that grew too large or broke off is not stored), then lets
    /// the client's stream end.
    fn store_when_whole(
        &self,
        store: &dyn ResponseStore,
        mut entry: CachedResponse,
        place: Placement,
        (mut whole, body, full, fkey): Streamed,
        release: Release,
        io: &Io,
    ) {
        // However the task ends (even dropped), the waiters are told and
        // the key stops streaming.
        let settled = Unsettled {
            full: full.clone(),
            cache: self.clone(),
            flight_key: fkey,
        };
        let Ok(store) = self.store(Some(store.name())) else {
            return;
        };
        let this = self.clone();
        (io.spawn)(
            async move {
                let _settled = settled;
                let Some(bytes) = body.await else {
                    this.count(|s| s.not_stored += 1);
                    return;
                };
                whole.body = bytes;
                let whole = Rc::new(whole);
                full.settle(Some(whole.clone()));
                entry.body = whole.body.clone();
                match this.write_entry(&*store, &entry, &place).await {
                    Ok(()) => this.count(|s| s.stored += 1),
                    Err(_) => this.count(|s| s.store_errors += 1),
                }
                drop(release);
            }
            .boxed_local(),
        );
    }

    /// [`call_origin`](Self::call_origin), counting a failure.
    async fn call_origin_counted(
        &self,
        req: HttpRequest,
        policy: &CachePolicy,
        io: &Io,
    ) -> std::result::Result<HttpResponse, OriginError> {
        self.call_origin(req, policy, io).await.inspect_err(|_| {
            self.count(|s| s.origin_errors += 1);
        })
    }

    /// Refreshes a stale entry after the response is sent; one refresh per
    /// key at a time.
    pub(super) fn refresh_in_background(
        &self,
        store: Rc<dyn ResponseStore>,
        key: String,
        mut req: HttpRequest,
        policy: CachePolicy,
        io: &Io,
        prior: CachedResponse,
    ) {
        let tag = format!("{}\u{1e}{}", store.name(), key);
        if !self.inner.refreshing.borrow_mut().insert(tag.clone()) {
            return;
        }
        self.count(|s| s.background_refreshes += 1);
        req.headers.retain(|(k, _)| k != "cache-control" && k != "pragma");
        let this = self.clone();
        let io2 = Io {
            origin: io.origin.clone(),
            spawn: io.spawn.clone(),
        };
        (io.spawn)(
            async move {
                let _ = this
                    .fetch_collapsed(&*store, &key, &req, &policy, &io2, Some(&prior))
                    .await;
                this.inner.refreshing.borrow_mut().remove(&tag);
            }
            .boxed_local(),
        );
    }

    /// The origin's answer, or why there is none within the policy's
    /// `origin_timeout_ms` (to the response headers).
    pub(super) async fn call_origin(
        &self,
        req: HttpRequest,
        policy: &CachePolicy,
        io: &Io,
    ) -> std::result::Result<HttpResponse, OriginError> {
        let call = (io.origin)(req);
        let timeout = self.inner.runtime.sleep(policy.origin_timeout_ms);
        match futures::future::select(call, timeout).await {
            futures::future::Either::Left((r, _)) => r,
            futures::future::Either::Right(_) => Err(OriginError::Timeout {
                ms: policy.origin_timeout_ms,
            }),
        }
    }

    /// Counts a request a platform sent to the origin itself, streaming,
    /// past the engine (as [`forward`](Self::forward) counts its own).
    pub fn count_forwarded(&self, origin_failed: bool) {
        self.count(|s| {
            s.bypassed += 1;
            s.origin_errors += u64::from(origin_failed);
        });
    }

    /// Sends a request to the origin without touching the cache.
    pub async fn forward(&self, req: HttpRequest, policy: &CachePolicy, io: &Io, why: BypassReason) -> HttpResponse {
        let mut r = match self.call_origin(req, policy, io).await {
            Ok(r) => r,
            Err(e) => {
                self.count(|s| s.origin_errors += 1);
                HttpResponse::text(e.status(), &e.to_string())
            }
        };
        r.headers
            .retain(|(k, _)| !OWN_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
        r.set_header(
            "cache-status",
            CacheStatus {
                fwd: Some(Forward::Bypass),
                detail: Some(why.as_str().into()),
                ..Default::default()
            }
            .to_string(),
        );
        r
    }
}
