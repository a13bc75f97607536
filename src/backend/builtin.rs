//! The kinds every registry starts with: `local` and `tiered`.

use std::rc::Rc;

use super::config::{BackendConfig, Secrets};
use super::local::LocalBackend;
use super::registry::BackendRegistry;
use super::tiered::TieredBackend;
use super::CacheBackend;

impl Default for BackendRegistry {
    /// The built-in kinds, `local` and `tiered`.
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
        r
    }
}
