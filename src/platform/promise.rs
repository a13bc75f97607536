//! What the JS-hosted platforms share: waking a waiter through a JS promise
//! it made itself (workerd lets a request resume only in its own context),
//! and `setTimeout` as a future, from the JS global, with no host bindings.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use wasm_bindgen::JsValue;

use crate::runtime::Wake;

/// A random index in `0..n` from `Math.random()` (Redis read replicas).
pub fn random_picker() -> crate::backend::Picker {
    Rc::new(|n| (js_sys::Math::random() * n as f64) as usize)
}

/// A (wake, wait) pair over a JS promise: `wait` resolves when `wake` runs.
pub fn js_signal() -> (Wake, LocalBoxFuture<'static, ()>) {
    let slot: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
    let fill = slot.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        *fill.borrow_mut() = Some(resolve);
    });
    let wake: Wake = Box::new(move || {
        if let Some(resolve) = slot.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let wait = async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    .boxed_local();
    (wake, wait)
}

/// A future that completes after `ms` milliseconds, through the global
/// `setTimeout` (Node, browsers, Workers). Without one it completes at once.
/// Dropped before it fires (a race it lost, e.g. an origin timeout), it
/// clears its timer: a pending 30 s timer would keep Node's event loop,
/// and so the process, alive long after the work is done.
#[cfg(feature = "js")]
pub fn js_sleep(ms: u64) -> LocalBoxFuture<'static, ()> {
    use js_sys::{Function, Reflect};
    use wasm_bindgen::JsCast;

    fn global_function(name: &str) -> Option<Function> {
        Reflect::get(&js_sys::global(), &name.into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    }

    /// The timer's id until it fires; cleared if the sleep is dropped first.
    struct Timer(Option<JsValue>);
    impl Drop for Timer {
        fn drop(&mut self) {
            if let (Some(id), Some(clear)) = (self.0.take(), global_function("clearTimeout")) {
                let _ = clear.call1(&js_sys::global(), &id);
            }
        }
    }

    let mut id = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| match global_function("setTimeout") {
        Some(f) => id = f.call2(&js_sys::global(), &resolve, &JsValue::from_f64(ms as f64)).ok(),
        None => {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let mut timer = Timer(id);
    async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        // Fired: nothing to clear.
        timer.0.take();
    }
    .boxed_local()
}
