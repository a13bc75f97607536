//! The admin HTTP API over a [`CacheService`](crate::CacheService), kept free of any platform
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
//!   (URL prefix), `{"key_prefix": …}`, `{"tag": …}` (one or a list) or
//!   `{"all": true}`, with `"soft": true` to mark stale instead of gone;
//!   recorded in the purge log, so it reaches every isolate when one is
//!   shared (the reply's `reach`)
//! - `POST   selftest`               the conformance suite on a fresh local backend

mod auth;
mod dashboard;
mod purge;
mod reply;
#[cfg(feature = "selftest")]
mod selftest;
#[cfg(test)]
mod tests;

use percent_encoding::percent_decode_str;
use serde_json::json;

pub use auth::authorize;
pub use dashboard::{dashboard_asset, DASHBOARD_HEADERS};
pub use reply::{
    checked_body, refuse_declared_body, AdminContext, AdminReply, AdminRequest, BackendMaker, MAX_BODY_BYTES,
};
#[cfg(feature = "selftest")]
pub use selftest::selftest;

use crate::primitives::error::CacheError;
use crate::primitives::ttl::Ttl;
use crate::primitives::value::Value;

/// Where the admin API and the dashboard live.
pub const ADMIN_PREFIX: &str = "/_edgecache/";

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
                "breakers": ctx.responses.map(|(c, _)| c.breakers()),
            }),
        )),
        ("POST", "purge", None, None) => Ok(purge::purge(ctx, &req).await),
        #[cfg(feature = "selftest")]
        ("POST", "selftest", None, None) => match query_param(req.query, "backend") {
            None => Ok(selftest().await),
            Some(name) => {
                let unsigned = query_param(req.query, "unsigned_counters").is_some_and(|v| v == "true");
                Ok(selftest::selftest_backend(ctx, &name, unsigned).await)
            }
        },
        #[cfg(not(feature = "selftest"))]
        ("POST", "selftest", None, None) => Ok(AdminReply::error(
            501,
            "unsupported",
            "this build has no self-test: build with the selftest feature (the dev and test builds do)",
        )),
        ("POST", "clear", Some(b), None) => cache(
            async {
                service.using(b)?.clear().await?;
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
            let backend = service.backend(b).map_err(|e| AdminReply::from_cache_error(&e))?;
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
