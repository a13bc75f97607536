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
    pub fn default_backend(self, backend: impl CacheBackend + 'static) -> Self {
        self.backend("default", backend)
    }

    pub fn backend(self, name: &str, backend: impl CacheBackend + 'static) -> Self {
        self.backend_rc(name, Rc::new(backend))
    }

    pub fn backend_rc(mut self, name: &str, backend: Rc<dyn CacheBackend>) -> Self {
        self.backends.insert(name.to_string(), backend);
        self
    }

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

    /// The shared handle of the backend named `name`.
    pub fn backend_rc(&self, name: &str) -> Result<Rc<dyn CacheBackend>> {
        self.backends
            .get(name)
            .cloned()
            .ok_or_else(|| CacheError::UnknownBackend {
                name: name.to_string(),
                known: self.names(),
            })
    }

    /// Backend names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.backends.keys().cloned().collect()
    }

    /// The backend named `name` (`None` = `default`).
    pub fn backend(&self, name: Option<&str>) -> Result<&dyn CacheBackend> {
        let name = name.unwrap_or("default");
        self.backends
            .get(name)
            .map(|b| b.as_ref())
            .ok_or_else(|| CacheError::UnknownBackend {
                name: name.to_string(),
                known: self.names(),
            })
    }

    pub async fn get(&self, key: &str, version: Option<i64>, backend: Option<&str>) -> Result<Option<Value>> {
        self.backend(backend)?.get(key, version).await
    }

    pub async fn set(
        &self,
        key: &str,
        value: impl Into<Value>,
        ttl: Ttl,
        version: Option<i64>,
        backend: Option<&str>,
    ) -> Result<()> {
        self.backend(backend)?.set(key, value.into(), ttl, version).await
    }

    pub async fn add(
        &self,
        key: &str,
        value: impl Into<Value>,
        ttl: Ttl,
        version: Option<i64>,
        backend: Option<&str>,
    ) -> Result<bool> {
        self.backend(backend)?.add(key, value.into(), ttl, version).await
    }

    pub async fn delete(&self, key: &str, version: Option<i64>, backend: Option<&str>) -> Result<bool> {
        self.backend(backend)?.delete(key, version).await
    }

    pub async fn has_key(&self, key: &str, version: Option<i64>, backend: Option<&str>) -> Result<bool> {
        self.backend(backend)?.has_key(key, version).await
    }

    pub async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>, backend: Option<&str>) -> Result<bool> {
        self.backend(backend)?.touch(key, ttl, version).await
    }

    pub async fn incr(&self, key: &str, delta: i64, version: Option<i64>, backend: Option<&str>) -> Result<i64> {
        self.backend(backend)?.incr(key, delta, version).await
    }

    pub async fn decr(&self, key: &str, delta: i64, version: Option<i64>, backend: Option<&str>) -> Result<i64> {
        self.backend(backend)?.decr(key, delta, version).await
    }

    pub async fn get_many(
        &self,
        keys: &[&str],
        version: Option<i64>,
        backend: Option<&str>,
    ) -> Result<HashMap<String, Value>> {
        self.backend(backend)?.get_many(keys, version).await
    }

    pub async fn set_many(
        &self,
        items: Vec<(String, Value)>,
        ttl: Ttl,
        version: Option<i64>,
        backend: Option<&str>,
    ) -> Result<Vec<String>> {
        self.backend(backend)?.set_many(items, ttl, version).await
    }

    pub async fn delete_many(&self, keys: &[&str], version: Option<i64>, backend: Option<&str>) -> Result<usize> {
        self.backend(backend)?.delete_many(keys, version).await
    }

    pub async fn clear(&self, backend: Option<&str>) -> Result<()> {
        self.backend(backend)?.clear().await
    }

    /// Closes every backend.
    pub async fn close(&self) -> Result<()> {
        for b in self.backends.values() {
            b.close().await?;
        }
        Ok(())
    }

    /// The cached value, or the loader's value, which is then cached. As in
    /// Django, the write is an `add` followed by a read, so of two racing
    /// callers both return the value that won.
    pub async fn get_or_set<F, Fut>(
        &self,
        key: &str,
        loader: F,
        ttl: Ttl,
        version: Option<i64>,
        backend: Option<&str>,
    ) -> Result<Value>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value>>,
    {
        let b = self.backend(backend)?;
        if let Some(v) = b.get(key, version).await? {
            return Ok(v);
        }
        let loaded = loader().await?;
        b.add(key, loaded.clone(), ttl, version).await?;
        Ok(b.get(key, version).await?.unwrap_or(loaded))
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
        let e = block_on(s.get("k", None, Some("nope"))).unwrap_err();
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
            s.set("k", 1, Ttl::Default, None, None).await.unwrap();
            assert_eq!(s.get("k", None, Some("other")).await.unwrap(), None);
            assert_eq!(s.get("k", None, Some("default")).await.unwrap(), Some(Value::from(1)));
            assert_eq!(s.backend(Some("other")).unwrap().make_key("k", None).unwrap(), "b:1:k");
        });
    }

    #[test]
    fn get_or_set_loads_once() {
        let s = CacheService::from_config(r#"{"default": {"backend": "local"}}"#, &NoSecrets).unwrap();
        block_on(async {
            let v = s
                .get_or_set("k", || async { Ok(Value::from("loaded")) }, Ttl::Default, None, None)
                .await
                .unwrap();
            assert_eq!(v, Value::from("loaded"));
            let v = s
                .get_or_set(
                    "k",
                    || async { panic!("loader must not run on a hit") },
                    Ttl::Default,
                    None,
                    None,
                )
                .await
                .unwrap();
            assert_eq!(v, Value::from("loaded"));
            let e = s
                .get_or_set(
                    "e",
                    || async { Err(CacheError::backend("origin", "down")) },
                    Ttl::Default,
                    None,
                    None,
                )
                .await;
            assert!(e.is_err());
            assert!(!s.has_key("e", None, None).await.unwrap());
        });
    }
}
