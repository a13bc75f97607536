//! The kinds every registry starts with: `local` and `tiered`, and natively
//! `memcached` over std sockets.

use std::rc::Rc;

use super::config::{BackendConfig, Secrets};
use super::local::LocalBackend;
use super::registry::BackendRegistry;
use super::tiered::TieredBackend;
use super::CacheBackend;

impl Default for BackendRegistry {
    /// The built-in kinds: `local`, `tiered`, and natively `memcached`.
    fn default() -> Self {
        let mut r = BackendRegistry::empty();
        r.register("local", |c: &BackendConfig, _: &dyn Secrets, _: &BackendRegistry| {
            Ok(Rc::new(LocalBackend::from_config(c)?) as Rc<dyn CacheBackend>)
        });
        // Tiered builds its tiers with the registry it is built from.
        r.register(
            "tiered",
            |c: &BackendConfig, secrets: &dyn Secrets, registry: &BackendRegistry| {
                Ok(Rc::new(TieredBackend::from_config(c, secrets, registry)?) as Rc<dyn CacheBackend>)
            },
        );
        // Natively, memcached over std TCP and Unix sockets (a Worker
        // registers its own transports: `platform::workers`).
        #[cfg(all(feature = "memcached", not(target_arch = "wasm32")))]
        r.register(
            "memcached",
            |c: &BackendConfig, secrets: &dyn Secrets, _: &BackendRegistry| {
                use super::memcached::{MemcachedBackend, MemcachedOptions, Transports};
                let options = MemcachedOptions::from_config(c, secrets)?;
                let transports = Transports {
                    stream: Some(Rc::new(crate::transport::StdStreams)),
                    http: None,
                };
                let clock = Rc::new(crate::primitives::clock::SystemClock);
                Ok(Rc::new(MemcachedBackend::new(c, options, transports, clock)?) as Rc<dyn CacheBackend>)
            },
        );
        r
    }
}
