//! One backend at one version: Ellar's methods without the trailing
//! `version=None, backend=None` arguments.

use std::collections::HashMap;
use std::future::Future;

use crate::backend::CacheBackend;
use crate::primitives::error::Result;
use crate::primitives::ttl::Ttl;
use crate::primitives::value::Value;

/// A backend of a [`CacheService`](crate::CacheService), at the backend's
/// version unless [`version`](Self::version) says otherwise. Cheap to make:
/// `cache.using("sessions")?.version(2).set("k", v, Ttl::Default)`.
#[derive(Clone, Copy)]
pub struct CacheView<'a> {
    backend: &'a dyn CacheBackend,
    version: Option<i64>,
}

impl<'a> CacheView<'a> {
    /// A view of `backend` at its own version.
    pub fn new(backend: &'a dyn CacheBackend) -> Self {
        CacheView { backend, version: None }
    }

    /// The same backend at `version` (Ellar's `version=` argument).
    pub fn version(self, version: i64) -> Self {
        CacheView {
            version: Some(version),
            ..self
        }
    }

    /// The backend itself, for what the view does not offer.
    pub fn backend(&self) -> &'a dyn CacheBackend {
        self.backend
    }

    /// The full key `key` is stored under.
    pub fn make_key(&self, key: &str) -> Result<String> {
        self.backend.make_key(key, self.version)
    }

    /// The value of `key`, if present and live.
    pub async fn get(&self, key: &str) -> Result<Option<Value>> {
        self.backend.get(key, self.version).await
    }

    /// The value and the seconds it has left, where the backend knows them.
    pub async fn get_with_ttl(&self, key: &str) -> Result<Option<(Value, Option<f64>)>> {
        self.backend.get_with_ttl(key, self.version).await
    }

    /// Writes `key` for `ttl` (`Ttl::Default` = the backend's).
    pub async fn set(&self, key: &str, value: impl Into<Value>, ttl: Ttl) -> Result<()> {
        self.backend.set(key, value.into(), ttl, self.version).await
    }

    /// Writes `key` only if it is absent; true if it wrote.
    pub async fn add(&self, key: &str, value: impl Into<Value>, ttl: Ttl) -> Result<bool> {
        self.backend.add(key, value.into(), ttl, self.version).await
    }

    /// Deletes `key`; true if it existed.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        self.backend.delete(key, self.version).await
    }

    /// Whether `key` is present and live.
    pub async fn has_key(&self, key: &str) -> Result<bool> {
        self.backend.has_key(key, self.version).await
    }

    /// Gives a live `key` a new lifetime; true if it existed.
    pub async fn touch(&self, key: &str, ttl: Ttl) -> Result<bool> {
        self.backend.touch(key, ttl, self.version).await
    }

    /// Adds `delta` to an integer value and returns the result.
    pub async fn incr(&self, key: &str, delta: i64) -> Result<i64> {
        self.backend.incr(key, delta, self.version).await
    }

    /// Subtracts `delta` from an integer value and returns the result.
    pub async fn decr(&self, key: &str, delta: i64) -> Result<i64> {
        self.backend.decr(key, delta, self.version).await
    }

    /// The values of the keys that are present, by key.
    pub async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Value>> {
        self.backend.get_many(keys, self.version).await
    }

    /// Writes every item; returns the keys that could not be written (too large).
    pub async fn set_many(&self, items: Vec<(String, Value)>, ttl: Ttl) -> Result<Vec<String>> {
        self.backend.set_many(items, ttl, self.version).await
    }

    /// Deletes every key; returns how many existed.
    pub async fn delete_many(&self, keys: &[&str]) -> Result<usize> {
        self.backend.delete_many(keys, self.version).await
    }

    /// Removes every key under the backend's prefix (all versions).
    pub async fn clear(&self) -> Result<()> {
        self.backend.clear().await
    }

    /// The cached value, or the loader's value, which is then cached. As in
    /// Django, the write is an `add` followed by a read, so of two racing
    /// callers both return the value that won.
    pub async fn get_or_set<F, Fut>(&self, key: &str, loader: F, ttl: Ttl) -> Result<Value>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value>>,
    {
        if let Some(v) = self.get(key).await? {
            return Ok(v);
        }
        let loaded = loader().await?;
        self.backend.add(key, loaded.clone(), ttl, self.version).await?;
        Ok(self.get(key).await?.unwrap_or(loaded))
    }
}
