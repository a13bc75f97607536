//! The kinds every registry starts with: `local` and `tiered`, and natively
//! `memcached` over std sockets; and the remote kinds (`redis`, `memcached`)
//! over the transports a platform hands in ([`BackendRegistry::with_remote`]).

use std::rc::Rc;

use super::config::{BackendConfig, Secrets};
use super::local::LocalBackend;
use super::redis::{Picker, RedisRestBackend, RedisRestOptions};
use super::registry::BackendRegistry;
use super::tiered::TieredBackend;
use super::CacheBackend;
use crate::primitives::clock::Clock;
use crate::runtime::Runtime;
use crate::transport::{HttpTransport, StreamTransport};

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

/// What a platform reaches servers with, for the remote kinds.
#[derive(Clone)]
pub struct RemoteTransports {
    /// HTTP POST (`fetch`): Redis REST and the memcached gateway.
    pub http: Rc<dyn HttpTransport>,
    /// TCP sockets, where the platform has them (memcached).
    pub stream: Option<Rc<dyn StreamTransport>>,
    /// Picks Redis read replicas.
    pub pick: Picker,
    /// Times read-your-writes and dead servers.
    pub clock: Rc<dyn Clock>,
    /// Timers and wake signals (Redis's automatic pipelining).
    pub runtime: Rc<dyn Runtime>,
}

impl BackendRegistry {
    /// Adds `redis` and `memcached` over `remote`. Without the `memcached`
    /// feature a `memcached` config is a config error saying how to get it.
    pub fn with_remote(mut self, remote: RemoteTransports) -> Self {
        let redis = remote.clone();
        self.register(
            "redis",
            move |c: &BackendConfig, secrets: &dyn Secrets, _: &BackendRegistry| {
                let options = RedisRestOptions::from_config(c, secrets)?;
                let backend = RedisRestBackend::new(
                    c,
                    options,
                    redis.http.clone(),
                    redis.pick.clone(),
                    redis.runtime.clone(),
                );
                Ok(Rc::new(backend) as Rc<dyn CacheBackend>)
            },
        );
        #[cfg(feature = "memcached")]
        self.register(
            "memcached",
            move |c: &BackendConfig, secrets: &dyn Secrets, _: &BackendRegistry| {
                use super::memcached::{MemcachedBackend, MemcachedOptions, Transports};
                let options = MemcachedOptions::from_config(c, secrets)?;
                let transports = Transports {
                    stream: remote.stream.clone(),
                    http: Some(remote.http.clone()),
                };
                Ok(
                    Rc::new(MemcachedBackend::new(c, options, transports, remote.clock.clone())?)
                        as Rc<dyn CacheBackend>,
                )
            },
        );
        #[cfg(not(feature = "memcached"))]
        {
            let _ = remote;
            self.register("memcached", |c: &BackendConfig, _: &dyn Secrets, _: &BackendRegistry| {
                Err(crate::CacheError::config(
                    format!("{}.backend", c.name),
                    "this build has no memcached backend: build with the memcached feature (EDGECACHE_FEATURES=app,memcached)",
                ))
            });
        }
        self
    }
}
