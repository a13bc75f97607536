//! HTTP cache policy as pure functions: which requests are looked up, which
//! responses are stored and for how long, how `Vary` splits variants, and
//! how the cache reports itself (`Cache-Status`, RFC 9211). No I/O here, so
//! every rule is unit-tested natively.

use crate::ttl::Timeout;

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

/// Only GET and HEAD are looked up in the cache.
pub fn method_is_cacheable(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
}

/// Statuses cacheable by default (RFC 9110 §15.1).
pub fn status_is_cacheable(status: u16) -> bool {
    matches!(status, 200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501)
}

/// The directives of a Cache-Control value, lower-cased, with their values.
pub fn cache_control(value: &str) -> Vec<(String, Option<String>)> {
    value
        .split(',')
        .filter_map(|d| {
            let d = d.trim();
            if d.is_empty() {
                return None;
            }
            let (k, v) = match d.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"').to_string())),
                None => (d, None),
            };
            Some((k.to_ascii_lowercase(), v))
        })
        .collect()
}

fn directive(cc: &[(String, Option<String>)], name: &str) -> Option<Option<String>> {
    cc.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Largest delta-seconds a cache keeps (RFC 9111 §1.2.2: bigger values,
/// and overflowing ones, count as 2^31).
const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// A delta-seconds value (a directive's, or the `Age` header's): digits,
/// at most 2^31; `None` if it is anything else.
pub fn delta_seconds(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.parse::<u64>().unwrap_or(MAX_DELTA_SECONDS).min(MAX_DELTA_SECONDS))
}

/// A delta-seconds directive: absent → `None`; invalid (`-1`, `10s`, no
/// value) → 0, since invalid freshness information means stale (RFC 9111
/// §4.2.1).
fn seconds(cc: &[(String, Option<String>)], name: &str) -> Option<f64> {
    let v = directive(cc, name)?.unwrap_or_default();
    Some(delta_seconds(&v).unwrap_or(0) as f64)
}

/// What to do with a request before looking at the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestMode {
    /// Neither read nor write the cache.
    Bypass(&'static str),
    /// Serve from the cache when fresh.
    Lookup,
    /// Skip the stored answer, ask the origin, store what it says
    /// (request `Cache-Control: no-cache` or `max-age=0`).
    Revalidate,
}

pub fn request_mode(method: &str, cache_control_value: Option<&str>, pragma: Option<&str>) -> RequestMode {
    if !method_is_cacheable(method) {
        return RequestMode::Bypass("method");
    }
    let cc = cache_control(cache_control_value.unwrap_or(""));
    if directive(&cc, "no-store").is_some() {
        return RequestMode::Bypass("no-store");
    }
    let no_cache = directive(&cc, "no-cache").is_some()
        || seconds(&cc, "max-age") == Some(0.0)
        || (cache_control_value.is_none() && pragma.is_some_and(|p| p.to_ascii_lowercase().contains("no-cache")));
    if no_cache {
        RequestMode::Revalidate
    } else {
        RequestMode::Lookup
    }
}

/// How long responses stay fresh, and stale windows (all in seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreshnessRules {
    /// The configured lifetime (the decorator's or route's `ttl`).
    pub ttl: Timeout,
    /// Let the origin's `s-maxage`/`max-age` take precedence over `ttl`.
    pub origin_ttl: bool,
    /// Serve stale this long while refreshing in the background (the
    /// origin's `stale-while-revalidate` takes precedence when `origin_ttl`).
    pub stale_while_revalidate: f64,
    /// Serve stale this long when the origin fails.
    pub stale_if_error: f64,
}

impl Default for FreshnessRules {
    fn default() -> Self {
        FreshnessRules {
            ttl: Timeout::default(),
            origin_ttl: false,
            stale_while_revalidate: 0.0,
            stale_if_error: 0.0,
        }
    }
}

/// How long one stored response is fresh and may be served stale, in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Freshness {
    /// `None` = fresh until evicted.
    pub fresh_ms: Option<u64>,
    pub swr_ms: u64,
    pub sie_ms: u64,
}

impl Freshness {
    /// How long the backend must keep the entry: fresh plus the longer stale window.
    pub fn storage_secs(&self) -> Option<f64> {
        self.fresh_ms
            .map(|f| f.saturating_add(self.swr_ms.max(self.sie_ms)) as f64 / 1000.0)
    }
}

/// What the request and response say, as far as storing is concerned.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreFacts<'a> {
    pub status: u16,
    pub cache_control: Option<&'a str>,
    pub has_set_cookie: bool,
    pub vary: Option<&'a str>,
    pub request_has_authorization: bool,
    /// The response's `Expires` and `Date` values, and when it arrived (ms
    /// since the epoch; stands in for a missing `Date`).
    pub expires: Option<&'a str>,
    pub date: Option<&'a str>,
    pub received_ms: u64,
}

/// Seconds since the epoch of an HTTP-date (any of RFC 9110's three forms).
fn http_date_secs(v: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(v.trim()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs())
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
pub fn decide_store(f: &StoreFacts<'_>, rules: &FreshnessRules) -> Result<Freshness, &'static str> {
    if !status_is_cacheable(f.status) {
        return Err("status");
    }
    if f.has_set_cookie {
        return Err("set-cookie");
    }
    let cc = cache_control(f.cache_control.unwrap_or(""));
    if directive(&cc, "no-store").is_some() {
        return Err("no-store");
    }
    if directive(&cc, "private").is_some() {
        return Err("private");
    }
    if f.vary.is_some_and(|v| v.split(',').any(|h| h.trim() == "*")) {
        return Err("vary-star");
    }
    // RFC 9111 §3.5: a shared cache stores answers to authorized requests
    // only when the response allows it explicitly.
    if f.request_has_authorization
        && !["public", "s-maxage", "must-revalidate"]
            .iter()
            .any(|d| directive(&cc, d).is_some())
    {
        return Err("authorization");
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
        return Err("ttl-0");
    }
    Ok(Freshness {
        fresh_ms,
        swr_ms,
        sie_ms,
    })
}

/// The header names a `Vary` value lists, lower-cased and sorted (so the
/// same set always makes the same variant key).
pub fn vary_names(vary: &str) -> Vec<String> {
    let mut v: Vec<String> = vary
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The variant key: the base key plus the request's values of the Vary
/// headers (an absent header differs from an empty one).
pub fn variant_key(base: &str, names: &[String], header: impl Fn(&str) -> Option<String>) -> String {
    let mut k = String::from(base);
    for n in names {
        k.push('\u{1f}');
        k.push_str(n);
        match header(n) {
            Some(v) => {
                k.push('=');
                k.push_str(v.trim());
            }
            None => k.push('!'),
        }
    }
    k
}

/// Where a stored response stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staleness {
    /// Fresh, with this many ms left (`None` = no limit).
    Fresh(Option<u64>),
    /// Stale by this many ms, inside the stale-while-revalidate window.
    Revalidatable(u64),
    /// Stale by this many ms; usable only if the origin fails.
    ErrorOnly(u64),
    /// Too old to serve.
    Dead,
}

pub fn staleness(stored_at_ms: u64, f: &Freshness, now_ms: u64) -> Staleness {
    let Some(fresh) = f.fresh_ms else {
        return Staleness::Fresh(None);
    };
    let age = now_ms.saturating_sub(stored_at_ms);
    if age < fresh {
        return Staleness::Fresh(Some(fresh - age));
    }
    let stale_by = age - fresh;
    if stale_by < f.swr_ms {
        Staleness::Revalidatable(stale_by)
    } else if stale_by < f.sie_ms {
        Staleness::ErrorOnly(stale_by)
    } else {
        Staleness::Dead
    }
}

/// Builds a `Cache-Status` value (RFC 9211) for the cache named `edgecache`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheStatus {
    pub hit: bool,
    /// `miss`, `stale`, `request`, `bypass`, `vary-miss`, `uri-miss`.
    pub fwd: Option<&'static str>,
    pub fwd_status: Option<u16>,
    /// Seconds of freshness left (negative when stale).
    pub ttl: Option<i64>,
    pub stored: bool,
    pub collapsed: bool,
    pub detail: Option<String>,
}

impl std::fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("edgecache")?;
        if self.hit {
            f.write_str("; hit")?;
        }
        if let Some(fwd) = self.fwd {
            write!(f, "; fwd={fwd}")?;
        }
        if let Some(s) = self.fwd_status {
            write!(f, "; fwd-status={s}")?;
        }
        if let Some(t) = self.ttl {
            write!(f, "; ttl={t}")?;
        }
        if self.stored {
            f.write_str("; stored")?;
        }
        if self.collapsed {
            f.write_str("; collapsed")?;
        }
        if let Some(d) = &self.detail {
            write!(f, "; detail={d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: u16, cc: Option<&'static str>) -> StoreFacts<'static> {
        StoreFacts {
            status,
            cache_control: cc,
            ..Default::default()
        }
    }

    #[test]
    fn what_is_stored() {
        let r = FreshnessRules::default();
        assert_eq!(decide_store(&facts(200, None), &r).unwrap().fresh_ms, Some(300_000));
        assert_eq!(decide_store(&facts(500, None), &r), Err("status"));
        assert_eq!(decide_store(&facts(206, None), &r), Err("status"));
        assert_eq!(decide_store(&facts(200, Some("Private")), &r), Err("private"));
        assert_eq!(
            decide_store(&facts(200, Some("max-age=5, no-store")), &r),
            Err("no-store")
        );
        let cookie = StoreFacts {
            has_set_cookie: true,
            ..facts(200, None)
        };
        assert_eq!(decide_store(&cookie, &r), Err("set-cookie"));
        let star = StoreFacts {
            vary: Some("Accept, *"),
            ..facts(200, None)
        };
        assert_eq!(decide_store(&star, &r), Err("vary-star"));
        let zero = FreshnessRules {
            ttl: Timeout::Seconds(0.0),
            ..r
        };
        assert_eq!(decide_store(&facts(200, None), &zero), Err("ttl-0"));
        let never = FreshnessRules {
            ttl: Timeout::Never,
            ..r
        };
        assert_eq!(decide_store(&facts(200, None), &never).unwrap().fresh_ms, None);
    }

    #[test]
    fn authorization_needs_explicit_permission() {
        let r = FreshnessRules::default();
        let auth = |cc| StoreFacts {
            request_has_authorization: true,
            ..facts(200, cc)
        };
        assert_eq!(decide_store(&auth(None), &r), Err("authorization"));
        assert_eq!(decide_store(&auth(Some("max-age=60")), &r), Err("authorization"));
        assert!(decide_store(&auth(Some("public, max-age=60")), &r).is_ok());
        assert!(decide_store(&auth(Some("s-maxage=60")), &r).is_ok());
    }

    #[test]
    fn origin_ttl_precedence() {
        let off = FreshnessRules {
            ttl: Timeout::Seconds(10.0),
            ..Default::default()
        };
        let on = FreshnessRules {
            origin_ttl: true,
            ..off
        };
        let cc = Some("max-age=60, s-maxage=30, stale-while-revalidate=5");
        assert_eq!(decide_store(&facts(200, cc), &off).unwrap().fresh_ms, Some(10_000));
        let f = decide_store(&facts(200, cc), &on).unwrap();
        assert_eq!((f.fresh_ms, f.swr_ms), (Some(30_000), 5_000));
        assert_eq!(
            decide_store(&facts(200, Some("max-age=60")), &on).unwrap().fresh_ms,
            Some(60_000)
        );
        assert_eq!(decide_store(&facts(200, None), &on).unwrap().fresh_ms, Some(10_000));
        let swr = FreshnessRules {
            stale_while_revalidate: 1.0,
            ..on
        };
        // no-cache forbids serving stale: the configured window does not apply.
        assert_eq!(decide_store(&facts(200, Some("no-cache")), &swr), Err("ttl-0"));
        // An origin's own stale window is honoured with origin_ttl (RFC 5861)
        // but not next to no-cache.
        let f = decide_store(&facts(200, Some("max-age=0, stale-while-revalidate=1")), &swr).unwrap();
        assert_eq!((f.fresh_ms, f.swr_ms, f.storage_secs()), (Some(0), 1_000, Some(1.0)));
        assert_eq!(
            decide_store(&facts(200, Some("no-cache, stale-while-revalidate=1")), &swr),
            Err("ttl-0")
        );
    }

    #[test]
    fn directives_that_forbid_stale_answers_drop_the_configured_windows() {
        let rules = FreshnessRules {
            ttl: Timeout::Seconds(10.0),
            stale_while_revalidate: 30.0,
            stale_if_error: 60.0,
            ..Default::default()
        };
        for origin_ttl in [false, true] {
            let r = FreshnessRules { origin_ttl, ..rules };
            for cc in ["max-age=10, must-revalidate", "proxy-revalidate", "s-maxage=10"] {
                let f = decide_store(&facts(200, Some(cc)), &r).unwrap();
                assert_eq!((f.swr_ms, f.sie_ms), (0, 0), "{cc}, origin_ttl {origin_ttl}");
            }
            let f = decide_store(&facts(200, Some("public")), &r).unwrap();
            assert_eq!((f.swr_ms, f.sie_ms), (30_000, 60_000));
        }
        let on = FreshnessRules {
            origin_ttl: true,
            ..rules
        };
        let f = decide_store(&facts(200, Some("s-maxage=10, stale-while-revalidate=5")), &on).unwrap();
        assert_eq!((f.fresh_ms, f.swr_ms, f.sie_ms), (Some(10_000), 5_000, 0));
    }

    #[test]
    fn expires_counts_from_date_when_no_max_age() {
        let on = FreshnessRules {
            origin_ttl: true,
            ttl: Timeout::Seconds(300.0),
            ..Default::default()
        };
        let fresh = |expires: &'static str, date: Option<&'static str>, cc: Option<&'static str>| {
            let f = StoreFacts {
                status: 200,
                cache_control: cc,
                expires: Some(expires),
                date,
                received_ms: 784_111_777_000, // Sun, 06 Nov 1994 08:49:37 GMT
                ..Default::default()
            };
            decide_store(&f, &on).map(|f| f.fresh_ms)
        };
        let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fresh("Sun, 06 Nov 1994 08:50:37 GMT", date, None), Ok(Some(60_000)));
        // The two obsolete forms are read too; no Date: the arrival time.
        assert_eq!(fresh("Sunday, 06-Nov-94 08:51:37 GMT", None, None), Ok(Some(120_000)));
        assert_eq!(fresh("Sun Nov  6 08:52:37 1994", date, None), Ok(Some(180_000)));
        // In the past, or invalid: already expired.
        assert_eq!(fresh("Thu, 01 Jan 1970 00:00:00 GMT", date, None), Err("ttl-0"));
        assert_eq!(fresh("0", date, None), Err("ttl-0"));
        // max-age wins over Expires.
        assert_eq!(fresh("0", date, Some("max-age=10")), Ok(Some(10_000)));
        // Without origin_ttl, the configured ttl rules.
        let off = FreshnessRules {
            origin_ttl: false,
            ..on
        };
        let f = StoreFacts {
            status: 200,
            expires: Some("0"),
            ..Default::default()
        };
        assert_eq!(decide_store(&f, &off).map(|f| f.fresh_ms), Ok(Some(300_000)));
    }

    #[test]
    fn delta_seconds_are_capped_and_invalid_ones_mean_stale() {
        let on = FreshnessRules {
            origin_ttl: true,
            ttl: Timeout::Seconds(300.0),
            ..Default::default()
        };
        let fresh = |cc: &'static str| decide_store(&facts(200, Some(cc)), &on).map(|f| f.fresh_ms);
        let cap = Some((1u64 << 31) * 1000);
        assert_eq!(fresh("max-age=31536000000000000"), Ok(cap));
        assert_eq!(fresh("max-age=99999999999999999999999"), Ok(cap));
        assert_eq!(fresh("max-age=-1"), Err("ttl-0"));
        assert_eq!(fresh("max-age=10s"), Err("ttl-0"));
        assert_eq!(fresh("max-age=\"20\""), Ok(Some(20_000)));
        let huge = decide_store(
            &facts(200, Some("max-age=31536000000000000, stale-while-revalidate=60")),
            &on,
        )
        .unwrap();
        assert!(huge.storage_secs().unwrap() > 2e9);
    }

    #[test]
    fn request_modes() {
        assert_eq!(request_mode("POST", None, None), RequestMode::Bypass("method"));
        assert_eq!(request_mode("GET", None, None), RequestMode::Lookup);
        assert_eq!(request_mode("HEAD", Some("no-cache"), None), RequestMode::Revalidate);
        assert_eq!(request_mode("GET", Some("max-age=0"), None), RequestMode::Revalidate);
        assert_eq!(request_mode("GET", None, Some("no-cache")), RequestMode::Revalidate);
        assert_eq!(
            request_mode("GET", Some("no-store"), None),
            RequestMode::Bypass("no-store")
        );
    }

    #[test]
    fn variants() {
        let names = vary_names("Accept-Encoding, accept-language,  ");
        assert_eq!(names, vec!["accept-encoding", "accept-language"]);
        let k1 = variant_key("K", &names, |h| (h == "accept-language").then(|| "fr".to_string()));
        let k2 = variant_key("K", &names, |h| (h == "accept-language").then(|| "de".to_string()));
        let k3 = variant_key("K", &names, |_| None);
        assert!(k1 != k2 && k1 != k3 && k2 != k3);
        assert!(k1.starts_with('K'));
    }

    #[test]
    fn staleness_windows() {
        let f = Freshness {
            fresh_ms: Some(1000),
            swr_ms: 500,
            sie_ms: 2000,
        };
        assert_eq!(staleness(0, &f, 400), Staleness::Fresh(Some(600)));
        assert_eq!(staleness(0, &f, 1200), Staleness::Revalidatable(200));
        assert_eq!(staleness(0, &f, 1700), Staleness::ErrorOnly(700));
        assert_eq!(staleness(0, &f, 3000), Staleness::Dead);
        assert_eq!(f.storage_secs(), Some(3.0));
    }

    #[test]
    fn cache_status_values() {
        let hit = CacheStatus {
            hit: true,
            ttl: Some(12),
            ..Default::default()
        };
        assert_eq!(hit.to_string(), "edgecache; hit; ttl=12");
        let miss = CacheStatus {
            fwd: Some("miss"),
            stored: true,
            ..Default::default()
        };
        assert_eq!(miss.to_string(), "edgecache; fwd=miss; stored");
        let sie = CacheStatus {
            hit: true,
            fwd: Some("stale"),
            fwd_status: Some(502),
            ttl: Some(-3),
            detail: Some("stale-if-error".into()),
            ..Default::default()
        };
        assert_eq!(
            sie.to_string(),
            "edgecache; hit; fwd=stale; fwd-status=502; ttl=-3; detail=stale-if-error"
        );
    }
}
