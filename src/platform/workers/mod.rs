//! The workers-rs binding: converts between workers-rs types and the plain
//! data of [`crate::response_cache`], provides the Cache API store and
//! `waitUntil`/`setTimeout` for background refreshes and lock timeouts, and
//! the `@Cache` wrapper for handlers and whole Routers.
//!
//! ```ignore
//! // Cache one handler (Ellar's @Cache(ttl=60, key_prefix="items")):
//! let policy = CachePolicy { ttl: Ttl::Seconds(60.0), key_prefix: "items".into(), ..Default::default() };
//! let env2 = env.clone();
//! cache.respond(req, &policy, Some(&ctx), move |req| render_item(req, env2.clone())).await
//!
//! // Cache a whole Router (@Cache on a controller):
//! cache.respond(req, &policy, Some(&ctx), move |req| {
//!     let env = env.clone();
//!     async move { Router::new().get_async("/items/:id", item).run(req, env).await }
//! }).await
//! ```

mod cf_cache;
mod convert;
mod durable_log;
mod fetch;
mod hit_slot;
mod origin;
mod respond;
mod runtime;
mod settle;
#[cfg(feature = "memcached")]
mod socket;
mod stream;

pub use cf_cache::CfCacheStore;
pub use convert::{
    from_worker_request, from_worker_response, path_of, plain_get, to_web_response, to_worker_request,
    to_worker_response,
};
pub use durable_log::{DurableObjectLog, APPEND_PATH, LOG_OBJECT_NAME, SINCE_PATH};
pub use fetch::{random_picker, worker_registry, FetchTransport};
pub use hit_slot::offer_to_js;
pub use origin::{handler_origin, upstream_origin};
pub use runtime::{js_signal, spawner, WorkersRuntime};
pub use settle::settle;
#[cfg(feature = "memcached")]
pub use socket::SocketTransport;
pub use stream::stream_to_origin;
