//! Streaming pass-through to an upstream origin, for requests the cache
//! does not keep (bypass rules, no rule, methods other than GET/HEAD): the
//! request body streams to the origin and the answer's body streams back,
//! so memory stays bounded whatever their size (an isolate has 128 MB).

use std::time::Duration;

use futures::future::{select, Either};
use worker::{web_sys, Delay, Fetch, Request, Response};

use super::convert::{upstream_url, web_headers};
use crate::http::{strip_client_overrides, strip_hop_by_hop, OriginError};

/// Sends `req` to `base` + its path and query with the client's override
/// headers removed (but those in `keep`), and returns the origin's answer
/// with its body untouched, hop-by-hop headers removed and `extra` headers
/// set. `timeout_ms` bounds the wait for the response headers.
pub async fn stream_to_origin(
    base: &str,
    req: &Request,
    keep: &[String],
    timeout_ms: u64,
    extra: &[(&str, String)],
) -> Result<Response, OriginError> {
    let io = |e: wasm_bindgen::JsValue| OriginError::Unreachable(format!("{e:?}"));
    let url = req.url().map_err(|e| OriginError::Unreachable(e.to_string()))?;
    let target = upstream_url(base, &url);
    let mut headers: Vec<(String, String)> = req.headers().entries().filter(|(k, _)| k != "host").collect();
    strip_client_overrides(&mut headers, keep);
    let h = web_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(io)?;
    let method = req.inner().method();
    let init = web_sys::RequestInit::new();
    init.set_method(&method);
    init.set_headers_headers(&h);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if !matches!(method.as_str(), "GET" | "HEAD") {
        if let Some(body) = req.inner().body() {
            init.set_body(&body);
        }
    }
    let outgoing = web_sys::Request::new_with_str_and_init(&target, &init).map_err(io)?;
    let fetch = Fetch::Request(Request::from(outgoing));
    let send = fetch.send();
    let timeout = Delay::from(Duration::from_millis(timeout_ms));
    let fetched = match select(Box::pin(send), timeout).await {
        Either::Left((r, _)) => r.map_err(|e| OriginError::Unreachable(e.to_string()))?,
        Either::Right(_) => return Err(OriginError::Timeout { ms: timeout_ms }),
    };
    let status = fetched.status_code();
    if !(200..=599).contains(&status) {
        return Err(OriginError::BadStatus(status));
    }
    // Past the status check, workers-rs's conversion cannot fail.
    let raw: web_sys::Response = fetched.into();
    let mut out: Vec<(String, String)> = worker::Headers(raw.headers()).entries().collect();
    strip_hop_by_hop(&mut out);
    let h = web_headers(out.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(io)?;
    for (k, v) in extra {
        h.set(k, v).map_err(io)?;
    }
    let rinit = web_sys::ResponseInit::new();
    rinit.set_status(status);
    rinit.set_headers_headers(&h);
    let body = raw.body();
    let made = web_sys::Response::new_with_opt_readable_stream_and_init(body.as_ref(), &rinit).map_err(io)?;
    Ok(Response::from(made))
}
