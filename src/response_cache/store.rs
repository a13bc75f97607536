//! Where the response cache keeps entries: a bytes-in, bytes-out view of a
//! [`CacheBackend`] ([`BackendStore`]) or of the Workers Cache API (in
//! `workers.rs`). Entries carry their own freshness (see `http_entry`), so a
//! store only needs get, put with a retention time, and delete.

use std::rc::Rc;

use async_trait::async_trait;

use crate::backend::CacheBackend;
use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::{Timeout, Ttl};
use crate::primitives::value::Value;

/// Where the response cache keeps encoded entries (see the module docs).
#[async_trait(?Send)]
pub trait ResponseStore {
    /// A short name for stats and errors.
    fn name(&self) -> &str;
    /// The retention used when a policy's ttl is the default.
    fn default_timeout(&self) -> Timeout;
    /// Whether calls leave the isolate (and can hang or fail): such stores
    /// get a circuit breaker.
    fn remote(&self) -> bool {
        true
    }
    /// The bytes at `key`, if present.
    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Vec<u8>>>;
    /// For a store in the isolate, `key` as the store keeps it, for
    /// [`record_read`](Self::record_read); `None` where reads leave the
    /// isolate.
    fn local_key(&self, _key: &str, _version: Option<i64>) -> Option<String> {
        None
    }
    /// Counts a read of `local_key` without copying it: `Some(present)`;
    /// `None` where reads leave the isolate.
    fn record_read(&self, _local_key: &str) -> Option<bool> {
        None
    }
    /// Keeps `bytes` for at least `ttl` (how long is the entry's own business).
    async fn put(&self, key: &str, bytes: Vec<u8>, ttl: Ttl, version: Option<i64>) -> Result<()>;
    /// Removes `key`; true if it existed.
    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool>;
    /// Deletes every key that starts with `prefix`, where the store can list keys.
    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize>;
}

/// A named CacheService backend used as a response store.
pub struct BackendStore {
    /// The backend's name in the service, e.g. `default`.
    pub name: String,
    /// The backend the bytes are kept in.
    pub backend: Rc<dyn CacheBackend>,
}

impl BackendStore {
    /// The response key in a form the backend accepts (memcached: no
    /// spaces, at most 250 bytes with its prefix); unchanged for the others.
    fn fit<'a>(&self, key: &'a str, version: Option<i64>) -> std::borrow::Cow<'a, str> {
        let rules = self.backend.key_maker().rules;
        let room = rules.max_len.map(|max| {
            let overhead = self
                .backend
                .make_key("x", version)
                .map_or(0, |k| k.len().saturating_sub(1));
            max.saturating_sub(overhead)
        });
        rules.fit(key, room)
    }
}

#[async_trait(?Send)]
impl ResponseStore for BackendStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn remote(&self) -> bool {
        self.backend.kind() != "local"
    }

    fn default_timeout(&self) -> Timeout {
        self.backend.default_timeout()
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Vec<u8>>> {
        match self.backend.get(&self.fit(key, version), version).await? {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(Value::Json(_)) => Err(CacheError::Corrupt(format!(
                "key {key:?} in backend {} holds JSON, not a cached response",
                self.name
            ))),
        }
    }

    fn local_key(&self, key: &str, version: Option<i64>) -> Option<String> {
        match self.remote() {
            true => None,
            false => self.backend.make_key(&self.fit(key, version), version).ok(),
        }
    }

    fn record_read(&self, local_key: &str) -> Option<bool> {
        self.backend.record_read(local_key)
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, ttl: Ttl, version: Option<i64>) -> Result<()> {
        self.backend
            .set(&self.fit(key, version), Value::Bytes(bytes), ttl, version)
            .await
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        self.backend.delete(&self.fit(key, version), version).await
    }

    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        let rules = self.backend.key_maker().rules;
        self.backend.delete_prefix(&rules.fit(prefix, None), version).await
    }
}
