//! What crosses the proxy: hop-by-hop headers (RFC 9110 §7.6.1) never do,
//! in either direction, and the headers a client could use to make an
//! origin answer for another URL, host, scheme or method (unkeyed input
//! that would poison a shared entry) are dropped unless a route keeps them.

/// Headers that describe one connection, never forwarded nor stored.
pub const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    // An interim 100 answer would reach the client as a final one.
    "expect",
];

/// Client headers that make common frameworks (Symfony, Laravel, IIS, Rails,
/// Spring, Express behind `trust proxy`) answer for another URL, host,
/// scheme or method than the one the cache keys on.
pub const CLIENT_OVERRIDES: [&str; 16] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-proto",
    "x-forwarded-scheme",
    "x-forwarded-server",
    "x-forwarded-ssl",
    "x-host",
    "x-http-method",
    "x-http-method-override",
    "x-method-override",
    "x-original-host",
    "x-original-url",
    "x-rewrite-url",
];

/// The header names a `Connection` value nominates, lower-cased.
fn nominated(headers: &[(String, String)]) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Removes hop-by-hop headers and those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut Vec<(String, String)>) {
    let named = nominated(headers);
    headers.retain(|(k, _)| !listed(&HOP_BY_HOP, k) && !named.iter().any(|n| n.eq_ignore_ascii_case(k)));
}

/// A client's request headers as the origin may see them: no hop-by-hop
/// headers, and no [`CLIENT_OVERRIDES`] except those listed in `keep`
/// (lower-case names).
pub fn strip_client_overrides(headers: &mut Vec<(String, String)>, keep: &[String]) {
    strip_hop_by_hop(headers);
    headers.retain(|(k, _)| !listed(&CLIENT_OVERRIDES, k) || keep.iter().any(|h| h.eq_ignore_ascii_case(k)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn rfc9110_7_6_1_hop_by_hop_and_connection_nominated_headers_go() {
        let mut headers = h(&[
            ("connection", "close, X-Poison"),
            ("x-poison", "1"),
            ("expect", "100-continue"),
            ("te", "trailers"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers, h(&[("accept", "*/*")]));
    }

    #[test]
    fn client_overrides_go_unless_kept() {
        let mut headers = h(&[
            ("X-Forwarded-Host", "evil.example"),
            ("x-original-url", "/admin"),
            ("x-http-method-override", "DELETE"),
            ("forwarded", "host=evil"),
            ("x-forwarded-for", "1.2.3.4"),
            ("accept-language", "fr"),
        ]);
        strip_client_overrides(&mut headers, &["x-forwarded-for".to_string()]);
        assert_eq!(headers, h(&[("x-forwarded-for", "1.2.3.4"), ("accept-language", "fr")]));
    }
}
