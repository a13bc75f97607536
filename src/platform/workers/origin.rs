//! Origins for the response cache: an upstream site over `fetch`, or a
//! workers-rs handler (or Router) called in-process. Both keep redirects
//! as they are, drop hop-by-hop headers from the answer, and refuse
//! statuses a response cannot carry (as [`OriginError`]s, never panics).

use std::future::Future;
use std::rc::Rc;

use futures::FutureExt;
use worker::{web_sys, Fetch, Request, Response};

use super::convert::{from_worker_response, to_worker_request};
use crate::http::{strip_hop_by_hop, BodyStream, HttpRequest, HttpResponse, OriginError};
use crate::response_cache::Origin;

/// The origin's answer as plain data, if a client may get it. A body
/// declared longer than `stream_above` bytes is left streaming (never held
/// whole in the isolate's 128 MB; never stored).
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
    if declared.is_some_and(|n| n > stream_above as u64) {
        let mut headers: Vec<(String, String)> = resp.headers().entries().collect();
        strip_hop_by_hop(&mut headers);
        // Past the status check, workers-rs's conversion cannot fail.
        let raw: web_sys::Response = resp.into();
        return Ok(HttpResponse {
            status,
            headers,
            body: Vec::new(),
            stream: raw.body().map(|b| BodyStream(Rc::new(b))),
        });
    }
    let mut r = from_worker_response(resp)
        .await
        .map_err(|e| OriginError::Unreachable(format!("reading the body: {e}")))?;
    strip_hop_by_hop(&mut r.headers);
    Ok(r)
}

/// An origin that fetches `base` + the request's path and query; bodies
/// declared longer than `stream_above` bytes stream through.
pub fn upstream_origin(base: String, stream_above: usize) -> Origin {
    Rc::new(move |req: HttpRequest| {
        let base = base.clone();
        async move {
            let u = url::Url::parse(&req.url).map_err(|e| OriginError::Unreachable(e.to_string()))?;
            let target = match u.query() {
                Some(q) => format!("{base}{}?{q}", u.path()),
                None => format!("{base}{}", u.path()),
            };
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
