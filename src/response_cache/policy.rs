//! How one route (or one wrapped handler) is cached: Ellar's `@Cache`
//! arguments plus the edge options.

use std::rc::Rc;

use futures::future::LocalBoxFuture;

use crate::http::{HttpRequest, HttpResponse};
use crate::primitives::ttl::Ttl;

/// Makes a response key from the request and the key prefix (Ellar's
/// `make_key_callback(context, key_prefix)`).
pub type MakeKey = Rc<dyn Fn(&HttpRequest, &str) -> String>;
/// The origin (the wrapped handler, or a fetch to the upstream).
pub type Origin = Rc<dyn Fn(HttpRequest) -> LocalBoxFuture<'static, std::result::Result<HttpResponse, String>>>;

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
    /// Let the origin's `s-maxage`/`max-age` (and stale directives) win over `ttl`.
    pub origin_ttl: bool,
    pub stale_while_revalidate: f64,
    pub stale_if_error: f64,
    /// Largest body stored; larger responses are served but not stored.
    pub max_entry_bytes: usize,
    /// How long a collapsed request waits for the one in flight.
    pub lock_timeout_ms: u64,
    /// Sort query parameters in the default key.
    pub sort_query: bool,
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
            stale_while_revalidate: 0.0,
            stale_if_error: 0.0,
            max_entry_bytes: 4 << 20,
            lock_timeout_ms: 5_000,
            sort_query: false,
        }
    }
}
