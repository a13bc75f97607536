//! What the JS-hosted platforms share: waking a waiter through a JS promise
//! it made itself (workerd lets a request resume only in its own context),
//! and `setTimeout` as a future, from the JS global, with no host bindings.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use wasm_bindgen::JsValue;

use crate::runtime::Wake;

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
#[cfg(feature = "js")]
pub fn js_sleep(ms: u64) -> LocalBoxFuture<'static, ()> {
    use wasm_bindgen::JsCast;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&global, &resolve, &JsValue::from_f64(ms as f64));
            }
            None => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        }
    });
    async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    .boxed_local()
}
