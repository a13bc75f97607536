//! How one route (or one wrapped handler) is cached: Ellar's `@Cache`
//! arguments plus the edge options.

use std::rc::Rc;

use futures::future::LocalBoxFuture;

use super::purge_log::TagOptions;
use crate::http::{HttpRequest, HttpResponse, OriginError};
use crate::primitives::ttl::Ttl;

/// Makes a response key from the request and the key prefix (Ellar's
/// `make_key_callback(context, key_prefix)`).
pub type MakeKey = Rc<dyn Fn(&HttpRequest, &str) -> String>;
/// The origin (the wrapped handler, or a fetch to the upstream).
pub type Origin = Rc<dyn Fn(HttpRequest) -> LocalBoxFuture<'static, std::result::Result<HttpResponse, OriginError>>>;

/// Default time to the origin's response headers: long enough for slow
/// pages, short enough that a hanging origin does not hold clients (and
/// their isolate's memory) for minutes; nginx and Varnish wait 60 s.
pub const DEFAULT_ORIGIN_TIMEOUT_MS: u64 = 30_000;

/// How one route (or one wrapped handler) is cached.
#[derive(Clone)]
pub struct CachePolicy {
    /// Freshness lifetime; `Ttl::Default` = the store's configured ttl.
    pub ttl: Ttl,
    /// Part of every key (Ellar: the decorator's `key_prefix`, else `view`).
    pub key_prefix: String,
    /// The version passed to the store (`None` = the store's).
    pub version: Option<i64>,
    /// The store's name (`None` = `default`).
    pub backend: Option<String>,
    /// Replaces the default key.
    pub make_key: Option<MakeKey>,
    /// RFC 9111 mode: the origin's `s-maxage`/`max-age`/`Expires` (and
    /// stale directives) decide, then heuristic freshness from
    /// `Last-Modified`, then `ttl`. Off (the default here, Ellar's
    /// semantics for a wrapped handler): the configured `ttl` wins. The
    /// deployable proxy's routes turn it on by default.
    pub origin_ttl: bool,
    /// Cap of heuristic freshness, in seconds (0 = no heuristics).
    pub heuristic_max: f64,
    /// Seconds a stale entry with a validator stays stored past its stale
    /// windows, so the next request revalidates it (a 304) instead of
    /// refetching it.
    pub keep: f64,
    /// Honour a request's `max-age`, `min-fresh` and `max-stale` (RFC 9111
    /// §5.2.1). Off by default: a CDN serves every client alike.
    /// `only-if-cached` is always honoured (it never costs the origin).
    pub honor_request_directives: bool,
    /// Seconds a stale entry is served while it is refreshed in the background.
    pub stale_while_revalidate: f64,
    /// Seconds a stale entry may be served when the origin fails.
    pub stale_if_error: f64,
    /// Largest body stored; larger responses are served but not stored.
    pub max_entry_bytes: usize,
    /// How long a collapsed request waits for the one in flight.
    pub lock_timeout_ms: u64,
    /// Sort query parameters in the default key.
    pub sort_query: bool,
    /// How long the origin has to send its response headers; past it the
    /// answer is a 504 (or a stale entry under stale-if-error).
    pub origin_timeout_ms: u64,
    /// What a request's `Cookie` header does: by default it bypasses the
    /// cache (a page may be personalised by it without saying so).
    pub cookies: CookiePolicy,
    /// What a request's `Authorization` header does: by default it bypasses
    /// the cache.
    pub authorization: AuthorizationPolicy,
    /// Let a client's `Cache-Control: no-cache` (or `Pragma: no-cache`)
    /// refetch a stored answer, at most once a second per key. Off by
    /// default: any client could otherwise replace a warm entry at will.
    pub honor_client_no_cache: bool,
    /// Which origin headers carry cache tags, and whether clients see them.
    pub tags: TagOptions,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            ttl: Ttl::Default,
            key_prefix: String::new(),
            version: None,
            backend: None,
            make_key: None,
            origin_ttl: false,
            heuristic_max: crate::http::DEFAULT_HEURISTIC_MAX,
            keep: crate::http::DEFAULT_KEEP,
            honor_request_directives: false,
            stale_while_revalidate: 0.0,
            stale_if_error: 0.0,
            max_entry_bytes: 4 << 20,
            lock_timeout_ms: 5_000,
            sort_query: false,
            origin_timeout_ms: DEFAULT_ORIGIN_TIMEOUT_MS,
            cookies: CookiePolicy::Bypass,
            authorization: AuthorizationPolicy::Bypass,
            honor_client_no_cache: false,
            tags: TagOptions::default(),
        }
    }
}

/// What a request's cookies do to caching.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookiePolicy {
    /// A request with cookies goes to the origin, uncached (Varnish's
    /// built-in rule).
    #[default]
    Bypass,
    /// Cookies are removed before the lookup and never reach the origin on
    /// this route: its answers cannot depend on them.
    Ignore,
    /// These cookies (by name) are removed as with `Ignore`; a request with
    /// any other cookie bypasses the cache.
    IgnoreNamed(Vec<String>),
}

/// What a request's `Authorization` header does to caching.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizationPolicy {
    /// An authorized request goes to the origin, uncached.
    #[default]
    Bypass,
    /// RFC 9111 §3.5: looked up and stored only when the response says
    /// `public`, `s-maxage` or `must-revalidate` (shared with everyone).
    Rfc9111,
}
