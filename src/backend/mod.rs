//! The one trait every cache backend implements: local memory, Redis over
//! HTTP, memcached through a gateway, and any user type (a custom backend).
//!
//! # Semantics every backend shares (checked by the conformance suite, `testkit::Suite`)
//! - Keys are user keys; the backend turns them into full keys with its
//!   [`KeyMaker`] (prefix, version, key function) and rejects keys it cannot
//!   store with [`CacheError::InvalidKey`].
//! - `set` with a TTL of zero or less removes the key (it expires at once).
//! - `add` writes only when the key is absent or expired; it reports whether
//!   it wrote.
//! - `delete` and `touch` report whether the key existed (and was live).
//! - `has_key` is false for an expired key.
//! - `incr`/`decr` of a missing key is [`CacheError::NotFound`]; of a value
//!   that is not an integer, [`CacheError::NotAnInteger`]; past `i64`,
//!   [`CacheError::Overflow`]. They keep the key's expiry.
//! - `clear` removes only keys under this backend's `key_prefix`, never the
//!   whole server.
//!
//! Wasm is single-threaded, so futures are not `Send` (`?Send`).

mod builtin;
mod config;
mod local;
#[cfg(feature = "memcached")]
pub mod memcached;
mod redis;
mod registry;
mod settings;
mod tiered;

pub use builtin::RemoteTransports;
#[cfg(feature = "app")]
pub(crate) use config::reject_unknown_fields;
pub use config::{BackendConfig, CachesConfig, NoSecrets, Secrets};
pub use edgecache_store::StoreStats;
pub use local::{LocalBackend, LocalOptions};
pub use redis::{Picker, RedisRestBackend, RedisRestOptions, Reply as RedisReply};
pub use registry::{BackendFactory, BackendRegistry};
pub use settings::{BackendSettings, LocalBuilder};
pub use tiered::TieredBackend;

use std::collections::HashMap;

use async_trait::async_trait;

use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::KeyMaker;
use crate::primitives::ttl::{Timeout, Ttl};
use crate::primitives::value::Value;

/// Counters a backend reports in `stats` (all optional but `kind`).
pub type BackendStats = serde_json::Map<String, serde_json::Value>;

/// A cache backend; every implementation follows the semantics in the module docs.
#[async_trait(?Send)]
pub trait CacheBackend {
    /// The backend kind: `local`, `redis`, `memcached`, or a custom name.
    fn kind(&self) -> &str;

    /// How this backend makes full keys.
    fn key_maker(&self) -> &KeyMaker;

    /// The lifetime used when a call passes [`Ttl::Default`].
    fn default_timeout(&self) -> Timeout;

    /// The full key for a user key, as stored.
    fn make_key(&self, key: &str, version: Option<i64>) -> Result<String> {
        self.key_maker().make(key, version)
    }

    /// The live value at `key`; `version: None` means the backend's own version.
    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>>;

    /// Counts a read of `full_key` (as [`make_key`](Self::make_key) made
    /// it) for the eviction policy and stats, without copying its value,
    /// where the backend lives in the isolate: `Some(present)`. `None`
    /// elsewhere (a remote read cannot be synchronous). It lets the response
    /// cache's ready answers ([`crate::response_cache::HitOffer`]) keep the
    /// store's view of what is hot, without making the key on every use.
    fn record_read(&self, _full_key: &str) -> Option<bool> {
        None
    }

    /// The value and, where the backend knows it, the seconds it has left
    /// (`Ok(Some((v, None)))` = never expires or unknown). Tiered backends use
    /// it so a near copy never outlives the far one.
    async fn get_with_ttl(&self, key: &str, version: Option<i64>) -> Result<Option<(Value, Option<f64>)>> {
        Ok(self.get(key, version).await?.map(|v| (v, None)))
    }

    /// Writes `value`; a TTL of zero or less removes the key instead.
    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()>;

    /// Writes only if the key is absent; true if it wrote.
    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool>;

    /// True if the key existed.
    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool>;

    /// Whether a live value is at `key` (false once it expired).
    async fn has_key(&self, key: &str, version: Option<i64>) -> Result<bool> {
        Ok(self.get(key, version).await?.is_some())
    }

    /// Sets a new lifetime on a live key; true if it existed.
    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool>;

    /// Adds `delta` to an integer value and returns the result.
    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64>;

    /// Subtracts `delta`: `incr` of `-delta`, with the same errors.
    async fn decr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        let neg = delta
            .checked_neg()
            .ok_or_else(|| CacheError::Overflow { key: key.to_string() })?;
        self.incr(key, neg, version).await
    }

    /// The values of the keys that are present, by user key.
    async fn get_many(&self, keys: &[&str], version: Option<i64>) -> Result<HashMap<String, Value>> {
        let mut out = HashMap::new();
        for &k in keys {
            if let Some(v) = self.get(k, version).await? {
                out.insert(k.to_string(), v);
            }
        }
        Ok(out)
    }

    /// Writes every item; returns the user keys that could not be written
    /// (as Django does), failing outright only on invalid keys or I/O errors.
    async fn set_many(&self, items: Vec<(String, Value)>, ttl: Ttl, version: Option<i64>) -> Result<Vec<String>> {
        let mut failed = Vec::new();
        for (k, v) in items {
            match self.set(&k, v, ttl, version).await {
                Ok(()) => {}
                Err(CacheError::ValueTooLarge { .. }) => failed.push(k),
                Err(e) => return Err(e),
            }
        }
        Ok(failed)
    }

    /// Deletes every key; returns how many existed.
    async fn delete_many(&self, keys: &[&str], version: Option<i64>) -> Result<usize> {
        let mut n = 0;
        for &k in keys {
            n += usize::from(self.delete(k, version).await?);
        }
        Ok(n)
    }

    /// Deletes every live key whose user key starts with `prefix` (at one
    /// version); returns how many. Backends that cannot list keys say so.
    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        let _ = (prefix, version);
        Err(CacheError::Unsupported(format!(
            "the {} backend cannot delete by prefix; bump the version instead",
            self.kind()
        )))
    }

    /// Removes every key under this backend's prefix (all versions).
    async fn clear(&self) -> Result<()>;

    /// Releases connections; the backend is not used afterwards.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    /// Counters for the admin API's stats.
    fn stats(&self) -> BackendStats {
        BackendStats::new()
    }
}
