//! Origins for the response cache: an upstream site over `fetch`, or a
//! workers-rs handler (or Router) called in-process.

use std::future::Future;
use std::rc::Rc;

use futures::FutureExt;
use worker::{Fetch, Request, Response};

use super::convert::{from_worker_response, to_worker_request, werr};
use crate::http::HttpRequest;
use crate::response_cache::Origin;

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
