//! Range requests (RFC 9110 §14, If-Range §13.1.5): which byte ranges of
//! a complete stored response to send, and the 206/416 answers.

use super::date::http_date_secs;
use super::etag::parse_tag;
use super::message::HttpResponse;
use crate::primitives::order;

/// Most range-specs one `Range` header may list; more and the header is
/// ignored (a 200 with the whole body), since a long list is the shape of
/// the overlapping-ranges abuse RFC 9110 §14.2 warns about.
pub const MAX_RANGES: usize = 32;

/// Ranges nearer than this many bytes are merged: a multipart part's own
/// headers cost about as much as sending the gap (RFC 9110 §14.6).
const COALESCE_GAP: u64 = 80;

/// What to send for a request's `Range` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// Ignore the header: send the whole representation (200).
    Full,
    /// Send these inclusive byte positions (206), clipped to the length.
    Partial(Vec<(u64, u64)>),
    /// No range overlaps the representation (416).
    Unsatisfiable,
}

/// One range-spec as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spec {
    /// `first-` or `first-last`.
    From(u64, Option<u64>),
    /// `-length`: the last `length` bytes.
    Suffix(u64),
}

/// Digits as a number; too large for u64 saturates (then it is past any end).
fn position(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// The range-specs of a `bytes=` value; `None` for another unit or any
/// invalid spec (then the whole header is ignored, §14.2).
fn parse_specs(range: &str) -> Option<Vec<Spec>> {
    let (unit, set) = range.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    // Empty list elements are tolerated (RFC 9110 §5.6.1).
    for spec in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (first, last) = spec.split_once('-')?;
        specs.push(match (first, last) {
            ("", n) => Spec::Suffix(position(n)?),
            (a, "") => Spec::From(position(a)?, None),
            (a, b) => {
                let (a, b) = (position(a)?, position(b)?);
                if b < a {
                    return None;
                }
                Spec::From(a, Some(b))
            }
        });
    }
    (!specs.is_empty()).then_some(specs)
}

/// The inclusive positions a spec selects in `len` (> 0) bytes, if any.
fn satisfiable(spec: Spec, len: u64) -> Option<(u64, u64)> {
    match spec {
        Spec::From(a, _) if a >= len => None,
        Spec::From(a, b) => Some((a, b.unwrap_or(u64::MAX).min(len - 1))),
        Spec::Suffix(0) => None,
        Spec::Suffix(n) => Some((len.saturating_sub(n), len - 1)),
    }
}

/// Ranges as requested when they are apart; if any two overlap or lie
/// within `COALESCE_GAP` of each other, all sorted and merged (§14.6 allows
/// coalescing regardless of order).
fn coalesce(ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut sorted = ranges.clone();
    order::sort(&mut sorted);
    let close = |a: &(u64, u64), b: &(u64, u64)| b.0 <= a.1.saturating_add(COALESCE_GAP);
    if !sorted.windows(2).any(|w| close(&w[0], &w[1])) {
        return ranges;
    }
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match merged.last_mut() {
            Some(last) if close(last, &r) => last.1 = last.1.max(r.1),
            _ => merged.push(r),
        }
    }
    merged
}

/// What a `Range` header asks of a `len`-byte representation (RFC 9110
/// §14.1.2, §14.2): only the `bytes` unit (any case); `a-b`, `a-`, `-n`.
/// Invalid syntax, another unit, more than [`MAX_RANGES`] specs or a
/// zero-length representation → `Full`; positions past the end are
/// clipped; none overlapping → `Unsatisfiable`; overlapping or nearby
/// ranges are coalesced (see [`RangeAnswer::Partial`]). Ranges apply to
/// GET only (§14.2): the caller checks the method, and `If-Range` first.
pub fn select_ranges(range: &str, len: u64) -> RangeAnswer {
    let Some(specs) = parse_specs(range) else {
        return RangeAnswer::Full;
    };
    if specs.len() > MAX_RANGES || len == 0 {
        return RangeAnswer::Full;
    }
    let ranges: Vec<(u64, u64)> = specs.into_iter().filter_map(|s| satisfiable(s, len)).collect();
    if ranges.is_empty() {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial(coalesce(ranges))
}

/// Whether an `If-Range` value lets the range through (RFC 9110 §13.1.5):
/// an entity-tag must strongly match the current `ETag` (a weak one never
/// does); an HTTP-date must be the same instant as `Last-Modified` (compared
/// as instants, so another date form of it also matches). Anything else
/// (no validator to compare, garbage) → false: send the whole body. A date
/// is only safe when `Last-Modified` is strong, which needs the stored
/// `Date`: a caller passes `None` for `last_modified` unless
/// [`last_modified_is_strong`], so that two versions changed within one
/// second are never stitched together.
pub fn if_range_allows(if_range: &str, etag: Option<&str>, last_modified: Option<&str>) -> bool {
    if let Some(date) = http_date_secs(if_range) {
        return last_modified.and_then(http_date_secs) == Some(date);
    }
    match (parse_tag(if_range), etag.and_then(parse_tag)) {
        (Some(asked), Some(current)) => asked.strong_eq(&current),
        _ => false,
    }
}

/// Whether a stored `Last-Modified` may serve as a strong validator (RFC
/// 9110 §8.8.2.2): the stored `Date` is at least 60 seconds after it.
pub fn last_modified_is_strong(last_modified: &str, date: Option<&str>) -> bool {
    match (http_date_secs(last_modified), date.and_then(http_date_secs)) {
        (Some(lm), Some(date)) => date >= lm.saturating_add(60),
        _ => false,
    }
}

fn content_range(r: (u64, u64), len: usize) -> String {
    format!("bytes {}-{}/{}", r.0, r.1, len)
}

/// A 206 from a complete 200 (RFC 9110 §15.3.7) for ranges from
/// [`select_ranges`] (positions beyond the body are clipped): one range →
/// its bytes and `content-range`; several → a `multipart/byteranges` body
/// (§14.6) whose parts carry the stored `content-type` and their
/// `content-range`, replacing the top `content-type`. The stored headers
/// stay otherwise (the 206 must repeat the 200's validators and caching
/// headers), without `content-length`, which the platform sets. `full`
/// must hold its body (not a `stream`), and `ranges` be non-empty.
pub fn partial_response(full: &HttpResponse, ranges: &[(u64, u64)], boundary: &str) -> HttpResponse {
    let len = full.body.len();
    let slice = |(a, b): (u64, u64)| {
        let end = (b as usize).saturating_add(1).min(len);
        &full.body[(a as usize).min(end)..end]
    };
    let clip = |(a, b): (u64, u64)| (a, b.min(len.saturating_sub(1) as u64));
    let mut headers: Vec<(String, String)> = full
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("content-range"))
        .cloned()
        .collect();
    let body = match ranges {
        [one] => {
            headers.push(("content-range".into(), content_range(clip(*one), len)));
            slice(*one).to_vec()
        }
        _ => {
            let part_type = full.header("content-type");
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            headers.push((
                "content-type".into(),
                format!("multipart/byteranges; boundary={boundary}"),
            ));
            let mut body = Vec::new();
            for r in ranges {
                body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                if let Some(t) = &part_type {
                    body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
                }
                let cr = content_range(clip(*r), len);
                body.extend_from_slice(format!("Content-Range: {cr}\r\n\r\n").as_bytes());
                body.extend_from_slice(slice(*r));
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            body
        }
    };
    HttpResponse {
        status: 206,
        headers,
        body,
        stream: None,
    }
}

/// A 416 for a `len`-byte representation (RFC 9110 §15.5.17).
pub fn unsatisfiable_response(len: u64) -> HttpResponse {
    HttpResponse {
        status: 416,
        headers: vec![("content-range".into(), format!("bytes */{len}"))],
        body: Vec::new(),
        stream: None,
    }
}

#[cfg(test)]
mod tests {
    use super::RangeAnswer::{Full, Partial, Unsatisfiable};
    use super::*;

    #[test]
    fn rfc9110_14_1_2_first_last_open_and_suffix() {
        assert_eq!(select_ranges("bytes=0-499", 10_000), Partial(vec![(0, 499)]));
        assert_eq!(select_ranges("bytes=500-999", 10_000), Partial(vec![(500, 999)]));
        assert_eq!(select_ranges("bytes=9500-", 10_000), Partial(vec![(9500, 9999)]));
        assert_eq!(select_ranges("bytes=-500", 10_000), Partial(vec![(9500, 9999)]));
        assert_eq!(select_ranges("bytes=0-0", 10_000), Partial(vec![(0, 0)]));
        assert_eq!(select_ranges("bytes=-1", 10_000), Partial(vec![(9999, 9999)]));
    }

    #[test]
    fn rfc9110_14_1_1_unit_is_case_insensitive_with_ows() {
        assert_eq!(select_ranges("Bytes=0-1", 10), Partial(vec![(0, 1)]));
        assert_eq!(select_ranges("BYTES = 0-1 ,, ", 10), Partial(vec![(0, 1)]));
    }

    #[test]
    fn rfc9110_14_1_1_invalid_or_other_unit_ignored() {
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "items=0-1",
            "bytes=a-b",
            "bytes=5-1",
            "bytes=-",
            "bytes=1",
            "bytes=0-1-2",
            "bytes=+1-2",
            "bytes=0-1,x",
            "bytes=- 5",
            "0-1",
        ] {
            assert_eq!(select_ranges(bad, 10), Full, "{bad:?}");
        }
    }

    #[test]
    fn rfc9110_14_1_2_positions_past_the_end_are_clipped() {
        assert_eq!(select_ranges("bytes=5-100", 10), Partial(vec![(5, 9)]));
        assert_eq!(select_ranges("bytes=-100", 10), Partial(vec![(0, 9)]));
        assert_eq!(
            select_ranges("bytes=0-99999999999999999999999", 10),
            Partial(vec![(0, 9)])
        );
        assert_eq!(
            select_ranges("bytes=-99999999999999999999999", 10),
            Partial(vec![(0, 9)])
        );
    }

    #[test]
    fn rfc9110_14_1_2_unsatisfiable_when_none_overlaps() {
        assert_eq!(select_ranges("bytes=10-", 10), Unsatisfiable);
        assert_eq!(select_ranges("bytes=10-20, 30-40", 10), Unsatisfiable);
        assert_eq!(select_ranges("bytes=-0", 10), Unsatisfiable);
        assert_eq!(select_ranges("bytes=99999999999999999999999-", 10), Unsatisfiable);
        // One satisfiable range is enough; the others are dropped.
        assert_eq!(select_ranges("bytes=20-30, 2-3", 10), Partial(vec![(2, 3)]));
    }

    #[test]
    fn rfc9110_14_1_2_zero_length_representation_is_sent_whole() {
        assert_eq!(select_ranges("bytes=0-", 0), Full);
        assert_eq!(select_ranges("bytes=-5", 0), Full);
    }

    #[test]
    fn rfc9110_14_6_distant_ranges_keep_requested_order() {
        assert_eq!(
            select_ranges("bytes=5000-5099, 0-99", 10_000),
            Partial(vec![(5000, 5099), (0, 99)])
        );
    }

    #[test]
    fn rfc9110_14_6_overlapping_and_near_ranges_coalesced() {
        assert_eq!(select_ranges("bytes=0-99, 50-150", 10_000), Partial(vec![(0, 150)]));
        assert_eq!(
            select_ranges("bytes=200-299, 0-99, 120-130", 10_000),
            Partial(vec![(0, 299)])
        );
        // The same bytes asked many times: one range.
        let same = vec!["0-9"; MAX_RANGES].join(",");
        assert_eq!(select_ranges(&format!("bytes={same}"), 100), Partial(vec![(0, 9)]));
        // Far apart ones stay apart after a merge elsewhere.
        assert_eq!(
            select_ranges("bytes=9000-9099, 0-9, 5-20", 10_000),
            Partial(vec![(0, 20), (9000, 9099)])
        );
    }

    #[test]
    fn rfc9110_14_2_more_than_max_ranges_ignored() {
        let many: Vec<String> = (0..=MAX_RANGES as u64)
            .map(|i| format!("{}-{}", i * 1000, i * 1000 + 1))
            .collect();
        assert_eq!(select_ranges(&format!("bytes={}", many.join(",")), 1_000_000), Full);
        let max = &many[..MAX_RANGES];
        match select_ranges(&format!("bytes={}", max.join(",")), 1_000_000) {
            Partial(r) => assert_eq!(r.len(), MAX_RANGES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rfc9110_13_1_5_if_range_entity_tag_must_match_strongly() {
        assert!(if_range_allows("\"v1\"", Some("\"v1\""), None));
        assert!(!if_range_allows("\"v2\"", Some("\"v1\""), None));
        assert!(!if_range_allows("W/\"v1\"", Some("W/\"v1\""), None));
        assert!(!if_range_allows("\"v1\"", Some("W/\"v1\""), None));
        assert!(!if_range_allows("\"v1\"", None, None));
    }

    #[test]
    fn rfc9110_13_1_5_if_range_date_must_equal_last_modified() {
        let lm = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", None, lm));
        assert!(if_range_allows("Sunday, 06-Nov-94 08:49:37 GMT", None, lm));
        assert!(!if_range_allows("Sun, 06 Nov 1994 08:49:38 GMT", None, lm));
        assert!(!if_range_allows("Mon, 07 Nov 1994 08:49:37 GMT", None, lm));
        assert!(!if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", Some("\"v1\""), None));
        assert!(!if_range_allows("", Some("\"v1\""), lm));
    }

    #[test]
    fn rfc9110_8_8_2_2_last_modified_strong_only_a_minute_before_date() {
        let lm = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert!(last_modified_is_strong(lm, Some("Sun, 06 Nov 1994 08:50:37 GMT")));
        assert!(last_modified_is_strong(lm, Some("Mon, 07 Nov 1994 08:49:37 GMT")));
        assert!(!last_modified_is_strong(lm, Some("Sun, 06 Nov 1994 08:50:36 GMT")));
        assert!(!last_modified_is_strong(lm, Some(lm)));
        assert!(!last_modified_is_strong(lm, None));
        assert!(!last_modified_is_strong(
            "garbage",
            Some("Mon, 07 Nov 1994 08:49:37 GMT")
        ));
    }

    fn full(body: &[u8]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("content-length".into(), body.len().to_string()),
                ("etag".into(), "\"v1\"".into()),
                ("cache-control".into(), "max-age=60".into()),
            ],
            body: body.to_vec(),
            stream: None,
        }
    }

    #[test]
    fn rfc9110_14_4_single_range_has_content_range() {
        let r = partial_response(&full(b"0123456789"), &[(2, 5)], "B");
        assert_eq!(r.status, 206);
        assert_eq!(r.body, b"2345");
        assert_eq!(r.header("content-range").as_deref(), Some("bytes 2-5/10"));
        assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
        assert_eq!(r.header("etag").as_deref(), Some("\"v1\""));
        assert_eq!(r.header("cache-control").as_deref(), Some("max-age=60"));
        assert_eq!(r.header("content-length"), None);
    }

    #[test]
    fn rfc9110_14_6_multiple_ranges_are_multipart_byteranges() {
        let r = partial_response(&full(b"0123456789"), &[(0, 1), (8, 9)], "THIS_STRING_SEPARATES");
        assert_eq!(r.status, 206);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("multipart/byteranges; boundary=THIS_STRING_SEPARATES")
        );
        assert_eq!(r.header("content-range"), None);
        assert_eq!(r.header("content-length"), None);
        assert_eq!(r.header("etag").as_deref(), Some("\"v1\""));
        let expected = "--THIS_STRING_SEPARATES\r\n\
                        Content-Type: text/plain\r\n\
                        Content-Range: bytes 0-1/10\r\n\r\n\
                        01\r\n\
                        --THIS_STRING_SEPARATES\r\n\
                        Content-Type: text/plain\r\n\
                        Content-Range: bytes 8-9/10\r\n\r\n\
                        89\r\n\
                        --THIS_STRING_SEPARATES--\r\n";
        assert_eq!(String::from_utf8(r.body).unwrap(), expected);
    }

    #[test]
    fn rfc9110_14_6_parts_without_content_type_when_stored_has_none() {
        let mut f = full(b"abcdef");
        f.headers.retain(|(k, _)| k != "content-type");
        let r = partial_response(&f, &[(0, 0), (5, 5)], "b");
        let body = String::from_utf8(r.body).unwrap();
        assert!(!body.contains("Content-Type"), "{body}");
        assert!(
            body.starts_with("--b\r\nContent-Range: bytes 0-0/6\r\n\r\na\r\n"),
            "{body}"
        );
    }

    #[test]
    fn rfc9110_14_4_positions_beyond_the_body_clipped() {
        let r = partial_response(&full(b"abc"), &[(1, 100)], "B");
        assert_eq!(r.body, b"bc");
        assert_eq!(r.header("content-range").as_deref(), Some("bytes 1-2/3"));
    }

    #[test]
    fn rfc9110_15_5_17_unsatisfiable_names_the_length() {
        let r = unsatisfiable_response(1234);
        assert_eq!(r.status, 416);
        assert_eq!(r.header("content-range").as_deref(), Some("bytes */1234"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn rfc9110_14_selected_ranges_build_the_expected_bytes() {
        let body: Vec<u8> = (0..=255u8).collect();
        let Partial(ranges) = select_ranges("bytes=-6, 10-12", body.len() as u64) else {
            panic!("not partial");
        };
        let r = partial_response(&full(&body), &ranges, "x");
        let text = r.body;
        let needle = [250u8, 251, 252, 253, 254, 255];
        assert!(text.windows(6).any(|w| w == needle));
        assert!(text.windows(3).any(|w| w == [10u8, 11, 12]));
    }
}
