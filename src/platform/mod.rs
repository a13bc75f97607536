//! Bindings to the runtimes edgecache runs on, one folder per platform.

#[cfg(feature = "workers")]
pub mod workers;
