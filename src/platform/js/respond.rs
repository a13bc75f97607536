//! The response cache for JavaScript: the Rust engine (Vary, Cache-Status,
//! request collapsing, stale-while-revalidate through `waitUntil`,
//! stale-if-error, fail-open) behind a class whose `handle` takes a plain
//! request object and an async origin function. The package's
//! `withCache(handler, options)` and Hono middleware convert `Request` and
//! `Response` to and from these plain objects: a body is a whole
//! `Uint8Array` (`body`) or a `ReadableStream` (`stream`), which the engine
//! stores after it has passed through the tee the package sets
//! (`setBodyTee`).

use std::collections::BTreeMap;
use std::rc::Rc;

use futures::FutureExt;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::convert::{js_error, option, ttl_of};
use super::purge_log::JsPurgeLog;
use super::service::JsCacheService;
use crate::http::{BodyStream, HttpRequest, HttpResponse, OriginError};
use crate::response_cache::purge_log::{Purge, Scope};
use crate::response_cache::DEFAULT_PURGE_SYNC_MS;
use crate::response_cache::{
    BackendStore, BodyTee, CachePolicy, Io, Origin, Release, ResponseCache, ResponseStore, Spawner, Teed,
};

/// A response cache over the backends of a `CacheService`.
#[wasm_bindgen(js_name = ResponseCache)]
pub struct JsResponseCache {
    inner: ResponseCache,
}

fn headers_to_js(headers: &[(String, String)]) -> Array {
    headers
        .iter()
        .map(|(k, v)| JsValue::from(Array::of2(&k.into(), &v.into())))
        .collect()
}

fn headers_from_js(v: &JsValue) -> Vec<(String, String)> {
    let Some(list) = v.dyn_ref::<Array>() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|pair| {
            let pair: Array = pair.dyn_into().ok()?;
            Some((pair.get(0).as_string()?.to_ascii_lowercase(), pair.get(1).as_string()?))
        })
        .collect()
}

fn body_from_js(v: &JsValue) -> Vec<u8> {
    v.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec).unwrap_or_default()
}

fn request_to_js(req: &HttpRequest) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"method".into(), &req.method.as_str().into());
    let _ = Reflect::set(&o, &"url".into(), &req.url.as_str().into());
    let _ = Reflect::set(&o, &"headers".into(), &headers_to_js(&req.headers));
    let _ = Reflect::set(&o, &"body".into(), &Uint8Array::from(req.body.as_slice()));
    o.into()
}

fn request_from_js(v: &JsValue) -> Result<HttpRequest, JsValue> {
    let text = |name: &str| option(v, name).as_string();
    Ok(HttpRequest {
        method: text("method").unwrap_or_else(|| "GET".into()).to_ascii_uppercase(),
        url: text("url").ok_or_else(|| js_error("invalid_request", "the request has no url"))?,
        headers: headers_from_js(&option(v, "headers")),
        body: body_from_js(&option(v, "body")),
    })
}

fn response_to_js(resp: &HttpResponse) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"status".into(), &JsValue::from_f64(f64::from(resp.status)));
    let _ = Reflect::set(&o, &"headers".into(), &headers_to_js(&resp.headers));
    let _ = Reflect::set(&o, &"body".into(), &Uint8Array::from(resp.body.as_slice()));
    if let Some(stream) = resp.stream.as_ref().and_then(stream_value) {
        let _ = Reflect::set(&o, &"stream".into(), &stream);
    }
    o.into()
}

/// The JS stream a [`BodyStream`] of this platform holds.
fn stream_value(s: &BodyStream) -> Option<JsValue> {
    s.0.downcast_ref::<JsValue>().cloned()
}

/// The package's tee: `tee(stream, limit)` returns `[clientStream,
/// Promise<Uint8Array | null>, release]` (null: past `limit`, or broken
/// off; `release()` lets the client's stream end).
struct JsBodyTee(Function);

impl BodyTee for JsBodyTee {
    fn tee(&self, stream: &BodyStream, limit: usize) -> Teed {
        let source = stream_value(stream).unwrap_or(JsValue::NULL);
        let parts = self
            .0
            .call2(&JsValue::NULL, &source, &JsValue::from_f64(limit as f64))
            .ok()
            .and_then(|p| p.dyn_into::<Array>().ok());
        let Some(parts) = parts else {
            // No copy: the stream goes on as it is, and nothing is stored.
            return Teed {
                client: stream.clone(),
                body: async { None }.boxed_local(),
                release: Release::new(|| {}),
            };
        };
        let whole = parts.get(1);
        let release = parts.get(2).dyn_into::<Function>().ok();
        Teed {
            client: BodyStream(Rc::new(parts.get(0))),
            body: async move {
                let whole = match whole.dyn_into::<Promise>() {
                    Ok(p) => JsFuture::from(p).await.ok()?,
                    Err(v) => v,
                };
                whole.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
            }
            .boxed_local(),
            release: Release::new(move || {
                if let Some(f) = release {
                    let _ = f.call0(&JsValue::NULL);
                }
            }),
        }
    }
}

/// The async JS origin `(request) => ({ status, headers, body })` as the engine's origin.
fn js_origin(origin: Function) -> Origin {
    Rc::new(move |req: HttpRequest| {
        let origin = origin.clone();
        async move {
            let failed = |e: JsValue| {
                let m = Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| format!("{e:?}"));
                OriginError::Handler(m)
            };
            let r = origin.call1(&JsValue::NULL, &request_to_js(&req)).map_err(failed)?;
            let r = match r.dyn_ref::<Promise>() {
                Some(p) => JsFuture::from(p.clone()).await.map_err(failed)?,
                None => r,
            };
            let status = option(&r, "status").as_f64().unwrap_or(0.0);
            if !(200.0..=599.0).contains(&status) || status.fract() != 0.0 {
                return Err(OriginError::BadStatus(status.clamp(0.0, 65535.0) as u16));
            }
            let stream = option(&r, "stream");
            Ok(HttpResponse {
                status: status as u16,
                headers: headers_from_js(&option(&r, "headers")),
                body: body_from_js(&option(&r, "body")),
                stream: stream.is_object().then(|| BodyStream(Rc::new(stream))),
            })
        }
        .boxed_local()
    })
}

/// Background work through `waitUntil(promise)` when given, else a local spawn.
fn js_spawner(wait_until: JsValue) -> Spawner {
    let wait_until: Option<Function> = wait_until.dyn_into().ok();
    Rc::new(move |fut| match &wait_until {
        Some(f) => {
            let p = future_to_promise(async move {
                fut.await;
                Ok(JsValue::UNDEFINED)
            });
            let _ = f.call1(&JsValue::NULL, &p);
        }
        None => wasm_bindgen_futures::spawn_local(fut),
    })
}

fn number(options: &JsValue, name: &str) -> Result<Option<f64>, JsValue> {
    let v = option(options, name);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
        _ => Err(js_error("config", &format!("{name} must be a number >= 0"))),
    }
}

/// `{ ttl, keyPrefix, version, backend, makeKey, staleWhileRevalidate,
/// staleIfError, originTtl, heuristicMax, keep, honorRequestDirectives,
/// maxEntryBytes, lockTimeoutMs, sortQuery, tagHeaders, exposeTags }`.
fn policy_from_js(options: &JsValue) -> Result<CachePolicy, JsValue> {
    let mut p = CachePolicy {
        ttl: ttl_of(&option(options, "ttl"))?,
        ..Default::default()
    };
    if let Some(prefix) = option(options, "keyPrefix").as_string() {
        p.key_prefix = prefix;
    }
    p.version = super::convert::version_of(options)?;
    p.backend = option(options, "backend").as_string();
    if let Ok(f) = option(options, "makeKey").dyn_into::<Function>() {
        p.make_key = Some(Rc::new(move |req: &HttpRequest, prefix: &str| {
            f.call2(&JsValue::NULL, &request_to_js(req), &prefix.into())
                .ok()
                .and_then(|k| k.as_string())
                .unwrap_or_default()
        }));
    }
    if let Some(s) = number(options, "staleWhileRevalidate")? {
        p.stale_while_revalidate = s;
    }
    if let Some(s) = number(options, "staleIfError")? {
        p.stale_if_error = s;
    }
    if let Some(n) = number(options, "maxEntryBytes")? {
        p.max_entry_bytes = n as usize;
    }
    if let Some(n) = number(options, "lockTimeoutMs")? {
        p.lock_timeout_ms = n as u64;
    }
    if let Some(b) = option(options, "originTtl").as_bool() {
        p.origin_ttl = b;
    }
    if let Some(n) = number(options, "heuristicMax")? {
        p.heuristic_max = n;
    }
    if let Some(n) = number(options, "keep")? {
        p.keep = n;
    }
    if let Some(b) = option(options, "honorRequestDirectives").as_bool() {
        p.honor_request_directives = b;
    }
    if let Some(b) = option(options, "sortQuery").as_bool() {
        p.sort_query = b;
    }
    if let Some(list) = option(options, "tagHeaders").dyn_ref::<Array>() {
        p.tags.headers = list
            .iter()
            .map(|h| h.as_string().map(|h| h.to_ascii_lowercase()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| js_error("config", "tagHeaders must list header names"))?;
    }
    if let Some(b) = option(options, "exposeTags").as_bool() {
        p.tags.expose = b;
    }
    Ok(p)
}

#[wasm_bindgen(js_class = ResponseCache)]
impl JsResponseCache {
    /// A response cache whose stores are the service's backends (by name).
    #[wasm_bindgen(constructor)]
    pub fn new(service: &JsCacheService) -> JsResponseCache {
        let shared = service.shared();
        let stores: BTreeMap<String, Rc<dyn ResponseStore>> = shared
            .names()
            .into_iter()
            .filter_map(|name| {
                let backend = shared.backend(&name).ok()?.clone();
                Some((
                    name.clone(),
                    Rc::new(BackendStore { name, backend }) as Rc<dyn ResponseStore>,
                ))
            })
            .collect();
        JsResponseCache {
            inner: ResponseCache::new(stores, Rc::new(super::JsRuntime)),
        }
    }

    /// Answers `request` (`{ method, url, headers: [[name, value]], body }`)
    /// from the cache or through `origin(request)` (resolving to `{ status,
    /// headers, body }` or `{ status, headers, stream }`); resolves to `{
    /// status, headers, body, stream? }`. `waitUntil(promise)` keeps background refreshes alive.
    pub fn handle(&self, request: JsValue, options: JsValue, origin: Function, wait_until: JsValue) -> Promise {
        let cache = self.inner.clone();
        future_to_promise(async move {
            let req = request_from_js(&request)?;
            let policy = policy_from_js(&options)?;
            let io = Io {
                origin: js_origin(origin),
                spawn: js_spawner(wait_until),
            };
            Ok(response_to_js(&cache.handle(req, &policy, &io).await))
        })
    }

    /// Streams bodies: an origin's `stream` goes to the client through
    /// `tee(stream, limit)` (see [`BodyTee`]) and is stored after its last
    /// byte if it fits `maxEntryBytes`. Without it a `stream` is passed on
    /// and not stored.
    #[wasm_bindgen(js_name = setBodyTee)]
    pub fn set_body_tee(&self, tee: Function) {
        self.inner.set_body_tee(Rc::new(JsBodyTee(tee)));
    }

    /// Shares invalidation through `log` (`{ append(purge), since(cursor) }`),
    /// syncing at most every `syncMs` (default 1000) before a lookup.
    #[wasm_bindgen(js_name = setPurgeLog)]
    pub fn set_purge_log(&self, log: JsValue, sync_ms: JsValue) -> Result<(), JsValue> {
        let log = JsPurgeLog::new(log).map_err(|m| js_error("config", &m))?;
        let sync_ms = match sync_ms.as_f64() {
            None if sync_ms.is_undefined() || sync_ms.is_null() => DEFAULT_PURGE_SYNC_MS,
            Some(n) if (10.0..=60_000.0).contains(&n) && n.fract() == 0.0 => n as u64,
            _ => {
                return Err(js_error(
                    "config",
                    "syncMs must be a whole number of ms from 10 to 60000",
                ))
            }
        };
        self.inner.set_purge_log(Rc::new(log), sync_ms);
        Ok(())
    }

    /// Invalidates `{ url } | { prefix } | { keyPrefix } | { tag } | { all: true }`
    /// (`soft: true` marks stale instead of gone) for responses cached with
    /// `options` (the policy: its `sortQuery` and store); resolves to the
    /// purge's sequence in the log.
    pub fn purge(&self, spec: JsValue, options: JsValue) -> Promise {
        let cache = self.inner.clone();
        future_to_promise(async move {
            let policy = policy_from_js(&options)?;
            let soft = option(&spec, "soft").as_bool().unwrap_or(false);
            let text = |name: &str| option(&spec, name).as_string().filter(|s| !s.is_empty());
            let scope = if let Some(url) = text("url") {
                ResponseCache::url_scope(&url, &policy)
            } else if let Some(prefix) = text("prefix") {
                ResponseCache::url_prefix_scope(&prefix)
            } else if let Some(kp) = option(&spec, "keyPrefix").as_string() {
                Scope::KeyPrefix(kp)
            } else if let Some(tag) = text("tag") {
                Scope::Tag(tag)
            } else if option(&spec, "all").as_bool() == Some(true) {
                Scope::All
            } else {
                return Err(js_error(
                    "invalid_purge",
                    "give one of url, prefix, keyPrefix, tag or all: true",
                ));
            };
            let seq = cache
                .invalidate(Purge { scope, soft })
                .await
                .map_err(|e| super::convert::to_js_error(&e))?;
            Ok(JsValue::from_f64(seq as f64))
        })
    }

    /// Counters: hits, misses, stale answers, store errors.
    pub fn stats(&self) -> JsValue {
        let text = serde_json::to_string(&self.inner.stats()).expect("stats serialize");
        js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL)
    }
}
