//! `CacheService`: named backends with a required `default`, and Ellar's
//! methods, each taking a `version` and a `backend` name (`None` = default).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::rc::Rc;

use crate::backend::BackendRegistry;
use crate::backend::{BackendStats, CacheBackend};
use crate::backend::{CachesConfig, Secrets};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::Ttl;
use crate::primitives::value::Value;

mod view;

pub use view::CacheView;

/// Named cache backends and the methods to use them.
#[derive(Clone)]
pub struct CacheService {
    backends: BTreeMap<String, Rc<dyn CacheBackend>>,
}

/// The Rust analogue of `CacheModule.setup(default=..., others=...)`.
#[derive(Default)]
pub struct CacheServiceBuilder {
    backends: BTreeMap<String, Rc<dyn CacheBackend>>,
}

impl CacheServiceBuilder {
    /// Adds the backend named `default`, which `build` requires.
    pub fn default_backend(self, backend: impl CacheBackend + 'static) -> Self {
        self.backend("default", backend)
    }

    /// Adds a backend under `name`, replacing any of that name.
    pub fn backend(self, name: &str, backend: impl CacheBackend + 'static) -> Self {
        self.backend_rc(name, Rc::new(backend))
    }

    /// Like [`CacheServiceBuilder::backend`], for a backend already shared.
    pub fn backend_rc(mut self, name: &str, backend: Rc<dyn CacheBackend>) -> Self {
        self.backends.insert(name.to_string(), backend);
        self
    }

    /// The service; fails if no `default` backend was added.
    pub fn build(self) -> Result<CacheService> {
        if !self.backends.contains_key("default") {
            return Err(CacheError::config(
                "default",
                "a backend named \"default\" is required; add one with .default_backend(...)",
            ));
        }
        Ok(CacheService {
            backends: self.backends,
        })
    }
}

impl CacheService {
    /// An empty builder.
    pub fn builder() -> CacheServiceBuilder {
        CacheServiceBuilder::default()
    }

    /// Builds every backend of a JSON config with the built-in kinds.
    pub fn from_config(json: &str, secrets: &dyn Secrets) -> Result<Self> {
        Self::from_parsed(&CachesConfig::parse(json)?, secrets, &BackendRegistry::default())
    }

    /// Builds every backend of a parsed config with the kinds of `registry`.
    pub fn from_parsed(config: &CachesConfig, secrets: &dyn Secrets, registry: &BackendRegistry) -> Result<Self> {
        let mut b = CacheService::builder();
        for (name, c) in &config.backends {
            b = b.backend_rc(name, registry.build(c, secrets)?);
        }
        b.build()
    }

    /// Backend names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.backends.keys().cloned().collect()
    }

    /// The backend named `name`.
    pub fn backend(&self, name: &str) -> Result<&Rc<dyn CacheBackend>> {
        self.backends.get(name).ok_or_else(|| CacheError::UnknownBackend {
            name: name.to_string(),
            known: self.names(),
        })
    }

    /// The backend named `name`, for calls with a version:
    /// `cache.using("sessions")?.version(2).get("k")` is Ellar's
    /// `cache.get("k", version=2, backend="sessions")`.
    pub fn using(&self, name: &str) -> Result<CacheView<'_>> {
        Ok(CacheView::new(self.backend(name)?.as_ref()))
    }

    /// The `default` backend as a view (`.version(n)` for another version).
    pub fn default_view(&self) -> CacheView<'_> {
        // `build` refuses a service without `default`.
        CacheView::new(self.backends["default"].as_ref())
    }

    /// The value of `key` in the default backend, if present and live.
    pub async fn get(&self, key: &str) -> Result<Option<Value>> {
        self.default_view().get(key).await
    }

    /// Writes `key` in the default backend for `ttl` (`Ttl::Default` = the backend's).
    pub async fn set(&self, key: &str, value: impl Into<Value>, ttl: Ttl) -> Result<()> {
        self.default_view().set(key, value, ttl).await
    }

    /// Writes `key` only if it is absent; true if it wrote.
    pub async fn add(&self, key: &str, value: impl Into<Value>, ttl: Ttl) -> Result<bool> {
        self.default_view().add(key, value, ttl).await
    }

    /// Deletes `key`; true if it existed.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        self.default_view().delete(key).await
    }

    /// Whether `key` is present and live.
    pub async fn has_key(&self, key: &str) -> Result<bool> {
        self.default_view().has_key(key).await
    }

    /// Gives a live `key` a new lifetime; true if it existed.
    pub async fn touch(&self, key: &str, ttl: Ttl) -> Result<bool> {
        self.default_view().touch(key, ttl).await
    }

    /// Adds `delta` to an integer value and returns the result.
    pub async fn incr(&self, key: &str, delta: i64) -> Result<i64> {
        self.default_view().incr(key, delta).await
    }

    /// Subtracts `delta` from an integer value and returns the result.
    pub async fn decr(&self, key: &str, delta: i64) -> Result<i64> {
        self.default_view().decr(key, delta).await
    }

    /// The values of the keys that are present, by key.
    pub async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Value>> {
        self.default_view().get_many(keys).await
    }

    /// Writes every item; returns the keys that could not be written (too large).
    pub async fn set_many(&self, items: Vec<(String, Value)>, ttl: Ttl) -> Result<Vec<String>> {
        self.default_view().set_many(items, ttl).await
    }

    /// Deletes every key; returns how many existed.
    pub async fn delete_many(&self, keys: &[&str]) -> Result<usize> {
        self.default_view().delete_many(keys).await
    }

    /// Removes every key of the default backend (its prefix only).
    pub async fn clear(&self) -> Result<()> {
        self.default_view().clear().await
    }

    /// The cached value, or the loader's, which is then cached (see
    /// [`CacheView::get_or_set`]).
    pub async fn get_or_set<F, Fut>(&self, key: &str, loader: F, ttl: Ttl) -> Result<Value>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value>>,
    {
        self.default_view().get_or_set(key, loader, ttl).await
    }

    /// Closes every backend.
    pub async fn close(&self) -> Result<()> {
        for b in self.backends.values() {
            b.close().await?;
        }
        Ok(())
    }

    /// Each backend's kind and counters.
    pub fn stats(&self) -> BTreeMap<String, BackendStats> {
        self.backends
            .iter()
            .map(|(name, b)| {
                let mut s = b.stats();
                s.insert("kind".into(), b.kind().into());
                (name.clone(), s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{LocalBackend, LocalOptions, NoSecrets};
    use crate::primitives::ttl::Timeout;
    use futures::executor::block_on;

    #[test]
    fn default_is_required() {
        let e = CacheService::builder()
            .backend(
                "x",
                LocalBackend::new("", 1, Timeout::default(), LocalOptions::default()),
            )
            .build()
            .err()
            .unwrap();
        assert!(e.to_string().contains("\"default\" is required"));
    }

    #[test]
    fn unknown_backend_names_known_ones() {
        let s = CacheService::from_config(
            r#"{"default": {"backend": "local"}, "b": {"backend": "local"}}"#,
            &NoSecrets,
        )
        .unwrap();
        let e = s.using("nope").err().unwrap();
        assert_eq!(
            e.to_string(),
            "unknown cache backend \"nope\"; configured backends: b, default"
        );
    }

    #[test]
    fn unknown_kind_and_bad_options() {
        let e = CacheService::from_config(r#"{"default": {"backend": "mongo"}}"#, &NoSecrets)
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("default.backend: unknown backend kind \"mongo\""),
            "{e}"
        );
        let e = CacheService::from_config(
            r#"{"default": {"backend": "local", "options": {"max_entries": -1}}}"#,
            &NoSecrets,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("default.options.max_entries"), "{e}");
    }

    #[test]
    fn backends_are_separate_and_prefixed() {
        let s = CacheService::from_config(
            r#"{"default": {"backend": "local", "key_prefix": "a"}, "other": {"backend": "local", "key_prefix": "b"}}"#,
            &NoSecrets,
        )
        .unwrap();
        block_on(async {
            s.set("k", 1, Ttl::Default).await.unwrap();
            assert_eq!(s.using("other").unwrap().get("k").await.unwrap(), None);
            assert_eq!(
                s.using("default").unwrap().get("k").await.unwrap(),
                Some(Value::from(1))
            );
            assert_eq!(s.get("k").await.unwrap(), Some(Value::from(1)));
            assert_eq!(s.using("default").unwrap().version(2).get("k").await.unwrap(), None);
            s.using("other")
                .unwrap()
                .version(2)
                .set("k", 2, Ttl::Default)
                .await
                .unwrap();
            assert_eq!(
                s.using("other").unwrap().version(2).get("k").await.unwrap(),
                Some(Value::from(2))
            );
            assert_eq!(s.backend("other").unwrap().make_key("k", Some(2)).unwrap(), "b:2:k");
        });
    }

    #[test]
    fn get_or_set_loads_once() {
        let s = CacheService::from_config(r#"{"default": {"backend": "local"}}"#, &NoSecrets).unwrap();
        block_on(async {
            let v = s
                .get_or_set("k", || async { Ok(Value::from("loaded")) }, Ttl::Default)
                .await
                .unwrap();
            assert_eq!(v, Value::from("loaded"));
            let v = s
                .get_or_set("k", || async { panic!("loader must not run on a hit") }, Ttl::Default)
                .await
                .unwrap();
            assert_eq!(v, Value::from("loaded"));
            let e = s
                .get_or_set(
                    "e",
                    || async { Err(CacheError::backend("origin", "down")) },
                    Ttl::Default,
                )
                .await;
            assert!(e.is_err());
            assert!(!s.has_key("e").await.unwrap());
        });
    }
}
