//! Conditional requests (RFC 9110 §13): whether a request's preconditions
//! hold against a stored representation, and what a 304 carries.

use super::date::http_date_secs;
use super::etag::{parse_list, parse_tag, TagList};

/// The outcome of a request's preconditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// No precondition stops the request: answer as usual.
    Proceed,
    /// 304 Not Modified: the client's copy is current (GET/HEAD only).
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Headers a 304 repeats from the stored 200 (RFC 9110 §15.4.5), plus
/// `last-modified` so a client can keep validating by date.
const NOT_MODIFIED_HEADERS: [&str; 7] = [
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "vary",
    "last-modified",
];

/// Evaluates the preconditions of a request (`header` gives its header
/// values by lower-case name) against the selected representation, which
/// exists, with its `ETag` and `Last-Modified` values, in RFC 9110
/// §13.2.2's order: If-Match, else If-Unmodified-Since; then If-None-Match,
/// else If-Modified-Since (GET/HEAD only). Invalid dates and dates compared
/// with a missing `Last-Modified` are ignored (§13.1.3, §13.1.4), and so
/// are all preconditions on methods that select no representation
/// (CONNECT, OPTIONS, TRACE; §13.2.1). Range/If-Range is the caller's
/// next step (`if_range_allows`). The caller applies these only where the
/// answer would otherwise be a 2xx (§13.2.1).
pub fn evaluate(
    method: &str,
    header: impl Fn(&str) -> Option<String>,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Precondition {
    let method = method.to_ascii_uppercase();
    if matches!(method.as_str(), "CONNECT" | "OPTIONS" | "TRACE") {
        return Precondition::Proceed;
    }
    let current = etag.and_then(parse_tag);
    let modified = last_modified.and_then(http_date_secs);
    // Steps 1–2: state-changing preconditions.
    if let Some(if_match) = header("if-match") {
        let holds = match parse_list(&if_match) {
            TagList::Any => true,
            TagList::Tags(tags) => current.is_some_and(|c| tags.iter().any(|t| t.strong_eq(&c))),
        };
        if !holds {
            return Precondition::Failed;
        }
    } else if let Some(ius) = header("if-unmodified-since").as_deref().and_then(http_date_secs) {
        if modified.is_some_and(|m| m > ius) {
            return Precondition::Failed;
        }
    }
    // Steps 3–4: cache validation.
    let safe = matches!(method.as_str(), "GET" | "HEAD");
    if let Some(if_none_match) = header("if-none-match") {
        let matches = match parse_list(&if_none_match) {
            TagList::Any => true,
            TagList::Tags(tags) => current.is_some_and(|c| tags.iter().any(|t| t.weak_eq(&c))),
        };
        if matches {
            return if safe {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if safe {
        let ims = header("if-modified-since").as_deref().and_then(http_date_secs);
        if let (Some(ims), Some(m)) = (ims, modified) {
            if m <= ims {
                return Precondition::NotModified;
            }
        }
    }
    Precondition::Proceed
}

/// The stored headers a 304 carries (RFC 9110 §15.4.5), in stored order.
pub fn not_modified_headers(stored: &[(String, String)]) -> Vec<(String, String)> {
    stored
        .iter()
        .filter(|(k, _)| NOT_MODIFIED_HEADERS.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Precondition::{Failed, NotModified, Proceed};
    use super::*;

    const ETAG: Option<&str> = Some("\"v1\"");
    const WEAK_ETAG: Option<&str> = Some("W/\"v1\"");
    const LM: Option<&str> = Some("Sun, 06 Nov 1994 08:49:37 GMT");
    const BEFORE: &str = "Sat, 05 Nov 1994 08:49:37 GMT";
    const SAME: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const AFTER: &str = "Mon, 07 Nov 1994 08:49:37 GMT";

    fn eval(method: &str, headers: &[(&str, &str)], etag: Option<&str>, lm: Option<&str>) -> Precondition {
        evaluate(
            method,
            |n| {
                let v: Vec<&str> = headers.iter().filter(|(k, _)| *k == n).map(|(_, v)| *v).collect();
                (!v.is_empty()).then(|| v.join(", "))
            },
            etag,
            lm,
        )
    }

    #[test]
    fn rfc9110_13_2_2_no_preconditions_proceed() {
        assert_eq!(eval("GET", &[], ETAG, LM), Proceed);
        assert_eq!(eval("GET", &[], None, None), Proceed);
    }

    #[test]
    fn rfc9110_13_1_1_if_match_uses_strong_comparison() {
        assert_eq!(eval("GET", &[("if-match", "\"v1\"")], ETAG, LM), Proceed);
        assert_eq!(eval("PUT", &[("if-match", "\"v0\", \"v1\"")], ETAG, LM), Proceed);
        assert_eq!(eval("PUT", &[("if-match", "\"v2\"")], ETAG, LM), Failed);
        assert_eq!(eval("PUT", &[("if-match", "W/\"v1\"")], ETAG, LM), Failed);
        assert_eq!(eval("PUT", &[("if-match", "\"v1\"")], WEAK_ETAG, LM), Failed);
        assert_eq!(eval("PUT", &[("if-match", "\"v1\"")], None, LM), Failed);
    }

    #[test]
    fn rfc9110_13_1_1_if_match_star_matches_any_current_representation() {
        assert_eq!(eval("PUT", &[("if-match", "*")], None, None), Proceed);
        assert_eq!(eval("DELETE", &[("if-match", "*")], WEAK_ETAG, None), Proceed);
    }

    #[test]
    fn rfc9110_13_1_4_if_unmodified_since() {
        assert_eq!(eval("PUT", &[("if-unmodified-since", SAME)], ETAG, LM), Proceed);
        assert_eq!(eval("PUT", &[("if-unmodified-since", AFTER)], ETAG, LM), Proceed);
        assert_eq!(eval("PUT", &[("if-unmodified-since", BEFORE)], ETAG, LM), Failed);
        assert_eq!(eval("GET", &[("if-unmodified-since", BEFORE)], ETAG, LM), Failed);
    }

    #[test]
    fn rfc9110_13_1_4_if_unmodified_since_ignored_when_invalid_or_no_last_modified() {
        assert_eq!(eval("PUT", &[("if-unmodified-since", "yesterday")], ETAG, LM), Proceed);
        assert_eq!(eval("PUT", &[("if-unmodified-since", BEFORE)], ETAG, None), Proceed);
        assert_eq!(
            eval("PUT", &[("if-unmodified-since", BEFORE)], ETAG, Some("garbage")),
            Proceed
        );
    }

    #[test]
    fn rfc9110_13_2_2_if_match_takes_precedence_over_if_unmodified_since() {
        let h = [("if-match", "\"v1\""), ("if-unmodified-since", BEFORE)];
        assert_eq!(eval("PUT", &h, ETAG, LM), Proceed);
    }

    #[test]
    fn rfc9110_13_1_2_if_none_match_uses_weak_comparison() {
        assert_eq!(eval("GET", &[("if-none-match", "\"v1\"")], ETAG, LM), NotModified);
        assert_eq!(eval("GET", &[("if-none-match", "W/\"v1\"")], ETAG, LM), NotModified);
        assert_eq!(eval("HEAD", &[("if-none-match", "\"v1\"")], WEAK_ETAG, LM), NotModified);
        assert_eq!(
            eval("GET", &[("if-none-match", "\"v0\", \"v1\"")], ETAG, LM),
            NotModified
        );
        assert_eq!(eval("GET", &[("if-none-match", "\"v2\"")], ETAG, LM), Proceed);
        assert_eq!(eval("GET", &[("if-none-match", "\"v1\"")], None, LM), Proceed);
    }

    #[test]
    fn rfc9110_13_1_2_if_none_match_star_and_lenient_tags() {
        assert_eq!(eval("GET", &[("if-none-match", "*")], None, None), NotModified);
        assert_eq!(eval("GET", &[("if-none-match", "v1")], ETAG, LM), NotModified);
        assert_eq!(eval("GET", &[("if-none-match", "w/\"v1\"")], ETAG, LM), NotModified);
        // Two field lines arrive joined.
        let h = [("if-none-match", "\"a\""), ("if-none-match", "\"v1\"")];
        assert_eq!(eval("GET", &h, ETAG, LM), NotModified);
    }

    #[test]
    fn rfc9110_13_1_2_if_none_match_fails_other_methods() {
        assert_eq!(eval("PUT", &[("if-none-match", "*")], ETAG, LM), Failed);
        assert_eq!(eval("POST", &[("if-none-match", "\"v1\"")], ETAG, LM), Failed);
        assert_eq!(eval("POST", &[("if-none-match", "\"v2\"")], ETAG, LM), Proceed);
    }

    #[test]
    fn rfc9110_13_1_3_if_modified_since() {
        assert_eq!(eval("GET", &[("if-modified-since", SAME)], ETAG, LM), NotModified);
        assert_eq!(eval("GET", &[("if-modified-since", AFTER)], ETAG, LM), NotModified);
        assert_eq!(eval("HEAD", &[("if-modified-since", AFTER)], ETAG, LM), NotModified);
        assert_eq!(eval("GET", &[("if-modified-since", BEFORE)], ETAG, LM), Proceed);
        // Other forms of the same instant compare equal.
        let rfc850 = [("if-modified-since", "Sunday, 06-Nov-94 08:49:37 GMT")];
        assert_eq!(eval("GET", &rfc850, ETAG, LM), NotModified);
    }

    #[test]
    fn rfc9110_13_1_3_if_modified_since_ignored_when_invalid_or_not_get_head() {
        assert_eq!(eval("GET", &[("if-modified-since", "0")], ETAG, LM), Proceed);
        assert_eq!(eval("POST", &[("if-modified-since", AFTER)], ETAG, LM), Proceed);
        assert_eq!(eval("GET", &[("if-modified-since", AFTER)], ETAG, None), Proceed);
        // Two members (two field lines) are not one valid date.
        let h = [("if-modified-since", AFTER), ("if-modified-since", AFTER)];
        assert_eq!(eval("GET", &h, ETAG, LM), Proceed);
    }

    #[test]
    fn rfc9110_13_2_2_if_none_match_takes_precedence() {
        // A non-matching If-None-Match wins over a date that would say 304.
        let h = [("if-none-match", "\"v2\""), ("if-modified-since", AFTER)];
        assert_eq!(eval("GET", &h, ETAG, LM), Proceed);
        // A matching one answers 304 whatever the date says.
        let h = [("if-none-match", "\"v1\""), ("if-modified-since", BEFORE)];
        assert_eq!(eval("GET", &h, ETAG, LM), NotModified);
    }

    #[test]
    fn rfc9110_13_2_2_failed_state_precondition_precedes_not_modified() {
        let h = [("if-match", "\"v2\""), ("if-none-match", "\"v1\"")];
        assert_eq!(eval("GET", &h, ETAG, LM), Failed);
        let h = [("if-unmodified-since", BEFORE), ("if-modified-since", AFTER)];
        assert_eq!(eval("GET", &h, ETAG, LM), Failed);
        let h = [("if-match", "\"v1\""), ("if-none-match", "\"v1\"")];
        assert_eq!(eval("GET", &h, ETAG, LM), NotModified);
    }

    #[test]
    fn rfc9110_13_2_1_methods_without_representation_ignore_preconditions() {
        for m in ["OPTIONS", "TRACE", "connect"] {
            assert_eq!(eval(m, &[("if-match", "\"nope\"")], ETAG, LM), Proceed, "{m}");
        }
        assert_eq!(eval("get", &[("if-none-match", "\"v1\"")], ETAG, LM), NotModified);
    }

    #[test]
    fn rfc9110_15_4_5_not_modified_headers_in_stored_order() {
        let stored: Vec<(String, String)> = [
            ("content-type", "text/html"),
            ("etag", "\"v1\""),
            ("content-length", "12"),
            ("cache-control", "max-age=60"),
            ("vary", "accept-encoding"),
            ("set-cookie", "a=b"),
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("date", "Sun, 06 Nov 1994 08:49:40 GMT"),
            ("content-location", "/a.en"),
            ("expires", "Sun, 06 Nov 1994 09:49:40 GMT"),
            ("x-custom", "1"),
            ("vary", "accept-language"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let out = not_modified_headers(&stored);
        let names: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "etag",
                "cache-control",
                "vary",
                "last-modified",
                "date",
                "content-location",
                "expires",
                "vary"
            ]
        );
        assert_eq!(out[0].1, "\"v1\"");
    }
}
