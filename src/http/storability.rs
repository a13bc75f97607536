//! Whether a response may be stored, and for how long (RFC 9111 §3, §4.2.1).

use super::cache_control::{cache_control, directive, seconds, MAX_DELTA_SECONDS};
use super::date::http_date_secs;
use super::freshness::{Freshness, FreshnessRules};
use super::reason::NotStored;
use crate::primitives::ttl::Timeout;

/// Headers that describe one connection, never stored (RFC 9110 §7.6.1),
/// plus Set-Cookie, which belongs to one user.
pub const NOT_STORED: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
    "proxy-connection",
];

/// Headers the cache sets itself on every answer; an origin's copy is dropped.
pub const OWN_HEADERS: [&str; 2] = ["age", "cache-status"];

/// Statuses cacheable by default, heuristically (RFC 9110 §15.1).
pub fn status_is_cacheable(status: u16) -> bool {
    matches!(status, 200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501)
}

/// Final statuses a cache may store when explicit freshness allows
/// (RFC 9111 §3): not interim 1xx, not a partial 206 (never the full
/// response), not a 304 (it has no body of its own).
pub fn status_is_storable(status: u16) -> bool {
    (200..=599).contains(&status) && status != 206 && status != 304
}

/// What the request and response say, as far as storing is concerned.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreFacts<'a> {
    /// The response's status code.
    pub status: u16,
    /// The response's `Cache-Control` header.
    pub cache_control: Option<&'a str>,
    /// The directives of a targeted field (`CDN-Cache-Control`, RFC 9213)
    /// that replaces `Cache-Control` and `Expires` for this cache.
    pub targeted: Option<&'a [(String, Option<String>)]>,
    /// The response sets a cookie (then it is never stored).
    pub has_set_cookie: bool,
    /// The response's `Vary` header (`*` is never stored).
    pub vary: Option<&'a str>,
    /// The request carried `Authorization` (stored only if the response explicitly allows it).
    pub request_has_authorization: bool,
    /// The response's `Expires` header.
    pub expires: Option<&'a str>,
    /// The response's `Date` header.
    pub date: Option<&'a str>,
    /// The response's `Last-Modified` header (heuristic freshness).
    pub last_modified: Option<&'a str>,
    /// The response has a validator (`ETag` or `Last-Modified`): it can be
    /// revalidated with a conditional request once stale.
    pub has_validator: bool,
    /// The response's age when it arrived (RFC 9111 §4.2.3), in ms.
    pub age_ms: u64,
    /// When the response arrived, in ms since the epoch (stands in for a missing `Date`).
    pub received_ms: u64,
}

/// Freshness lifetime from `Expires` − `Date` (RFC 9111 §4.2.1); an invalid
/// `Expires` (such as `0`) means already expired (§5.3).
fn expires_lifetime(f: &StoreFacts<'_>) -> Option<f64> {
    let expires = f.expires?;
    let Some(at) = http_date_secs(expires) else {
        return Some(0.0);
    };
    let base = f.date.and_then(http_date_secs).unwrap_or(f.received_ms / 1000);
    Some(at.saturating_sub(base).min(MAX_DELTA_SECONDS) as f64)
}

/// Heuristic freshness (RFC 9111 §4.2.2): a tenth of the time since
/// `Last-Modified`, at most `cap` seconds; `None` without a usable date.
fn heuristic_lifetime(f: &StoreFacts<'_>, cap: f64) -> Option<f64> {
    let modified = http_date_secs(f.last_modified?)?;
    let base = f.date.and_then(http_date_secs).unwrap_or(f.received_ms / 1000);
    (cap > 0.0 && modified < base).then(|| ((base - modified) as f64 / 10.0).min(cap))
}

fn ms(secs: f64) -> u64 {
    (secs.max(0.0) * 1000.0).round() as u64
}

/// The header names a `no-cache="…"` or `private="…"` directive lists: a
/// shared cache stores the response without them (RFC 9111 §5.2.2.4,
/// §5.2.2.7), lower-cased.
pub fn unstored_fields(cache_control_value: &str) -> Vec<String> {
    cache_control(cache_control_value)
        .into_iter()
        .filter(|(k, v)| (k == "no-cache" || k == "private") && v.as_deref().is_some_and(|v| !v.trim().is_empty()))
        .flat_map(|(_, v)| {
            v.unwrap_or_default()
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether a response may be stored and for how long; `Err` names why not.
///
/// With `origin_ttl` (RFC 9111 mode) the lifetime is the response's own:
/// `s-maxage`, `max-age`, `Expires` − `Date`, less the age it arrived with;
/// without any, heuristic freshness from `Last-Modified` (capped), then the
/// configured `ttl`, and only for statuses cacheable by default or marked
/// `public`. Without it (Ellar's mode) the configured `ttl` wins, from the
/// moment the response arrived. Both honour `no-store`, `private`,
/// `no-cache` (stored only to be revalidated on every use), and the
/// directives that forbid stale answers.
pub fn decide_store(f: &StoreFacts<'_>, rules: &FreshnessRules) -> Result<Freshness, NotStored> {
    if !status_is_storable(f.status) {
        return Err(NotStored::Status);
    }
    if f.has_set_cookie {
        return Err(NotStored::SetCookie);
    }
    let own;
    let cc: &[(String, Option<String>)] = match f.targeted {
        Some(t) => t,
        None => {
            own = cache_control(f.cache_control.unwrap_or(""));
            &own
        }
    };
    let has = |d: &str| directive(cc, d).is_some();
    // A directive naming fields (`no-cache="x"`) only keeps those fields out.
    let bare = |d: &str| {
        matches!(directive(cc, d), Some(None)) || matches!(directive(cc, d), Some(Some(v)) if v.trim().is_empty())
    };
    if has("no-store") {
        return Err(NotStored::NoStore);
    }
    if bare("private") {
        return Err(NotStored::Private);
    }
    let no_cache = bare("no-cache");
    if no_cache && !f.has_validator {
        return Err(NotStored::NoCache);
    }
    if f.vary.is_some_and(|v| v.split(',').any(|h| h.trim() == "*")) {
        return Err(NotStored::VaryStar);
    }
    // RFC 9111 §3.5: a shared cache stores answers to authorized requests
    // only when the response allows it explicitly.
    if f.request_has_authorization && !["public", "s-maxage", "must-revalidate"].iter().any(|d| has(d)) {
        return Err(NotStored::Authorization);
    }
    let explicit = seconds(cc, "s-maxage").or_else(|| seconds(cc, "max-age")).or_else(|| {
        if f.targeted.is_some() {
            None
        } else {
            expires_lifetime(f)
        }
    });
    let heuristic_ok = status_is_cacheable(f.status) || has("public");
    // RFC 9111 §3: other final statuses only with explicit freshness.
    let status_ok = match rules.origin_ttl {
        true => heuristic_ok || explicit.is_some(),
        false => status_is_cacheable(f.status),
    };
    if !status_ok {
        return Err(NotStored::Status);
    }
    let configured = |ttl: Timeout| match ttl {
        Timeout::Never => None,
        Timeout::Seconds(s) => Some(ms(s)),
    };
    let fresh_ms = if no_cache {
        Some(0)
    } else if rules.origin_ttl {
        match explicit.or_else(|| heuristic_lifetime(f, rules.heuristic_max)) {
            Some(s) => Some(ms(s)),
            None => configured(rules.ttl),
        }
    } else {
        // The configured ttl counts from arrival; freshness is measured
        // from when the origin made the response (arrival − age).
        configured(rules.ttl).map(|t| t.saturating_add(f.age_ms))
    };
    // RFC 9111 §4.2.4: no stale answers where the response forbids them:
    // never under no-cache, must-revalidate or proxy-revalidate; under
    // s-maxage (which implies proxy-revalidate) only a window the origin
    // grants itself with `origin_ttl` (RFC 5861; the usual CDN idiom
    // `s-maxage=60, stale-while-revalidate=30`).
    let must_revalidate = no_cache || has("must-revalidate") || has("proxy-revalidate") || has("s-maxage");
    let never_stale = no_cache || has("must-revalidate") || has("proxy-revalidate");
    let pick = |name: &str, configured: f64| match (rules.origin_ttl, seconds(cc, name)) {
        _ if never_stale => 0,
        (true, Some(s)) => ms(s),
        _ if has("s-maxage") => 0,
        _ => ms(configured),
    };
    let (swr_ms, sie_ms) = (
        pick("stale-while-revalidate", rules.stale_while_revalidate),
        pick("stale-if-error", rules.stale_if_error),
    );
    let keep_ms = if f.has_validator { ms(rules.keep) } else { 0 };
    let freshness = Freshness {
        fresh_ms,
        swr_ms,
        sie_ms,
        keep_ms,
        must_revalidate,
    };
    // Nothing left to serve or revalidate once the age it arrived with is
    // taken off.
    match freshness.storage_secs() {
        Some(s) if ms(s) <= f.age_ms => Err(if f.age_ms == 0 {
            NotStored::TtlZero
        } else {
            NotStored::TooOld
        }),
        _ => Ok(freshness),
    }
}
