//! Conversions between workers-rs requests/responses and the plain data of
//! [`crate::http`].

use worker::{Headers, Method, Request, RequestInit, Response};

use crate::http::{HttpRequest, HttpResponse};

pub(crate) fn werr(e: worker::Error) -> String {
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
