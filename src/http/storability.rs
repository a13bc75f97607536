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

/// Statuses cacheable by default (RFC 9110 §15.1).
pub fn status_is_cacheable(status: u16) -> bool {
    matches!(status, 200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501)
}

/// What the request and response say, as far as storing is concerned.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreFacts<'a> {
    /// The response's status code.
    pub status: u16,
    /// The response's `Cache-Control` header.
    pub cache_control: Option<&'a str>,
    /// The response sets a cookie (then it is never stored).
    pub has_set_cookie: bool,
    /// The response's `Vary` header (`*` is never stored).
    pub vary: Option<&'a str>,
    /// The request carried `Authorization` (stored only if the response explicitly allows it).
    pub request_has_authorization: bool,
    /// The response's `Expires` and `Date` values, and when it arrived (ms
    /// since the epoch; stands in for a missing `Date`).
    pub expires: Option<&'a str>,
    /// The response's `Date` header.
    pub date: Option<&'a str>,
    /// When the response arrived, in ms since the epoch.
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

fn ms(secs: f64) -> u64 {
    (secs.max(0.0) * 1000.0).round() as u64
}

/// Whether a response may be stored and for how long; `Err` names why not.
pub fn decide_store(f: &StoreFacts<'_>, rules: &FreshnessRules) -> Result<Freshness, NotStored> {
    if !status_is_cacheable(f.status) {
        return Err(NotStored::Status);
    }
    if f.has_set_cookie {
        return Err(NotStored::SetCookie);
    }
    let cc = cache_control(f.cache_control.unwrap_or(""));
    if directive(&cc, "no-store").is_some() {
        return Err(NotStored::NoStore);
    }
    if directive(&cc, "private").is_some() {
        return Err(NotStored::Private);
    }
    if directive(&cc, "no-cache").is_some() {
        return Err(NotStored::NoCache);
    }
    if f.vary.is_some_and(|v| v.split(',').any(|h| h.trim() == "*")) {
        return Err(NotStored::VaryStar);
    }
    // RFC 9111 §3.5: a shared cache stores answers to authorized requests
    // only when the response allows it explicitly.
    if f.request_has_authorization
        && !["public", "s-maxage", "must-revalidate"]
            .iter()
            .any(|d| directive(&cc, d).is_some())
    {
        return Err(NotStored::Authorization);
    }
    let origin_fresh = if rules.origin_ttl {
        if directive(&cc, "no-cache").is_some() {
            Some(0.0)
        } else {
            seconds(&cc, "s-maxage")
                .or_else(|| seconds(&cc, "max-age"))
                .or_else(|| expires_lifetime(f))
        }
    } else {
        None
    };
    let fresh_ms = match (origin_fresh, rules.ttl) {
        (Some(s), _) => Some(ms(s)),
        (None, Timeout::Never) => None,
        (None, Timeout::Seconds(s)) => Some(ms(s)),
    };
    // RFC 9111 §4.2.4: no stale answers where the response forbids them:
    // never under no-cache, must-revalidate or proxy-revalidate; under
    // s-maxage (which implies proxy-revalidate) only a window the origin
    // grants itself with `origin_ttl` (RFC 5861; the usual CDN idiom
    // `s-maxage=60, stale-while-revalidate=30`).
    let has = |d: &str| directive(&cc, d).is_some();
    let never_stale = has("no-cache") || has("must-revalidate") || has("proxy-revalidate");
    let pick = |name: &str, configured: f64| match (rules.origin_ttl, seconds(&cc, name)) {
        _ if never_stale => 0,
        (true, Some(s)) => ms(s),
        _ if has("s-maxage") => 0,
        _ => ms(configured),
    };
    let (swr_ms, sie_ms) = (
        pick("stale-while-revalidate", rules.stale_while_revalidate),
        pick("stale-if-error", rules.stale_if_error),
    );
    if fresh_ms == Some(0) && swr_ms == 0 && sie_ms == 0 {
        return Err(NotStored::TtlZero);
    }
    Ok(Freshness {
        fresh_ms,
        swr_ms,
        sie_ms,
    })
}
