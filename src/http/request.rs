//! What a request asks of the cache before it is looked up.

use super::cache_control::{cache_control, directive, seconds};
use super::reason::BypassReason;

/// Only GET and HEAD are looked up in the cache.
pub fn method_is_cacheable(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
}

/// What to do with a request before looking at the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestMode {
    /// Neither read nor write the cache.
    Bypass(BypassReason),
    /// Serve from the cache when fresh.
    Lookup,
    /// Skip the stored answer, ask the origin, store what it says
    /// (request `Cache-Control: no-cache` or `max-age=0`).
    Revalidate,
}

/// What to do with a request, from its method, `Cache-Control` and `Pragma` (read only when `Cache-Control` is absent).
pub fn request_mode(method: &str, cache_control_value: Option<&str>, pragma: Option<&str>) -> RequestMode {
    if !method_is_cacheable(method) {
        return RequestMode::Bypass(BypassReason::Method);
    }
    let cc = cache_control(cache_control_value.unwrap_or(""));
    if directive(&cc, "no-store").is_some() {
        return RequestMode::Bypass(BypassReason::NoStore);
    }
    let no_cache = directive(&cc, "no-cache").is_some()
        || seconds(&cc, "max-age") == Some(0.0)
        || (cache_control_value.is_none() && pragma.is_some_and(|p| p.to_ascii_lowercase().contains("no-cache")));
    if no_cache {
        RequestMode::Revalidate
    } else {
        RequestMode::Lookup
    }
}
