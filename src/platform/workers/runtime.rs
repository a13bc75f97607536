//! The engine's [`Runtime`] on Workers, and `waitUntil` for background work.

use std::rc::Rc;

pub use super::super::promise::js_signal;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use worker::{Context, Delay};

use crate::primitives::clock::Clock;
use crate::runtime::{Runtime, Spawner, Wake};

/// The Workers runtime: `Date.now()`, `setTimeout` and JS promises (a
/// collapsed request must resume in its own request context).
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkersRuntime;

impl Clock for WorkersRuntime {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}

impl Runtime for WorkersRuntime {
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        Delay::from(Duration::from_millis(ms)).boxed_local()
    }

    fn signal(&self) -> (Wake, LocalBoxFuture<'static, ()>) {
        js_signal()
    }
}

/// `waitUntil` when there is a context, otherwise a plain local spawn.
pub fn spawner(ctx: Option<Rc<Context>>) -> Spawner {
    Rc::new(move |fut| match &ctx {
        Some(ctx) => ctx.wait_until(fut),
        None => wasm_bindgen_futures::spawn_local(fut),
    })
}
