//! What every backend kind shares, and the builder of the local backend.

use std::rc::Rc;

use super::local::{LocalBackend, LocalOptions};
use crate::primitives::clock::Clock;
use crate::primitives::ttl::Timeout;

/// Ellar's per-backend settings: `key_prefix`, `version` and the default
/// `ttl` (what `Ttl::Default` means for this backend).
#[derive(Clone, Debug, PartialEq)]
pub struct BackendSettings {
    /// First part of every full key (`"{key_prefix}:{version}:{key}"`).
    pub key_prefix: String,
    /// The version used when a call passes none (Ellar: 0 also means this).
    pub version: i64,
    /// The lifetime of `Ttl::Default` (300 s unless set).
    pub ttl: Timeout,
}

impl Default for BackendSettings {
    fn default() -> Self {
        BackendSettings {
            key_prefix: String::new(),
            version: 1,
            ttl: Timeout::default(),
        }
    }
}

/// Builds a [`LocalBackend`]: `LocalBackend::builder().key_prefix("site").ttl(Timeout::Never).build()`.
#[derive(Clone, Default)]
pub struct LocalBuilder {
    settings: BackendSettings,
    options: LocalOptions,
    clock: Option<Rc<dyn Clock>>,
}

impl LocalBuilder {
    /// The key prefix (default empty).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.key_prefix = prefix.into();
        self
    }

    /// The default version (default 1).
    pub fn version(mut self, version: i64) -> Self {
        self.settings.version = version;
        self
    }

    /// The default lifetime (default 300 s).
    pub fn ttl(mut self, ttl: Timeout) -> Self {
        self.settings.ttl = ttl;
        self
    }

    /// All three shared settings at once.
    pub fn settings(mut self, settings: BackendSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Most entries held (default 100 000).
    pub fn max_entries(mut self, n: usize) -> Self {
        self.options.max_entries = n;
        self
    }

    /// Most bytes held, keys, values and overhead counted (default 32 MiB).
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.options.max_bytes = n;
        self.options.max_value_bytes = self.options.max_value_bytes.min(n);
        self
    }

    /// Largest single value (default 4 MiB).
    pub fn max_value_bytes(mut self, n: usize) -> Self {
        self.options.max_value_bytes = n;
        self
    }

    /// The clock expiry is measured on (default the system clock; tests
    /// pass a `ManualClock`).
    pub fn clock(mut self, clock: Rc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The backend.
    pub fn build(self) -> LocalBackend {
        let s = self.settings;
        match self.clock {
            Some(clock) => LocalBackend::with_clock(&s.key_prefix, s.version, s.ttl, self.options, clock),
            None => LocalBackend::new(&s.key_prefix, s.version, s.ttl, self.options),
        }
    }
}

impl LocalBackend {
    /// A builder with Ellar's defaults (no prefix, version 1, ttl 300 s).
    pub fn builder() -> LocalBuilder {
        LocalBuilder::default()
    }
}
