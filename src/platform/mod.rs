//! Bindings to the runtimes edgecache runs on, one folder per platform.

#[cfg(feature = "js")]
pub mod js;
#[cfg(any(feature = "workers", feature = "js"))]
mod promise;
#[cfg(feature = "workers")]
pub mod workers;
