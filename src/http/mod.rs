//! HTTP caching as pure functions and plain data: the request/response
//! types every layer shares, `Cache-Control` parsing, which requests are
//! looked up, which responses are stored and for how long, `Vary` variants
//! and `Cache-Status` (RFC 9211). No I/O here, so every rule is unit-tested
//! natively.

mod cache_control;
mod cache_status;
mod forwarding;
mod freshness;
mod message;
mod origin_error;
mod reason;
mod request;
mod storability;
mod vary;

pub use cache_control::{cache_control, delta_seconds};
pub use cache_status::CacheStatus;
pub use forwarding::{strip_client_overrides, strip_hop_by_hop, CLIENT_OVERRIDES, HOP_BY_HOP};
pub use freshness::{staleness, Freshness, FreshnessRules, Staleness};
pub use message::{BodyStream, HttpRequest, HttpResponse};
pub use origin_error::OriginError;
pub use reason::{BypassReason, Forward, NotStored};
pub use request::{method_is_cacheable, request_mode, RequestMode};
pub use storability::{decide_store, status_is_cacheable, StoreFacts, NOT_STORED, OWN_HEADERS};
pub use vary::{variant_key, vary_names};

#[cfg(test)]
mod tests;
