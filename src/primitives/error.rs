//! The one error type of the crate. Every variant says what went wrong and,
//! where there is one, what to do about it.

use std::fmt;

/// `Result` with [`CacheError`] as the default error.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// Everything a cache call or its configuration can fail with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CacheError {
    /// A key the backend cannot store (empty, too long, forbidden bytes).
    InvalidKey {
        /// The key as given, or the full key when a backend rule refused it.
        key: String,
        /// What is wrong with it and how to fix it.
        reason: String,
    },
    /// A value larger than the backend accepts.
    ValueTooLarge {
        /// The user key.
        key: String,
        /// The value's size in bytes, as the backend counts it.
        size: usize,
        /// The backend's limit in bytes.
        limit: usize,
    },
    /// A TTL that is not a finite number of seconds.
    InvalidTtl(String),
    /// incr/decr of a key that does not exist.
    NotFound {
        /// The user key.
        key: String,
    },
    /// incr/decr of a value that is not an integer.
    NotAnInteger {
        /// The user key.
        key: String,
    },
    /// incr/decr past the range of a signed 64-bit integer.
    Overflow {
        /// The user key.
        key: String,
    },
    /// A backend name that is not configured.
    UnknownBackend {
        /// The name asked for.
        name: String,
        /// The configured names, sorted.
        known: Vec<String>,
    },
    /// Malformed configuration; `field` is a dotted path such as `default.ttl`.
    Config {
        /// Dotted path of the bad field, e.g. `default.ttl`.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A value whose stored bytes cannot be decoded.
    Corrupt(String),
    /// A remote server or transport failed (unreachable, refused, bad status).
    Backend {
        /// Which backend failed, e.g. `redis (shared)`.
        backend: String,
        /// The failure, with the URL where there is one.
        message: String,
    },
    /// An operation this backend cannot do; the message says what to use instead.
    Unsupported(String),
}

impl CacheError {
    /// A [`CacheError::Config`] for `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        CacheError::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A [`CacheError::Backend`] for the backend named `backend`.
    pub fn backend(backend: impl Into<String>, message: impl Into<String>) -> Self {
        CacheError::Backend {
            backend: backend.into(),
            message: message.into(),
        }
    }

    /// A short machine-readable name, used by the admin API.
    pub fn kind(&self) -> &'static str {
        match self {
            CacheError::InvalidKey { .. } => "invalid_key",
            CacheError::ValueTooLarge { .. } => "value_too_large",
            CacheError::InvalidTtl(_) => "invalid_ttl",
            CacheError::NotFound { .. } => "not_found",
            CacheError::NotAnInteger { .. } => "not_an_integer",
            CacheError::Overflow { .. } => "overflow",
            CacheError::UnknownBackend { .. } => "unknown_backend",
            CacheError::Config { .. } => "config",
            CacheError::Corrupt(_) => "corrupt",
            CacheError::Backend { .. } => "backend",
            CacheError::Unsupported(_) => "unsupported",
        }
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::InvalidKey { key, reason } => write!(f, "invalid cache key {key:?}: {reason}"),
            CacheError::ValueTooLarge { key, size, limit } => write!(
                f,
                "value for key {key:?} is {size} bytes, over this backend's limit of {limit} bytes; store less or raise the backend's max_value_bytes"
            ),
            CacheError::InvalidTtl(why) => write!(f, "invalid ttl: {why}"),
            CacheError::NotFound { key } => write!(f, "key {key:?} not found (incr/decr need an existing key; set it first)"),
            CacheError::NotAnInteger { key } => write!(f, "value of key {key:?} is not an integer, so it cannot be incremented"),
            CacheError::Overflow { key } => write!(f, "incr/decr of key {key:?} overflows a 64-bit signed integer"),
            CacheError::UnknownBackend { name, known } => {
                write!(f, "unknown cache backend {name:?}; configured backends: {}", known.join(", "))
            }
            CacheError::Config { field, message } => write!(f, "cache configuration: {field}: {message}"),
            CacheError::Corrupt(why) => write!(f, "corrupt cache value: {why}"),
            CacheError::Backend { backend, message } => write!(f, "cache backend {backend}: {message}"),
            CacheError::Unsupported(what) => write!(f, "unsupported: {what}"),
        }
    }
}

impl std::error::Error for CacheError {}
