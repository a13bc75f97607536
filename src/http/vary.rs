//! `Vary`: which request headers split a URL into variants.

use crate::primitives::order;

/// The header names a `Vary` value lists, lower-cased and sorted (so the
/// same set always makes the same variant key).
pub fn vary_names(vary: &str) -> Vec<String> {
    let mut v: Vec<String> = vary
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    order::sort(&mut v);
    v.dedup();
    v
}

/// The variant key: the base key plus the request's values of the Vary
/// headers, each through [`normalize_vary_value`] (an absent header differs
/// from an empty one).
pub fn variant_key(base: &str, names: &[String], header: impl Fn(&str) -> Option<String>) -> String {
    let mut k = String::from(base);
    for n in names {
        k.push('\u{1f}');
        k.push_str(n);
        match header(n) {
            Some(v) => {
                k.push('=');
                k.push_str(&normalize_vary_value(n, &v));
            }
            None => k.push('!'),
        }
    }
    k
}

/// A request header's value reduced to what selects the variant, so
/// equivalent requests share one: `accept-encoding` → the one coding the
/// cache would pick (`br` if acceptable, else `gzip`, else `identity`);
/// `accept-language` → its ranges lower-cased, by q descending then
/// alphabetically, q=0 dropped, joined by `,`; any other header → the value
/// with the whitespace around its commas removed (case kept).
pub fn normalize_vary_value(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("accept-encoding") {
        return preferred_coding(value).to_string();
    }
    if name.eq_ignore_ascii_case("accept-language") {
        return language_ranges(value);
    }
    value.split(',').map(str::trim).collect::<Vec<_>>().join(",")
}

/// The members of a weighted list (RFC 9110 §12.4.2): lower-cased name and
/// weight in thousandths; members with an unreadable weight are skipped.
fn weighted(value: &str) -> Vec<(String, u16)> {
    value
        .split(',')
        .filter_map(|member| {
            let mut parts = member.split(';');
            let name = parts.next()?.trim().to_ascii_lowercase();
            if name.is_empty() {
                return None;
            }
            let mut q = 1000;
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = qvalue(v.trim())?;
                    }
                }
            }
            Some((name, q))
        })
        .collect()
}

/// A qvalue in thousandths; lenient beyond RFC 9110 §12.4.2's three
/// decimals and clamped to [0, 1].
fn qvalue(v: &str) -> Option<u16> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let q: f64 = v.parse().ok()?;
    Some((q.clamp(0.0, 1.0) * 1000.0).round() as u16)
}

/// RFC 9110 §12.5.3: the coding the cache serves for this Accept-Encoding.
fn preferred_coding(value: &str) -> &'static str {
    let list = weighted(value);
    let q_of = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| list.iter().find(|(c, _)| c == n).map(|(_, q)| *q))
            .or_else(|| list.iter().find(|(c, _)| c == "*").map(|(_, q)| *q))
            .unwrap_or(0)
    };
    if q_of(&["br"]) > 0 {
        "br"
    } else if q_of(&["gzip", "x-gzip"]) > 0 {
        "gzip"
    } else {
        "identity"
    }
}

/// RFC 9110 §12.5.4: the language ranges in preference order.
fn language_ranges(value: &str) -> String {
    let mut ranges: Vec<(String, u16)> = Vec::new();
    for (range, q) in weighted(value) {
        let range: String = range.split_whitespace().collect();
        match ranges.iter_mut().find(|(r, _)| *r == range) {
            Some(seen) => seen.1 = seen.1.max(q),
            None => ranges.push((range, q)),
        }
    }
    ranges.retain(|(_, q)| *q > 0);
    order::sort_by(&mut ranges, &|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranges.into_iter().map(|(r, _)| r).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9110_12_5_3_accept_encoding_picks_br_then_gzip_then_identity() {
        let n = |v| normalize_vary_value("accept-encoding", v);
        assert_eq!(n("gzip, deflate, br"), "br");
        assert_eq!(n("br;q=0.1, gzip"), "br");
        assert_eq!(n("gzip, deflate"), "gzip");
        assert_eq!(n("x-gzip"), "gzip");
        assert_eq!(n("GZIP;Q=0.5"), "gzip");
        assert_eq!(n("br;q=0, gzip;q=0.001"), "gzip");
        assert_eq!(n("br;q=0, gzip;q=0"), "identity");
        assert_eq!(n("deflate"), "identity");
        assert_eq!(n(""), "identity");
        assert_eq!(n("identity"), "identity");
    }

    #[test]
    fn rfc9110_12_5_3_accept_encoding_star_covers_unlisted_codings() {
        let n = |v| normalize_vary_value("accept-encoding", v);
        assert_eq!(n("*"), "br");
        assert_eq!(n("br;q=0, *"), "gzip");
        assert_eq!(n("*;q=0, gzip"), "gzip");
        assert_eq!(n("*;q=0"), "identity");
        assert_eq!(n("br;q=0, gzip;q=0, *;q=1"), "identity");
    }

    #[test]
    fn rfc9110_12_4_2_unreadable_weight_skips_the_member() {
        let n = |v| normalize_vary_value("accept-encoding", v);
        assert_eq!(n("br;q=high, gzip"), "gzip");
        assert_eq!(n("br;q=-1, gzip"), "gzip");
        assert_eq!(n("br;q=5"), "br");
    }

    #[test]
    fn rfc9110_12_5_4_accept_language_sorted_by_weight_then_name() {
        let n = |v| normalize_vary_value("accept-language", v);
        assert_eq!(n("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"), "fr-ch,fr,en,de,*");
        assert_eq!(n("en;q=0.8, DE;q=0.8 , fr"), "fr,de,en");
        assert_eq!(n("en, de;q=0, fr;q=0.000"), "en");
        assert_eq!(n("en-US,en;q=0.9"), n(" en-us , en ; q=0.9 "));
        assert_eq!(n("en;q=0.5, en"), "en");
        assert_eq!(n(""), "");
    }

    #[test]
    fn rfc9110_12_5_5_other_headers_only_lose_space_around_commas() {
        let n = |v| normalize_vary_value("accept", v);
        assert_eq!(
            n("text/html ,  Application/JSON;q=0.9"),
            "text/html,Application/JSON;q=0.9"
        );
        assert_eq!(n("  a b  "), "a b");
        assert_eq!(n(""), "");
    }

    #[test]
    fn rfc9111_4_1_equivalent_requests_share_a_variant() {
        let names = vary_names("Accept-Encoding, Accept-Language");
        let key = |ae: &str, al: &str| {
            let (ae, al) = (ae.to_string(), al.to_string());
            variant_key("K", &names, move |h| match h {
                "accept-encoding" => Some(ae.clone()),
                "accept-language" => Some(al.clone()),
                _ => None,
            })
        };
        assert_eq!(key("gzip, deflate, br", "en-US,en;q=0.9"), key("br", "en-us, en;q=0.9"));
        assert_ne!(key("gzip", "en"), key("br", "en"));
        assert_ne!(key("br", "en"), key("br", "de"));
        // An absent header still differs from an empty one.
        let absent = variant_key("K", &names, |_| None);
        let empty = variant_key("K", &names, |_| Some(String::new()));
        assert_ne!(absent, empty);
    }
}
