//! When an HTTP response may be cached and how a cache reports itself, as
//! pure functions over methods, statuses and header values.

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

/// Only GET and HEAD are looked up in the cache.
pub fn method_is_cacheable(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
}

/// Statuses cacheable by default (RFC 9110 §15.1).
pub fn status_is_cacheable(status: u16) -> bool {
    matches!(
        status,
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
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

/// Why a response is not stored, or `None` if it may be.
pub fn refuse_to_store(
    status: u16,
    cache_control_value: Option<&str>,
    has_set_cookie: bool,
) -> Option<&'static str> {
    if !status_is_cacheable(status) {
        return Some("status");
    }
    if has_set_cookie {
        return Some("set-cookie");
    }
    if let Some(cc) = cache_control_value {
        for (d, _) in cache_control(cc) {
            match d.as_str() {
                "no-store" => return Some("no-store"),
                "private" => return Some("private"),
                _ => {}
            }
        }
    }
    None
}

/// The `Cache-Status` value of a hit (RFC 9211).
pub fn cache_status_hit(ttl_left_secs: Option<i64>) -> String {
    match ttl_left_secs {
        Some(t) => format!("edgecache; hit; ttl={t}"),
        None => "edgecache; hit".to_string(),
    }
}

/// The `Cache-Status` value of a response fetched from the origin.
pub fn cache_status_forward(reason: &str, stored: bool, detail: Option<&str>) -> String {
    let mut s = format!("edgecache; fwd={reason}");
    if stored {
        s.push_str("; stored");
    }
    if let Some(d) = detail {
        s.push_str(&format!("; detail={d}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storability() {
        assert_eq!(refuse_to_store(200, None, false), None);
        assert_eq!(
            refuse_to_store(200, Some("public, max-age=60"), false),
            None
        );
        assert_eq!(refuse_to_store(500, None, false), Some("status"));
        assert_eq!(refuse_to_store(200, None, true), Some("set-cookie"));
        assert_eq!(
            refuse_to_store(200, Some("Private"), false),
            Some("private")
        );
        assert_eq!(
            refuse_to_store(200, Some("max-age=5, no-store"), false),
            Some("no-store")
        );
    }

    #[test]
    fn directives() {
        assert_eq!(
            cache_control("max-age=60, s-maxage=\"30\", public"),
            vec![
                ("max-age".into(), Some("60".into())),
                ("s-maxage".into(), Some("30".into())),
                ("public".into(), None)
            ]
        );
        assert!(
            method_is_cacheable("get")
                && method_is_cacheable("HEAD")
                && !method_is_cacheable("POST")
        );
    }

    #[test]
    fn status_values() {
        assert_eq!(cache_status_hit(Some(12)), "edgecache; hit; ttl=12");
        assert_eq!(
            cache_status_forward("miss", true, None),
            "edgecache; fwd=miss; stored"
        );
        assert_eq!(
            cache_status_forward("miss", false, Some("private")),
            "edgecache; fwd=miss; detail=private"
        );
    }
}
