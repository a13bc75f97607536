//! Two response caches (two isolates, each with its own local store) sharing
//! one purge log, natively with a fake clock.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use async_trait::async_trait;
use futures::executor::block_on;
use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::purge_log::{LocalPurgeLog, Purge, PurgeLog, Reach, Scope, SyncReply};
use super::*;
use crate::backend::{LocalBackend, LocalOptions};
use crate::http::{HttpRequest, HttpResponse};
use crate::primitives::clock::ManualClock;
use crate::primitives::ttl::{Timeout, Ttl};
use crate::runtime::ManualRuntime;

const SYNC_MS: u64 = 1000;

/// One isolate: its cache, over its own local store, and an origin that
/// answers `v<n>` (n counts this isolate's origin calls) with its tags.
struct Isolate {
    cache: ResponseCache,
    calls: Rc<Cell<u32>>,
    background: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>>,
    io: Io,
}

fn isolate(clock: &ManualClock, log: Option<Rc<dyn PurgeLog>>, tags: &'static str) -> Isolate {
    let backend = LocalBackend::with_clock(
        "",
        1,
        Timeout::default(),
        LocalOptions::default(),
        Rc::new(clock.clone()),
    );
    let mut stores: BTreeMap<String, Rc<dyn ResponseStore>> = BTreeMap::new();
    stores.insert(
        "default".into(),
        Rc::new(BackendStore {
            name: "default".into(),
            backend: Rc::new(backend),
        }),
    );
    let cache = ResponseCache::new(stores, Rc::new(ManualRuntime { clock: clock.clone() }));
    if let Some(log) = log {
        cache.set_purge_log(log, SYNC_MS);
    }
    let calls = Rc::new(Cell::new(0));
    let origin: Origin = {
        let calls = calls.clone();
        Rc::new(move |_req: HttpRequest| {
            calls.set(calls.get() + 1);
            let mut r = HttpResponse::text(200, &format!("v{}", calls.get()));
            r.headers.push(("cache-tag".into(), tags.into()));
            async move { Ok(r) }.boxed_local()
        })
    };
    let background: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>> = Rc::default();
    let spawn: Spawner = {
        let bg = background.clone();
        Rc::new(move |f| bg.borrow_mut().push(f))
    };
    Isolate {
        cache,
        calls,
        background,
        io: Io { origin, spawn },
    }
}

impl Isolate {
    fn get(&self, url: &str, policy: &CachePolicy) -> (String, String) {
        let r = block_on(self.cache.handle(HttpRequest::get(url), policy, &self.io));
        (
            String::from_utf8_lossy(&r.body).into_owned(),
            r.header("cache-status").unwrap_or_default(),
        )
    }
    fn run_background(&self) {
        let tasks: Vec<_> = self.background.borrow_mut().drain(..).collect();
        for t in tasks {
            block_on(t);
        }
    }
}

fn policy(key_prefix: &str) -> CachePolicy {
    CachePolicy {
        ttl: Ttl::Seconds(300.0),
        key_prefix: key_prefix.into(),
        ..Default::default()
    }
}

const PAGE: &str = "https://site.test/shop/item?id=7";

/// Both isolates cache PAGE, `purge` goes through `a`, and `b` keeps its
/// copy until its next sync, then fetches the new page.
fn reaches_the_other_isolate(purge: Purge) {
    let clock = ManualClock::new(5_000_000);
    let log: Rc<dyn PurgeLog> = Rc::new(LocalPurgeLog::new(Rc::new(clock.clone())));
    let (a, b) = (
        isolate(&clock, Some(log.clone()), "product-7 shop"),
        isolate(&clock, Some(log), "product-7 shop"),
    );
    let p = policy("shop");
    for i in [&a, &b] {
        assert_eq!(i.get(PAGE, &p).0, "v1");
        assert_eq!(i.get(PAGE, &p).0, "v1", "a hit");
    }
    block_on(a.cache.invalidate(purge.clone())).unwrap();
    assert_eq!(a.get(PAGE, &p).0, "v2", "{purge:?}: at once where it was sent");
    clock.advance_ms(SYNC_MS / 2);
    assert_eq!(
        b.get(PAGE, &p).0,
        "v1",
        "{purge:?}: the other isolate has not synced yet"
    );
    clock.advance_ms(SYNC_MS / 2);
    assert_eq!(b.get(PAGE, &p).0, "v2", "{purge:?}: within purge_sync_ms");
    assert_eq!(b.get(PAGE, &p).0, "v2", "{purge:?}: and the new page is kept");
    assert_eq!(b.calls.get(), 2);
    assert_eq!(b.cache.stats().purge_syncs, 2);
}

#[test]
fn each_scope_reaches_the_other_isolate_within_the_sync_interval() {
    for scope in [
        Scope::Url("https://site.test/shop/item?id=7".into()),
        Scope::UrlPrefix("https://site.test/shop/".into()),
        Scope::KeyPrefix("shop".into()),
        Scope::Tag("product-7".into()),
        Scope::All,
    ] {
        reaches_the_other_isolate(Purge::hard(scope));
    }
}

#[test]
fn unrelated_purges_leave_entries_alone() {
    let clock = ManualClock::new(5_000_000);
    let log: Rc<dyn PurgeLog> = Rc::new(LocalPurgeLog::new(Rc::new(clock.clone())));
    let a = isolate(&clock, Some(log.clone()), "product-7");
    let p = policy("shop");
    a.get(PAGE, &p);
    for scope in [
        Scope::Url("https://site.test/shop/item?id=8".into()),
        Scope::UrlPrefix("https://site.test/blog/".into()),
        Scope::KeyPrefix("blog".into()),
        Scope::Tag("product-8".into()),
    ] {
        block_on(log.append(&Purge::hard(scope))).unwrap();
    }
    clock.advance_ms(SYNC_MS);
    assert_eq!(a.get(PAGE, &p), ("v1".into(), "edgecache; hit; ttl=299".into()));
    assert_eq!(a.cache.stats().purge_syncs, 2);
}

#[test]
fn a_url_purge_matches_the_route_s_normalized_url() {
    let clock = ManualClock::new(5_000_000);
    let a = isolate(&clock, None, "");
    let p = CachePolicy {
        sort_query: true,
        ..policy("")
    };
    a.get("https://site.test/q?b=2&a=1", &p);
    block_on(a.cache.invalidate(Purge::hard(ResponseCache::url_scope(
        "https://SITE.test:443/q?a=1&b=2#x",
        &p,
    ))))
    .unwrap();
    assert_eq!(a.get("https://site.test/q?b=2&a=1", &p).0, "v2");
}

#[test]
fn a_soft_purge_serves_stale_once_and_refreshes_once() {
    let clock = ManualClock::new(5_000_000);
    let log: Rc<dyn PurgeLog> = Rc::new(LocalPurgeLog::new(Rc::new(clock.clone())));
    let (a, b) = (isolate(&clock, Some(log.clone()), "t"), isolate(&clock, Some(log), "t"));
    let p = CachePolicy {
        stale_while_revalidate: 30.0,
        ..policy("")
    };
    a.get(PAGE, &p);
    b.get(PAGE, &p);
    block_on(a.cache.invalidate(Purge::soft(Scope::Tag("t".into())))).unwrap();
    clock.advance_ms(SYNC_MS);
    let (body, status) = b.get(PAGE, &p);
    assert_eq!(body, "v1", "served stale");
    assert!(status.contains("stale-while-revalidate"), "{status}");
    assert_eq!(b.calls.get(), 1, "the refresh runs after the response");
    // A second request before the refresh finished starts no second one.
    b.get(PAGE, &p);
    b.run_background();
    assert_eq!(b.calls.get(), 2, "one refresh");
    assert_eq!(b.get(PAGE, &p), ("v2".into(), "edgecache; hit; ttl=300".into()));
    // Past the stale window (counted from when b learned of the purge),
    // a soft-purged entry is gone.
    a.run_background();
    clock.advance_ms(31_000);
    let c = isolate(&clock, None, "t");
    c.get(PAGE, &p);
    block_on(c.cache.invalidate(Purge::soft(Scope::All))).unwrap();
    clock.advance_ms(31_000);
    assert_eq!(c.get(PAGE, &p).0, "v2", "stale beyond swr: fetched");
}

#[test]
fn a_soft_purge_without_stale_windows_refetches() {
    let clock = ManualClock::new(5_000_000);
    let a = isolate(&clock, None, "");
    let p = policy("");
    a.get(PAGE, &p);
    block_on(a.cache.invalidate(Purge::soft(Scope::All))).unwrap();
    assert_eq!(a.get(PAGE, &p).0, "v2");
}

#[test]
fn tags_are_stored_and_stripped_and_without_a_log_a_purge_stays_in_its_isolate() {
    let clock = ManualClock::new(5_000_000);
    let (a, b) = (isolate(&clock, None, "x, y"), isolate(&clock, None, "x y"));
    let p = policy("");
    let r = block_on(a.cache.handle(HttpRequest::get(PAGE), &p, &a.io));
    assert_eq!(r.header("cache-tag"), None, "stripped by default");
    b.get(PAGE, &p);
    assert_eq!(a.cache.purge_reach().0, Reach::Isolate);
    block_on(a.cache.invalidate(Purge::hard(Scope::Tag("y".into())))).unwrap();
    clock.advance_ms(10 * SYNC_MS);
    assert_eq!(a.get(PAGE, &p).0, "v2");
    assert_eq!(
        b.get(PAGE, &p).0,
        "v1",
        "no shared log: the other isolate never hears of it"
    );
    let exposed = CachePolicy {
        tags: purge_log::TagOptions {
            expose: true,
            ..Default::default()
        },
        ..policy("other")
    };
    let r = block_on(a.cache.handle(HttpRequest::get(PAGE), &exposed, &a.io));
    assert_eq!(r.header("cache-tag").as_deref(), Some("x, y"));
}

/// A log that fails or never answers, counting the calls.
struct BrokenLog {
    hang: bool,
    calls: Cell<u32>,
}

#[async_trait(?Send)]
impl PurgeLog for BrokenLog {
    fn name(&self) -> &str {
        "broken"
    }
    async fn append(&self, _: &Purge) -> crate::Result<u64> {
        Err(crate::CacheError::backend("purge log", "log down"))
    }
    async fn since(&self, _: u64) -> crate::Result<SyncReply> {
        self.calls.set(self.calls.get() + 1);
        match self.hang {
            true => futures::future::pending().await,
            false => Err(crate::CacheError::backend("purge log", "log down")),
        }
    }
}

#[test]
fn a_failing_log_is_asked_once_per_interval_and_the_cache_still_serves() {
    let clock = ManualClock::new(5_000_000);
    let log = Rc::new(BrokenLog {
        hang: false,
        calls: Cell::new(0),
    });
    let a = isolate(&clock, Some(log.clone()), "");
    let p = policy("");
    for _ in 0..5 {
        assert_eq!(a.get(PAGE, &p).0, "v1");
    }
    assert_eq!(log.calls.get(), 1);
    clock.advance_ms(SYNC_MS);
    assert_eq!(a.get(PAGE, &p).0, "v1");
    assert_eq!(log.calls.get(), 2);
    assert_eq!(a.cache.stats().purge_sync_errors, 2);
    let err = block_on(a.cache.invalidate(Purge::hard(Scope::All))).unwrap_err();
    assert!(err.to_string().contains("log down"), "{err}");
}

#[test]
fn a_sync_dropped_mid_way_does_not_block_later_syncs() {
    let clock = ManualClock::new(5_000_000);
    let log = Rc::new(BrokenLog {
        hang: true,
        calls: Cell::new(0),
    });
    let a = isolate(&clock, Some(log.clone()), "");
    let p = policy("");
    // ManualRuntime's timers never fire: poll once, then drop the request.
    let mut fut = a.cache.handle(HttpRequest::get(PAGE), &p, &a.io).boxed_local();
    let waker = futures::task::noop_waker();
    assert!(fut.poll_unpin(&mut std::task::Context::from_waker(&waker)).is_pending());
    drop(fut);
    clock.advance_ms(SYNC_MS);
    let mut fut = a.cache.handle(HttpRequest::get(PAGE), &p, &a.io).boxed_local();
    assert!(fut.poll_unpin(&mut std::task::Context::from_waker(&waker)).is_pending());
    assert_eq!(log.calls.get(), 2, "the second request synced again");
}

#[test]
fn a_purge_during_the_origin_fetch_invalidates_what_it_answered() {
    let clock = ManualClock::new(5_000_000);
    let log: Rc<dyn PurgeLog> = Rc::new(LocalPurgeLog::new(Rc::new(clock.clone())));
    let a = isolate(&clock, Some(log.clone()), "");
    let p = policy("");
    // The origin answers while another isolate purges everything.
    let log2 = log.clone();
    let calls = a.calls.clone();
    let origin: Origin = Rc::new(move |_req: HttpRequest| {
        calls.set(calls.get() + 1);
        log2.append(&Purge::hard(Scope::All)).now_or_never().unwrap().unwrap();
        let n = calls.get();
        async move { Ok(HttpResponse::text(200, &format!("v{n}"))) }.boxed_local()
    });
    let io = Io {
        origin,
        spawn: a.io.spawn.clone(),
    };
    block_on(a.cache.handle(HttpRequest::get(PAGE), &p, &io));
    clock.advance_ms(SYNC_MS);
    assert_eq!(a.get(PAGE, &p).0, "v2", "stored before the purge's sequence: refetched");
}
