//! The backend kinds a config may name, by name: the built-in ones
//! (`builtin.rs`), platform kinds (`redis` over `fetch`) and custom kinds added
//! with [`BackendRegistry::register`].

use std::collections::BTreeMap;
use std::rc::Rc;

use super::config::{BackendConfig, Secrets};
use super::CacheBackend;
use crate::primitives::error::{CacheError, Result};

/// Builds a backend of one kind from its config.
pub type BackendFactory = Rc<dyn Fn(&BackendConfig, &dyn Secrets, &BackendRegistry) -> Result<Rc<dyn CacheBackend>>>;

/// The backend kinds a config may name. Custom kinds are registered here.
#[derive(Clone)]
pub struct BackendRegistry {
    factories: BTreeMap<String, BackendFactory>,
}

impl BackendRegistry {
    /// A registry with no kinds at all (`default()` has the built-in ones).
    pub fn empty() -> Self {
        BackendRegistry {
            factories: BTreeMap::new(),
        }
    }

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
