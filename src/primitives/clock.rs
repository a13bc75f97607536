//! Time for expiry. Injected, because `std::time::Instant` traps on
//! wasm32-unknown-unknown and tests need to move time by hand. In Workers,
//! `Date.now()` only advances after I/O, which is fine for TTLs.

use std::cell::Cell;
use std::rc::Rc;

/// A source of the current time, injected so tests and wasm can supply their own.
pub trait Clock {
    /// Milliseconds since the Unix epoch (or any fixed origin).
    fn now_ms(&self) -> u64;
}

/// Wall-clock time: `Date.now()` on wasm, `SystemTime` natively.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(all(target_arch = "wasm32", any(feature = "workers", feature = "js")))]
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    #[cfg(not(all(target_arch = "wasm32", any(feature = "workers", feature = "js"))))]
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to; clones share one time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Rc<Cell<u64>>);

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        ManualClock(Rc::new(Cell::new(start_ms)))
    }

    /// Moves this clock and its clones forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }

    /// Moves forward by `secs` seconds, rounded to the nearest ms.
    pub fn advance_secs(&self, secs: f64) {
        self.advance_ms((secs * 1000.0).round() as u64);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}
