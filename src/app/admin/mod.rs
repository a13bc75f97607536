//! The admin HTTP API over a [`CacheService`], kept free of any platform
//! type: the Worker turns a request into [`AdminRequest`] and an
//! [`AdminReply`] back into a response, so all of this is tested natively.
//!
//! Routes (under [`ADMIN_PREFIX`]; `{backend}` is a configured name, `{key}`
//! is percent-encoded; `version` and `ttl` are query parameters, `ttl` in
//! seconds or `never`):
//! - `GET    keys/{backend}/{key}`   the value (JSON, or bytes as octet-stream)
//! - `PUT    keys/{backend}/{key}`   set (JSON body, or any other type as bytes)
//! - `POST   add/{backend}/{key}`    add (like PUT, only when absent)
//! - `DELETE keys/{backend}/{key}`   delete
//! - `POST   incr/{backend}/{key}?delta=1`, `POST decr/...`
//! - `POST   touch/{backend}/{key}?ttl=…`
//! - `GET    key/{backend}/{key}`    the full key as stored
//! - `POST   clear/{backend}`
//! - `GET    stats`
//! - `POST   purge`                  response cache: JSON `{"url": …}`, `{"prefix": …}`
//!   (URL prefix, stores that can list keys) or `{"key_prefix": …}` (bumps
//!   that prefix's generation: everything under it is invalidated at once)
//! - `POST   selftest`               the conformance suite on a fresh local backend

use std::rc::Rc;

use percent_encoding::percent_decode_str;
use serde_json::json;

use crate::app::routes::Routes;
use crate::backend::CacheBackend;
use crate::backend::{LocalBackend, LocalOptions};
use crate::primitives::clock::ManualClock;
use crate::primitives::error::CacheError;
use crate::primitives::ttl::{Timeout, Ttl};
use crate::primitives::value::Value;
use crate::response_cache::ResponseCache;
use crate::runtime::Runtime;
use crate::service::CacheService;
use crate::testkit::{RealTime, Suite};

pub const ADMIN_PREFIX: &str = "/_edgecache/";

/// The dashboard (`www/`), compiled in. The page holds no data and needs no
/// token; its calls to the API send the token the user types.
pub fn dashboard_asset(method: &str, path: &str) -> Option<(&'static str, &'static str)> {
    if method != "GET" {
        return None;
    }
    match path {
        "" | "index.html" => Some(("text/html; charset=utf-8", include_str!("../../../www/index.html"))),
        "dashboard.js" => Some((
            "text/javascript; charset=utf-8",
            include_str!("../../../www/dashboard.js"),
        )),
        "dashboard.css" => Some(("text/css; charset=utf-8", include_str!("../../../www/dashboard.css"))),
        _ => None,
    }
}

/// Headers for the dashboard's files: no framing, scripts only from here.
pub const DASHBOARD_HEADERS: [(&str, &str); 3] = [
    ("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-cache"),
];

/// A request to the admin API, as plain data.
pub struct AdminRequest<'a> {
    pub method: &'a str,
    /// The path after [`ADMIN_PREFIX`], still percent-encoded.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: Vec<u8>,
    /// `scheme://host` of the request, to resolve relative purge URLs.
    pub base_url: &'a str,
}

/// Builds a fresh instance of a configured backend under another key prefix.
pub type BackendMaker<'a> = &'a dyn Fn(&str, &str) -> Result<Rc<dyn CacheBackend>, CacheError>;

/// What the admin API acts on.
pub struct AdminContext<'a> {
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
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// The full stored key, when the request named one.
    pub full_key: Option<String>,
}

/// Largest admin request body read (values are bounded again by each
/// backend's `max_value_bytes`): reading more could exhaust the isolate.
pub const MAX_BODY_BYTES: usize = 32 << 20;

fn body_too_large() -> AdminReply {
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
    fn json(status: u16, v: serde_json::Value) -> Self {
        AdminReply {
            status,
            content_type: "application/json",
            body: v.to_string().into_bytes(),
            full_key: None,
        }
    }

    fn error(status: u16, kind: &str, message: impl std::fmt::Display) -> Self {
        Self::json(status, json!({"error": kind, "message": message.to_string()}))
    }

    fn from_cache_error(e: &CacheError) -> Self {
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

    fn value(v: Value) -> Self {
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

/// Checks the bearer token. With no token configured the API is closed:
/// an open admin API on a public Worker would let anyone rewrite the cache.
pub fn authorize(configured: Option<&str>, header: Option<&str>) -> Result<(), AdminReply> {
    let Some(token) = configured.filter(|t| !t.is_empty()) else {
        return Err(AdminReply::error(
            403,
            "admin_disabled",
            "the admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN) and send Authorization: Bearer <token>",
        ));
    };
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let given = header
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, t)| t.trim_start());
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(AdminReply::error(401, "unauthorized", "missing or wrong bearer token"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// `ttl` query parameter: absent = the backend's default.
pub fn parse_ttl(raw: Option<&str>) -> Result<Ttl, CacheError> {
    match raw {
        None | Some("") | Some("default") => Ok(Ttl::Default),
        Some("never") | Some("none") | Some("null") => Ok(Ttl::Never),
        Some(s) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Ttl::Seconds(n)),
            _ => Err(CacheError::InvalidTtl(format!(
                "{s:?} is not a number of seconds, \"never\" or \"default\""
            ))),
        },
    }
}

fn parse_i64(raw: Option<String>, name: &str, default: Option<i64>) -> Result<Option<i64>, AdminReply> {
    match raw {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AdminReply::error(400, "bad_request", format!("{name} must be an integer, got {s:?}"))),
    }
}

fn decode_segment(s: &str) -> Result<String, AdminReply> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| AdminReply::error(400, "invalid_key", "the key is not valid UTF-8 after percent-decoding"))
}

/// Handles one admin request (after [`authorize`]).
pub async fn handle(ctx: &AdminContext<'_>, req: AdminRequest<'_>) -> AdminReply {
    match route(ctx, req).await {
        Ok(r) | Err(r) => r,
    }
}

async fn route(ctx: &AdminContext<'_>, req: AdminRequest<'_>) -> Result<AdminReply, AdminReply> {
    let service = ctx.service;
    let cache = |r: Result<AdminReply, CacheError>| r.map_err(|e| AdminReply::from_cache_error(&e));
    let mut parts = req.path.splitn(3, '/');
    let action = parts.next().unwrap_or("");
    let backend_name = parts.next().map(decode_segment).transpose()?;
    let key = parts.next().map(decode_segment).transpose()?;

    match (req.method, action, backend_name.as_deref(), key.as_deref()) {
        ("GET", "stats", None, None) => Ok(AdminReply::json(
            200,
            json!({
                "backends": service.stats(),
                "names": service.names(),
                "responses": ctx.responses.map(|(c, _)| c.stats()),
            }),
        )),
        ("POST", "purge", None, None) => Ok(purge(ctx, &req).await),
        ("POST", "selftest", None, None) => match query_param(req.query, "backend") {
            None => Ok(selftest().await),
            Some(name) => Ok(selftest_backend(ctx, &name).await),
        },
        ("POST", "clear", Some(b), None) => cache(
            async {
                service.clear(Some(b)).await?;
                Ok(AdminReply::json(200, json!({"cleared": b})))
            }
            .await,
        ),
        (method, action, Some(b), Some(k)) => {
            // Query parameters are read only by the routes that use them.
            let version = parse_i64(query_param(req.query, "version"), "version", None)?;
            let ttl = match action {
                "keys" | "add" | "touch" => {
                    parse_ttl(query_param(req.query, "ttl").as_deref()).map_err(|e| AdminReply::from_cache_error(&e))?
                }
                _ => Ttl::Default,
            };
            let delta = match action {
                "incr" | "decr" => parse_i64(query_param(req.query, "delta"), "delta", Some(1))?.unwrap_or(1),
                _ => 1,
            };
            // A body that does not parse is the client's error (400).
            let mut value = match (method, action) {
                ("PUT", "keys") | ("POST", "add") => Some(body_value(&req)?),
                _ => None,
            };
            let backend = service.backend(Some(b)).map_err(|e| AdminReply::from_cache_error(&e))?;
            let full_key = backend
                .make_key(k, version)
                .map_err(|e| AdminReply::from_cache_error(&e))?;
            let mut reply = cache(
                async {
                    Ok(match (method, action) {
                        ("GET", "keys") => match backend.get(k, version).await? {
                            Some(v) => AdminReply::value(v),
                            None => AdminReply::error(404, "miss", format!("no live entry for {k:?}")),
                        },
                        ("GET", "key") => AdminReply::json(200, json!({"key": full_key})),
                        ("PUT", "keys") => {
                            backend
                                .set(k, value.take().expect("parsed above"), ttl, version)
                                .await?;
                            AdminReply::json(200, json!({"stored": true}))
                        }
                        ("POST", "add") => {
                            let added = backend
                                .add(k, value.take().expect("parsed above"), ttl, version)
                                .await?;
                            AdminReply::json(200, json!({"added": added}))
                        }
                        ("DELETE", "keys") => {
                            AdminReply::json(200, json!({"deleted": backend.delete(k, version).await?}))
                        }
                        ("POST", "touch") => {
                            AdminReply::json(200, json!({"touched": backend.touch(k, ttl, version).await?}))
                        }
                        ("POST", "incr") | ("POST", "decr") => {
                            let n = if action == "incr" {
                                backend.incr(k, delta, version).await?
                            } else {
                                backend.decr(k, delta, version).await?
                            };
                            AdminReply::json(200, json!({"value": n}))
                        }
                        _ => not_found(method, req.path),
                    })
                }
                .await,
            )?;
            reply.full_key = Some(full_key);
            Ok(reply)
        }
        (method, _, _, _) => Ok(not_found(method, req.path)),
    }
}

/// Response-cache invalidation by URL, URL prefix or key prefix.
async fn purge(ctx: &AdminContext<'_>, req: &AdminRequest<'_>) -> AdminReply {
    let Some((cache, routes)) = ctx.responses else {
        return AdminReply::error(404, "no_response_cache", "this Worker has no response cache");
    };
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return AdminReply::error(
            400,
            "bad_request",
            "body must be JSON: {\"url\": …}, {\"prefix\": …} or {\"key_prefix\": …}",
        );
    };
    let absolute = |u: &str| {
        if u.starts_with('/') {
            format!("{}{u}", req.base_url)
        } else {
            u.to_string()
        }
    };
    let fail = |e: CacheError| AdminReply::from_cache_error(&e);
    if let Some(u) = body.get("url").and_then(|v| v.as_str()) {
        let url = absolute(u);
        let Ok(path) = url::Url::parse(&url).map(|p| p.path().to_string()) else {
            return AdminReply::error(
                400,
                "bad_request",
                format!("{u:?} is neither an absolute URL nor a path starting with /"),
            );
        };
        return match routes.find(&path) {
            Some(rule) if !rule.bypass => match cache.purge_url(&url, &rule.policy).await {
                Ok(found) => AdminReply::json(200, json!({"purged": found, "url": url})),
                Err(e) => fail(e),
            },
            _ => AdminReply::json(
                200,
                json!({"purged": false, "url": url, "note": "no caching rule matches this path"}),
            ),
        };
    }
    if let Some(p) = body.get("prefix").and_then(|v| v.as_str()) {
        // An empty prefix would purge every response of every host: say "/"
        // (this host) to mean it.
        if p.is_empty() {
            return AdminReply::error(400, "bad_request", "an empty prefix would purge everything; use \"/\"");
        }
        let prefix = absolute(p);
        let mut total = 0;
        let mut seen = Vec::new();
        let mut skipped = Vec::new();
        for rule in routes.rules.iter().filter(|r| !r.bypass) {
            let id = (
                rule.policy.backend.clone(),
                rule.policy.key_prefix.clone(),
                rule.policy.version,
            );
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            match cache.purge_prefix(&prefix, &rule.policy).await {
                Ok(n) => total += n,
                Err(CacheError::Unsupported(why)) => skipped.push(json!({"backend": rule.policy.backend, "why": why})),
                Err(e) => return fail(e),
            }
        }
        return AdminReply::json(200, json!({"purged": total, "prefix": prefix, "skipped": skipped}));
    }
    if let Some(kp) = body.get("key_prefix").and_then(|v| v.as_str()) {
        let mut generations = Vec::new();
        let mut seen = Vec::new();
        for rule in routes.with_prefix(kp) {
            let id = (rule.policy.backend.clone(), rule.policy.version);
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            match cache.bump_generation(&rule.policy).await {
                Ok(g) => generations.push(g),
                Err(e) => return fail(e),
            }
        }
        if generations.is_empty() {
            return AdminReply::error(404, "no_rule", format!("no caching rule has key_prefix {kp:?}"));
        }
        return AdminReply::json(200, json!({"key_prefix": kp, "generation": generations}));
    }
    AdminReply::error(400, "bad_request", "give one of \"url\", \"prefix\" or \"key_prefix\"")
}

/// The `x-edgecache-key` header value for a full key: percent-encoded so
/// that it is a valid header and `decodeURIComponent` (the dashboard) gives
/// the key back, `%` included.
pub fn key_header_value(full_key: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
    percent_encoding::utf8_percent_encode(full_key, SET).to_string()
}

fn not_found(method: &str, path: &str) -> AdminReply {
    AdminReply::error(404, "no_route", format!("no admin route {method} {ADMIN_PREFIX}{path}"))
}

/// The request body as a value: JSON when declared so, bytes otherwise.
fn body_value(req: &AdminRequest<'_>) -> Result<Value, AdminReply> {
    let is_json = req
        .content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if is_json {
        serde_json::from_slice(&req.body)
            .map(Value::Json)
            .map_err(|e| AdminReply::error(400, "bad_request", format!("request body is not valid JSON: {e}")))
    } else {
        Ok(Value::Bytes(req.body.clone()))
    }
}

/// Runs the conformance suite against a configured backend's kind and
/// options (on its real server, in real time) under a throwaway key prefix,
/// so the backend's own keys are untouched.
async fn selftest_backend(ctx: &AdminContext<'_>, name: &str) -> AdminReply {
    let Some((make, runtime)) = &ctx.selftest else {
        return AdminReply::error(501, "unsupported", "backend selftests are not available here");
    };
    // The sibling's prefix extends the main one ("p" and "p:sibling"), the
    // case where a prefix glob alone would let `clear` reach the sibling.
    let built = make(name, "edgecache-selftest").and_then(|b| Ok((b, make(name, "edgecache-selftest:sibling")?)));
    let (b, s) = match built {
        Ok(pair) => pair,
        Err(e) => return AdminReply::from_cache_error(&e),
    };
    let time = RealTime(runtime.clone());
    let mut suite = Suite::new(&*b, &time);
    suite.sibling = Some(&*s);
    let report = suite.run().await;
    AdminReply::json(
        if report.all_passed() { 200 } else { 500 },
        json!({"passed": report.passed(), "failed": report.failed(), "reports": [report]}),
    )
}

/// Runs the conformance suite against fresh local backends with a fake clock,
/// inside whatever runtime calls it (workerd, in the end-to-end tests).
pub async fn selftest() -> AdminReply {
    let mut reports = Vec::new();
    for timeout in [Timeout::default(), Timeout::Never, Timeout::Seconds(0.0)] {
        let clock = ManualClock::new(1_700_000_000_000);
        let make = |prefix: &str| {
            LocalBackend::with_clock(prefix, 1, timeout, LocalOptions::default(), Rc::new(clock.clone()))
        };
        let (b, s) = (make("site"), make("other"));
        let mut suite = Suite::new(&b, &clock);
        suite.sibling = Some(&s);
        let mut report = suite.run().await;
        report.backend = format!("local(ttl={timeout:?})");
        reports.push(report);
    }
    let passed: usize = reports.iter().map(|r| r.passed()).sum();
    let failed: usize = reports.iter().map(|r| r.failed()).sum();
    AdminReply::json(
        if failed == 0 { 200 } else { 500 },
        json!({"passed": passed, "failed": failed, "reports": reports}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NoSecrets;
    use futures::executor::block_on;

    fn service() -> CacheService {
        CacheService::from_config(
            r#"{"default": {"backend": "local", "key_prefix": "p"}, "b2": {"backend": "local"}}"#,
            &NoSecrets,
        )
        .unwrap()
    }

    fn req<'a>(
        method: &'a str,
        path: &'a str,
        query: Option<&'a str>,
        body: &[u8],
        ct: Option<&'a str>,
    ) -> AdminRequest<'a> {
        AdminRequest {
            method,
            path,
            query,
            content_type: ct,
            authorization: None,
            body: body.to_vec(),
            base_url: "https://e.com",
        }
    }

    async fn handle(s: &CacheService, r: AdminRequest<'_>) -> AdminReply {
        super::handle(
            &AdminContext {
                service: s,
                responses: None,
                selftest: None,
            },
            r,
        )
        .await
    }

    fn body(r: &AdminReply) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn auth() {
        assert_eq!(authorize(None, Some("Bearer x")).unwrap_err().status, 403);
        assert_eq!(authorize(Some("t"), None).unwrap_err().status, 401);
        assert_eq!(authorize(Some("t"), Some("Bearer u")).unwrap_err().status, 401);
        assert!(authorize(Some("t"), Some("Bearer t")).is_ok());
    }

    #[test]
    fn set_get_incr_delete() {
        let s = service();
        block_on(async {
            let r = handle(
                &s,
                req(
                    "PUT",
                    "keys/default/a%20b",
                    Some("ttl=60"),
                    b"{\"x\":1}",
                    Some("application/json"),
                ),
            )
            .await;
            assert_eq!(r.status, 200, "{:?}", body(&r));
            assert_eq!(r.full_key.as_deref(), Some("p:1:a b"));
            let r = handle(&s, req("GET", "keys/default/a%20b", None, b"", None)).await;
            assert_eq!(body(&r), json!({"x": 1}));
            let r = handle(
                &s,
                req("PUT", "keys/b2/raw", None, &[0, 1, 2], Some("application/octet-stream")),
            )
            .await;
            assert_eq!(r.status, 200);
            let r = handle(&s, req("GET", "keys/b2/raw", None, b"", None)).await;
            assert_eq!(
                (r.content_type, r.body.as_slice()),
                ("application/octet-stream", &[0u8, 1, 2][..])
            );
            handle(&s, req("PUT", "keys/default/n", None, b"5", Some("application/json"))).await;
            let r = handle(&s, req("POST", "incr/default/n", Some("delta=3"), b"", None)).await;
            assert_eq!(body(&r), json!({"value": 8}));
            let r = handle(&s, req("POST", "decr/default/n", None, b"", None)).await;
            assert_eq!(body(&r), json!({"value": 7}));
            let r = handle(&s, req("POST", "incr/default/a%20b", None, b"", None)).await;
            assert_eq!((r.status, body(&r)["error"].as_str()), (409, Some("not_an_integer")));
            let r = handle(&s, req("DELETE", "keys/default/n", None, b"", None)).await;
            assert_eq!(body(&r), json!({"deleted": true}));
            let r = handle(&s, req("GET", "keys/default/n", None, b"", None)).await;
            assert_eq!(r.status, 404);
            let r = handle(&s, req("GET", "key/default/k", Some("version=7"), b"", None)).await;
            assert_eq!(body(&r), json!({"key": "p:7:k"}));
        });
    }

    #[test]
    fn errors_are_clear() {
        let s = service();
        block_on(async {
            let r = handle(&s, req("GET", "keys/nope/k", None, b"", None)).await;
            assert_eq!(r.status, 404);
            assert!(body(&r)["message"].as_str().unwrap().contains("b2, default"));
            let r = handle(
                &s,
                req("PUT", "keys/default/k", Some("ttl=abc"), b"1", Some("application/json")),
            )
            .await;
            assert_eq!((r.status, body(&r)["error"].as_str()), (400, Some("invalid_ttl")));
            let r = handle(
                &s,
                req("PUT", "keys/default/k", None, b"{bad", Some("application/json")),
            )
            .await;
            assert_eq!((r.status, body(&r)["error"].as_str()), (400, Some("bad_request")));
            let r = handle(&s, req("GET", "bogus", None, b"", None)).await;
            assert_eq!(r.status, 404);
            // Parameters a route does not use are not read.
            let r = handle(&s, req("GET", "stats", Some("ttl=x&version=y"), b"", None)).await;
            assert_eq!(body(&r)["backends"]["default"]["kind"], "local");
        });
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_keys_round_trip_in_their_header() {
        assert!(authorize(Some("t0k"), Some("bearer t0k")).is_ok());
        assert!(authorize(Some("t0k"), Some("BEARER t0k")).is_ok());
        assert!(authorize(Some("t0k"), Some("Basic t0k")).is_err());
        assert!(authorize(Some("t0k"), Some("Bearer t0")).is_err());
        assert!(authorize(Some("t0k"), Some("t0k")).is_err());
        for k in ["p:1:100%", "p:1:%41", "p:1:ü\u{1}"] {
            let h = key_header_value(k);
            assert!(h.is_ascii() && !h.bytes().any(|b| b.is_ascii_control()), "{h}");
            assert_eq!(percent_decode_str(&h).decode_utf8().unwrap(), k);
        }
    }

    #[test]
    fn selftest_passes_natively() {
        let r = block_on(selftest());
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert!(body(&r)["passed"].as_u64().unwrap() > 40);
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl(None).unwrap(), Ttl::Default);
        assert_eq!(parse_ttl(Some("never")).unwrap(), Ttl::Never);
        assert_eq!(parse_ttl(Some("0.5")).unwrap(), Ttl::Seconds(0.5));
        assert!(parse_ttl(Some("inf")).is_err());
    }

    #[test]
    fn bodies_that_are_too_large_or_unreadable_are_refused() {
        assert_eq!(checked_body(Ok(b"x".to_vec())).ok(), Some(b"x".to_vec()));
        assert_eq!(refuse_declared_body(Some("99999999999")).map(|r| r.status), Some(413));
        assert_eq!(refuse_declared_body(Some("10")).map(|r| r.status), None);
        assert_eq!(
            checked_body(Ok(vec![0; MAX_BODY_BYTES + 1])).err().map(|r| r.status),
            Some(413)
        );
        assert_eq!(checked_body(Err("reset".into())).err().map(|r| r.status), Some(400));
    }
}
