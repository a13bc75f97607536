//! The backend kinds a config may name, by name: `local` and `tiered`
//! built in, platform kinds (`redis` over `fetch`) and custom kinds added
//! with [`BackendRegistry::register`].

use std::collections::BTreeMap;
use std::rc::Rc;

use super::config::{BackendConfig, Secrets};
use super::local::{LocalBackend, LocalOptions};
use super::tiered::TieredBackend;
use super::CacheBackend;
use crate::primitives::error::{CacheError, Result};

/// Builds a backend of one kind from its config.
pub type BackendFactory = Rc<dyn Fn(&BackendConfig, &dyn Secrets, &BackendRegistry) -> Result<Rc<dyn CacheBackend>>>;

/// The backend kinds a config may name. Custom kinds are registered here.
#[derive(Clone)]
pub struct BackendRegistry {
    factories: BTreeMap<String, BackendFactory>,
}

impl Default for BackendRegistry {
    /// The built-in kinds.
    fn default() -> Self {
        let mut r = BackendRegistry {
            factories: BTreeMap::new(),
        };
        r.register("local", |c: &BackendConfig, _: &dyn Secrets, _: &BackendRegistry| {
            Ok(Rc::new(local_from_config(c)?) as Rc<dyn CacheBackend>)
        });
        // Tiered builds its tiers with the registry it is built from.
        r.register(
            "tiered",
            |c: &BackendConfig, secrets: &dyn Secrets, registry: &BackendRegistry| {
                Ok(Rc::new(TieredBackend::from_config(c, secrets, registry)?) as Rc<dyn CacheBackend>)
            },
        );
        r
    }
}

impl BackendRegistry {
    /// Adds (or replaces) a backend kind. The factory gets the registry it
    /// is built from, so a kind made of other kinds (tiered) builds them
    /// with the same kinds, custom ones included.
    pub fn register(
        &mut self,
        kind: &str,
        factory: impl Fn(&BackendConfig, &dyn Secrets, &BackendRegistry) -> Result<Rc<dyn CacheBackend>> + 'static,
    ) -> &mut Self {
        self.factories.insert(kind.to_string(), Rc::new(factory));
        self
    }

    /// Builds the backend a config entry describes.
    pub fn build(&self, config: &BackendConfig, secrets: &dyn Secrets) -> Result<Rc<dyn CacheBackend>> {
        let factory = self.factories.get(&config.kind).ok_or_else(|| {
            CacheError::config(
                format!("{}.backend", config.name),
                format!(
                    "unknown backend kind {:?} (known: {})",
                    config.kind,
                    self.factories.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        factory(config, secrets, self)
    }
}

/// A local backend from its config (`options`: max_entries, max_bytes, max_value_bytes).
pub fn local_from_config(c: &BackendConfig) -> Result<LocalBackend> {
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
