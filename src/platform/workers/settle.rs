//! A handler's answer handed to workerd without a trip through the
//! microtask queue when it is ready at once (a cache hit).
//!
//! An `async` wasm-bindgen export (what `#[event(fetch)]` makes) always
//! returns a `Promise` and first polls its future from a task that
//! wasm-bindgen-futures queues with `queueMicrotask`: on a hit that never
//! waits, that queueing alone was about a sixth of the request's CPU time in
//! workerd (bench/README.md, "Where a hit's time goes"). [`settle`] polls once
//! in place instead, and only a future that is still pending goes to the
//! queue (`future_to_promise` polls it again).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use wasm_bindgen::JsValue;
use worker::web_sys;

/// `fut`'s response as is when it completes on the first poll, else a
/// `Promise` of it. An error becomes a 500 (the text in the Worker's log),
/// as workers-rs' `#[event(fetch)]` answers one.
pub fn settle<F>(fut: F) -> JsValue
where
    F: Future<Output = worker::Result<web_sys::Response>> + 'static,
{
    let mut fut = Box::pin(fut);
    // Some futures keep the waker of their first poll only (workers-rs'
    // `Delay` does): the first poll's waker must reach the task that polls
    // later, so it forwards to the latest waker that task polled with.
    let first = Arc::new(Forward(Mutex::new(None)));
    let waker = Waker::from(first.clone());
    match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(r) => answer(r).into(),
        Poll::Pending => wasm_bindgen_futures::future_to_promise(async move {
            let r = std::future::poll_fn(|cx| {
                if let Ok(mut w) = first.0.lock() {
                    *w = Some(cx.waker().clone());
                }
                fut.as_mut().poll(cx)
            })
            .await;
            Ok(answer(r).into())
        })
        .into(),
    }
}

/// A waker that wakes the waker last stored in it (none yet: nothing to do,
/// the task polls anyway when it starts).
struct Forward(Mutex<Option<Waker>>);

impl Wake for Forward {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(w) = self.0.lock().ok().and_then(|w| w.clone()) {
            w.wake();
        }
    }
}

fn answer(r: worker::Result<web_sys::Response>) -> web_sys::Response {
    r.unwrap_or_else(|e| {
        worker::console_error!("{e}");
        web_sys::Response::new_with_opt_str_and_init(Some("INTERNAL SERVER ERROR"), &{
            let i = web_sys::ResponseInit::new();
            i.set_status(500);
            i
        })
        .unwrap_or_else(|_| web_sys::Response::new().expect("an empty response can always be built"))
    })
}
