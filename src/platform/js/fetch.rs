//! The global `fetch` (Node 18+, browsers, JS Workers) as the HTTP
//! transport of the Redis REST backend and the memcached gateway, through
//! structural bindings (no web-sys).
//!
//! Kept lean because every Redis call pays it (bench/redis): the timeout is
//! the request's own `AbortSignal.timeout` (no `setTimeout` promise raced
//! from Rust, whose closures and clearing cost more than the signal), and
//! only the reply headers the caller asked for are read (copying every
//! header was one host call per header and per string).

use async_trait::async_trait;
use futures::future::{select, Either};
use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::super::promise::js_sleep;
use crate::transport::{HttpReply, HttpTransport, TransportError};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> Result<Promise, JsValue>;

    /// `AbortSignal.timeout(ms)`; throws where there is none.
    #[wasm_bindgen(catch, js_namespace = AbortSignal, js_name = timeout)]
    fn abort_after(ms: f64) -> Result<JsValue, JsValue>;

    type FetchResponse;
    #[wasm_bindgen(method, getter)]
    fn status(this: &FetchResponse) -> u16;
    #[wasm_bindgen(method, getter)]
    fn headers(this: &FetchResponse) -> FetchHeaders;
    #[wasm_bindgen(method, catch, js_name = arrayBuffer)]
    fn array_buffer(this: &FetchResponse) -> Result<Promise, JsValue>;

    type FetchHeaders;
    #[wasm_bindgen(method)]
    fn get(this: &FetchHeaders, name: &str) -> Option<String>;
}

/// HTTP POST through the host's global `fetch`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsFetch;

fn message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Whether `e` is the rejection of an `AbortSignal.timeout` that fired.
fn timed_out(e: &JsValue) -> bool {
    Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "TimeoutError")
}

async fn send(
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    want: &[&str],
    signal: Option<JsValue>,
    timeout_ms: u64,
) -> Result<HttpReply, TransportError> {
    // A rejection: the timeout's, else `otherwise` (the stage's error kind).
    let failed = |e: JsValue, otherwise: fn(String) -> TransportError| {
        if timed_out(&e) {
            TransportError::Timeout { ms: timeout_ms }
        } else {
            otherwise(message(&e))
        }
    };
    let h = Object::new();
    for (k, v) in headers {
        let _ = Reflect::set(&h, &(*k).into(), &(*v).into());
    }
    let init = Object::new();
    let _ = Reflect::set(&init, &"method".into(), &"POST".into());
    let _ = Reflect::set(&init, &"headers".into(), &h);
    let _ = Reflect::set(&init, &"body".into(), &Uint8Array::from(body.as_slice()));
    if let Some(s) = &signal {
        let _ = Reflect::set(&init, &"signal".into(), s);
    }
    let promise = global_fetch(url, &init).map_err(|e| TransportError::Io(message(&e)))?;
    let resp: FetchResponse = JsFuture::from(promise)
        .await
        .map_err(|e| failed(e, TransportError::Connect))?
        .unchecked_into();
    let status = resp.status();
    let mut out = Vec::new();
    if !want.is_empty() {
        let h = resp.headers();
        for name in want {
            if let Some(v) = h.get(name) {
                out.push((name.to_ascii_lowercase(), v));
            }
        }
    }
    let buffer = resp.array_buffer().map_err(|e| failed(e, TransportError::Io))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| failed(e, TransportError::Io))?;
    Ok(HttpReply {
        status,
        headers: out,
        body: Uint8Array::new(&buffer).to_vec(),
    })
}

#[async_trait(?Send)]
impl HttpTransport for JsFetch {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        want: &[&str],
        timeout_ms: u64,
    ) -> Result<HttpReply, TransportError> {
        match abort_after(timeout_ms as f64) {
            Ok(signal) => send(url, headers, body, want, Some(signal), timeout_ms).await,
            // No AbortSignal.timeout here: race a timer.
            Err(_) => {
                let request = std::pin::pin!(send(url, headers, body, want, None, timeout_ms));
                match select(request, js_sleep(timeout_ms)).await {
                    Either::Left((r, _)) => r,
                    Either::Right(_) => Err(TransportError::Timeout { ms: timeout_ms }),
                }
            }
        }
    }
}
