//! The local-memory backend: a bounded, TTL-aware [`Store`] inside the
//! isolate. Fast and free, but per isolate: Workers run many isolates, so
//! each has its own copy (use a remote backend to share).

use std::cell::RefCell;
use std::rc::Rc;

use async_trait::async_trait;

use crate::backend::{BackendConfig, BackendStats, CacheBackend};
use crate::primitives::clock::{Clock, SystemClock};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::{KeyMaker, KeyRules};
use crate::primitives::ttl::{Expiry, Timeout, Ttl};
use crate::primitives::value::Value;
use edgecache_store::{Rejected, Store, StoreLimits, StoreStats};

/// Options of the local backend (the `options` object of its config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalOptions {
    /// Most entries held at once.
    pub max_entries: usize,
    /// Most bytes held at once: keys, values and per-entry overhead.
    pub max_bytes: usize,
    /// Largest single value accepted.
    pub max_value_bytes: usize,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            max_entries: 100_000,
            max_bytes: 32 << 20,
            max_value_bytes: 4 << 20,
        }
    }
}

/// Bytes an entry is charged besides the store's own per-entry overhead:
/// the key, the value's encoded size, and the inline size of a [`Value`].
fn charged(full_key: &str, stored_size: usize) -> usize {
    full_key.len() + stored_size + std::mem::size_of::<Value>()
}

/// The local-memory backend: a bounded, TTL-aware [`Store`] per isolate.
pub struct LocalBackend {
    keys: KeyMaker,
    timeout: Timeout,
    options: LocalOptions,
    clock: Rc<dyn Clock>,
    store: RefCell<Store<Value>>,
}

impl LocalBackend {
    /// A local backend from its config (`options`: max_entries, max_bytes, max_value_bytes).
    pub fn from_config(c: &BackendConfig) -> Result<LocalBackend> {
        c.only_options(&["max_entries", "max_bytes", "max_value_bytes"])?;
        let d = LocalOptions::default();
        let max_bytes = c.usize_option("max_bytes", d.max_bytes)?;
        let options = LocalOptions {
            max_entries: c.usize_option("max_entries", d.max_entries)?,
            max_bytes,
            max_value_bytes: c.usize_option("max_value_bytes", d.max_value_bytes.min(max_bytes))?,
        };
        Ok(LocalBackend::new(&c.key_prefix, c.version, c.ttl, options))
    }

    /// A backend on the system clock.
    pub fn new(key_prefix: &str, version: i64, timeout: Timeout, options: LocalOptions) -> Self {
        Self::with_clock(key_prefix, version, timeout, options, Rc::new(SystemClock))
    }

    /// A backend whose time comes from `clock` (tests use a `ManualClock`).
    pub fn with_clock(
        key_prefix: &str,
        version: i64,
        timeout: Timeout,
        options: LocalOptions,
        clock: Rc<dyn Clock>,
    ) -> Self {
        LocalBackend {
            keys: KeyMaker::new(key_prefix, version, KeyRules::ANY, "local"),
            timeout,
            options,
            clock,
            store: RefCell::new(Store::new(StoreLimits {
                max_entries: options.max_entries,
                max_bytes: options.max_bytes,
            })),
        }
    }

    /// Replaces the key maker (e.g. to install a custom key function).
    pub fn with_key_maker(mut self, keys: KeyMaker) -> Self {
        self.keys = keys;
        self
    }

    /// The bounds it was built with.
    pub fn options(&self) -> LocalOptions {
        self.options
    }

    /// The store's counters, typed (the admin API's `stats` has them as JSON).
    pub fn store_stats(&self) -> StoreStats {
        self.store.borrow().stats()
    }

    /// incr/decr: the integer at `key` through `apply` (None = overflow),
    /// keeping the key's expiry.
    fn add_delta(&self, key: &str, version: Option<i64>, apply: impl Fn(i64) -> Option<i64>) -> Result<i64> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        let (current, deadline) = {
            let store = self.store.borrow();
            let (v, deadline) = store
                .peek_with_expiry(&full, now)
                .ok_or_else(|| CacheError::NotFound { key: key.to_string() })?;
            let n = v
                .as_i64()
                .ok_or_else(|| CacheError::NotAnInteger { key: key.to_string() })?;
            (n, deadline)
        };
        let next = apply(current).ok_or_else(|| CacheError::Overflow { key: key.to_string() })?;
        let value = Value::from(next);
        let size = charged(&full, value.stored_size());
        self.store
            .borrow_mut()
            .insert(&full, value, size, deadline, now)
            .map_err(|_| CacheError::ValueTooLarge {
                key: key.to_string(),
                size,
                limit: self.options.max_bytes,
            })?;
        Ok(next)
    }

    fn write(&self, key: &str, full: &str, value: Value, expiry: Expiry, now: u64) -> Result<()> {
        let mut store = self.store.borrow_mut();
        if expiry == Expiry::Now {
            store.remove(full, now);
            return Ok(());
        }
        let size = value.stored_size();
        if size > self.options.max_value_bytes {
            return Err(CacheError::ValueTooLarge {
                key: key.to_string(),
                size,
                limit: self.options.max_value_bytes,
            });
        }
        store
            .insert(full, value, charged(full, size), expiry.deadline(now), now)
            .map_err(|Rejected::TooLarge { bytes, max_bytes }| CacheError::ValueTooLarge {
                key: key.to_string(),
                size: bytes,
                limit: max_bytes,
            })
    }
}

#[async_trait(?Send)]
impl CacheBackend for LocalBackend {
    fn kind(&self) -> &str {
        "local"
    }

    fn key_maker(&self) -> &KeyMaker {
        &self.keys
    }

    fn default_timeout(&self) -> Timeout {
        self.timeout
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        Ok(self.store.borrow_mut().get(&full, now).cloned())
    }

    fn record_read(&self, full_key: &str) -> Option<bool> {
        let now = self.clock.now_ms();
        Some(self.store.borrow_mut().get(full_key, now).is_some())
    }

    async fn get_with_ttl(&self, key: &str, version: Option<i64>) -> Result<Option<(Value, Option<f64>)>> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        let mut store = self.store.borrow_mut();
        Ok(store.get_with_expiry(&full, now).map(|(v, deadline)| {
            let left = deadline.map(|t| t.saturating_sub(now) as f64 / 1000.0);
            (v.clone(), left)
        }))
    }

    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        let expiry = ttl.or(self.timeout).expiry(now)?;
        self.write(key, &full, value, expiry, now)
    }

    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        let expiry = ttl.or(self.timeout).expiry(now)?;
        if self.store.borrow().peek(&full, now).is_some() {
            return Ok(false);
        }
        self.write(key, &full, value, expiry, now)?;
        Ok(true)
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        Ok(self.store.borrow_mut().remove(&full, now).is_some())
    }

    async fn has_key(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        Ok(self.store.borrow().peek(&full, now).is_some())
    }

    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        let expiry = ttl.or(self.timeout).expiry(now)?;
        let mut store = self.store.borrow_mut();
        if expiry == Expiry::Now {
            return Ok(store.remove(&full, now).is_some());
        }
        Ok(store.set_expiry(&full, expiry.deadline(now), now))
    }

    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        self.add_delta(key, version, |n| n.checked_add(delta))
    }

    async fn decr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        // checked_sub, not incr(-delta): -i64::MIN does not exist, yet
        // `decr(k, i64::MIN)` of a negative value has a result.
        self.add_delta(key, version, |n| n.checked_sub(delta))
    }

    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        if self.keys.func.is_some() {
            return Err(CacheError::Unsupported(
                "delete by prefix needs the default key function (a custom one may reorder the key)".into(),
            ));
        }
        let start = crate::primitives::key::default_key_func(prefix, &self.keys.prefix, self.keys.version_of(version));
        Ok(self.store.borrow_mut().retain(|k, _| !k.starts_with(&start)))
    }

    async fn clear(&self) -> Result<()> {
        // The store belongs to this backend alone, so every key in it is under
        // this backend's prefix.
        self.store.borrow_mut().retain(|_, _| false);
        Ok(())
    }

    fn stats(&self) -> BackendStats {
        let s = self.store.borrow().stats();
        let mut m = BackendStats::new();
        let mut put = |k: &str, v: u64| {
            m.insert(k.to_string(), v.into());
        };
        put("hits", s.hits);
        put("misses", s.misses);
        put("inserts", s.inserts);
        put("updates", s.updates);
        put("evictions_entries_bound", s.evicted_entries_bound);
        put("evictions_bytes_bound", s.evicted_bytes_bound);
        put("expirations", s.expirations);
        put("removals", s.removals);
        put("entries", s.entries);
        put("bytes", s.bytes);
        put("max_entries", self.options.max_entries as u64);
        put("max_bytes", self.options.max_bytes as u64);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn decr_by_i64_min_has_a_result_when_it_fits() {
        let b = LocalBackend::new("", 1, Timeout::Never, LocalOptions::default());
        block_on(async {
            b.set("n", Value::from(-1), Ttl::Default, None).await.unwrap();
            assert_eq!(b.decr("n", i64::MIN, None).await.unwrap(), i64::MAX);
            b.set("n", Value::from(0), Ttl::Default, None).await.unwrap();
            assert!(matches!(
                b.decr("n", i64::MIN, None).await,
                Err(CacheError::Overflow { .. })
            ));
            assert_eq!(
                b.get("n", None).await.unwrap(),
                Some(Value::from(0)),
                "unchanged after overflow"
            );
        });
    }
}
