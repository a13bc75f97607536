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

use crate::error::{CacheError, Result};
use crate::response_cache::CachePolicy;
use crate::ttl::Ttl;

#[derive(Clone)]
pub struct RouteRule {
    pub pattern: String,
    /// Pass straight to the origin.
    pub bypass: bool,
    pub policy: CachePolicy,
}

#[derive(Clone)]
pub struct Routes {
    pub rules: Vec<RouteRule>,
}

impl Default for Routes {
    /// Every path cached with the default policy.
    fn default() -> Self {
        Routes {
            rules: vec![RouteRule {
                pattern: "*".into(),
                bypass: false,
                policy: CachePolicy::default(),
            }],
        }
    }
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

const FIELDS: [&str; 12] = [
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
    pub fn parse(text: &str) -> Result<Self> {
        let root: Json =
            serde_json::from_str(text).map_err(|e| CacheError::config("ROUTES", format!("not valid JSON: {e}")))?;
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

    /// The rule for a path, if any.
    pub fn find(&self, path: &str) -> Option<&RouteRule> {
        self.rules.iter().find(|r| glob_match(&r.pattern, path))
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
    crate::config::reject_unknown_fields(m, &FIELDS, at)?;
    let pattern = match m.get("path") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(CacheError::config(
                at("path"),
                "required: a path pattern such as \"/blog/*\"",
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
    p.origin_ttl = boolean(m, "origin_ttl")?.unwrap_or(false);
    p.sort_query = boolean(m, "sort_query")?.unwrap_or(false);
    p.stale_while_revalidate = num(m, "stale_while_revalidate")?.unwrap_or(0.0);
    p.stale_if_error = num(m, "stale_if_error")?.unwrap_or(0.0);
    if let Some(n) = num(m, "max_entry_bytes")? {
        p.max_entry_bytes = n as usize;
    }
    if let Some(n) = num(m, "lock_timeout_ms")? {
        p.lock_timeout_ms = n as u64;
    }
    Ok(RouteRule {
        pattern,
        bypass: boolean(m, "bypass")?.unwrap_or(false),
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
}
