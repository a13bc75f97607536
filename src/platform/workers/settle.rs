//! A handler's answer handed to workerd without a trip through the
//! microtask queue when it is ready at once (a cache hit).
//!
//! An `async` wasm-bindgen export (what `#[event(fetch)]` makes) always
//! returns a `Promise` and first polls its future from a task that
//! wasm-bindgen-futures queues with `queueMicrotask`: on a hit that never
//! waits, that queueing alone was about a sixth of the request's CPU time in
//! workerd (bench/README.md, "Where a hit's time goes"). [`settle`] polls once
//! in place instead, and only a future that is still pending goes to the
//! queue (`future_to_promise` polls it again, with a real waker).

use std::future::Future;
use std::task::{Context, Poll, Waker};

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
    // A no-op waker is enough for this poll: a future that is pending is
    // polled again below, and registers the real waker then.
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => answer(r).into(),
        Poll::Pending => wasm_bindgen_futures::future_to_promise(async move { Ok(answer(fut.await).into()) }).into(),
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
