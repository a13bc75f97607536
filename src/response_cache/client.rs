//! What a client asks of the cache beyond the URL: its preconditions
//! (`If-None-Match`, `If-Modified-Since`, …), its `Range`, and its request
//! directives (`only-if-cached`, `max-age`, `min-fresh`, `max-stale`).
//!
//! The cache takes them off the request before the lookup, so the origin
//! is always asked for the whole, unconditional response (which can be
//! stored and shared), and answers them itself from that response: a 304,
//! a 412, a 206 or a 416 (RFC 9111 §4.3.2, RFC 9110 §13 and §14).

use super::entry::CachedResponse;
use crate::http::{
    cache_control, delta_seconds, evaluate_preconditions, header_of, if_range_allows, last_modified_is_strong,
    not_modified_headers, partial_response, select_ranges, unsatisfiable_response, HttpRequest, HttpResponse,
    Precondition, RangeAnswer, Staleness,
};

/// Request headers answered by the cache rather than sent to the origin.
const ANSWERED_HERE: [&str; 6] = [
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
];

/// A client's preconditions, range and request directives.
#[derive(Debug, Default)]
pub(super) struct ClientAsk {
    method: String,
    /// The removed headers (lower-case names).
    headers: Vec<(String, String)>,
    /// `only-if-cached`: never go to the origin (always honoured).
    pub(super) only_if_cached: bool,
    /// `max-age=N` (when the policy honours request directives).
    max_age: Option<u64>,
    /// `min-fresh=N`.
    min_fresh: Option<u64>,
    /// `max-stale` (`Some(None)` = any staleness).
    max_stale: Option<Option<u64>>,
}

impl ClientAsk {
    /// Takes the preconditions and range off `req`, and reads its
    /// directives (`max-age`, `min-fresh`, `max-stale` only if `honor`).
    pub(super) fn take(req: &mut HttpRequest, honor: bool) -> Self {
        let mut ask = ClientAsk {
            method: req.method.clone(),
            ..Default::default()
        };
        let (mine, rest) = std::mem::take(&mut req.headers)
            .into_iter()
            .partition(|(k, _)| ANSWERED_HERE.iter().any(|h| h.eq_ignore_ascii_case(k)));
        req.headers = rest;
        ask.headers = mine;
        let cc = cache_control(&req.header("cache-control").unwrap_or_default());
        let secs = |v: &Option<String>| v.as_deref().and_then(delta_seconds);
        for (name, value) in &cc {
            match name.as_str() {
                "only-if-cached" => ask.only_if_cached = true,
                "max-age" if honor => ask.max_age = secs(value),
                "min-fresh" if honor => ask.min_fresh = secs(value),
                "max-stale" if honor => ask.max_stale = Some(secs(value)),
                _ => {}
            }
        }
        ask
    }

    fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    /// Where `entry` stands for this client: its `max-age` and `min-fresh`
    /// can make a fresh entry unusable (revalidated), its `max-stale` can
    /// make a stale one usable, unless the response forbids it (RFC 9111
    /// §5.2.1.1–§5.2.1.3, §4.2.4).
    pub(super) fn judge(&self, state: Staleness, entry: &CachedResponse, now_ms: u64) -> Staleness {
        let age = entry.age_secs(now_ms);
        if let Staleness::Fresh(left) = state {
            let too_old = self.max_age.is_some_and(|m| age > m);
            let too_close = self
                .min_fresh
                .is_some_and(|m| left.is_some_and(|l| l < m.saturating_mul(1000)));
            return if too_old || too_close { Staleness::Dead } else { state };
        }
        let Some(limit) = self.max_stale else {
            return state;
        };
        let stale_by = entry
            .freshness
            .fresh_ms
            .map_or(0, |f| now_ms.saturating_sub(entry.stored_at_ms).saturating_sub(f));
        let within = limit.is_none_or(|l| stale_by <= l.saturating_mul(1000));
        let over_age = self.max_age.is_some_and(|m| age > m);
        match state {
            Staleness::Dead | Staleness::ErrorOnly(_) if within && !over_age && !entry.freshness.must_revalidate => {
                Staleness::Revalidatable(stale_by)
            }
            other => other,
        }
    }

    /// The answer to the client from the whole response `r`: a 304 or 412
    /// when its preconditions say so, a 206 or 416 for a `Range`, else `r`.
    pub(super) fn answer(&self, r: HttpResponse) -> HttpResponse {
        if self.headers.is_empty() || r.status != 200 {
            return r;
        }
        let etag = r.header("etag");
        let last_modified = r.header("last-modified");
        let keep_own = |mut out: HttpResponse, r: &HttpResponse| {
            for h in ["age", "cache-status"] {
                if let Some(v) = r.header(h) {
                    out.set_header(h, v);
                }
            }
            out
        };
        match evaluate_preconditions(
            &self.method,
            |h| self.header(h),
            etag.as_deref(),
            last_modified.as_deref(),
        ) {
            Precondition::NotModified => {
                let not_modified = HttpResponse {
                    status: 304,
                    headers: not_modified_headers(&r.headers),
                    body: Vec::new(),
                    stream: None,
                };
                return keep_own(not_modified, &r);
            }
            Precondition::Failed => {
                return keep_own(HttpResponse::text(412, "precondition failed"), &r);
            }
            Precondition::Proceed => {}
        }
        let Some(range) = self.header("range") else {
            return r;
        };
        // HEAD ignores Range; a streamed body cannot be sliced.
        if !self.method.eq_ignore_ascii_case("GET") || r.stream.is_some() {
            return r;
        }
        if let Some(cond) = self.header("if-range") {
            // A date validates a range only when strong (RFC 9110 §8.8.2.2).
            let date = r.header("date");
            let strong_lm = last_modified
                .as_deref()
                .filter(|lm| last_modified_is_strong(lm, date.as_deref()));
            if !if_range_allows(&cond, etag.as_deref(), strong_lm) {
                return r;
            }
        }
        match select_ranges(&range, r.body.len() as u64) {
            RangeAnswer::Full => r,
            RangeAnswer::Partial(ranges) => {
                let boundary = boundary_for(&r.body);
                partial_response(&r, &ranges, &boundary)
            }
            RangeAnswer::Unsatisfiable => keep_own(unsatisfiable_response(r.body.len() as u64), &r),
        }
    }
}

/// A multipart boundary that does not occur in `body` (RFC 2046 §5.1.1).
fn boundary_for(body: &[u8]) -> String {
    let mut seed = body.len() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    loop {
        let b = format!("edgecache-{seed:016x}");
        if !body.windows(b.len()).any(|w| w == b.as_bytes()) {
            return b;
        }
        seed = seed.wrapping_mul(0x5851_f42d_4c95_7f2d).wrapping_add(1);
    }
}
