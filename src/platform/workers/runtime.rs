//! The engine's [`Runtime`] on Workers, and `waitUntil` for background work.

use std::rc::Rc;
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

/// Wakes a collapsed request in its own request context: it waits on a JS
/// promise it made, which the leading request resolves. (A Rust channel
/// would resume it inside the leader's context, which workerd refuses.)
pub fn js_signal() -> (Wake, LocalBoxFuture<'static, ()>) {
    {
        let slot: Rc<std::cell::RefCell<Option<js_sys::Function>>> = Rc::default();
        let fill = slot.clone();
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            *fill.borrow_mut() = Some(resolve);
        });
        let wake: Box<dyn FnOnce()> = Box::new(move || {
            if let Some(resolve) = slot.borrow_mut().take() {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        });
        let wait = async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        .boxed_local();
        (wake, wait)
    }
}
