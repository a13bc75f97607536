//! Origins for the response cache: an upstream site over `fetch`, or a
//! workers-rs handler (or Router) called in-process. Both keep redirects
//! as they are, drop hop-by-hop headers from the answer, and refuse
//! statuses a response cannot carry (as [`OriginError`]s, never panics).

use std::future::Future;
use std::rc::Rc;

use futures::FutureExt;
use worker::{web_sys, Fetch, Request, Response};

use super::convert::{to_worker_request, upstream_url};
use crate::http::{strip_hop_by_hop, BodyStream, HttpRequest, HttpResponse, OriginError};
use crate::response_cache::Origin;

/// The origin's answer as plain data, if a client may get it. A body
/// longer than `stream_above` bytes (declared so, or found so while reading)
/// is left streaming: never held whole in the isolate's 128 MB, never stored.
async fn relayable(resp: Response, stream_above: usize) -> Result<HttpResponse, OriginError> {
    let status = resp.status_code();
    if !(200..=599).contains(&status) {
        return Err(OriginError::BadStatus(status));
    }
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut headers: Vec<(String, String)> = resp.headers().entries().collect();
    strip_hop_by_hop(&mut headers);
    // Past the status check, workers-rs's conversion cannot fail.
    let raw: web_sys::Response = resp.into();
    let streaming = |stream: web_sys::ReadableStream, headers| HttpResponse {
        status,
        headers,
        body: Vec::new(),
        stream: Some(BodyStream(Rc::new(stream))),
    };
    let Some(body) = raw.body() else {
        return Ok(HttpResponse {
            status,
            headers,
            body: Vec::new(),
            stream: None,
        });
    };
    if declared.is_some_and(|n| n > stream_above as u64) {
        return Ok(streaming(body, headers));
    }
    // Read up to `stream_above` bytes; a body that grows past it (no or a
    // wrong Content-Length) is handed on as a stream: what was read, then the
    // rest piped natively (no per-chunk trip through wasm). Memory stays
    // within the bound either way.
    let io = |e: wasm_bindgen::JsValue| OriginError::Unreachable(format!("reading the body: {e:?}"));
    let reader = web_sys::ReadableStreamDefaultReader::new(&body).map_err(io)?;
    let mut buf = Vec::new();
    loop {
        let result = wasm_bindgen_futures::JsFuture::from(reader.read()).await.map_err(io)?;
        let field = |name: &str| js_sys::Reflect::get(&result, &name.into());
        if field("done").map_err(io)?.is_truthy() {
            break;
        }
        let bytes = js_sys::Uint8Array::new(&field("value").map_err(io)?);
        if buf.len() + bytes.length() as usize > stream_above {
            reader.release_lock();
            let mut head = Vec::with_capacity(buf.len() + bytes.length() as usize);
            head.extend_from_slice(&buf);
            let start = head.len();
            head.resize(start + bytes.length() as usize, 0);
            bytes.copy_to(&mut head[start..]);
            drop(buf);
            let head = web_sys::Response::new_with_opt_u8_array(Some(&mut head)).map_err(io)?;
            let pipe = byte_pipe().map_err(io)?;
            let (sink, rest) = (pipe.writable(), body);
            wasm_bindgen_futures::spawn_local(async move {
                // What was read, then the rest, into one stream; a failure
                // shows on the readable side.
                let Some(head) = head.body() else { return };
                let opts = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&opts, &"preventClose".into(), &true.into());
                let pipe_to = js_sys::Reflect::get(&head, &"pipeTo".into()).map(js_sys::Function::from);
                if let Ok(Ok(p)) = pipe_to.map(|f| f.call2(&head, &sink, &opts)) {
                    if wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(p))
                        .await
                        .is_ok()
                    {
                        let _ = wasm_bindgen_futures::JsFuture::from(rest.pipe_to(&sink)).await;
                    }
                }
            });
            return Ok(streaming(pipe.readable(), headers));
        }
        let start = buf.len();
        buf.resize(start + bytes.length() as usize, 0);
        bytes.copy_to(&mut buf[start..]);
    }
    Ok(HttpResponse {
        status,
        headers,
        body: buf,
        stream: None,
    })
}

/// A pipe whose readable side is a response body: workerd's native
/// `IdentityTransformStream` (bytes with backpressure, nothing held in the
/// JS heap), else the standard `TransformStream`.
fn byte_pipe() -> Result<web_sys::TransformStream, wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let native = js_sys::Reflect::get(&js_sys::global(), &"IdentityTransformStream".into())?;
    match native.dyn_into::<js_sys::Function>() {
        Ok(ctor) => Ok(js_sys::Reflect::construct(&ctor, &js_sys::Array::new())?.unchecked_into()),
        Err(_) => web_sys::TransformStream::new(),
    }
}

/// An origin that fetches `base` + the request's path and query; bodies
/// declared longer than `stream_above` bytes stream through.
pub fn upstream_origin(base: String, stream_above: usize) -> Origin {
    Rc::new(move |req: HttpRequest| {
        let base = base.clone();
        async move {
            let u = url::Url::parse(&req.url).map_err(|e| OriginError::Unreachable(e.to_string()))?;
            let target = upstream_url(&base, &u);
            let wreq = to_worker_request(&req, &target).map_err(|e| OriginError::Unreachable(e.to_string()))?;
            let resp = Fetch::Request(wreq)
                .send()
                .await
                .map_err(|e| OriginError::Unreachable(e.to_string()))?;
            relayable(resp, stream_above).await
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
            let wreq = to_worker_request(&req, &req.url).map_err(|e| OriginError::Handler(e.to_string()))?;
            let resp = handler(wreq).await.map_err(|e| OriginError::Handler(e.to_string()))?;
            relayable(resp, usize::MAX).await
        }
        .boxed_local()
    })
}
