//! The plain-JS platform (Node, browsers, JS Workers through wasm-bindgen;
//! feature `js`): the engine's [`Runtime`] over `Date.now()`, `setTimeout`
//! and promises, the global `fetch` as the HTTP transport, and the classes
//! the npm package (`js/`) exports: `CacheService`, custom backends written
//! in JS, and the response cache.

mod backend;
mod convert;
mod fetch;
mod local;
mod purge_log;
mod respond;
mod service;
#[cfg(feature = "memcached")]
mod socket;

pub use backend::JsBackend;
pub use convert::{from_value, js_error, set_error_class, to_value};
pub use fetch::JsFetch;
pub use local::LocalStore;
pub use purge_log::JsPurgeLog;
pub use respond::JsResponseCache;
pub use service::{js_registry, JsCacheService};

use futures::future::LocalBoxFuture;

use super::promise::{js_signal, js_sleep};
use crate::primitives::clock::Clock;
use crate::runtime::{Runtime, Wake};

/// The JS runtime: wall-clock time, timers and promise wake-ups of the host.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsRuntime;

impl Clock for JsRuntime {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}

impl Runtime for JsRuntime {
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        js_sleep(ms)
    }

    fn signal(&self) -> (Wake, LocalBoxFuture<'static, ()>) {
        js_signal()
    }
}
