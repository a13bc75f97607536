//! The response cache: Ellar's `@Cache(ttl, key_prefix, version, backend,
//! make_key_callback)` for HTTP handlers, plus what an edge cache needs on
//! top: Vary variants, request collapsing, stale-while-revalidate,
//! stale-if-error, and failing open when the store is down.
//!
//! Runtime-agnostic: requests and responses are plain data, the origin is an
//! async function, background work goes to a spawner (`waitUntil` in a
//! Worker) and timeouts come from a sleep function. `workers.rs` binds it to
//! workers-rs; the tests here drive it natively with a fake clock.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use crate::clock::Clock;
use crate::error::{CacheError, Result};
use crate::http_entry::CachedResponse;
use crate::http_policy::{
    decide_store, delta_seconds, request_mode, staleness, variant_key, vary_names, CacheStatus, FreshnessRules,
    RequestMode, Staleness, StoreFacts, NOT_STORED, OWN_HEADERS,
};
use crate::response_store::ResponseStore;
use crate::single_flight::{Flight, Signal, SingleFlight};
use crate::ttl::Ttl;

/// How long an isolate trusts the generation it read for a key prefix.
pub const GENERATION_REFRESH_MS: u64 = 1000;

/// A request as plain data. Header names are lower-case.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    /// Absolute URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A response as plain data. Header names are lower-case.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

impl HttpRequest {
    pub fn get(url: &str) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            ..Default::default()
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }

    /// A plain-text error answer.
    pub fn text(status: u16, body: &str) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Makes a response key from the request and the key prefix (Ellar's
/// `make_key_callback(context, key_prefix)`).
pub type MakeKey = Rc<dyn Fn(&HttpRequest, &str) -> String>;
/// The origin (the wrapped handler, or a fetch to the upstream).
pub type Origin = Rc<dyn Fn(HttpRequest) -> LocalBoxFuture<'static, std::result::Result<HttpResponse, String>>>;
/// Runs a future after the response is sent (`ctx.wait_until`).
pub type Spawner = Rc<dyn Fn(LocalBoxFuture<'static, ()>)>;
/// A future that completes after this many milliseconds.
pub type Sleep = Rc<dyn Fn(u64) -> LocalBoxFuture<'static, ()>>;

/// How one route (or one wrapped handler) is cached.
#[derive(Clone)]
pub struct CachePolicy {
    /// Freshness lifetime; `Ttl::Default` = the store's configured ttl.
    pub ttl: Ttl,
    /// Part of every key (Ellar: the decorator's `key_prefix`, else `view`).
    pub key_prefix: String,
    /// The version passed to the store (`None` = the store's).
    pub version: Option<i64>,
    /// The store's name (`None` = `default`).
    pub backend: Option<String>,
    /// Replaces the default key.
    pub make_key: Option<MakeKey>,
    /// Let the origin's `s-maxage`/`max-age` (and stale directives) win over `ttl`.
    pub origin_ttl: bool,
    pub stale_while_revalidate: f64,
    pub stale_if_error: f64,
    /// Largest body stored; larger responses are served but not stored.
    pub max_entry_bytes: usize,
    /// How long a collapsed request waits for the one in flight.
    pub lock_timeout_ms: u64,
    /// Sort query parameters in the default key.
    pub sort_query: bool,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            ttl: Ttl::Default,
            key_prefix: String::new(),
            version: None,
            backend: None,
            make_key: None,
            origin_ttl: false,
            stale_while_revalidate: 0.0,
            stale_if_error: 0.0,
            max_entry_bytes: 4 << 20,
            lock_timeout_ms: 5_000,
            sort_query: false,
        }
    }
}

/// `Cache-Status` `ttl` of an answer stale by `by_ms`: freshness lifetime
/// minus age, in whole seconds rounded down (RFC 9211, RFC 9111 §4.2).
fn stale_ttl(by_ms: u64) -> i64 {
    -(by_ms.div_ceil(1000) as i64)
}

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
            pairs.sort();
            let q = pairs.join("&");
            u.set_query(if q.is_empty() { None } else { Some(&q) });
        }
    }
    u.to_string()
}

/// The default response key: `GET <normalized url>:<prefix or "view">`, as
/// Ellar's `route_cache_make_key` (HEAD shares GET's entry).
pub fn default_response_key(req: &HttpRequest, key_prefix: &str, sort_query: bool) -> String {
    let prefix = if key_prefix.is_empty() { "view" } else { key_prefix };
    format!("GET {}:{prefix}", normalize_url(&req.url, sort_query))
}

/// Counters of the response cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResponseStats {
    pub hits: u64,
    pub misses: u64,
    pub stale_served: u64,
    pub stale_if_error_served: u64,
    pub background_refreshes: u64,
    pub collapsed: u64,
    pub lock_timeouts: u64,
    pub bypassed: u64,
    pub stored: u64,
    pub not_stored: u64,
    /// Store failures survived by serving the origin (fail open).
    pub store_errors: u64,
    pub origin_errors: u64,
}

/// What one origin fetch produced, shared with collapsed waiters.
#[derive(Clone)]
struct Fetched {
    response: Rc<HttpResponse>,
    stored: bool,
    refusal: Option<&'static str>,
    /// The variant key the leader's request picked (Vary), to check a waiter
    /// may share the leader's answer.
    variant: Option<String>,
}

type FetchResult = std::result::Result<Fetched, String>;

/// The response cache of one isolate: stores by name, a collapsing table and
/// counters. Cheap to clone (shared state).
#[derive(Clone)]
pub struct ResponseCache {
    inner: Rc<Inner>,
}

struct Inner {
    stores: BTreeMap<String, Rc<dyn ResponseStore>>,
    clock: Rc<dyn Clock>,
    flights: SingleFlight<FetchResult>,
    refreshing: RefCell<std::collections::HashSet<String>>,
    /// Generations by store and prefix, with when they were read.
    generations: RefCell<std::collections::HashMap<String, (u64, u64)>>,
    stats: Cell<ResponseStats>,
}

/// Where the pieces of one request go.
pub struct Io {
    pub origin: Origin,
    pub spawn: Spawner,
    pub sleep: Sleep,
}

impl ResponseCache {
    /// With the runtime's wake-up signal: a JS promise on wasm32 (workerd
    /// requires it, see [`crate::single_flight`]), a channel elsewhere.
    pub fn new(stores: BTreeMap<String, Rc<dyn ResponseStore>>, clock: Rc<dyn Clock>) -> Self {
        #[cfg(target_arch = "wasm32")]
        let signal = crate::workers::js_signal();
        #[cfg(not(target_arch = "wasm32"))]
        let signal = crate::single_flight::oneshot_signal();
        Self::with_signal(stores, clock, signal)
    }

    /// A response cache over every backend of a [`CacheService`](crate::CacheService), by name,
    /// on the system clock.
    pub fn for_service(service: &crate::service::CacheService) -> Self {
        let stores = service
            .names()
            .into_iter()
            .filter_map(|name| {
                let backend = service.backend_rc(&name).ok()?;
                Some((
                    name.clone(),
                    Rc::new(crate::response_store::BackendStore { name, backend }) as Rc<dyn ResponseStore>,
                ))
            })
            .collect();
        Self::new(stores, Rc::new(crate::clock::SystemClock))
    }

    /// With the wake-up signal of the runtime (see [`crate::single_flight`]).
    pub fn with_signal(stores: BTreeMap<String, Rc<dyn ResponseStore>>, clock: Rc<dyn Clock>, signal: Signal) -> Self {
        ResponseCache {
            inner: Rc::new(Inner {
                stores,
                clock,
                flights: SingleFlight::with_signal(signal),
                refreshing: RefCell::default(),
                generations: RefCell::default(),
                stats: Cell::default(),
            }),
        }
    }

    pub fn stats(&self) -> ResponseStats {
        self.inner.stats.get()
    }

    fn count(&self, f: impl FnOnce(&mut ResponseStats)) {
        let mut s = self.inner.stats.get();
        f(&mut s);
        self.inner.stats.set(s);
    }

    /// The store a policy names.
    pub fn store(&self, name: Option<&str>) -> Result<Rc<dyn ResponseStore>> {
        let name = name.unwrap_or("default");
        self.inner
            .stores
            .get(name)
            .cloned()
            .ok_or_else(|| CacheError::UnknownBackend {
                name: name.to_string(),
                known: self.inner.stores.keys().cloned().collect(),
            })
    }

    /// The key a request is stored under with this policy, before the
    /// generation suffix.
    pub fn key_for(&self, req: &HttpRequest, policy: &CachePolicy) -> String {
        match &policy.make_key {
            Some(f) => f(req, &policy.key_prefix),
            None => default_response_key(req, &policy.key_prefix, policy.sort_query),
        }
    }

    fn generation_key(policy: &CachePolicy) -> String {
        let prefix = if policy.key_prefix.is_empty() {
            "view"
        } else {
            &policy.key_prefix
        };
        format!("edgecache:generation:{prefix}")
    }

    /// The current generation of a policy's key prefix (0 until bumped),
    /// read from the store at most once per [`GENERATION_REFRESH_MS`] per
    /// isolate: a bump made in this isolate shows at once, one made in
    /// another isolate (on a shared store) within that time.
    pub async fn generation(&self, store: &dyn ResponseStore, policy: &CachePolicy) -> Result<u64> {
        let id = format!(
            "{}\u{1e}{}\u{1e}{:?}",
            store.name(),
            Self::generation_key(policy),
            policy.version
        );
        let now = self.inner.clock.now_ms();
        if let Some(&(g, at)) = self.inner.generations.borrow().get(&id) {
            if now.saturating_sub(at) < GENERATION_REFRESH_MS {
                return Ok(g);
            }
        }
        let g = self.read_generation(store, policy).await?;
        self.inner.generations.borrow_mut().insert(id, (g, now));
        Ok(g)
    }

    async fn read_generation(&self, store: &dyn ResponseStore, policy: &CachePolicy) -> Result<u64> {
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
        let id = format!(
            "{}\u{1e}{}\u{1e}{:?}",
            store.name(),
            Self::generation_key(policy),
            policy.version
        );
        self.inner
            .generations
            .borrow_mut()
            .insert(id, (next, self.inner.clock.now_ms()));
        Ok(next)
    }

    async fn full_key(&self, store: &dyn ResponseStore, req: &HttpRequest, policy: &CachePolicy) -> Result<String> {
        let key = self.key_for(req, policy);
        Ok(match self.generation(store, policy).await? {
            0 => key,
            g => format!("{key}#g{g}"),
        })
    }

    fn rules(policy: &CachePolicy, store: &dyn ResponseStore) -> FreshnessRules {
        FreshnessRules {
            ttl: policy.ttl.or(store.default_timeout()),
            origin_ttl: policy.origin_ttl,
            stale_while_revalidate: policy.stale_while_revalidate,
            stale_if_error: policy.stale_if_error,
        }
    }

    /// Answers `req` from the cache or the origin.
    pub async fn handle(&self, req: HttpRequest, policy: &CachePolicy, io: &Io) -> HttpResponse {
        let mode = request_mode(
            &req.method,
            req.header("cache-control").as_deref(),
            req.header("pragma").as_deref(),
        );
        if let RequestMode::Bypass(why) = mode {
            self.count(|s| s.bypassed += 1);
            return self.forward(req, io, why).await;
        }
        let store = match self.store(policy.backend.as_deref()) {
            Ok(s) => s,
            Err(_) => {
                self.count(|s| s.store_errors += 1);
                return self.forward(req, io, "store-unknown").await;
            }
        };
        let key = match self.full_key(&*store, &req, policy).await {
            Ok(k) => k,
            Err(_) => {
                self.count(|s| s.store_errors += 1);
                return self.forward(req, io, "store-error").await;
            }
        };
        let now = self.inner.clock.now_ms();
        let found = if mode == RequestMode::Lookup {
            match self.lookup(&*store, &key, &req, policy.version).await {
                Ok(found) => found,
                Err(_) => {
                    self.count(|s| s.store_errors += 1);
                    None
                }
            }
        } else {
            None
        };
        let is_head = req.method.eq_ignore_ascii_case("HEAD");
        if let Some(entry) = found {
            match staleness(entry.stored_at_ms, &entry.freshness, now) {
                Staleness::Fresh(left) => {
                    self.count(|s| s.hits += 1);
                    let status = CacheStatus {
                        hit: true,
                        ttl: left.map(|ms| (ms / 1000) as i64),
                        ..Default::default()
                    };
                    return self.serve_entry(entry, status, now, is_head);
                }
                Staleness::Revalidatable(by) => {
                    self.count(|s| s.stale_served += 1);
                    self.refresh_in_background(store.clone(), key.clone(), req.clone(), policy.clone(), io);
                    let status = CacheStatus {
                        hit: true,
                        ttl: Some(stale_ttl(by)),
                        detail: Some("stale-while-revalidate".into()),
                        ..Default::default()
                    };
                    return self.serve_entry(entry, status, now, is_head);
                }
                Staleness::ErrorOnly(by) => {
                    let result = self.fetch_collapsed(&*store, &key, &req, policy, io).await;
                    match result {
                        Ok((f, _)) if f.response.status < 500 => {
                            return self.finish(f, "stale", false, is_head);
                        }
                        other => {
                            self.count(|s| s.stale_if_error_served += 1);
                            let fwd_status = match other {
                                Ok((f, _)) => f.response.status,
                                Err(_) => 502,
                            };
                            // Forwarded, then answered from the cache:
                            // `fwd=stale`, not `hit` (RFC 9211).
                            let status = CacheStatus {
                                fwd: Some("stale"),
                                fwd_status: Some(fwd_status),
                                ttl: Some(stale_ttl(by)),
                                detail: Some("stale-if-error".into()),
                                ..Default::default()
                            };
                            return self.serve_entry(entry, status, now, is_head);
                        }
                    }
                }
                Staleness::Dead => {}
            }
        }
        let fwd = if mode == RequestMode::Revalidate {
            "request"
        } else {
            "miss"
        };
        self.count(|s| s.misses += 1);
        match self.fetch_collapsed(&*store, &key, &req, policy, io).await {
            Ok((f, collapsed)) => self.finish(f, fwd, collapsed, is_head),
            Err(e) => {
                // (Counted in origin_errors where the fetch failed.)
                let mut r = HttpResponse::text(502, &format!("origin unreachable: {e}"));
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

    fn finish(&self, f: Fetched, fwd: &'static str, collapsed: bool, is_head: bool) -> HttpResponse {
        let mut r = (*f.response).clone();
        if is_head {
            r.body.clear();
        }
        r.set_header(
            "cache-status",
            CacheStatus {
                fwd: Some(fwd),
                stored: f.stored,
                collapsed,
                detail: f.refusal.map(str::to_string),
                ..Default::default()
            }
            .to_string(),
        );
        r
    }

    fn serve_entry(&self, entry: CachedResponse, status: CacheStatus, now: u64, is_head: bool) -> HttpResponse {
        let age = entry.age_secs(now);
        let mut r = HttpResponse {
            status: entry.status,
            headers: entry.headers,
            body: if is_head { Vec::new() } else { entry.body },
        };
        r.set_header("age", age.to_string());
        r.set_header("cache-status", status.to_string());
        r
    }

    /// Reads the entry for `req`, following a Vary pointer to its variant.
    async fn lookup(
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

    /// Fetches from the origin once per key in this isolate and stores the
    /// answer; the bool says whether this caller joined another's fetch.
    async fn fetch_collapsed(
        &self,
        store: &dyn ResponseStore,
        key: &str,
        req: &HttpRequest,
        policy: &CachePolicy,
        io: &Io,
    ) -> std::result::Result<(Fetched, bool), String> {
        let flight_key = format!("{}\u{1e}{}\u{1e}{:?}", store.name(), key, policy.version);
        let timeout = (io.sleep)(policy.lock_timeout_ms);
        let flight = self
            .inner
            .flights
            .run(
                &flight_key,
                || self.fetch_and_store(store, key, req, policy, io),
                timeout,
            )
            .await;
        match flight {
            Flight::Led(r) => r.map(|f| (f, false)),
            Flight::TimedOut(r) => {
                self.count(|s| s.lock_timeouts += 1);
                r.map(|f| (f, false))
            }
            Flight::Joined(Ok(f)) => {
                // Never shared: an answer meant for one request (private,
                // Set-Cookie, authorized, no-store, Vary: *, or a partial
                // 206); those waiters ask the origin themselves, like
                // Varnish's hit-for-pass. Shared: what could be stored, and
                // server errors (a failing origin is not asked again by
                // every waiter). Only with requests of the same variant.
                let shareable = match f.refusal {
                    None | Some("store-error" | "too-large" | "too-old" | "ttl-0") => true,
                    Some("status") => f.response.status >= 500,
                    Some(_) => false,
                };
                let mine = f.variant.as_ref().map(|_| {
                    let names = vary_names(&f.response.header("vary").unwrap_or_default());
                    variant_key(key, &names, |h| req.header(h))
                });
                if shareable && mine == f.variant {
                    self.count(|s| s.collapsed += 1);
                    Ok((f, true))
                } else {
                    self.fetch_and_store(store, key, req, policy, io)
                        .await
                        .map(|f| (f, false))
                }
            }
            Flight::Joined(Err(e)) => Err(e),
        }
    }

    async fn fetch_and_store(
        &self,
        store: &dyn ResponseStore,
        key: &str,
        req: &HttpRequest,
        policy: &CachePolicy,
        io: &Io,
    ) -> FetchResult {
        // HEAD is fetched as GET so the body can be stored for later GETs.
        let mut upstream = req.clone();
        if upstream.method.eq_ignore_ascii_case("HEAD") {
            upstream.method = "GET".into();
        }
        let mut response = match (io.origin)(upstream).await {
            Ok(r) => r,
            Err(e) => {
                self.count(|s| s.origin_errors += 1);
                return Err(e);
            }
        };
        // RFC 9111 §4.2.3: with origin_ttl, the age the answer already has
        // upstream counts against its freshness (read before `Age` goes).
        let upstream_age_ms = match policy.origin_ttl {
            true => {
                response
                    .header("age")
                    .and_then(|a| delta_seconds(a.trim()))
                    .unwrap_or(0)
                    * 1000
            }
            false => 0,
        };
        let now = self.inner.clock.now_ms();
        response
            .headers
            .retain(|(k, _)| !OWN_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
        let vary = response.header("vary");
        let cc = response.header("cache-control");
        let (expires, date) = (response.header("expires"), response.header("date"));
        let facts = StoreFacts {
            status: response.status,
            cache_control: cc.as_deref(),
            has_set_cookie: response.header("set-cookie").is_some(),
            vary: vary.as_deref(),
            request_has_authorization: req.header("authorization").is_some(),
            expires: expires.as_deref(),
            date: date.as_deref(),
            received_ms: now,
        };
        let rules = Self::rules(policy, store);
        let decision = decide_store(&facts, &rules).and_then(|f| {
            if response.body.len() > policy.max_entry_bytes {
                Err("too-large")
            } else if f.storage_secs().is_some_and(|s| s * 1000.0 <= upstream_age_ms as f64) {
                Err("too-old")
            } else {
                Ok(f)
            }
        });
        let names = vary.as_deref().map(vary_names).unwrap_or_default();
        let variant = (!names.is_empty()).then(|| variant_key(key, &names, |h| req.header(h)));
        let (stored, refusal) = match decision {
            Err(why) => {
                self.count(|s| s.not_stored += 1);
                (false, Some(why))
            }
            Ok(freshness) => {
                let ttl = match freshness.storage_secs() {
                    Some(s) => Ttl::Seconds((s - upstream_age_ms as f64 / 1000.0).max(0.001)),
                    None => Ttl::Never,
                };
                let entry = CachedResponse {
                    status: response.status,
                    headers: response
                        .headers
                        .iter()
                        .filter(|(k, _)| !NOT_STORED.contains(&k.to_ascii_lowercase().as_str()))
                        .cloned()
                        .collect(),
                    stored_at_ms: now.saturating_sub(upstream_age_ms),
                    freshness,
                    vary: names.clone(),
                    body: response.body.clone(),
                };
                let write = async {
                    match &variant {
                        None => store.put(key, entry.encode(), ttl, policy.version).await,
                        Some(vkey) => {
                            let pointer = CachedResponse::variants(names.clone(), now, freshness);
                            store.put(key, pointer.encode(), ttl, policy.version).await?;
                            store.put(vkey, entry.encode(), ttl, policy.version).await
                        }
                    }
                };
                match write.await {
                    Ok(()) => {
                        self.count(|s| s.stored += 1);
                        (true, None)
                    }
                    Err(_) => {
                        // Fail open: the origin's answer is served anyway.
                        self.count(|s| s.store_errors += 1);
                        (false, Some("store-error"))
                    }
                }
            }
        };
        Ok(Fetched {
            response: Rc::new(response),
            stored,
            refusal,
            variant,
        })
    }

    /// Refreshes a stale entry after the response is sent; one refresh per
    /// key at a time.
    fn refresh_in_background(
        &self,
        store: Rc<dyn ResponseStore>,
        key: String,
        mut req: HttpRequest,
        policy: CachePolicy,
        io: &Io,
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
            sleep: io.sleep.clone(),
        };
        (io.spawn)(
            async move {
                let _ = this.fetch_collapsed(&*store, &key, &req, &policy, &io2).await;
                this.inner.refreshing.borrow_mut().remove(&tag);
            }
            .boxed_local(),
        );
    }

    /// Sends a request to the origin without touching the cache.
    pub async fn forward(&self, req: HttpRequest, io: &Io, why: &'static str) -> HttpResponse {
        let mut r = match (io.origin)(req).await {
            Ok(r) => r,
            Err(e) => {
                self.count(|s| s.origin_errors += 1);
                HttpResponse::text(502, &format!("origin unreachable: {e}"))
            }
        };
        r.headers
            .retain(|(k, _)| !OWN_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
        r.set_header(
            "cache-status",
            CacheStatus {
                fwd: Some("bypass"),
                detail: Some(why.into()),
                ..Default::default()
            }
            .to_string(),
        );
        r
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::local::{LocalBackend, LocalOptions};
    use crate::response_store::BackendStore;
    use crate::ttl::Timeout;
    use futures::executor::{block_on, LocalPool};
    use futures::task::LocalSpawnExt;

    type Reply = Rc<dyn Fn(&HttpRequest, u32) -> std::result::Result<HttpResponse, String>>;

    struct Rig {
        cache: ResponseCache,
        clock: ManualClock,
        calls: Rc<Cell<u32>>,
        reply: Rc<RefCell<Reply>>,
        background: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>>,
        io: Io,
    }

    fn ok(body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn rig_with_store(store: Rc<dyn ResponseStore>, clock: ManualClock) -> Rig {
        let mut stores = BTreeMap::new();
        stores.insert("default".to_string(), store);
        let cache = ResponseCache::new(stores, Rc::new(clock.clone()));
        let calls = Rc::new(Cell::new(0));
        let reply: Rc<RefCell<Reply>> = Rc::new(RefCell::new(Rc::new(|_: &HttpRequest, n: u32| {
            Ok(ok(&format!("v{n}"), &[]))
        })));
        let background: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>> = Rc::default();
        let origin: Origin = {
            let (calls, reply) = (calls.clone(), reply.clone());
            Rc::new(move |req: HttpRequest| {
                calls.set(calls.get() + 1);
                let r = (reply.borrow().clone())(&req, calls.get());
                async move { r }.boxed_local()
            })
        };
        let spawn: Spawner = {
            let bg = background.clone();
            Rc::new(move |f| bg.borrow_mut().push(f))
        };
        let sleep: Sleep = Rc::new(|_| futures::future::pending().boxed_local());
        Rig {
            cache,
            clock,
            calls,
            reply,
            background,
            io: Io { origin, spawn, sleep },
        }
    }

    fn rig() -> Rig {
        let clock = ManualClock::new(1_000_000);
        let backend = LocalBackend::with_clock(
            "",
            1,
            Timeout::default(),
            LocalOptions::default(),
            Rc::new(clock.clone()),
        );
        rig_with_store(
            Rc::new(BackendStore {
                name: "default".into(),
                backend: Rc::new(backend),
            }),
            clock,
        )
    }

    impl Rig {
        fn get(&self, req: HttpRequest, policy: &CachePolicy) -> HttpResponse {
            block_on(self.cache.handle(req, policy, &self.io))
        }
        fn set_reply(&self, f: impl Fn(&HttpRequest, u32) -> std::result::Result<HttpResponse, String> + 'static) {
            *self.reply.borrow_mut() = Rc::new(f);
        }
        fn run_background(&self) {
            let tasks: Vec<_> = self.background.borrow_mut().drain(..).collect();
            for t in tasks {
                block_on(t);
            }
        }
    }

    fn status(r: &HttpResponse) -> String {
        r.header("cache-status").unwrap_or_default()
    }

    fn body(r: &HttpResponse) -> String {
        String::from_utf8_lossy(&r.body).into_owned()
    }

    const URL: &str = "https://Example.COM:443/a?x=1#frag";

    #[test]
    fn miss_then_hit() {
        let r = rig();
        let p = CachePolicy::default();
        let a = r.get(HttpRequest::get(URL), &p);
        assert_eq!(
            (status(&a).as_str(), body(&a).as_str()),
            ("edgecache; fwd=miss; stored", "v1")
        );
        r.clock.advance_ms(2500);
        let b = r.get(HttpRequest::get("https://example.com/a?x=1"), &p);
        assert_eq!(body(&b), "v1");
        assert_eq!(status(&b), "edgecache; hit; ttl=297");
        assert_eq!(b.header("age").as_deref(), Some("2"));
        assert_eq!(r.calls.get(), 1);
        assert_eq!(r.cache.stats().hits, 1);
        let h = r.get(
            HttpRequest {
                method: "HEAD".into(),
                ..HttpRequest::get(URL)
            },
            &p,
        );
        assert!(h.body.is_empty() && status(&h).contains("hit"));
    }

    #[test]
    fn head_miss_fetches_get_and_stores() {
        let r = rig();
        let p = CachePolicy::default();
        let h = r.get(
            HttpRequest {
                method: "HEAD".into(),
                ..HttpRequest::get(URL)
            },
            &p,
        );
        assert!(h.body.is_empty());
        assert!(status(&h).contains("stored"));
        assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
    }

    /// An origin whose answers vary on Accept-Language: "<language>-<call>".
    fn language_rig() -> Rig {
        let r = rig();
        r.set_reply(|req, n| {
            Ok(ok(
                &format!("{}-{n}", req.header("accept-language").unwrap_or_default()),
                &[("vary", "Accept-Language")],
            ))
        });
        r
    }

    fn lang(l: &str) -> HttpRequest {
        HttpRequest::get(URL).with_header("accept-language", l)
    }

    #[test]
    fn vary_splits_variants() {
        let r = language_rig();
        let p = CachePolicy::default();
        let (fr, de) = (|| lang("fr"), || lang("de"));
        assert_eq!(body(&r.get(fr(), &p)), "fr-1");
        assert_eq!(body(&r.get(de(), &p)), "de-2");
        let again = r.get(fr(), &p);
        assert_eq!((body(&again).as_str(), status(&again).contains("hit")), ("fr-1", true));
        assert_eq!(body(&r.get(de(), &p)), "de-2");
        assert_eq!(r.calls.get(), 2);
    }

    #[test]
    fn private_cookie_authorization() {
        let r = rig();
        let p = CachePolicy::default();
        r.set_reply(|req, n| {
            let h: &[(&str, &str)] = match req.url.as_str() {
                "https://e.com/private" => &[("cache-control", "private")],
                "https://e.com/cookie" => &[("set-cookie", "a=1")],
                "https://e.com/public" => &[("cache-control", "public, max-age=60")],
                _ => &[],
            };
            Ok(ok(&n.to_string(), h))
        });
        for (path, detail) in [("private", "private"), ("cookie", "set-cookie")] {
            let url = format!("https://e.com/{path}");
            let a = r.get(HttpRequest::get(&url), &p);
            assert_eq!(status(&a), format!("edgecache; fwd=miss; detail={detail}"));
            assert!(status(&r.get(HttpRequest::get(&url), &p)).contains("fwd=miss"));
        }
        let authed = |u: &str| HttpRequest::get(u).with_header("authorization", "Bearer x");
        let a = r.get(authed("https://e.com/plain"), &p);
        assert!(status(&a).contains("detail=authorization"), "{}", status(&a));
        let a = r.get(authed("https://e.com/public"), &p);
        assert!(status(&a).contains("stored"));
    }

    #[test]
    fn stale_while_revalidate_serves_stale_once_then_fresh() {
        let r = rig();
        let p = CachePolicy {
            ttl: Ttl::Seconds(1.0),
            stale_while_revalidate: 10.0,
            ..Default::default()
        };
        assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
        r.clock.advance_ms(2000);
        let stale = r.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&stale), "v1");
        // Lifetime 1 s, age 2 s: ttl = 1 − 2.
        assert_eq!(status(&stale), "edgecache; hit; ttl=-1; detail=stale-while-revalidate");
        assert_eq!(r.calls.get(), 1, "the refresh runs after the response");
        let again = r.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&again), "v1");
        assert_eq!(r.background.borrow().len(), 1, "one refresh per key at a time");
        r.run_background();
        assert_eq!(r.calls.get(), 2);
        let fresh = r.get(HttpRequest::get(URL), &p);
        assert_eq!(
            (
                body(&fresh).as_str(),
                status(&fresh).starts_with("edgecache; hit; ttl=")
            ),
            ("v2", true)
        );
    }

    #[test]
    fn stale_if_error_when_origin_fails() {
        let r = rig();
        let p = CachePolicy {
            ttl: Ttl::Seconds(1.0),
            stale_if_error: 60.0,
            ..Default::default()
        };
        r.get(HttpRequest::get(URL), &p);
        r.clock.advance_ms(5000);
        r.set_reply(|_, _| Err("connection refused".into()));
        let a = r.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&a), "v1");
        assert_eq!(
            status(&a),
            "edgecache; fwd=stale; fwd-status=502; ttl=-4; detail=stale-if-error"
        );
        r.set_reply(|_, _| Ok(HttpResponse::text(503, "down")));
        let b = r.get(HttpRequest::get(URL), &p);
        assert!(status(&b).contains("fwd-status=503") && body(&b) == "v1");
        r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[])));
        let c = r.get(HttpRequest::get(URL), &p);
        assert_eq!(status(&c), "edgecache; fwd=stale; stored");
        assert_eq!(body(&c), "v4");
        r.clock.advance_ms(120_000);
        r.set_reply(|_, _| Err("down".into()));
        let d = r.get(HttpRequest::get(URL), &p);
        assert_eq!(d.status, 502, "past the stale-if-error window nothing is served");
    }

    struct DownStore;

    #[async_trait::async_trait(?Send)]
    impl ResponseStore for DownStore {
        fn name(&self) -> &str {
            "down"
        }
        fn default_timeout(&self) -> Timeout {
            Timeout::default()
        }
        async fn get(&self, _: &str, _: Option<i64>) -> Result<Option<Vec<u8>>> {
            Err(CacheError::backend("down", "connection refused"))
        }
        async fn put(&self, _: &str, _: Vec<u8>, _: Ttl, _: Option<i64>) -> Result<()> {
            Err(CacheError::backend("down", "connection refused"))
        }
        async fn delete(&self, _: &str, _: Option<i64>) -> Result<bool> {
            Err(CacheError::backend("down", "connection refused"))
        }
        async fn delete_prefix(&self, _: &str, _: Option<i64>) -> Result<usize> {
            Err(CacheError::backend("down", "connection refused"))
        }
    }

    #[test]
    fn store_down_fails_open() {
        let r = rig_with_store(Rc::new(DownStore), ManualClock::new(0));
        let a = r.get(HttpRequest::get(URL), &CachePolicy::default());
        assert_eq!((a.status, body(&a).as_str()), (200, "v1"));
        assert!(status(&a).contains("fwd=bypass; detail=store-error"), "{}", status(&a));
        assert!(r.cache.stats().store_errors >= 1);
        let unknown = CachePolicy {
            backend: Some("nope".into()),
            ..Default::default()
        };
        let b = r.get(HttpRequest::get(URL), &unknown);
        assert_eq!(b.status, 200);
    }

    #[test]
    fn hundred_concurrent_misses_make_one_origin_request() {
        let r = rig();
        let out = collapse(&r, vec![HttpRequest::get(URL); 100], |_| ok("one", &[]));
        assert_eq!(out.len(), 100);
        assert_eq!(r.calls.get(), 1);
        assert!(out.iter().all(|x| body(x) == "one"));
        assert_eq!(out.iter().filter(|x| status(x).contains("collapsed")).count(), 99);
        assert_eq!(r.cache.stats().collapsed, 99);
    }

    #[test]
    fn request_no_cache_revalidates() {
        let r = rig();
        let p = CachePolicy::default();
        r.get(HttpRequest::get(URL), &p);
        let a = r.get(HttpRequest::get(URL).with_header("cache-control", "no-cache"), &p);
        assert_eq!(
            (status(&a).as_str(), body(&a).as_str()),
            ("edgecache; fwd=request; stored", "v2")
        );
        assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v2");
        let b = r.get(HttpRequest::get(URL).with_header("cache-control", "no-store"), &p);
        assert_eq!(status(&b), "edgecache; fwd=bypass; detail=no-store");
    }

    #[test]
    fn keys_prefixes_generations_and_purges() {
        let r = rig();
        let blog = CachePolicy {
            key_prefix: "blog".into(),
            ..Default::default()
        };
        assert_eq!(
            r.cache.key_for(&HttpRequest::get(URL), &blog),
            "GET https://example.com/a?x=1:blog"
        );
        assert_eq!(
            r.cache.key_for(&HttpRequest::get(URL), &CachePolicy::default()),
            "GET https://example.com/a?x=1:view"
        );
        let custom = CachePolicy {
            make_key: Some(Rc::new(|req: &HttpRequest, prefix: &str| {
                format!("{prefix}|{}", req.header("x-tenant").unwrap_or_default())
            })),
            key_prefix: "t".into(),
            ..Default::default()
        };
        assert_eq!(
            r.cache
                .key_for(&HttpRequest::get(URL).with_header("x-tenant", "acme"), &custom),
            "t|acme"
        );

        r.get(HttpRequest::get("https://e.com/posts/1"), &blog);
        r.get(HttpRequest::get("https://e.com/posts/2"), &blog);
        r.get(HttpRequest::get("https://e.com/about"), &blog);
        assert_eq!(r.calls.get(), 3);
        assert!(block_on(r.cache.purge_url("https://e.com/about", &blog)).unwrap());
        assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("miss"));
        assert_eq!(
            block_on(r.cache.purge_prefix("https://e.com/posts/", &blog)).unwrap(),
            2
        );
        assert!(status(&r.get(HttpRequest::get("https://e.com/posts/1"), &blog)).contains("miss"));
        assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("hit"));
        assert_eq!(block_on(r.cache.bump_generation(&blog)).unwrap(), 1);
        assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("miss"));
        assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("hit"));
        let other = CachePolicy::default();
        r.get(HttpRequest::get("https://e.com/x"), &other);
        block_on(r.cache.bump_generation(&blog)).unwrap();
        assert!(
            status(&r.get(HttpRequest::get("https://e.com/x"), &other)).contains("hit"),
            "a bump touches one prefix only"
        );
    }

    #[test]
    fn another_isolates_bump_shows_within_the_refresh_time() {
        let clock = ManualClock::new(1_000_000);
        let backend: Rc<dyn crate::backend::CacheBackend> = Rc::new(LocalBackend::with_clock(
            "",
            1,
            Timeout::default(),
            LocalOptions::default(),
            Rc::new(clock.clone()),
        ));
        let store = || -> Rc<dyn ResponseStore> {
            Rc::new(BackendStore {
                name: "default".into(),
                backend: backend.clone(),
            })
        };
        let a = rig_with_store(store(), clock.clone());
        let b = rig_with_store(store(), clock.clone());
        let p = CachePolicy::default();
        a.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&b.get(HttpRequest::get(URL), &p)), "v1", "b shares a's entry");
        block_on(a.cache.bump_generation(&p)).unwrap();
        assert_eq!(
            body(&a.get(HttpRequest::get(URL), &p)),
            "v2",
            "a sees its own bump at once"
        );
        assert_eq!(
            body(&b.get(HttpRequest::get(URL), &p)),
            "v1",
            "b trusts its generation for a while"
        );
        clock.advance_ms(GENERATION_REFRESH_MS);
        let r = b.get(HttpRequest::get(URL), &p);
        assert_eq!(
            (body(&r).as_str(), status(&r).contains("hit")),
            ("v2", true),
            "b sees a's bump and a's new entry"
        );
        assert_eq!(b.calls.get(), 0);
    }

    #[test]
    fn origin_ttl_and_size_limit() {
        let r = rig();
        r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=2")])));
        let p = CachePolicy {
            ttl: Ttl::Seconds(100.0),
            origin_ttl: true,
            ..Default::default()
        };
        r.get(HttpRequest::get(URL), &p);
        r.clock.advance_ms(2500);
        assert!(status(&r.get(HttpRequest::get(URL), &p)).contains("miss"));
        let small = CachePolicy {
            max_entry_bytes: 1,
            ..Default::default()
        };
        let a = r.get(HttpRequest::get("https://e.com/big"), &small);
        assert!(status(&a).contains("detail=too-large"));
    }

    #[test]
    fn for_service_uses_every_backend_by_name() {
        let service = crate::service::CacheService::from_config(
            r#"{"default": {"backend": "local"}, "pages": {"backend": "local", "ttl": 60}}"#,
            &crate::config::NoSecrets,
        )
        .unwrap();
        let cache = ResponseCache::for_service(&service);
        assert_eq!(
            cache.store(Some("pages")).unwrap().default_timeout(),
            Timeout::Seconds(60.0)
        );
        let r = rig();
        let io = Io {
            origin: r.io.origin.clone(),
            spawn: r.io.spawn.clone(),
            sleep: r.io.sleep.clone(),
        };
        let p = CachePolicy {
            backend: Some("pages".into()),
            ..Default::default()
        };
        block_on(cache.handle(HttpRequest::get(URL), &p, &io));
        let hit = block_on(cache.handle(HttpRequest::get(URL), &p, &io));
        let st = status(&hit);
        assert!(st == "edgecache; hit; ttl=60" || st == "edgecache; hit; ttl=59", "{st}");
        assert!(service.stats()["pages"]["entries"].as_u64().unwrap() >= 1);
        assert!(cache.store(Some("nope")).is_err());
    }

    #[test]
    fn url_normalization() {
        assert_eq!(
            normalize_url("HTTPS://Ex.com:443/p?b=2&a=1#f", false),
            "https://ex.com/p?b=2&a=1"
        );
        assert_eq!(normalize_url("http://ex.com:80/p?", false), "http://ex.com/p");
        assert_eq!(
            normalize_url("http://ex.com/p?b=2&a=1", true),
            "http://ex.com/p?a=1&b=2"
        );
        assert_eq!(normalize_url("http://ex.com:8080/", false), "http://ex.com:8080/");
    }

    /// Concurrent requests for one key: the first leads the origin fetch,
    /// which answers only once all of them are waiting.
    fn collapse(
        r: &Rig,
        requests: Vec<HttpRequest>,
        reply: impl Fn(&HttpRequest) -> HttpResponse + 'static,
    ) -> Vec<HttpResponse> {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let gate = Rc::new(RefCell::new(Some(rx)));
        let calls = r.calls.clone();
        let origin: Origin = Rc::new(move |req| {
            calls.set(calls.get() + 1);
            let wait = gate.borrow_mut().take();
            let resp = reply(&req);
            async move {
                if let Some(w) = wait {
                    let _ = w.await;
                }
                Ok(resp)
            }
            .boxed_local()
        });
        let io = Rc::new(Io {
            origin,
            spawn: r.io.spawn.clone(),
            sleep: r.io.sleep.clone(),
        });
        let mut pool = LocalPool::new();
        let out: Rc<RefCell<Vec<Option<HttpResponse>>>> = Rc::new(RefCell::new(vec![None; requests.len()]));
        for (i, req) in requests.into_iter().enumerate() {
            let (cache, io, out) = (r.cache.clone(), io.clone(), out.clone());
            pool.spawner()
                .spawn_local(async move {
                    let resp = cache.handle(req, &CachePolicy::default(), &io).await;
                    out.borrow_mut()[i] = Some(resp);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        tx.send(()).unwrap();
        pool.run_until_stalled();
        let out = out.borrow();
        out.iter().map(|r| r.clone().expect("answered")).collect()
    }

    fn collapse_two(
        r: &Rig,
        first: HttpRequest,
        second: HttpRequest,
        reply: impl Fn(&HttpRequest) -> HttpResponse + 'static,
    ) -> (HttpResponse, HttpResponse) {
        let mut out = collapse(r, vec![first, second], reply);
        let b = out.pop().expect("two");
        (out.pop().expect("two"), b)
    }

    #[test]
    fn a_waiter_never_gets_another_users_private_answer() {
        let r = rig();
        let alice = HttpRequest::get(URL).with_header("authorization", "Bearer alice");
        let (a, b) = collapse_two(&r, alice, HttpRequest::get(URL), |req| {
            match req.header("authorization") {
                Some(who) => ok(
                    &format!("hello {who}"),
                    &[("cache-control", "private"), ("set-cookie", "session=alice")],
                ),
                None => ok("hello anonymous", &[]),
            }
        });
        assert_eq!(body(&a), "hello Bearer alice");
        assert_eq!((body(&b).as_str(), b.header("set-cookie")), ("hello anonymous", None));
        assert_eq!(r.calls.get(), 2);
    }

    #[test]
    fn a_waiter_never_gets_a_partial_answer() {
        let r = rig();
        let ranged = HttpRequest::get(URL).with_header("range", "bytes=0-1");
        let (_, b) = collapse_two(&r, ranged, HttpRequest::get(URL), |req| {
            if req.header("range").is_some() {
                HttpResponse {
                    status: 206,
                    headers: vec![("content-range".into(), "bytes 0-1/10".into())],
                    body: b"01".to_vec(),
                }
            } else {
                ok("0123456789", &[])
            }
        });
        assert_eq!((b.status, body(&b).as_str()), (200, "0123456789"));
    }

    #[test]
    fn a_waiter_shares_a_public_answer() {
        let r = rig();
        let (a, b) = collapse_two(&r, HttpRequest::get(URL), HttpRequest::get(URL), |_| ok("same", &[]));
        assert_eq!((body(&a), body(&b)), ("same".to_string(), "same".to_string()));
        assert!(status(&b).contains("collapsed"), "{}", status(&b));
        assert_eq!(r.calls.get(), 1);
    }

    #[test]
    fn must_revalidate_is_never_served_stale() {
        let r = rig();
        r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=1, must-revalidate")])));
        let p = CachePolicy {
            origin_ttl: true,
            stale_while_revalidate: 60.0,
            ..Default::default()
        };
        r.get(HttpRequest::get(URL), &p);
        r.clock.advance_ms(5_000);
        let b = r.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&b), "v2", "{}", status(&b));
    }

    #[test]
    fn a_huge_origin_max_age_is_capped_not_overflowed() {
        let r = rig();
        r.set_reply(|_, n| {
            Ok(ok(
                &format!("v{n}"),
                &[("cache-control", "max-age=31536000000000000, stale-while-revalidate=60")],
            ))
        });
        let p = CachePolicy {
            origin_ttl: true,
            ..Default::default()
        };
        assert!(status(&r.get(HttpRequest::get(URL), &p)).contains("stored"));
        r.clock.advance_ms(86_400_000);
        assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
    }

    #[test]
    fn a_corrupt_vary_pointer_is_a_miss_not_an_answer() {
        let r = rig();
        let p = CachePolicy::default();
        let key = r.cache.key_for(&HttpRequest::get(URL), &p);
        let fresh = crate::http_policy::Freshness {
            fresh_ms: Some(60_000),
            swr_ms: 0,
            sie_ms: 0,
        };
        let bad = CachedResponse::variants(vec![], 1_000_000, fresh);
        let store = r.cache.store(None).unwrap();
        block_on(store.put(&key, bad.encode(), Ttl::Seconds(60.0), None)).unwrap();
        let a = r.get(HttpRequest::get(URL), &p);
        assert_eq!((a.status, body(&a).as_str()), (200, "v1"), "{}", status(&a));
        assert_eq!(r.cache.stats().store_errors, 1);
    }

    #[test]
    fn an_origin_error_is_counted_once() {
        let r = rig();
        r.set_reply(|_, _| Err("down".into()));
        assert_eq!(r.get(HttpRequest::get(URL), &CachePolicy::default()).status, 502);
        assert_eq!(r.cache.stats().origin_errors, 1);
    }

    #[test]
    fn purge_url_drops_the_variants_too() {
        let r = language_rig();
        let p = CachePolicy::default();
        let (fr, de) = (|| lang("fr"), || lang("de"));
        r.get(fr(), &p);
        assert_eq!(body(&r.get(de(), &p)), "de-2");
        assert!(block_on(r.cache.purge_url(URL, &p)).unwrap());
        assert_eq!(body(&r.get(fr(), &p)), "fr-3", "pointer rewritten");
        assert_eq!(body(&r.get(de(), &p)), "de-4", "a purged variant came back");
    }

    #[test]
    fn with_origin_ttl_the_origins_age_counts() {
        let r = rig();
        r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=60"), ("age", "50")])));
        let p = CachePolicy {
            origin_ttl: true,
            ..Default::default()
        };
        r.get(HttpRequest::get(URL), &p);
        r.clock.advance_ms(5_000);
        let a = r.get(HttpRequest::get(URL), &p);
        assert_eq!(
            (body(&a).as_str(), a.header("age")),
            ("v1", Some("55".into())),
            "{}",
            status(&a)
        );
        assert!(status(&a).contains("ttl=5"), "{}", status(&a));
        r.clock.advance_ms(15_000); // 70 s old
        assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v2");
        // Older than its lifetime on arrival: not stored at all.
        r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=60"), ("age", "90")])));
        let p2 = CachePolicy {
            origin_ttl: true,
            key_prefix: "other".into(),
            ..Default::default()
        };
        assert!(status(&r.get(HttpRequest::get(URL), &p2)).contains("detail=too-old"));
    }

    #[test]
    fn with_origin_ttl_an_expires_in_the_past_is_not_served_from_cache() {
        let r = rig();
        r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")])));
        let p = CachePolicy {
            origin_ttl: true,
            ..Default::default()
        };
        r.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v2");
    }

    #[test]
    fn waiters_share_a_failing_origins_error_but_not_a_no_store_answer() {
        let r = rig();
        let (_, b) = collapse_two(&r, HttpRequest::get(URL), HttpRequest::get(URL), |_| HttpResponse {
            status: 503,
            headers: vec![],
            body: b"overloaded".to_vec(),
        });
        assert_eq!((b.status, r.calls.get()), (503, 1), "{}", status(&b));
        let r = rig();
        let (_, b) = collapse_two(&r, HttpRequest::get(URL), HttpRequest::get(URL), |_| {
            ok("mine", &[("cache-control", "no-store")])
        });
        assert_eq!((body(&b).as_str(), r.calls.get()), ("mine", 2));
    }
}
