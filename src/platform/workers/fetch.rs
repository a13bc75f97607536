//! `fetch` as the HTTP transport of the Redis REST backend, and the backend
//! kinds a Worker can configure.

use std::rc::Rc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use worker::{web_sys, Delay, Fetch};

use super::convert::new_request;

use crate::backend::{BackendRegistry, RemoteTransports};
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
        want: &[&str],
        timeout_ms: u64,
    ) -> std::result::Result<HttpReply, TransportError> {
        let h = web_sys::Headers::new().map_err(|e| io(e.into()))?;
        for (k, v) in headers {
            h.set(k, v).map_err(|e| io(e.into()))?;
        }
        let body = js_sys::Uint8Array::from(body.as_slice()).into();
        let req = new_request(url, "POST", Some(&h), Some(&body), None).map_err(io)?;
        let send = async move {
            let mut resp = Fetch::Request(req)
                .send()
                .await
                .map_err(|e| TransportError::Connect(e.to_string()))?;
            let status = resp.status_code();
            let h = resp.headers();
            let headers = want
                .iter()
                .filter_map(|n| h.get(n).ok().flatten().map(|v| (n.to_ascii_lowercase(), v)))
                .collect();
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

pub use super::super::promise::random_picker;

/// The backend kinds a Worker can configure: `local`, `tiered`, `redis`
/// (over fetch) and `memcached` (TCP sockets or the HTTP gateway).
pub fn worker_registry() -> BackendRegistry {
    BackendRegistry::default().with_remote(RemoteTransports {
        http: Rc::new(FetchTransport),
        #[cfg(feature = "memcached")]
        stream: Some(Rc::new(super::SocketTransport)),
        #[cfg(not(feature = "memcached"))]
        stream: None,
        pick: random_picker(),
        clock: Rc::new(super::WorkersRuntime),
        runtime: Rc::new(super::WorkersRuntime),
    })
}
