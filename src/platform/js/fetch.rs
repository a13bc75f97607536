//! The global `fetch` (Node 18+, browsers, JS Workers) as the HTTP
//! transport of the Redis REST backend and the memcached gateway, through
//! `js_sys::Reflect` only (no web-sys).

use async_trait::async_trait;
use futures::future::{select, Either};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::super::promise::js_sleep;
use crate::transport::{HttpReply, HttpTransport, TransportError};

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

fn call(target: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, TransportError> {
    let f: Function = Reflect::get(target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| TransportError::Io(format!("{method} is not a function here")))?;
    let args: js_sys::Array = args.iter().map(|a| (*a).clone()).collect();
    f.apply(target, &args).map_err(|e| TransportError::Io(message(&e)))
}

async fn send(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Result<HttpReply, TransportError> {
    let global = js_sys::global();
    let h = Object::new();
    for (k, v) in headers {
        let _ = Reflect::set(&h, &(*k).into(), &(*v).into());
    }
    let init = Object::new();
    let _ = Reflect::set(&init, &"method".into(), &"POST".into());
    let _ = Reflect::set(&init, &"headers".into(), &h);
    let _ = Reflect::set(&init, &"body".into(), &Uint8Array::from(body.as_slice()));
    let promise: Promise = call(&global, "fetch", &[&url.into(), &init])?
        .dyn_into()
        .map_err(|_| TransportError::Io("fetch did not return a promise".into()))?;
    let resp = JsFuture::from(promise)
        .await
        .map_err(|e| TransportError::Connect(message(&e)))?;
    let status = Reflect::get(&resp, &"status".into())
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0) as u16;
    let mut out = Vec::new();
    let resp_headers = Reflect::get(&resp, &"headers".into()).unwrap_or(JsValue::UNDEFINED);
    if let Ok(entries) = call(&resp_headers, "entries", &[]) {
        if let Ok(Some(it)) = js_sys::try_iter(&entries) {
            for pair in it.flatten() {
                let pair: js_sys::Array = pair.unchecked_into();
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    out.push((k.to_ascii_lowercase(), v));
                }
            }
        }
    }
    let buffer: Promise = call(&resp, "arrayBuffer", &[])?.unchecked_into();
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| TransportError::Io(message(&e)))?;
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
        timeout_ms: u64,
    ) -> Result<HttpReply, TransportError> {
        let request = std::pin::pin!(send(url, headers, body));
        match select(request, js_sleep(timeout_ms)).await {
            Either::Left((r, _)) => r,
            Either::Right(_) => Err(TransportError::Timeout { ms: timeout_ms }),
        }
    }
}
