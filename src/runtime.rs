//! The seam between the engine and the platform it runs on: time, timers,
//! and the cross-request wake signal. The response cache and the backends
//! that wait name only this trait; `platform::workers` implements it over
//! `Date.now()`, `setTimeout` and JS promises, tests implement it with a
//! manual clock. Background work after a response (`waitUntil`) belongs to
//! one request, so it travels with the request ([`Spawner`]), not here.

use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::FutureExt;

use crate::primitives::clock::Clock;

/// Runs a future after the response is sent (`ctx.waitUntil` in a Worker).
pub type Spawner = Rc<dyn Fn(LocalBoxFuture<'static, ()>)>;

/// Completes a [`Runtime::signal`]'s wait.
pub type Wake = Box<dyn FnOnce()>;

/// What the engine needs from the platform beyond the clock.
pub trait Runtime: Clock {
    /// A future that completes after `ms` milliseconds.
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()>;

    /// A (wake, wait) pair: calling `wake` completes `wait`; dropping `wake`
    /// uncalled must complete `wait` or leave it to a timeout. workerd lets a
    /// request resume only in its own context, so a waiter must wait on
    /// something it made itself (a JS promise there; a channel natively).
    fn signal(&self) -> (Wake, LocalBoxFuture<'static, ()>) {
        oneshot_signal()
    }
}

/// A (wake, wait) pair over a futures oneshot channel: right wherever a
/// future may be woken from another task's context (native executors).
pub fn oneshot_signal() -> (Wake, LocalBoxFuture<'static, ()>) {
    let (tx, rx) = oneshot::channel::<()>();
    (
        Box::new(move || {
            let _ = tx.send(());
        }),
        async move {
            let _ = rx.await;
        }
        .boxed_local(),
    )
}

/// A runtime whose clock moves only when told to and whose timers never
/// fire: for tests of pure engine logic and for native callers that have no
/// timer (lock timeouts then never end a wait early).
#[derive(Clone, Debug, Default)]
pub struct ManualRuntime {
    /// The clock; advance it to move time.
    pub clock: crate::primitives::clock::ManualClock,
}

impl Clock for ManualRuntime {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}

impl Runtime for ManualRuntime {
    fn sleep(&self, _ms: u64) -> LocalBoxFuture<'static, ()> {
        futures::future::pending().boxed_local()
    }
}
