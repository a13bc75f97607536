//! The admin API's request and reply as plain data, and body limits.

use std::rc::Rc;

use serde_json::json;

use crate::app::routes::Routes;
use crate::backend::CacheBackend;
use crate::http::{HttpRequest, HttpResponse};
use crate::primitives::error::CacheError;
use crate::primitives::value::Value;
use crate::response_cache::ResponseCache;
use crate::runtime::Runtime;
use crate::service::CacheService;

/// A request to the admin API, as plain data.
pub struct AdminRequest<'a> {
    /// HTTP method as sent, e.g. `GET` or `PUT`.
    pub method: &'a str,
    /// The path after [`ADMIN_PREFIX`](super::ADMIN_PREFIX), still percent-encoded.
    pub path: &'a str,
    /// The query string without `?`, still percent-encoded.
    pub query: Option<&'a str>,
    /// The `Content-Type` header: `application/json` bodies are stored as JSON, others as bytes.
    pub content_type: Option<&'a str>,
    /// The `Authorization` header; `authorize` checks it before `handle`, which does not.
    pub authorization: Option<&'a str>,
    /// The request body, at most [`MAX_BODY_BYTES`] (see [`checked_body`]).
    pub body: Vec<u8>,
    /// `scheme://host` of the request, to resolve relative purge URLs.
    pub base_url: &'a str,
}

impl<'a> AdminRequest<'a> {
    /// The admin view of a request in the shared type: `path` is what
    /// follows the admin prefix; the body moves out of `req`.
    pub fn from_http(req: &'a mut HttpRequest, path: &'a str, base_url: &'a str) -> Self {
        let body = std::mem::take(&mut req.body);
        let req: &'a HttpRequest = req;
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        AdminRequest {
            method: &req.method,
            path,
            query: req.url.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or(q)),
            content_type: header("content-type"),
            authorization: header("authorization"),
            body,
            base_url,
        }
    }
}

/// Builds a fresh instance of a configured backend under another key prefix.
pub type BackendMaker<'a> = &'a dyn Fn(&str, &str) -> Result<Rc<dyn CacheBackend>, CacheError>;

/// What the admin API acts on.
pub struct AdminContext<'a> {
    /// The named backends the key routes act on.
    pub service: &'a CacheService,
    /// The Worker's response cache and its routes, when there is one.
    pub responses: Option<(&'a ResponseCache, &'a Routes)>,
    /// For `selftest?backend=NAME`: a fresh instance of that backend's kind
    /// and options with a given key prefix, and real time to wait on.
    pub selftest: Option<(BackendMaker<'a>, Rc<dyn Runtime>)>,
}

/// The reply: status, content type and body.
#[derive(Debug, PartialEq)]
pub struct AdminReply {
    /// HTTP status code.
    pub status: u16,
    /// `application/json`, or `application/octet-stream` for a raw bytes value.
    pub content_type: &'static str,
    /// A JSON document, or the stored bytes as is.
    pub body: Vec<u8>,
    /// The full stored key, when the request named one.
    pub full_key: Option<String>,
}

/// Largest admin request body read (values are bounded again by each
/// backend's `max_value_bytes`): reading more could exhaust the isolate.
pub const MAX_BODY_BYTES: usize = 32 << 20;

pub(super) fn body_too_large() -> AdminReply {
    AdminReply::error(
        413,
        "too_large",
        format!("admin request bodies are limited to {MAX_BODY_BYTES} bytes"),
    )
}

/// The refusal of a body whose declared `Content-Length` is over the limit,
/// before it is read.
pub fn refuse_declared_body(declared_len: Option<&str>) -> Option<AdminReply> {
    declared_len
        .and_then(|l| l.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        .then(body_too_large)
}

/// The body as read, or the reply refusing it: too large (413) or unreadable
/// (400, rather than storing an empty value).
pub fn checked_body(read: Result<Vec<u8>, String>) -> Result<Vec<u8>, AdminReply> {
    match read {
        Ok(b) if b.len() > MAX_BODY_BYTES => Err(body_too_large()),
        Ok(b) => Ok(b),
        Err(e) => Err(AdminReply::error(
            400,
            "bad_request",
            format!("the request body could not be read: {e}"),
        )),
    }
}

impl AdminReply {
    /// The reply as the shared response type: JSON or bytes, never cached,
    /// no sniffing, the full key (when there is one) in `x-edgecache-key`.
    pub fn into_http(self) -> HttpResponse {
        let mut headers = vec![
            ("content-type".to_string(), self.content_type.to_string()),
            ("cache-control".to_string(), "no-store".to_string()),
            ("x-content-type-options".to_string(), "nosniff".to_string()),
        ];
        if let Some(k) = &self.full_key {
            headers.push(("x-edgecache-key".to_string(), super::key_header_value(k)));
        }
        HttpResponse {
            status: self.status,
            headers,
            body: self.body,
            stream: None,
        }
    }

    pub(super) fn json(status: u16, v: serde_json::Value) -> Self {
        AdminReply {
            status,
            content_type: "application/json",
            body: v.to_string().into_bytes(),
            full_key: None,
        }
    }

    /// A JSON error reply, `{"error": kind, "message": message}`.
    pub fn error(status: u16, kind: &str, message: impl std::fmt::Display) -> Self {
        Self::json(status, json!({"error": kind, "message": message.to_string()}))
    }

    pub(super) fn from_cache_error(e: &CacheError) -> Self {
        let status = match e {
            CacheError::NotFound { .. } | CacheError::UnknownBackend { .. } => 404,
            CacheError::ValueTooLarge { .. } => 413,
            CacheError::NotAnInteger { .. } | CacheError::Overflow { .. } => 409,
            CacheError::Backend { .. } | CacheError::Corrupt(_) => 502,
            CacheError::Config { .. } => 500,
            CacheError::Unsupported(_) => 501,
            CacheError::InvalidKey { .. } | CacheError::InvalidTtl(_) => 400,
        };
        Self::error(status, e.kind(), e)
    }

    pub(super) fn value(v: Value) -> Self {
        match v {
            Value::Bytes(b) => AdminReply {
                status: 200,
                content_type: "application/octet-stream",
                body: b,
                full_key: None,
            },
            Value::Json(j) => Self::json(200, j),
        }
    }
}
