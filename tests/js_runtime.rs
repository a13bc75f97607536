//! The `js` platform's runtime in real V8 (Node, through
//! wasm-bindgen-test-runner): timers, promise wake-ups, and the response
//! cache engine collapsing concurrent misses on it. Run by the test command:
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test -p edgecache --target wasm32-unknown-unknown --features js --test js_runtime
//! ```
#![cfg(all(target_arch = "wasm32", feature = "js"))]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use edgecache::http::HttpRequest;
use edgecache::http::HttpResponse;
use edgecache::platform::js::JsRuntime;
use edgecache::response_cache::{BackendStore, CachePolicy, Io, Origin, ResponseStore};
use edgecache::{Clock, LocalBackend, ResponseCache, Runtime};
use futures::future::{join_all, select, Either};
use futures::FutureExt;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn timers_fire_in_order_and_the_clock_is_the_hosts() {
    let rt = JsRuntime;
    let before = rt.now_ms();
    assert!(before > 1_600_000_000_000, "Date.now(), not a fake clock");
    // The shorter timer finishes first (an order, not a duration).
    match select(rt.sleep(200), rt.sleep(1)).await {
        Either::Right(_) => {}
        Either::Left(_) => panic!("a 200 ms timer fired before a 1 ms one"),
    }
    assert!(rt.now_ms() >= before);
}

#[wasm_bindgen_test]
async fn a_signal_wakes_its_waiter() {
    let rt = JsRuntime;
    let (wake, wait) = rt.signal();
    let woken = Rc::new(Cell::new(false));
    let w = woken.clone();
    wasm_bindgen_futures::spawn_local(async move {
        JsRuntime.sleep(1).await;
        w.set(true);
        wake();
    });
    wait.await;
    assert!(woken.get());
}

#[wasm_bindgen_test]
async fn the_engine_collapses_concurrent_misses_on_the_js_runtime() {
    let mut stores: BTreeMap<String, Rc<dyn ResponseStore>> = BTreeMap::new();
    stores.insert(
        "default".into(),
        Rc::new(BackendStore {
            name: "default".into(),
            backend: Rc::new(LocalBackend::builder().clock(Rc::new(JsRuntime)).build()),
        }),
    );
    let cache = ResponseCache::new(stores, Rc::new(JsRuntime));
    let calls = Rc::new(Cell::new(0u32));
    let c = calls.clone();
    let origin: Origin = Rc::new(move |_| {
        c.set(c.get() + 1);
        async {
            JsRuntime.sleep(20).await;
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: b"once".to_vec(),
                stream: None,
            })
        }
        .boxed_local()
    });
    let io = Io {
        origin,
        spawn: Rc::new(wasm_bindgen_futures::spawn_local),
    };
    let policy = CachePolicy::default();
    let answers = join_all((0..10).map(|_| cache.handle(HttpRequest::get("https://e.com/x"), &policy, &io))).await;
    assert_eq!(calls.get(), 1, "one origin request for ten concurrent misses");
    assert!(answers.iter().all(|a| a.body == b"once"));
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.header("cache-status").unwrap_or_default().contains("collapsed"))
            .count(),
        9
    );
    let hit = cache.handle(HttpRequest::get("https://e.com/x"), &policy, &io).await;
    assert!(hit.header("cache-status").unwrap_or_default().contains("hit"));
}
