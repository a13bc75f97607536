//! The workers-rs binding: converts between workers-rs types and the plain
//! data of [`crate::response_cache`], provides the Cache API store and
//! `waitUntil`/`setTimeout` for background refreshes and lock timeouts, and
//! the `@Cache` wrapper for handlers and whole Routers.
//!
//! ```ignore
//! // Cache one handler (Ellar's @Cache(ttl=60, key_prefix="items")):
//! let policy = CachePolicy { ttl: Ttl::Seconds(60.0), key_prefix: "items".into(), ..Default::default() };
//! let env2 = env.clone();
//! cache.respond(req, &policy, Some(&ctx), move |req| render_item(req, env2.clone())).await
//!
//! // Cache a whole Router (@Cache on a controller):
//! cache.respond(req, &policy, Some(&ctx), move |req| {
//!     let env = env.clone();
//!     async move { Router::new().get_async("/items/:id", item).run(req, env).await }
//! }).await
//! ```

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use worker::{Cache, Context, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

use crate::backend::CacheBackend;
use crate::config::{BackendConfig, Secrets};
use crate::error::{CacheError, Result};
use crate::redis_rest::{HttpTransport, Picker, RedisRestBackend, RedisRestOptions};
use crate::response_cache::{CachePolicy, HttpRequest, HttpResponse, Io, Origin, ResponseCache, Sleep, Spawner};
use crate::response_store::ResponseStore;
use crate::service::BackendRegistry;
use crate::single_flight::Signal;
use crate::ttl::{Timeout, Ttl};

fn werr(e: worker::Error) -> String {
    e.to_string()
}

/// A workers-rs request as plain data (reads the body of non-GET requests).
pub async fn from_worker_request(req: &mut Request) -> worker::Result<HttpRequest> {
    let method = req.method().to_string();
    let body = if matches!(req.method(), Method::Get | Method::Head) {
        Vec::new()
    } else {
        req.bytes().await.unwrap_or_default()
    };
    Ok(HttpRequest {
        method,
        url: req.url()?.to_string(),
        headers: req.headers().entries().collect(),
        body,
    })
}

/// A plain request as a workers-rs request to `url`.
pub fn to_worker_request(req: &HttpRequest, url: &str) -> worker::Result<Request> {
    let headers = Headers::new();
    for (k, v) in &req.headers {
        if k != "host" {
            headers.append(k, v)?;
        }
    }
    let method = Method::from(req.method.to_ascii_uppercase());
    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(headers);
    if !matches!(method, Method::Get | Method::Head) && !req.body.is_empty() {
        let body = js_sys::Uint8Array::from(req.body.as_slice());
        init.with_body(Some(body.into()));
    }
    Request::new_with_init(url, &init)
}

/// A workers-rs response as plain data.
pub async fn from_worker_response(mut resp: Response) -> worker::Result<HttpResponse> {
    Ok(HttpResponse {
        status: resp.status_code(),
        headers: resp.headers().entries().collect(),
        body: resp.bytes().await?,
    })
}

/// A plain response as a workers-rs response.
pub fn to_worker_response(r: HttpResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.append(k, v)?;
    }
    let resp = if r.status == 204 || r.status == 304 {
        Response::empty()?
    } else {
        Response::from_bytes(r.body)?
    };
    Ok(resp.with_status(r.status).with_headers(headers))
}

/// An origin that fetches `base` + the request's path and query.
pub fn upstream_origin(base: String) -> Origin {
    Rc::new(move |req: HttpRequest| {
        let base = base.clone();
        async move {
            let u = url::Url::parse(&req.url).map_err(|e| e.to_string())?;
            let target = match u.query() {
                Some(q) => format!("{base}{}?{q}", u.path()),
                None => format!("{base}{}", u.path()),
            };
            let wreq = to_worker_request(&req, &target).map_err(werr)?;
            let resp = Fetch::Request(wreq).send().await.map_err(werr)?;
            from_worker_response(resp).await.map_err(werr)
        }
        .boxed_local()
    })
}

/// An origin that calls a handler (or a Router) with a rebuilt request.
pub fn handler_origin<H, F>(handler: H) -> Origin
where
    H: Fn(Request) -> F + 'static,
    F: Future<Output = worker::Result<Response>> + 'static,
{
    let handler = Rc::new(handler);
    Rc::new(move |req: HttpRequest| {
        let handler = handler.clone();
        async move {
            let wreq = to_worker_request(&req, &req.url).map_err(werr)?;
            let resp = handler(wreq).await.map_err(werr)?;
            from_worker_response(resp).await.map_err(werr)
        }
        .boxed_local()
    })
}

/// `waitUntil` when there is a context, otherwise a plain local spawn.
pub fn spawner(ctx: Option<Rc<Context>>) -> Spawner {
    Rc::new(move |fut| match &ctx {
        Some(ctx) => ctx.wait_until(fut),
        None => wasm_bindgen_futures::spawn_local(fut),
    })
}

/// Wakes a collapsed request in its own request context: it waits on a JS
/// promise it made, which the leading request resolves. (A Rust channel
/// would resume it inside the leader's context, which workerd refuses.)
pub fn js_signal() -> Signal {
    Rc::new(|| {
        let slot: Rc<std::cell::RefCell<Option<js_sys::Function>>> = Rc::default();
        let fill = slot.clone();
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            *fill.borrow_mut() = Some(resolve);
        });
        let wake: Box<dyn FnOnce()> = Box::new(move || {
            if let Some(resolve) = slot.borrow_mut().take() {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        });
        let wait = async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        .boxed_local();
        (wake, wait)
    })
}

/// HTTP POST through `fetch`, for the Redis REST backend.
pub struct FetchTransport;

#[async_trait(?Send)]
impl HttpTransport for FetchTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        timeout_ms: u64,
    ) -> std::result::Result<(u16, Vec<u8>), String> {
        let h = Headers::new();
        for (k, v) in headers {
            h.set(k, v).map_err(werr)?;
        }
        let mut init = RequestInit::new();
        let body = js_sys::Uint8Array::from(body.as_slice());
        init.with_method(Method::Post)
            .with_headers(h)
            .with_body(Some(body.into()));
        let req = Request::new_with_init(url, &init).map_err(werr)?;
        let send = async move {
            let mut resp = Fetch::Request(req).send().await.map_err(werr)?;
            let status = resp.status_code();
            let bytes = resp.bytes().await.map_err(werr)?;
            Ok((status, bytes))
        }
        .boxed_local();
        let timeout = Delay::from(Duration::from_millis(timeout_ms));
        match futures::future::select(send, timeout).await {
            futures::future::Either::Left((r, _)) => r,
            futures::future::Either::Right(_) => Err(format!("no answer within {timeout_ms} ms")),
        }
    }
}

/// A random index in `0..n` from `Math.random()`.
pub fn random_picker() -> Picker {
    Rc::new(|n| (js_sys::Math::random() * n as f64) as usize)
}

/// The backend kinds a Worker can configure: `local` and `redis` (over fetch).
pub fn worker_registry() -> BackendRegistry {
    let mut r = BackendRegistry::default();
    r.register("redis", |c: &BackendConfig, secrets: &dyn Secrets| {
        let options = RedisRestOptions::from_config(c, secrets)?;
        Ok(Rc::new(RedisRestBackend::new(
            c,
            options,
            Rc::new(FetchTransport),
            random_picker(),
            Rc::new(crate::clock::SystemClock),
        )) as Rc<dyn CacheBackend>)
    });
    r
}

/// `setTimeout` as a future.
pub fn sleeper() -> Sleep {
    Rc::new(|ms| Delay::from(Duration::from_millis(ms)).boxed_local())
}

impl ResponseCache {
    /// Ellar's `@Cache` for a workers-rs handler or Router: answers `req`
    /// from the cache or by calling `handler`.
    pub async fn respond<H, F>(
        &self,
        mut req: Request,
        policy: &CachePolicy,
        ctx: Option<Rc<Context>>,
        handler: H,
    ) -> worker::Result<Response>
    where
        H: Fn(Request) -> F + 'static,
        F: Future<Output = worker::Result<Response>> + 'static,
    {
        let plain = from_worker_request(&mut req).await?;
        let io = Io {
            origin: handler_origin(handler),
            spawn: spawner(ctx),
            sleep: sleeper(),
        };
        to_worker_response(self.handle(plain, policy, &io).await)
    }
}

/// The Workers Cache API (`caches.default`) as a response store. Entries are
/// kept under synthetic URLs; freshness lives in the entry itself, the
/// Cache API only holds it for the retention time.
pub struct CfCacheStore {
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
