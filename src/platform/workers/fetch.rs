//! `fetch` as the HTTP transport of the Redis REST backend, and the backend
//! kinds a Worker can configure.

use std::rc::Rc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use worker::{Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::backend::BackendRegistry;
use crate::backend::CacheBackend;
use crate::backend::{BackendConfig, Secrets};
use crate::backend::{Picker, RedisRestBackend, RedisRestOptions};
use crate::transport::{HttpReply, HttpTransport, TransportError};

fn io(e: worker::Error) -> TransportError {
    TransportError::Io(e.to_string())
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
    ) -> std::result::Result<HttpReply, TransportError> {
        let h = Headers::new();
        for (k, v) in headers {
            h.set(k, v).map_err(io)?;
        }
        let mut init = RequestInit::new();
        let body = js_sys::Uint8Array::from(body.as_slice());
        init.with_method(Method::Post)
            .with_headers(h)
            .with_body(Some(body.into()));
        let req = Request::new_with_init(url, &init).map_err(io)?;
        let send = async move {
            let mut resp = Fetch::Request(req)
                .send()
                .await
                .map_err(|e| TransportError::Connect(e.to_string()))?;
            let status = resp.status_code();
            let headers = resp.headers().entries().collect();
            let body = resp.bytes().await.map_err(io)?;
            Ok(HttpReply { status, headers, body })
        }
        .boxed_local();
        let timeout = Delay::from(Duration::from_millis(timeout_ms));
        match futures::future::select(send, timeout).await {
            futures::future::Either::Left((r, _)) => r,
            futures::future::Either::Right(_) => Err(TransportError::Timeout { ms: timeout_ms }),
        }
    }
}

/// A random index in `0..n` from `Math.random()`.
pub fn random_picker() -> Picker {
    Rc::new(|n| (js_sys::Math::random() * n as f64) as usize)
}

/// The backend kinds a Worker can configure: `local`, `tiered`, `redis`
/// (over fetch) and `memcached` (TCP sockets or the HTTP gateway).
pub fn worker_registry() -> BackendRegistry {
    let mut r = BackendRegistry::default();
    r.register(
        "redis",
        |c: &BackendConfig, secrets: &dyn Secrets, _: &BackendRegistry| {
            let options = RedisRestOptions::from_config(c, secrets)?;
            Ok(Rc::new(RedisRestBackend::new(
                c,
                options,
                Rc::new(FetchTransport),
                random_picker(),
                Rc::new(super::WorkersRuntime),
            )) as Rc<dyn CacheBackend>)
        },
    );
    #[cfg(feature = "memcached")]
    r.register(
        "memcached",
        |c: &BackendConfig, secrets: &dyn Secrets, _: &BackendRegistry| {
            use crate::backend::memcached::{MemcachedBackend, MemcachedOptions, Transports};
            let options = MemcachedOptions::from_config(c, secrets)?;
            let transports = Transports {
                stream: Some(Rc::new(super::SocketTransport)),
                http: Some(Rc::new(FetchTransport)),
            };
            Ok(Rc::new(MemcachedBackend::new(
                c,
                options,
                transports,
                Rc::new(super::WorkersRuntime),
            )?) as Rc<dyn CacheBackend>)
        },
    );
    #[cfg(not(feature = "memcached"))]
    r.register(
        "memcached",
        |c: &BackendConfig, _: &dyn Secrets, _: &BackendRegistry| -> crate::Result<Rc<dyn CacheBackend>> {
            Err(crate::CacheError::config(
                format!("{}.backend", c.name),
                "this build has no memcached backend: build with the memcached feature (EDGECACHE_FEATURES=app,memcached)",
            ))
        },
    );
    r
}
