//! Conversions between workers-rs requests/responses and the plain data of
//! [`crate::http`].

use wasm_bindgen::JsValue;
use worker::{web_sys, Method, Request, Response};

use crate::http::{HttpRequest, HttpResponse};

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

/// A GET or HEAD straight from the platform's request, for the hit path:
/// the caller has read `method` and `url` once already, and only the header
/// pairs are read here (one JS array, no workers-rs `Request` built).
pub fn plain_get(method: String, url: String, req: &web_sys::Request) -> HttpRequest {
    HttpRequest {
        method,
        url,
        headers: header_pairs(&req.headers()),
        body: Vec::new(),
    }
}

/// A `Headers` object's pairs (names lower-case, as the platform gives them).
pub(crate) fn header_pairs(headers: &web_sys::Headers) -> Vec<(String, String)> {
    use wasm_bindgen::JsCast;
    let all = js_sys::Array::from(headers.as_ref());
    (0..all.length())
        .filter_map(|i| {
            let pair: js_sys::Array = all.get(i).unchecked_into();
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

/// The path of a URL as the platform serializes it (`scheme://host/path?q`),
/// without parsing it again: a special scheme's serialization always has a
/// `/` after the host, and `?` or `#` ends the path (both are escaped inside it).
pub fn path_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after..];
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// A plain request as a workers-rs request to `url`.
pub fn to_worker_request(req: &HttpRequest, url: &str) -> worker::Result<Request> {
    let headers = web_sys::Headers::new()?;
    for (k, v) in &req.headers {
        if k != "host" {
            headers.append(k, v)?;
        }
    }
    let method = req.method.to_ascii_uppercase();
    let body = (!matches!(method.as_str(), "GET" | "HEAD") && !req.body.is_empty())
        .then(|| JsValue::from(js_sys::Uint8Array::from(req.body.as_slice())));
    // Redirects go back to the client as they are: following them here
    // would store another URL's answer (an open redirect's target) under
    // this one.
    new_request(
        url,
        &method,
        Some(&headers),
        body.as_ref(),
        Some(web_sys::RequestRedirect::Manual),
    )
}

/// A workers-rs request made through `web_sys::RequestInit`. workers-rs'
/// own `RequestInit` converts its `cf` properties on every request, about
/// 12 KB of wasm for options nothing here sets.
pub(crate) fn new_request(
    url: &str,
    method: &str,
    headers: Option<&web_sys::Headers>,
    body: Option<&JsValue>,
    redirect: Option<web_sys::RequestRedirect>,
) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(h) = headers {
        init.set_headers_headers(h);
    }
    if let Some(b) = body {
        init.set_body(b);
    }
    if let Some(r) = redirect {
        init.set_redirect(r);
    }
    web_sys::Request::new_with_str_and_init(url, &init)
        .map(Request::from)
        .map_err(|e| {
            worker::Error::JsError(
                e.as_string()
                    .unwrap_or_else(|| "invalid URL or options for Request".to_string()),
            )
        })
}

/// A workers-rs response as plain data.
pub async fn from_worker_response(mut resp: Response) -> worker::Result<HttpResponse> {
    Ok(HttpResponse {
        status: resp.status_code(),
        headers: resp.headers().entries().collect(),
        body: resp.bytes().await?,
        stream: None,
    })
}

/// Header pairs as a fresh `Headers` (appended, so repeated names stay).
pub(crate) fn web_headers<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<web_sys::Headers, wasm_bindgen::JsValue> {
    let h = web_sys::Headers::new()?;
    for (k, v) in pairs {
        h.append(k, v)?;
    }
    Ok(h)
}

/// `base` (an origin without a trailing slash) + the path and query of `url`.
pub(crate) fn upstream_url(base: &str, url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{base}{}?{q}", url.path()),
        None => format!("{base}{}", url.path()),
    }
}

/// A plain response as a workers-rs response. Built through web-sys's
/// fallible constructor: workers-rs's own conversion unwraps, and a status
/// the platform refuses (outside 200–599) or a body on a null-body status
/// would panic and restart the isolate, wiping every cached entry. Such a
/// response becomes a 502 instead.
pub fn to_worker_response(r: HttpResponse) -> worker::Result<Response> {
    to_web_response(r).map(Response::from)
}

/// [`to_worker_response`] without the workers-rs wrapper, for handlers that
/// return the platform's `Response` as is (the proxy's hot path).
pub fn to_web_response(r: HttpResponse) -> worker::Result<web_sys::Response> {
    if !(200..=599).contains(&r.status) {
        let msg = format!(
            "edgecache: the response had status {}, which cannot be relayed",
            r.status
        );
        return to_web_response(HttpResponse::text(502, &msg));
    }
    let headers = web_headers(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(worker::Error::from)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(r.status);
    init.set_headers_headers(&headers);
    let null_body = matches!(r.status, 204 | 205 | 304);
    let stream = r
        .stream
        .as_ref()
        .and_then(|s| s.0.downcast_ref::<web_sys::ReadableStream>())
        .cloned();
    let mut body = r.body;
    let made = if let (Some(stream), false) = (&stream, null_body) {
        web_sys::Response::new_with_opt_readable_stream_and_init(Some(stream), &init)
    } else if null_body || body.is_empty() {
        web_sys::Response::new_with_opt_str_and_init(None, &init)
    } else {
        web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut body), &init)
    };
    match made {
        Ok(resp) => Ok(resp),
        Err(e) => {
            let msg = format!("edgecache: the response could not be built: {e:?}");
            let fallback = web_sys::Response::new_with_opt_str_and_init(Some(&msg), &{
                let i = web_sys::ResponseInit::new();
                i.set_status(502);
                i
            })
            .map_err(worker::Error::from)?;
            Ok(fallback)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn path_of_a_serialized_url() {
        assert_eq!(path_of("https://example.com/a/b?x=1&y=/z"), "/a/b");
        assert_eq!(path_of("http://127.0.0.1:8787/"), "/");
        assert_eq!(path_of("http://127.0.0.1:8787/_edgecache/stats"), "/_edgecache/stats");
        assert_eq!(path_of("https://example.com/%5Fedgecache/?q"), "/%5Fedgecache/");
        assert_eq!(path_of("https://example.com"), "/");
        assert_eq!(path_of("https://example.com?q=/x"), "/");
        assert_eq!(path_of("https://example.com/p#f/g"), "/p");
    }
}
