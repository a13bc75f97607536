//! `POST purge`: response-cache invalidation by URL, URL prefix, key prefix,
//! cache tag or everything, hard or soft (`"soft": true`).
//!
//! Each purge is recorded in the purge log (shared by every isolate when one
//! is configured; see `response_cache::purge_log`); a hard purge also
//! deletes what it can from this isolate's stores at once. A soft purge
//! deletes nothing: the entries stay, stale, for stale-while-revalidate and
//! stale-if-error. Every reply says the purge's `reach` and `sync_ms`.

use serde_json::{json, Map, Value as Json};

use super::reply::{AdminContext, AdminReply, AdminRequest};
use crate::app::routes::Routes;
use crate::primitives::error::CacheError;
use crate::response_cache::purge_log::{Purge, Scope};
use crate::response_cache::ResponseCache;

const USAGE: &str = "body must be JSON with one of \"url\", \"prefix\", \"key_prefix\", \"tag\" (a string or a list) \
                     or \"all\": true, and optionally \"soft\": true";

/// Response-cache invalidation (see the module docs).
pub(super) async fn purge(ctx: &AdminContext<'_>, req: &AdminRequest<'_>) -> AdminReply {
    let Some((cache, routes)) = ctx.responses else {
        return AdminReply::error(404, "no_response_cache", "this Worker has no response cache");
    };
    let Ok(Json::Object(body)) = serde_json::from_slice::<Json>(&req.body) else {
        return AdminReply::error(400, "bad_request", USAGE);
    };
    let soft = match body.get("soft") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(other) => {
            return AdminReply::error(
                400,
                "bad_request",
                format!("\"soft\" must be true or false, got {other}"),
            )
        }
    };
    let named: Vec<&str> = ["url", "prefix", "key_prefix", "tag", "all"]
        .into_iter()
        .filter(|k| body.contains_key(*k))
        .collect();
    if named.len() != 1 {
        return AdminReply::error(400, "bad_request", USAGE);
    }
    let absolute = |u: &str| {
        if u.starts_with('/') {
            format!("{}{u}", req.base_url)
        } else {
            u.to_string()
        }
    };
    let reply = match named[0] {
        "url" => by_url(cache, routes, &body, soft, absolute).await,
        "prefix" => by_prefix(cache, routes, &body, soft, absolute).await,
        "key_prefix" => by_key_prefix(cache, routes, &body, soft).await,
        "tag" => by_tag(cache, &body, soft).await,
        _ => match body.get("all") {
            Some(Json::Bool(true)) => log(
                cache,
                Purge {
                    scope: Scope::All,
                    soft,
                },
            )
            .await
            .map(|seq| json!({"all": true, "seq": seq})),
            _ => Err(AdminReply::error(400, "bad_request", "\"all\" must be true")),
        },
    };
    match reply {
        Ok(Json::Object(mut m)) => {
            let (reach, log) = cache.purge_reach();
            m.insert("soft".into(), json!(soft));
            m.insert("reach".into(), json!(reach.as_str()));
            m.insert("log".into(), json!(log));
            m.insert("sync_ms".into(), json!(cache.purge_sync_ms()));
            AdminReply::json(200, Json::Object(m))
        }
        Ok(other) => AdminReply::json(200, other),
        Err(r) => r,
    }
}

type Reply = Result<Json, AdminReply>;

fn fail(e: CacheError) -> AdminReply {
    AdminReply::from_cache_error(&e)
}

async fn log(cache: &ResponseCache, purge: Purge) -> Result<u64, AdminReply> {
    cache.invalidate(purge).await.map_err(fail)
}

fn text<'a>(body: &'a Map<String, Json>, field: &str) -> Result<&'a str, AdminReply> {
    body.get(field)
        .and_then(|v| v.as_str())
        .ok_or_else(|| AdminReply::error(400, "bad_request", format!("\"{field}\" must be a string")))
}

async fn by_url(
    cache: &ResponseCache,
    routes: &Routes,
    body: &Map<String, Json>,
    soft: bool,
    absolute: impl Fn(&str) -> String,
) -> Reply {
    let u = text(body, "url")?;
    let url = absolute(u);
    let Ok(path) = url::Url::parse(&url).map(|p| p.path().to_string()) else {
        return Err(AdminReply::error(
            400,
            "bad_request",
            format!("{u:?} is neither an absolute URL nor a path starting with /"),
        ));
    };
    let Some(rule) = routes.find(&path).filter(|r| !r.bypass) else {
        return Ok(json!({"purged": false, "url": url, "note": "no caching rule matches this path"}));
    };
    if soft {
        let seq = log(cache, Purge::soft(ResponseCache::url_scope(&url, &rule.policy))).await?;
        return Ok(json!({"url": url, "seq": seq}));
    }
    match cache.purge_url(&url, &rule.policy).await {
        Ok(found) => Ok(json!({"purged": found, "url": url})),
        Err(e) => Err(fail(e)),
    }
}

async fn by_prefix(
    cache: &ResponseCache,
    routes: &Routes,
    body: &Map<String, Json>,
    soft: bool,
    absolute: impl Fn(&str) -> String,
) -> Reply {
    let p = text(body, "prefix")?;
    // An empty prefix would purge every response of every host: say "/"
    // (this host) to mean it.
    if p.is_empty() {
        return Err(AdminReply::error(
            400,
            "bad_request",
            "an empty prefix would purge everything; use \"/\"",
        ));
    }
    let prefix = absolute(p);
    let seq = log(
        cache,
        Purge {
            scope: ResponseCache::url_prefix_scope(&prefix),
            soft,
        },
    )
    .await?;
    if soft {
        return Ok(json!({"prefix": prefix, "seq": seq}));
    }
    // Also free this isolate's stores now, where they can list keys.
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
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(json!({"purged": total, "prefix": prefix, "skipped": skipped, "seq": seq}))
}

async fn by_key_prefix(cache: &ResponseCache, routes: &Routes, body: &Map<String, Json>, soft: bool) -> Reply {
    let kp = text(body, "key_prefix")?;
    if routes.with_prefix(kp).next().is_none() {
        return Err(AdminReply::error(
            404,
            "no_rule",
            format!("no caching rule has key_prefix {kp:?}"),
        ));
    }
    let seq = log(
        cache,
        Purge {
            scope: Scope::KeyPrefix(kp.to_string()),
            soft,
        },
    )
    .await?;
    if soft {
        return Ok(json!({"key_prefix": kp, "seq": seq}));
    }
    // And the generation in each store: keys change, so this isolate's old
    // entries are never read again.
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
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(json!({"key_prefix": kp, "generation": generations, "seq": seq}))
}

async fn by_tag(cache: &ResponseCache, body: &Map<String, Json>, soft: bool) -> Reply {
    let tags: Vec<String> = match body.get("tag") {
        Some(Json::String(t)) => vec![t.clone()],
        Some(Json::Array(a)) if a.iter().all(|t| t.is_string()) => {
            a.iter().filter_map(|t| t.as_str().map(String::from)).collect()
        }
        _ => vec![],
    };
    if tags.is_empty() || tags.iter().any(|t| t.is_empty() || t.contains([',', ' ', '\t'])) {
        return Err(AdminReply::error(
            400,
            "bad_request",
            "\"tag\" must be a non-empty tag or list of tags, each without commas or spaces",
        ));
    }
    let mut seqs = Vec::new();
    for t in &tags {
        seqs.push(
            log(
                cache,
                Purge {
                    scope: Scope::Tag(t.clone()),
                    soft,
                },
            )
            .await?,
        );
    }
    Ok(json!({"tag": tags, "seq": seqs}))
}
