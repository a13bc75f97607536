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

pub mod admin;
pub mod backend;
pub mod clock;
pub mod config;
pub mod conformance;
pub mod demo_origin;
pub mod error;
pub mod http_entry;
pub mod http_policy;
pub mod key;
pub mod local;
pub mod redis_rest;
pub mod response_cache;
pub mod response_store;
pub mod routes;
pub mod service;
pub mod single_flight;
pub mod store;
pub mod tiered;
pub mod ttl;
pub mod value;

#[cfg(all(target_arch = "wasm32", feature = "worker-entry"))]
mod worker_entry;
#[cfg(target_arch = "wasm32")]
pub mod workers;

pub use backend::CacheBackend;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{BackendConfig, CachesConfig, Secrets};
pub use error::{CacheError, Result};
pub use key::{default_key_func, KeyMaker, KeyRules};
pub use local::{LocalBackend, LocalOptions};
pub use service::{BackendRegistry, CacheService};
pub use ttl::{Timeout, Ttl};
pub use value::Value;
