//! # edgecache
//!
//! The caching framework of Ellar (itself modelled on Django's) for the
//! edge: named backends with a required `default`, per-backend `ttl`,
//! `key_prefix` and `version`, and a [`CacheService`] with get / set / add /
//! delete / has_key / touch / incr / decr and their many-key forms.
//!
//! Pure logic (keys, TTLs, the wire format, the store's eviction policy,
//! configuration) is kept apart from I/O so it is tested natively; the
//! Worker entry point and platform bindings compile only for wasm32.

#![warn(missing_docs)]

#[cfg(feature = "app")]
pub mod app;
pub mod backend;
pub mod http;
pub mod platform;
mod primitives;
pub mod response_cache;
pub mod runtime;
mod service;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod transport;

pub use backend::{
    BackendConfig, BackendRegistry, BackendSettings, CacheBackend, CachesConfig, LocalBackend, LocalOptions, Secrets,
};
pub use primitives::clock::{Clock, ManualClock, SystemClock};
pub use primitives::error::{CacheError, Result};
pub use primitives::key::{default_key_func, KeyFunc, KeyMaker, KeyRules};
pub use primitives::serializer::Serializer;
pub use primitives::ttl::{Expiry, Timeout, Ttl};
pub use primitives::value::Value;
pub use response_cache::{CachePolicy, ResponseCache};
pub use runtime::Runtime;
pub use service::CacheView;
pub use service::{CacheService, CacheServiceBuilder};

// The README's examples, compiled and run as doctests (the workers one
// needs the `workers` feature).
#[cfg(all(doctest, feature = "workers"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
