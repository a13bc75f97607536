//! Route rules of the deployable Worker: path patterns mapped to a cache
//! policy or to bypass, from the `ROUTES` JSON var, e.g.
//!
//! ```json
//! [{"path": "/api/*", "bypass": true},
//!  {"path": "/blog/*", "ttl": 60, "key_prefix": "blog", "stale_while_revalidate": 30},
//!  {"path": "*", "ttl": 300, "origin_ttl": true}]
//! ```
//!
//! The first rule whose pattern matches the path wins; `*` matches any run
//! of characters (slashes included). With no rule matching, nothing is cached.

use serde_json::{Map, Value as Json};

use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::Ttl;
use crate::response_cache::{AuthorizationPolicy, CachePolicy, CookiePolicy};

/// One `ROUTES` rule: a path pattern and what to do with the requests it matches.
#[derive(Clone)]
pub struct RouteRule {
    /// Path glob (`path` in config); `*` matches any run of characters, slashes included.
    pub pattern: String,
    /// Pass straight to the origin.
    pub bypass: bool,
    /// Match the pattern against the path as spelled (case-sensitive, with
    /// `;params`), not its lenient form.
    pub strict: bool,
    /// Client forwarding headers ([`crate::http::CLIENT_OVERRIDES`]) this
    /// route still sends to the origin, lower-case.
    pub forward_headers: Vec<String>,
    /// `pattern` lower-cased, for lenient matching (made once, not per request).
    pub(crate) pattern_lower: String,
    /// How matching responses are cached (unused when `bypass`).
    pub policy: CachePolicy,
}

/// The `ROUTES` rules; the first that matches a path wins.
#[derive(Clone)]
pub struct Routes {
    /// Rules in config order; none matching means nothing is cached.
    pub rules: Vec<RouteRule>,
}

impl Default for Routes {
    /// Every path cached with the default policy.
    fn default() -> Self {
        Routes {
            rules: vec![RouteRule {
                pattern: "*".into(),
                pattern_lower: "*".into(),
                bypass: false,
                strict: false,
                forward_headers: Vec::new(),
                policy: CachePolicy {
                    origin_ttl: true,
                    ..CachePolicy::default()
                },
            }],
        }
    }
}

/// The form of a request path that rules are matched against: percent-
/// encoded unreserved characters and slashes decoded, runs of slashes
/// merged, dot segments resolved. `/%61pi/x`, `//api/x` and `/api%2Fx` meet
/// the rule of `/api/x`, as an origin that normalizes paths would serve them
/// the same page: a bypass rule cannot be dodged by spelling (which would
/// let a private page be cached). Case is kept.
pub fn match_path(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut decoded = Vec::with_capacity(b.len());
    let hex = |c: u8| (c as char).to_digit(16);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let c = (h * 16 + l) as u8;
                if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
                    decoded.push(c);
                } else {
                    decoded.extend(format!("%{c:02X}").bytes());
                }
                i += 3;
                continue;
            }
        }
        decoded.push(b[i]);
        i += 1;
    }
    let decoded = String::from_utf8_lossy(&decoded);
    let mut segments: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let dir = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    if dir && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The lenient form rules match by default: as [`match_path`], and also
/// every percent-escape decoded, lower-cased, `\\` taken as `/`, and each
/// segment cut at `;` and stripped of trailing dots and spaces. Express
/// routes case-insensitively, Spring and Tomcat drop `;params`, IIS and
/// Windows drop trailing dots and read `\\` as `/`: all of them serve
/// `/Account;x/profile.` as `/account/profile`, so a bypass rule must see it
/// that way too, or a private page gets cached.
pub fn lenient_path(raw: &str) -> String {
    let b = raw.as_bytes();
    // The usual path needs none of it: one copy, no decoding.
    let plain = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'/' | b'-' | b'_' | b'~');
    if b.first() == Some(&b'/') && b.iter().all(plain) && !raw.contains("//") {
        return raw.to_string();
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(b).collect();
    let text = String::from_utf8_lossy(&decoded).to_lowercase().replace('\\', "/");
    let cleaned: Vec<String> = text
        .split('/')
        .map(|seg| {
            let seg = seg.split(';').next().unwrap_or("");
            match seg {
                "." | ".." => seg.to_string(),
                _ => seg.trim_end_matches(['.', ' ']).to_string(),
            }
        })
        .collect();
    match_path(&cleaned.join("/"))
}

/// Glob match where `*` is any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

const FIELDS: [&str; 23] = [
    "heuristic_max",
    "keep",
    "honor_request_directives",
    "strict",
    "tag_headers",
    "expose_tags",
    "forward_headers",
    "cookies",
    "authorization",
    "honor_client_no_cache",
    "origin_timeout_ms",
    "path",
    "bypass",
    "ttl",
    "key_prefix",
    "version",
    "backend",
    "origin_ttl",
    "stale_while_revalidate",
    "stale_if_error",
    "max_entry_bytes",
    "lock_timeout_ms",
    "sort_query",
];

impl Routes {
    /// Parses the `ROUTES` JSON array; errors name the field, e.g. `ROUTES[2].ttl`.
    pub fn parse(text: &str) -> Result<Self> {
        let root: Json = serde_json::from_slice(text.as_bytes())
            .map_err(|e| CacheError::config("ROUTES", format!("not valid JSON: {e}")))?;
        let Json::Array(items) = root else {
            return Err(CacheError::config("ROUTES", "must be a JSON array of rules"));
        };
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_rule(i, v))
            .collect::<Result<Vec<_>>>()?;
        Ok(Routes { rules })
    }

    /// The rule for a path, if any: the first whose pattern matches the
    /// path's [`lenient_path`] form (its [`match_path`] form for `strict`
    /// rules).
    pub fn find(&self, path: &str) -> Option<&RouteRule> {
        let lenient = lenient_path(path);
        let mut exact: Option<String> = None;
        self.rules.iter().find(|r| match r.strict {
            true => glob_match(&r.pattern, exact.get_or_insert_with(|| match_path(path))),
            false => glob_match(&r.pattern_lower, &lenient),
        })
    }

    /// Rules with this key prefix (for invalidation by prefix).
    pub fn with_prefix<'a>(&'a self, key_prefix: &'a str) -> impl Iterator<Item = &'a RouteRule> + 'a {
        self.rules
            .iter()
            .filter(move |r| !r.bypass && r.policy.key_prefix == key_prefix)
    }
}

fn parse_rule(i: usize, v: &Json) -> Result<RouteRule> {
    let at = |f: &str| format!("ROUTES[{i}].{f}");
    let Json::Object(m) = v else {
        return Err(CacheError::config(
            format!("ROUTES[{i}]"),
            format!("must be an object, got {v}"),
        ));
    };
    crate::backend::reject_unknown_fields(m, &FIELDS, at)?;
    // Rules see paths only (no query or fragment), always starting with '/'.
    let pattern = match m.get("path") {
        Some(Json::String(s)) if (s.starts_with('/') || s.starts_with('*')) && !s.contains(['?', '#']) => s.clone(),
        _ => {
            return Err(CacheError::config(
                at("path"),
                "required: a path pattern starting with / or * and without ? or #, such as \"/blog/*\"",
            ))
        }
    };
    let mut p = CachePolicy::default();
    let num = |m: &Map<String, Json>, f: &str| -> Result<Option<f64>> {
        match m.get(f) {
            None => Ok(None),
            Some(Json::Number(n)) if n.as_f64().is_some_and(|x| x >= 0.0 && x.is_finite()) => Ok(n.as_f64()),
            Some(other) => Err(CacheError::config(at(f), format!("must be a number >= 0, got {other}"))),
        }
    };
    let boolean = |m: &Map<String, Json>, f: &str| -> Result<Option<bool>> {
        match m.get(f) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(CacheError::config(at(f), format!("must be true or false, got {other}"))),
        }
    };
    let string = |m: &Map<String, Json>, f: &str| -> Result<Option<String>> {
        match m.get(f) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(CacheError::config(at(f), format!("must be a string, got {other}"))),
        }
    };
    p.ttl = match m.get("ttl") {
        None => Ttl::Default,
        Some(Json::Null) => Ttl::Never,
        Some(_) => Ttl::Seconds(num(m, "ttl")?.unwrap_or_default()),
    };
    if let Some(s) = string(m, "key_prefix")? {
        p.key_prefix = s;
    }
    p.backend = string(m, "backend")?;
    p.version = match m.get("version") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) if n.is_i64() => n.as_i64(),
        Some(other) => {
            return Err(CacheError::config(
                at("version"),
                format!("must be an integer, got {other}"),
            ))
        }
    };
    // The proxy follows the origin's freshness (RFC 9111) unless a rule
    // asks for Ellar's "the configured ttl wins".
    p.origin_ttl = boolean(m, "origin_ttl")?.unwrap_or(true);
    if let Some(n) = num(m, "heuristic_max")? {
        p.heuristic_max = n;
    }
    if let Some(n) = num(m, "keep")? {
        p.keep = n;
    }
    p.honor_request_directives = boolean(m, "honor_request_directives")?.unwrap_or(false);
    p.sort_query = boolean(m, "sort_query")?.unwrap_or(false);
    p.stale_while_revalidate = num(m, "stale_while_revalidate")?.unwrap_or(0.0);
    p.stale_if_error = num(m, "stale_if_error")?.unwrap_or(0.0);
    // Whole numbers; a lock timeout must fit the JS timer (a signed 32-bit
    // ms count: larger values fire at once).
    // The message shows the value as written: formatting an f64 would link
    // core's float printing (14 KB of wasm) for this one message.
    let whole = |f: &str, max: u32| -> Result<Option<f64>> {
        match num(m, f)? {
            Some(n) if n.fract() != 0.0 || n > f64::from(max) => Err(CacheError::config(
                at(f),
                format!(
                    "must be a whole number from 0 to {max}, got {}",
                    m.get(f).unwrap_or(&Json::Null)
                ),
            )),
            n => Ok(n),
        }
    };
    if let Some(n) = whole("max_entry_bytes", u32::MAX)? {
        p.max_entry_bytes = n as usize;
    }
    if let Some(n) = whole("lock_timeout_ms", i32::MAX as u32)? {
        p.lock_timeout_ms = n as u64;
    }
    if let Some(n) = whole("origin_timeout_ms", i32::MAX as u32)? {
        p.origin_timeout_ms = n as u64;
    }
    p.honor_client_no_cache = boolean(m, "honor_client_no_cache")?.unwrap_or(false);
    let names = |f: &str| -> Result<Option<Vec<String>>> {
        match m.get(f) {
            Some(Json::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Json::String(s) if !s.is_empty() => Ok(s.clone()),
                    other => Err(CacheError::config(at(f), format!("must list names, got {other}"))),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            _ => Ok(None),
        }
    };
    p.cookies = match m.get("cookies") {
        None => CookiePolicy::Bypass,
        Some(Json::String(s)) if s == "bypass" => CookiePolicy::Bypass,
        Some(Json::String(s)) if s == "ignore" => CookiePolicy::Ignore,
        Some(Json::Array(_)) => CookiePolicy::IgnoreNamed(names("cookies")?.unwrap_or_default()),
        Some(other) => {
            return Err(CacheError::config(
                at("cookies"),
                format!("must be \"bypass\", \"ignore\" or a list of cookie names to ignore, got {other}"),
            ))
        }
    };
    p.authorization = match m.get("authorization") {
        None => AuthorizationPolicy::Bypass,
        Some(Json::String(s)) if s == "bypass" => AuthorizationPolicy::Bypass,
        Some(Json::String(s)) if s == "rfc9111" => AuthorizationPolicy::Rfc9111,
        Some(other) => {
            return Err(CacheError::config(
                at("authorization"),
                format!("must be \"bypass\" or \"rfc9111\", got {other}"),
            ))
        }
    };
    p.tags.headers = match m.get("tag_headers") {
        None => p.tags.headers,
        Some(Json::Array(_)) => names("tag_headers")?
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        Some(other) => {
            return Err(CacheError::config(
                at("tag_headers"),
                format!("must list header names (default [\"cache-tag\", \"surrogate-key\"]), got {other}"),
            ))
        }
    };
    p.tags.expose = boolean(m, "expose_tags")?.unwrap_or(false);
    let forward_headers = match m.get("forward_headers") {
        None => Vec::new(),
        Some(Json::Array(_)) => names("forward_headers")?
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        Some(other) => {
            return Err(CacheError::config(
                at("forward_headers"),
                format!("must list header names, got {other}"),
            ))
        }
    };
    Ok(RouteRule {
        pattern_lower: pattern.to_lowercase(),
        pattern,
        bypass: boolean(m, "bypass")?.unwrap_or(false),
        strict: boolean(m, "strict")?.unwrap_or(false),
        forward_headers,
        policy: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "/anything/at/all"));
        assert!(glob_match("/blog/*", "/blog/a/b"));
        assert!(!glob_match("/blog/*", "/blo"));
        assert!(glob_match("/a/*/c", "/a/b/c"));
        assert!(glob_match("/a/*/c/*", "/a/x/y/c/z"));
        assert!(!glob_match("/a/*/c", "/a/b/d"));
        assert!(glob_match("/exact", "/exact") && !glob_match("/exact", "/exact/"));
        assert!(glob_match("*.css", "/s/site.css") && !glob_match("*.css", "/s/site.js"));
    }

    #[test]
    fn parse_and_find() {
        let r = Routes::parse(
            r#"[{"path": "/api/*", "bypass": true},
                {"path": "/blog/*", "ttl": 60, "key_prefix": "blog", "version": 2, "backend": "shared",
                 "stale_while_revalidate": 30, "stale_if_error": 300, "origin_ttl": true},
                {"path": "*", "ttl": null}]"#,
        )
        .unwrap();
        assert!(r.find("/api/x").unwrap().bypass);
        let b = &r.find("/blog/post").unwrap().policy;
        assert_eq!(
            (b.ttl, b.key_prefix.as_str(), b.version, b.backend.as_deref()),
            (Ttl::Seconds(60.0), "blog", Some(2), Some("shared"))
        );
        assert_eq!(
            (b.stale_while_revalidate, b.stale_if_error, b.origin_ttl),
            (30.0, 300.0, true)
        );
        assert_eq!(r.find("/other").unwrap().policy.ttl, Ttl::Never);
        assert_eq!(r.with_prefix("blog").count(), 1);
        assert!(Routes::default().find("/x").is_some());
    }

    #[test]
    fn errors_name_the_field() {
        let e = |t: &str| Routes::parse(t).err().unwrap().to_string();
        assert!(e("{}").contains("ROUTES: must be a JSON array"));
        assert!(e(r#"[{"ttl": 5}]"#).contains("ROUTES[0].path"));
        assert!(e(r#"[{"path": "*"}, {"path": "*", "ttl": "x"}]"#).contains("ROUTES[1].ttl"));
        assert!(e(r#"[{"path": "*", "bypas": true}]"#).contains("ROUTES[0].bypas: unknown field"));
        assert!(e(r#"[{"path": "*", "origin_ttl": 1}]"#).contains("ROUTES[0].origin_ttl"));
    }

    #[test]
    fn a_bypass_rule_cannot_be_dodged_by_spelling_the_path_differently() {
        let r = Routes::parse(r#"[{"path": "/api/*", "bypass": true}, {"path": "*", "ttl": 60}]"#).unwrap();
        for p in [
            "/api/private",
            "/%61pi/private",
            "//api/private",
            "/api%2Fprivate",
            "/api%2fprivate",
            "/x/../api/private",
            "/x%2F..%2Fapi/private",
            "/./api//private",
        ] {
            assert!(r.find(p).unwrap().bypass, "{p} escaped the bypass rule");
        }
        assert!(!r.find("/apix").unwrap().bypass);
        assert_eq!(match_path("/a%20b/%7Euser/"), "/a%20b/~user/");
        assert_eq!(match_path("/a/%zz/%"), "/a/%zz/%");
        assert_eq!(match_path(""), "/");
        assert_eq!(match_path("/.."), "/");
        assert_eq!(match_path("/a/b/.."), "/a/");
        assert_eq!(match_path("/caf%C3%A9"), "/caf%C3%A9");
    }

    #[test]
    fn patterns_and_numbers_that_cannot_work_are_refused() {
        for (rules, field) in [
            (r#"[{"path": "/search?q=*"}]"#, "ROUTES[0].path"),
            (r#"[{"path": "api/*"}]"#, "ROUTES[0].path"),
            (
                r#"[{"path": "*", "lock_timeout_ms": 3000000000}]"#,
                "ROUTES[0].lock_timeout_ms",
            ),
            (
                r#"[{"path": "*", "max_entry_bytes": 0.5}]"#,
                "ROUTES[0].max_entry_bytes",
            ),
        ] {
            let e = Routes::parse(rules).err().expect("refused").to_string();
            assert!(e.contains(field), "{rules}: {e}");
        }
        assert!(Routes::parse(r#"[{"path": "*", "lock_timeout_ms": 2147483647, "max_entry_bytes": 10}]"#).is_ok());
    }

    #[test]
    fn lenient_matching_errs_towards_bypassing() {
        let r = Routes::parse(r#"[{"path": "/account/*", "bypass": true}, {"path": "/Exact/*", "strict": true, "bypass": true}, {"path": "*"}]"#).unwrap();
        for p in [
            "/account/profile",
            "/Account/profile",
            "/ACCOUNT/profile",
            "/account./profile",
            "/account;foo/profile",
            "/account%3bfoo/profile",
            "/account%3Bfoo/profile",
            "/account%2e/profile",
            "/account /profile",
            "/x/..%2faccount/profile",
            "\\account\\profile",
        ] {
            assert!(r.find(p).unwrap().bypass, "{p} slipped past the bypass rule");
        }
        assert!(!r.find("/accounts/profile").unwrap().bypass);
        // A strict rule matches only the path as spelled (case kept).
        assert!(r.find("/Exact/x").unwrap().bypass);
        assert!(!r.find("/exact/x").unwrap().bypass);
    }

    #[test]
    fn new_fields_parse_and_bad_ones_are_named() {
        let r = Routes::parse(
            r#"[{"path": "*", "cookies": ["_ga"], "authorization": "rfc9111", "honor_client_no_cache": true,
                 "origin_timeout_ms": 1500, "forward_headers": ["X-Forwarded-For"]}]"#,
        )
        .unwrap();
        let rule = &r.rules[0];
        assert_eq!(rule.policy.cookies, CookiePolicy::IgnoreNamed(vec!["_ga".into()]));
        assert_eq!(rule.policy.authorization, AuthorizationPolicy::Rfc9111);
        assert!(rule.policy.honor_client_no_cache);
        assert_eq!(rule.policy.origin_timeout_ms, 1500);
        assert_eq!(rule.forward_headers, vec!["x-forwarded-for".to_string()]);
        assert_eq!(
            rule.policy.tags.headers,
            ["cache-tag", "surrogate-key"],
            "default tag headers"
        );
        let tagged = Routes::parse(r#"[{"path": "*", "tag_headers": ["X-Tags"], "expose_tags": true}]"#).unwrap();
        assert_eq!(tagged.rules[0].policy.tags.headers, ["x-tags"]);
        assert!(tagged.rules[0].policy.tags.expose);
        for (bad, field) in [
            (r#"[{"path": "*", "cookies": "eat"}]"#, "ROUTES[0].cookies"),
            (r#"[{"path": "*", "authorization": true}]"#, "ROUTES[0].authorization"),
            (
                r#"[{"path": "*", "origin_timeout_ms": -1}]"#,
                "ROUTES[0].origin_timeout_ms",
            ),
            (
                r#"[{"path": "*", "forward_headers": "x"}]"#,
                "ROUTES[0].forward_headers",
            ),
            (r#"[{"path": "*", "tag_headers": "x-tags"}]"#, "ROUTES[0].tag_headers"),
            (r#"[{"path": "*", "expose_tags": 1}]"#, "ROUTES[0].expose_tags"),
        ] {
            let e = Routes::parse(bad).err().unwrap().to_string();
            assert!(e.contains(&format!("{field}: ")), "{e}");
        }
    }
}
