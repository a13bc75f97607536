//! HTTP caching as pure functions and plain data: the request/response
//! types every layer shares, `Cache-Control` parsing, which requests are
//! looked up, which responses are stored and for how long, `Vary` variants,
//! `Cache-Status` (RFC 9211), HTTP-dates, conditional requests and ranges
//! (RFC 9110 §13, §14) and targeted cache control (RFC 9213). No I/O
//! here, so every rule is unit-tested natively.

mod cache_control;
mod cache_status;
mod conditional;
mod date;
mod etag;
mod forwarding;
mod freshness;
mod message;
mod origin_error;
mod range;
mod reason;
mod request;
mod storability;
mod targeted;
mod vary;

pub use cache_control::{cache_control, delta_seconds, parse_age};
pub use cache_status::CacheStatus;
pub use conditional::{evaluate as evaluate_preconditions, not_modified_headers, Precondition};
pub use date::{format_http_date, http_date_secs, http_date_secs_at};
pub use forwarding::{strip_client_overrides, strip_hop_by_hop, CLIENT_OVERRIDES, HOP_BY_HOP};
pub use freshness::{staleness, Freshness, FreshnessRules, Staleness, DEFAULT_HEURISTIC_MAX, DEFAULT_KEEP};
pub use message::{header_of, BodyStream, HttpRequest, HttpResponse};
pub use origin_error::OriginError;
pub use range::{
    if_range_allows, last_modified_is_strong, partial_response, select_ranges, unsatisfiable_response, RangeAnswer,
    MAX_RANGES,
};
pub use reason::{BypassReason, Forward, NotStored};
pub use request::{method_is_cacheable, request_mode, RequestMode};
pub use storability::{
    decide_store, status_is_cacheable, status_is_storable, unstored_fields, StoreFacts, NOT_STORED, OWN_HEADERS,
};
pub use targeted::{targeted_cache_control, Directives, TARGETED};
pub use vary::{normalize_vary_value, variant_key, vary_names};

#[cfg(test)]
mod tests;
