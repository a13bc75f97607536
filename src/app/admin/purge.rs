//! `POST purge`: response-cache invalidation by URL, URL prefix or key prefix.

use serde_json::json;

use super::reply::{AdminContext, AdminReply, AdminRequest};
use crate::primitives::error::CacheError;

/// Response-cache invalidation by URL, URL prefix or key prefix.
pub(super) async fn purge(ctx: &AdminContext<'_>, req: &AdminRequest<'_>) -> AdminReply {
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
