//! Tests of the response cache engine, natively with a fake clock.

use super::policy::AuthorizationPolicy;
use super::*;
use crate::backend::{LocalBackend, LocalOptions};
use crate::http::{HttpRequest, HttpResponse, OriginError};
use crate::primitives::clock::{Clock, ManualClock};
use crate::primitives::ttl::Timeout;
use crate::primitives::ttl::Ttl;
use crate::response_cache::BackendStore;
use crate::runtime::ManualRuntime;
use futures::executor::{block_on, LocalPool};
use futures::future::LocalBoxFuture;
use futures::task::LocalSpawnExt;
use futures::FutureExt;

type Reply = Rc<dyn Fn(&HttpRequest, u32) -> std::result::Result<HttpResponse, OriginError>>;

pub(super) struct Rig {
    pub(super) cache: ResponseCache,
    pub(super) clock: ManualClock,
    pub(super) calls: Rc<Cell<u32>>,
    reply: Rc<RefCell<Reply>>,
    pub(super) background: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>>,
    pub(super) io: Io,
}

pub(super) fn ok(body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.as_bytes().to_vec(),
        stream: None,
    }
}

fn rig_with_store(store: Rc<dyn ResponseStore>, clock: ManualClock) -> Rig {
    let mut stores = BTreeMap::new();
    stores.insert("default".to_string(), store);
    let cache = ResponseCache::new(stores, Rc::new(ManualRuntime { clock: clock.clone() }));
    let calls = Rc::new(Cell::new(0));
    let reply: Rc<RefCell<Reply>> = Rc::new(RefCell::new(Rc::new(|_: &HttpRequest, n: u32| {
        Ok(ok(&format!("v{n}"), &[]))
    })));
    let background: Rc<RefCell<Vec<LocalBoxFuture<'static, ()>>>> = Rc::default();
    let origin: Origin = {
        let (calls, reply) = (calls.clone(), reply.clone());
        Rc::new(move |req: HttpRequest| {
            calls.set(calls.get() + 1);
            let r = (reply.borrow().clone())(&req, calls.get());
            async move { r }.boxed_local()
        })
    };
    let spawn: Spawner = {
        let bg = background.clone();
        Rc::new(move |f| bg.borrow_mut().push(f))
    };
    Rig {
        cache,
        clock,
        calls,
        reply,
        background,
        io: Io { origin, spawn },
    }
}

pub(super) fn rig() -> Rig {
    let clock = ManualClock::new(1_000_000);
    let backend = LocalBackend::with_clock(
        "",
        1,
        Timeout::default(),
        LocalOptions::default(),
        Rc::new(clock.clone()),
    );
    rig_with_store(
        Rc::new(BackendStore {
            name: "default".into(),
            backend: Rc::new(backend),
        }),
        clock,
    )
}

impl Rig {
    pub(super) fn get(&self, req: HttpRequest, policy: &CachePolicy) -> HttpResponse {
        block_on(self.cache.handle(req, policy, &self.io))
    }
    pub(super) fn set_reply(
        &self,
        f: impl Fn(&HttpRequest, u32) -> std::result::Result<HttpResponse, OriginError> + 'static,
    ) {
        *self.reply.borrow_mut() = Rc::new(f);
    }
    pub(super) fn run_background(&self) {
        let tasks: Vec<_> = self.background.borrow_mut().drain(..).collect();
        for t in tasks {
            block_on(t);
        }
    }
}

pub(super) fn status(r: &HttpResponse) -> String {
    r.header("cache-status").unwrap_or_default()
}

pub(super) fn body(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

pub(super) const URL: &str = "https://Example.COM:443/a?x=1#frag";

#[test]
fn miss_then_hit() {
    let r = rig();
    let p = CachePolicy::default();
    let a = r.get(HttpRequest::get(URL), &p);
    assert_eq!(
        (status(&a).as_str(), body(&a).as_str()),
        ("edgecache; fwd=miss; stored", "v1")
    );
    r.clock.advance_ms(2500);
    let b = r.get(HttpRequest::get("https://example.com/a?x=1"), &p);
    assert_eq!(body(&b), "v1");
    assert_eq!(status(&b), "edgecache; hit; ttl=297");
    assert_eq!(b.header("age").as_deref(), Some("2"));
    assert_eq!(r.calls.get(), 1);
    assert_eq!(r.cache.stats().hits, 1);
    let h = r.get(
        HttpRequest {
            method: "HEAD".into(),
            ..HttpRequest::get(URL)
        },
        &p,
    );
    assert!(h.body.is_empty() && status(&h).contains("hit"));
}

#[test]
fn head_miss_fetches_get_and_stores() {
    let r = rig();
    let p = CachePolicy::default();
    let h = r.get(
        HttpRequest {
            method: "HEAD".into(),
            ..HttpRequest::get(URL)
        },
        &p,
    );
    assert!(h.body.is_empty());
    assert!(status(&h).contains("stored"));
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
}

/// An origin whose answers vary on Accept-Language: "<language>-<call>".
fn language_rig() -> Rig {
    let r = rig();
    r.set_reply(|req, n| {
        Ok(ok(
            &format!("{}-{n}", req.header("accept-language").unwrap_or_default()),
            &[("vary", "Accept-Language")],
        ))
    });
    r
}

fn lang(l: &str) -> HttpRequest {
    HttpRequest::get(URL).with_header("accept-language", l)
}

#[test]
fn vary_splits_variants() {
    let r = language_rig();
    let p = CachePolicy::default();
    let (fr, de) = (|| lang("fr"), || lang("de"));
    assert_eq!(body(&r.get(fr(), &p)), "fr-1");
    assert_eq!(body(&r.get(de(), &p)), "de-2");
    let again = r.get(fr(), &p);
    assert_eq!((body(&again).as_str(), status(&again).contains("hit")), ("fr-1", true));
    assert_eq!(body(&r.get(de(), &p)), "de-2");
    assert_eq!(r.calls.get(), 2);
}

#[test]
fn private_cookie_authorization() {
    let r = rig();
    let p = CachePolicy::default();
    r.set_reply(|req, n| {
        let h: &[(&str, &str)] = match req.url.as_str() {
            "https://e.com/private" => &[("cache-control", "private")],
            "https://e.com/cookie" => &[("set-cookie", "a=1")],
            "https://e.com/public" => &[("cache-control", "public, max-age=60")],
            _ => &[],
        };
        Ok(ok(&n.to_string(), h))
    });
    for (path, detail) in [("private", "private"), ("cookie", "set-cookie")] {
        let url = format!("https://e.com/{path}");
        let a = r.get(HttpRequest::get(&url), &p);
        assert_eq!(status(&a), format!("edgecache; fwd=miss; detail={detail}"));
        assert!(status(&r.get(HttpRequest::get(&url), &p)).contains("fwd=miss"));
    }
    let authed = |u: &str| HttpRequest::get(u).with_header("authorization", "Bearer x");
    // By default an authorized request bypasses the cache.
    let a = r.get(authed("https://e.com/public"), &p);
    assert_eq!(status(&a), "edgecache; fwd=bypass; detail=authorization");
    // Opted in, RFC 9111 §3.5: stored only when the response allows sharing.
    let rfc = CachePolicy {
        authorization: AuthorizationPolicy::Rfc9111,
        ..Default::default()
    };
    let a = r.get(authed("https://e.com/plain"), &rfc);
    assert!(status(&a).contains("detail=authorization"), "{}", status(&a));
    let a = r.get(authed("https://e.com/public"), &rfc);
    assert!(status(&a).contains("stored"));
}

#[test]
fn stale_while_revalidate_serves_stale_once_then_fresh() {
    let r = rig();
    let p = CachePolicy {
        ttl: Ttl::Seconds(1.0),
        stale_while_revalidate: 10.0,
        ..Default::default()
    };
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
    r.clock.advance_ms(2000);
    let stale = r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&stale), "v1");
    // Lifetime 1 s, age 2 s: ttl = 1 − 2.
    assert_eq!(status(&stale), "edgecache; hit; ttl=-1; detail=stale-while-revalidate");
    assert_eq!(r.calls.get(), 1, "the refresh runs after the response");
    let again = r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&again), "v1");
    assert_eq!(r.background.borrow().len(), 1, "one refresh per key at a time");
    r.run_background();
    assert_eq!(r.calls.get(), 2);
    let fresh = r.get(HttpRequest::get(URL), &p);
    assert_eq!(
        (
            body(&fresh).as_str(),
            status(&fresh).starts_with("edgecache; hit; ttl=")
        ),
        ("v2", true)
    );
}

#[test]
fn stale_if_error_when_origin_fails() {
    let r = rig();
    let p = CachePolicy {
        ttl: Ttl::Seconds(1.0),
        stale_if_error: 60.0,
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(5000);
    r.set_reply(|_, _| Err(OriginError::Unreachable("connection refused".into())));
    let a = r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&a), "v1");
    assert_eq!(
        status(&a),
        "edgecache; fwd=stale; fwd-status=502; ttl=-4; detail=stale-if-error"
    );
    r.set_reply(|_, _| Ok(HttpResponse::text(503, "down")));
    let b = r.get(HttpRequest::get(URL), &p);
    assert!(status(&b).contains("fwd-status=503") && body(&b) == "v1");
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[])));
    let c = r.get(HttpRequest::get(URL), &p);
    assert_eq!(status(&c), "edgecache; fwd=stale; stored");
    assert_eq!(body(&c), "v4");
    r.clock.advance_ms(120_000);
    r.set_reply(|_, _| Err(OriginError::Unreachable("down".into())));
    let d = r.get(HttpRequest::get(URL), &p);
    assert_eq!(d.status, 502, "past the stale-if-error window nothing is served");
}

struct DownStore;

#[async_trait::async_trait(?Send)]
impl ResponseStore for DownStore {
    fn name(&self) -> &str {
        "down"
    }
    fn default_timeout(&self) -> Timeout {
        Timeout::default()
    }
    async fn get(&self, _: &str, _: Option<i64>) -> Result<Option<Vec<u8>>> {
        Err(CacheError::backend("down", "connection refused"))
    }
    async fn put(&self, _: &str, _: Vec<u8>, _: Ttl, _: Option<i64>) -> Result<()> {
        Err(CacheError::backend("down", "connection refused"))
    }
    async fn delete(&self, _: &str, _: Option<i64>) -> Result<bool> {
        Err(CacheError::backend("down", "connection refused"))
    }
    async fn delete_prefix(&self, _: &str, _: Option<i64>) -> Result<usize> {
        Err(CacheError::backend("down", "connection refused"))
    }
}

#[test]
fn store_down_fails_open() {
    let r = rig_with_store(Rc::new(DownStore), ManualClock::new(0));
    let a = r.get(HttpRequest::get(URL), &CachePolicy::default());
    assert_eq!((a.status, body(&a).as_str()), (200, "v1"));
    assert!(status(&a).contains("fwd=bypass; detail=store-error"), "{}", status(&a));
    assert!(r.cache.stats().store_errors >= 1);
    let unknown = CachePolicy {
        backend: Some("nope".into()),
        ..Default::default()
    };
    let b = r.get(HttpRequest::get(URL), &unknown);
    assert_eq!(b.status, 200);
}

#[test]
fn hundred_concurrent_misses_make_one_origin_request() {
    let r = rig();
    let out = collapse(&r, vec![HttpRequest::get(URL); 100], |_| ok("one", &[]));
    assert_eq!(out.len(), 100);
    assert_eq!(r.calls.get(), 1);
    assert!(out.iter().all(|x| body(x) == "one"));
    assert_eq!(out.iter().filter(|x| status(x).contains("collapsed")).count(), 99);
    assert_eq!(r.cache.stats().collapsed, 99);
}

#[test]
fn request_no_cache_is_ignored_unless_honoured_then_rate_limited() {
    let r = rig();
    let nc = || HttpRequest::get(URL).with_header("cache-control", "no-cache");
    // A shared cache ignores it by default: any client could refetch at will.
    let p = CachePolicy::default();
    r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&r.get(nc(), &p)), "v1");
    let p = CachePolicy {
        honor_client_no_cache: true,
        ..Default::default()
    };
    // Honoured, but an entry younger than a second is served.
    assert_eq!(body(&r.get(nc(), &p)), "v1");
    r.clock.advance_ms(1000);
    let a = r.get(nc(), &p);
    assert_eq!(
        (status(&a).as_str(), body(&a).as_str()),
        ("edgecache; fwd=request; stored", "v2")
    );
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v2");
    let b = r.get(HttpRequest::get(URL).with_header("cache-control", "no-store"), &p);
    assert_eq!(status(&b), "edgecache; fwd=bypass; detail=no-store");
}

#[test]
fn keys_prefixes_generations_and_purges() {
    let r = rig();
    let blog = CachePolicy {
        key_prefix: "blog".into(),
        ..Default::default()
    };
    assert_eq!(
        r.cache.key_for(&HttpRequest::get(URL), &blog),
        "GET https://example.com/a?x=1:blog"
    );
    assert_eq!(
        r.cache.key_for(&HttpRequest::get(URL), &CachePolicy::default()),
        "GET https://example.com/a?x=1:view"
    );
    let custom = CachePolicy {
        make_key: Some(Rc::new(|req: &HttpRequest, prefix: &str| {
            format!("{prefix}|{}", req.header("x-tenant").unwrap_or_default())
        })),
        key_prefix: "t".into(),
        ..Default::default()
    };
    assert_eq!(
        r.cache
            .key_for(&HttpRequest::get(URL).with_header("x-tenant", "acme"), &custom),
        "t|acme"
    );

    r.get(HttpRequest::get("https://e.com/posts/1"), &blog);
    r.get(HttpRequest::get("https://e.com/posts/2"), &blog);
    r.get(HttpRequest::get("https://e.com/about"), &blog);
    assert_eq!(r.calls.get(), 3);
    assert!(block_on(r.cache.purge_url("https://e.com/about", &blog)).unwrap());
    assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("miss"));
    assert_eq!(
        block_on(r.cache.purge_prefix("https://e.com/posts/", &blog)).unwrap(),
        2
    );
    assert!(status(&r.get(HttpRequest::get("https://e.com/posts/1"), &blog)).contains("miss"));
    assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("hit"));
    assert_eq!(block_on(r.cache.bump_generation(&blog)).unwrap(), 1);
    assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("miss"));
    assert!(status(&r.get(HttpRequest::get("https://e.com/about"), &blog)).contains("hit"));
    let other = CachePolicy::default();
    r.get(HttpRequest::get("https://e.com/x"), &other);
    block_on(r.cache.bump_generation(&blog)).unwrap();
    assert!(
        status(&r.get(HttpRequest::get("https://e.com/x"), &other)).contains("hit"),
        "a bump touches one prefix only"
    );
}

#[test]
fn another_isolates_bump_shows_within_the_refresh_time() {
    let clock = ManualClock::new(1_000_000);
    let backend: Rc<dyn crate::backend::CacheBackend> = Rc::new(LocalBackend::with_clock(
        "",
        1,
        Timeout::default(),
        LocalOptions::default(),
        Rc::new(clock.clone()),
    ));
    let store = || -> Rc<dyn ResponseStore> {
        Rc::new(BackendStore {
            name: "default".into(),
            backend: backend.clone(),
        })
    };
    let a = rig_with_store(store(), clock.clone());
    let b = rig_with_store(store(), clock.clone());
    let p = CachePolicy::default();
    a.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&b.get(HttpRequest::get(URL), &p)), "v1", "b shares a's entry");
    block_on(a.cache.bump_generation(&p)).unwrap();
    assert_eq!(
        body(&a.get(HttpRequest::get(URL), &p)),
        "v2",
        "a sees its own bump at once"
    );
    assert_eq!(
        body(&b.get(HttpRequest::get(URL), &p)),
        "v1",
        "b trusts its generation for a while"
    );
    clock.advance_ms(GENERATION_REFRESH_MS);
    let r = b.get(HttpRequest::get(URL), &p);
    assert_eq!(
        (body(&r).as_str(), status(&r).contains("hit")),
        ("v2", true),
        "b sees a's bump and a's new entry"
    );
    assert_eq!(b.calls.get(), 0);
}

#[test]
fn origin_ttl_and_size_limit() {
    let r = rig();
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=2")])));
    let p = CachePolicy {
        ttl: Ttl::Seconds(100.0),
        origin_ttl: true,
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(2500);
    assert!(status(&r.get(HttpRequest::get(URL), &p)).contains("miss"));
    let small = CachePolicy {
        max_entry_bytes: 1,
        ..Default::default()
    };
    let a = r.get(HttpRequest::get("https://e.com/big"), &small);
    assert!(status(&a).contains("detail=too-large"));
}

#[test]
fn for_service_uses_every_backend_by_name() {
    let service = crate::service::CacheService::from_config(
        r#"{"default": {"backend": "local"}, "pages": {"backend": "local", "ttl": 60}}"#,
        &crate::backend::NoSecrets,
    )
    .unwrap();
    let cache = ResponseCache::for_service(&service, Rc::new(ManualRuntime::default()));
    assert_eq!(
        cache.store(Some("pages")).unwrap().default_timeout(),
        Timeout::Seconds(60.0)
    );
    let r = rig();
    let io = Io {
        origin: r.io.origin.clone(),
        spawn: r.io.spawn.clone(),
    };
    let p = CachePolicy {
        backend: Some("pages".into()),
        ..Default::default()
    };
    block_on(cache.handle(HttpRequest::get(URL), &p, &io));
    let hit = block_on(cache.handle(HttpRequest::get(URL), &p, &io));
    let st = status(&hit);
    assert!(st == "edgecache; hit; ttl=60" || st == "edgecache; hit; ttl=59", "{st}");
    assert!(service.stats()["pages"]["entries"].as_u64().unwrap() >= 1);
    assert!(cache.store(Some("nope")).is_err());
}

#[test]
fn url_normalization() {
    assert_eq!(
        normalize_url("HTTPS://Ex.com:443/p?b=2&a=1#f", false),
        "https://ex.com/p?b=2&a=1"
    );
    assert_eq!(normalize_url("http://ex.com:80/p?", false), "http://ex.com/p");
    assert_eq!(
        normalize_url("http://ex.com/p?b=2&a=1", true),
        "http://ex.com/p?a=1&b=2"
    );
    assert_eq!(normalize_url("http://ex.com:8080/", false), "http://ex.com:8080/");
    // Sorted by name only: repeated parameters keep their order, so
    // `q=good&q=evil` and `q=evil&q=good` never share an entry.
    assert_eq!(
        normalize_url("http://ex.com/?q=good&a=1&q=evil", true),
        "http://ex.com/?a=1&q=good&q=evil"
    );
    assert_ne!(
        normalize_url("http://ex.com/?q=good&q=evil", true),
        normalize_url("http://ex.com/?q=evil&q=good", true)
    );
}

#[test]
fn rfc9111_4_4_unsafe_methods_invalidate_the_url_and_same_origin_locations() {
    let r = rig();
    let p = CachePolicy::default();
    r.set_reply(|req, n| {
        let mut resp = ok(&format!("v{n}"), &[]);
        if req.method == "POST" {
            resp.headers.push(("location".into(), "/created".into()));
            resp.headers
                .push(("content-location".into(), "https://other.example/x".into()));
        }
        Ok(resp)
    });
    for u in ["https://e.com/doc", "https://e.com/created"] {
        r.get(HttpRequest::get(u), &p);
        assert!(status(&r.get(HttpRequest::get(u), &p)).contains("hit"));
    }
    let post = HttpRequest {
        method: "POST".into(),
        ..HttpRequest::get("https://e.com/doc")
    };
    assert_eq!(status(&r.get(post, &p)), "edgecache; fwd=bypass; detail=method");
    assert!(status(&r.get(HttpRequest::get("https://e.com/doc"), &p)).contains("fwd=miss"));
    assert!(status(&r.get(HttpRequest::get("https://e.com/created"), &p)).contains("fwd=miss"));
}

/// A runtime whose timers fire at once: every origin call times out.
struct Impatient(ManualRuntime);

impl crate::Clock for Impatient {
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
}

impl crate::Runtime for Impatient {
    fn sleep(&self, _ms: u64) -> LocalBoxFuture<'static, ()> {
        futures::future::ready(()).boxed_local()
    }
}

#[test]
fn origin_timeout_is_a_504_and_stale_if_error_covers_it() {
    let clock = ManualClock::new(1_000_000);
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
    let patient = ResponseCache::new(stores.clone(), Rc::new(ManualRuntime { clock: clock.clone() }));
    let impatient = ResponseCache::new(stores, Rc::new(Impatient(ManualRuntime { clock: clock.clone() })));
    let answering: Origin = Rc::new(|_| async { Ok(ok("stored", &[])) }.boxed_local());
    let hanging: Origin = Rc::new(|_| futures::future::pending().boxed_local());
    let io = |origin: Origin| Io {
        origin,
        spawn: Rc::new(|_| {}),
    };
    let p = CachePolicy {
        ttl: Ttl::Seconds(1.0),
        stale_if_error: 60.0,
        origin_timeout_ms: 250,
        ..Default::default()
    };
    block_on(patient.handle(HttpRequest::get(URL), &p, &io(answering)));
    clock.advance_ms(2000);
    let stale = block_on(impatient.handle(HttpRequest::get(URL), &p, &io(hanging.clone())));
    assert_eq!(body(&stale), "stored");
    assert!(
        status(&stale).contains("fwd=stale; fwd-status=504"),
        "{}",
        status(&stale)
    );
    let cold = block_on(impatient.handle(HttpRequest::get("https://e.com/cold"), &p, &io(hanging)));
    assert_eq!(cold.status, 504);
    assert_eq!(body(&cold), "origin timeout: no answer within 250 ms");
}

/// Concurrent requests for one key: the first leads the origin fetch,
/// which answers only once all of them are waiting.
fn collapse(
    r: &Rig,
    requests: Vec<HttpRequest>,
    reply: impl Fn(&HttpRequest) -> HttpResponse + 'static,
) -> Vec<HttpResponse> {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let gate = Rc::new(RefCell::new(Some(rx)));
    let calls = r.calls.clone();
    let origin: Origin = Rc::new(move |req| {
        calls.set(calls.get() + 1);
        let wait = gate.borrow_mut().take();
        let resp = reply(&req);
        async move {
            if let Some(w) = wait {
                let _ = w.await;
            }
            Ok(resp)
        }
        .boxed_local()
    });
    let io = Rc::new(Io {
        origin,
        spawn: r.io.spawn.clone(),
    });
    let mut pool = LocalPool::new();
    let out: Rc<RefCell<Vec<Option<HttpResponse>>>> = Rc::new(RefCell::new(vec![None; requests.len()]));
    for (i, req) in requests.into_iter().enumerate() {
        let (cache, io, out) = (r.cache.clone(), io.clone(), out.clone());
        pool.spawner()
            .spawn_local(async move {
                let resp = cache.handle(req, &CachePolicy::default(), &io).await;
                out.borrow_mut()[i] = Some(resp);
            })
            .unwrap();
    }
    pool.run_until_stalled();
    tx.send(()).unwrap();
    pool.run_until_stalled();
    let out = out.borrow();
    out.iter().map(|r| r.clone().expect("answered")).collect()
}

fn collapse_two(
    r: &Rig,
    first: HttpRequest,
    second: HttpRequest,
    reply: impl Fn(&HttpRequest) -> HttpResponse + 'static,
) -> (HttpResponse, HttpResponse) {
    let mut out = collapse(r, vec![first, second], reply);
    let b = out.pop().expect("two");
    (out.pop().expect("two"), b)
}

#[test]
fn a_waiter_never_gets_another_users_private_answer() {
    let r = rig();
    let alice = HttpRequest::get(URL).with_header("authorization", "Bearer alice");
    let (a, b) = collapse_two(&r, alice, HttpRequest::get(URL), |req| {
        match req.header("authorization") {
            Some(who) => ok(
                &format!("hello {who}"),
                &[("cache-control", "private"), ("set-cookie", "session=alice")],
            ),
            None => ok("hello anonymous", &[]),
        }
    });
    assert_eq!(body(&a), "hello Bearer alice");
    assert_eq!((body(&b).as_str(), b.header("set-cookie")), ("hello anonymous", None));
    assert_eq!(r.calls.get(), 2);
}

#[test]
fn a_waiter_never_gets_a_partial_answer() {
    let r = rig();
    let ranged = HttpRequest::get(URL).with_header("range", "bytes=0-1");
    let (_, b) = collapse_two(&r, ranged, HttpRequest::get(URL), |req| {
        if req.header("range").is_some() {
            HttpResponse {
                status: 206,
                headers: vec![("content-range".into(), "bytes 0-1/10".into())],
                body: b"01".to_vec(),
                stream: None,
            }
        } else {
            ok("0123456789", &[])
        }
    });
    assert_eq!((b.status, body(&b).as_str()), (200, "0123456789"));
}

#[test]
fn a_waiter_shares_a_public_answer() {
    let r = rig();
    let (a, b) = collapse_two(&r, HttpRequest::get(URL), HttpRequest::get(URL), |_| ok("same", &[]));
    assert_eq!((body(&a), body(&b)), ("same".to_string(), "same".to_string()));
    assert!(status(&b).contains("collapsed"), "{}", status(&b));
    assert_eq!(r.calls.get(), 1);
}

#[test]
fn must_revalidate_is_never_served_stale() {
    let r = rig();
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=1, must-revalidate")])));
    let p = CachePolicy {
        origin_ttl: true,
        stale_while_revalidate: 60.0,
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(5_000);
    let b = r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&b), "v2", "{}", status(&b));
}

#[test]
fn a_huge_origin_max_age_is_capped_not_overflowed() {
    let r = rig();
    r.set_reply(|_, n| {
        Ok(ok(
            &format!("v{n}"),
            &[("cache-control", "max-age=31536000000000000, stale-while-revalidate=60")],
        ))
    });
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    assert!(status(&r.get(HttpRequest::get(URL), &p)).contains("stored"));
    r.clock.advance_ms(86_400_000);
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
}

#[test]
fn a_corrupt_vary_pointer_is_a_miss_not_an_answer() {
    let r = rig();
    let p = CachePolicy::default();
    let key = r.cache.key_for(&HttpRequest::get(URL), &p);
    let fresh = crate::http::Freshness {
        fresh_ms: Some(60_000),
        swr_ms: 0,
        sie_ms: 0,
        keep_ms: 0,
        must_revalidate: false,
    };
    let bad = CachedResponse::variants(vec![], 1_000_000, fresh);
    let store = r.cache.store(None).unwrap();
    block_on(store.put(&key, bad.encode(), Ttl::Seconds(60.0), None)).unwrap();
    let a = r.get(HttpRequest::get(URL), &p);
    assert_eq!((a.status, body(&a).as_str()), (200, "v1"), "{}", status(&a));
    assert_eq!(r.cache.stats().store_errors, 1);
}

#[test]
fn an_origin_error_is_counted_once() {
    let r = rig();
    r.set_reply(|_, _| Err(OriginError::Unreachable("down".into())));
    assert_eq!(r.get(HttpRequest::get(URL), &CachePolicy::default()).status, 502);
    assert_eq!(r.cache.stats().origin_errors, 1);
}

#[test]
fn purge_url_drops_the_variants_too() {
    let r = language_rig();
    let p = CachePolicy::default();
    let (fr, de) = (|| lang("fr"), || lang("de"));
    r.get(fr(), &p);
    assert_eq!(body(&r.get(de(), &p)), "de-2");
    assert!(block_on(r.cache.purge_url(URL, &p)).unwrap());
    assert_eq!(body(&r.get(fr(), &p)), "fr-3", "pointer rewritten");
    assert_eq!(body(&r.get(de(), &p)), "de-4", "a purged variant came back");
}

#[test]
fn with_origin_ttl_the_origins_age_counts() {
    let r = rig();
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=60"), ("age", "50")])));
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(5_000);
    let a = r.get(HttpRequest::get(URL), &p);
    assert_eq!(
        (body(&a).as_str(), a.header("age")),
        ("v1", Some("55".into())),
        "{}",
        status(&a)
    );
    assert!(status(&a).contains("ttl=5"), "{}", status(&a));
    r.clock.advance_ms(15_000); // 70 s old
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v2");
    // Older than its lifetime on arrival: not stored at all.
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("cache-control", "max-age=60"), ("age", "90")])));
    let p2 = CachePolicy {
        origin_ttl: true,
        key_prefix: "other".into(),
        ..Default::default()
    };
    assert!(status(&r.get(HttpRequest::get(URL), &p2)).contains("detail=too-old"));
}

#[test]
fn with_origin_ttl_an_expires_in_the_past_is_not_served_from_cache() {
    let r = rig();
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")])));
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v2");
}

#[test]
fn waiters_share_a_failing_origins_error_but_not_a_no_store_answer() {
    let r = rig();
    let (_, b) = collapse_two(&r, HttpRequest::get(URL), HttpRequest::get(URL), |_| HttpResponse {
        status: 503,
        headers: vec![],
        body: b"overloaded".to_vec(),
        stream: None,
    });
    assert_eq!((b.status, r.calls.get()), (503, 1), "{}", status(&b));
    let r = rig();
    let (_, b) = collapse_two(&r, HttpRequest::get(URL), HttpRequest::get(URL), |_| {
        ok("mine", &[("cache-control", "no-store")])
    });
    assert_eq!((body(&b).as_str(), r.calls.get()), ("mine", 2));
}

/// A store that counts its prefix deletes (a keyspace scan on Redis).
struct CountingScans {
    inner: BackendStore,
    scans: Rc<Cell<u32>>,
}

#[async_trait::async_trait(?Send)]
impl ResponseStore for CountingScans {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn default_timeout(&self) -> Timeout {
        self.inner.default_timeout()
    }
    fn remote(&self) -> bool {
        false
    }
    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Vec<u8>>> {
        self.inner.get(key, version).await
    }
    async fn put(&self, key: &str, bytes: Vec<u8>, ttl: Ttl, version: Option<i64>) -> Result<()> {
        self.inner.put(key, bytes, ttl, version).await
    }
    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        self.inner.delete(key, version).await
    }
    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        self.scans.set(self.scans.get() + 1);
        self.inner.delete_prefix(prefix, version).await
    }
}

#[test]
fn a_write_to_an_uncached_url_scans_nothing_a_purge_does() {
    let clock = ManualClock::new(1_000_000);
    let scans = Rc::new(Cell::new(0));
    let store = CountingScans {
        inner: BackendStore {
            name: "default".into(),
            backend: Rc::new(LocalBackend::with_clock(
                "",
                1,
                Timeout::default(),
                LocalOptions::default(),
                Rc::new(clock.clone()),
            )),
        },
        scans: scans.clone(),
    };
    let r = rig_with_store(Rc::new(store), clock);
    let p = CachePolicy::default();
    let post = HttpRequest {
        method: "POST".into(),
        ..HttpRequest::get("https://e.com/form")
    };
    r.get(post, &p);
    assert_eq!(scans.get(), 0, "a POST to an uncached URL must not scan the store");
    block_on(r.cache.purge_url("https://e.com/form", &p)).unwrap();
    assert_eq!(
        scans.get(),
        1,
        "a purge of an absent URL still looks for stray variants"
    );
}

/// An origin that answers 304 to a request carrying `If-None-Match: "e1"`,
/// else a 200 with that ETag and `cache-control`.
fn validating_origin(r: &Rig, cc: &'static str) {
    r.set_reply(move |req, n| {
        if req.header("if-none-match").as_deref() == Some("\"e1\"") {
            return Ok(HttpResponse {
                status: 304,
                headers: vec![
                    ("etag".into(), "\"e1\"".into()),
                    ("x-seen".into(), n.to_string()),
                    ("content-length".into(), "0".into()),
                ],
                body: Vec::new(),
                stream: None,
            });
        }
        Ok(ok(
            &format!("v{n}"),
            &[("etag", "\"e1\""), ("cache-control", cc), ("x-seen", "1")],
        ))
    });
}

#[test]
fn rfc9111_4_3_a_stale_entry_is_revalidated_and_a_304_updates_it() {
    let r = rig();
    validating_origin(&r, "max-age=10");
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    assert_eq!(body(&r.get(HttpRequest::get(URL), &p)), "v1");
    r.clock.advance_ms(11_000);
    let b = r.get(HttpRequest::get(URL), &p);
    assert_eq!(body(&b), "v1", "the stored body");
    assert_eq!(status(&b), "edgecache; fwd=stale; fwd-status=304; stored");
    assert_eq!(
        b.header("x-seen").as_deref(),
        Some("2"),
        "§3.2: the 304's fields replace the stored ones"
    );
    assert_ne!(
        b.header("content-length").as_deref(),
        Some("0"),
        "§3.2: never the 304's Content-Length"
    );
    // Fresh again for max-age from the 304.
    r.clock.advance_ms(5_000);
    let c = r.get(HttpRequest::get(URL), &p);
    assert!(status(&c).contains("hit"), "{}", status(&c));
    assert_eq!(c.header("x-seen").as_deref(), Some("2"));
    assert_eq!(r.calls.get(), 2);
}

#[test]
fn rfc9111_4_3_4_a_304_for_another_representation_means_a_full_fetch() {
    let r = rig();
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    r.set_reply(|req, n| match (req.header("if-none-match"), n) {
        (Some(_), _) => Ok(HttpResponse {
            status: 304,
            headers: vec![("etag".into(), "\"other\"".into())],
            ..Default::default()
        }),
        _ => Ok(ok(
            &format!("v{n}"),
            &[("etag", "\"e1\""), ("cache-control", "max-age=1")],
        )),
    });
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(2_000);
    let b = r.get(HttpRequest::get(URL), &p);
    assert_eq!((b.status, body(&b).as_str()), (200, "v3"));
    assert_eq!(r.calls.get(), 3);
}

#[test]
fn rfc9111_4_2_4_stale_while_revalidate_refreshes_with_a_conditional_request() {
    let r = rig();
    validating_origin(&r, "max-age=10, stale-while-revalidate=60");
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(11_000);
    let b = r.get(HttpRequest::get(URL), &p);
    assert!(status(&b).contains("stale-while-revalidate"), "{}", status(&b));
    r.run_background();
    assert_eq!(r.calls.get(), 2);
    let c = r.get(HttpRequest::get(URL), &p);
    assert!(status(&c).contains("hit"));
    assert_eq!((body(&c).as_str(), c.header("x-seen").as_deref()), ("v1", Some("2")));
}

#[test]
fn rfc9111_4_3_2_client_conditions_and_ranges_are_answered_from_the_entry() {
    let r = rig();
    validating_origin(&r, "max-age=60");
    let p = CachePolicy {
        origin_ttl: true,
        ..Default::default()
    };
    // The origin is asked for the whole, unconditional response...
    let first = r.get(
        HttpRequest::get(URL)
            .with_header("if-none-match", "\"e1\"")
            .with_header("range", "bytes=0-0"),
        &p,
    );
    assert_eq!(first.status, 304, "...and the client's condition is answered from it");
    assert_eq!(first.header("etag").as_deref(), Some("\"e1\""));
    let ranged = r.get(HttpRequest::get(URL).with_header("range", "bytes=1-"), &p);
    assert_eq!((ranged.status, body(&ranged).as_str()), (206, "1"));
    assert_eq!(ranged.header("content-range").as_deref(), Some("bytes 1-1/2"));
    let failed = r.get(HttpRequest::get(URL).with_header("if-match", "\"zz\""), &p);
    assert_eq!(failed.status, 412);
    assert_eq!(r.calls.get(), 1);
}

#[test]
fn rfc9111_5_2_1_7_only_if_cached_never_asks_the_origin() {
    let r = rig();
    let p = CachePolicy::default();
    let a = r.get(HttpRequest::get(URL).with_header("cache-control", "only-if-cached"), &p);
    assert_eq!(a.status, 504);
    assert_eq!(r.calls.get(), 0);
    r.get(HttpRequest::get(URL), &p);
    let b = r.get(HttpRequest::get(URL).with_header("cache-control", "only-if-cached"), &p);
    assert_eq!((b.status, body(&b).as_str()), (200, "v1"));
}

#[test]
fn rfc9111_5_2_1_request_max_age_min_fresh_max_stale_when_honoured() {
    let r = rig();
    let honour = CachePolicy {
        ttl: Ttl::Seconds(10.0),
        // Keeps stale entries stored, for max-stale to reach.
        stale_if_error: 60.0,
        honor_request_directives: true,
        ..Default::default()
    };
    let cc = |v: &str| HttpRequest::get(URL).with_header("cache-control", v);
    r.get(HttpRequest::get(URL), &honour);
    r.clock.advance_ms(5_000);
    assert!(status(&r.get(cc("max-age=10"), &honour)).contains("hit"));
    assert_eq!(body(&r.get(cc("max-age=2"), &honour)), "v2");
    r.clock.advance_ms(5_000);
    assert_eq!(body(&r.get(cc("min-fresh=8"), &honour)), "v3");
    r.clock.advance_ms(12_000);
    let stale = r.get(cc("max-stale=5"), &honour);
    assert_eq!(body(&stale), "v3", "{}", status(&stale));
    assert_eq!(
        body(&r.get(cc("max-stale=1"), &honour)),
        "v4",
        "too stale for this client"
    );
    // Off (the default): the client's directives do not change the answer.
    let r = rig();
    let p = CachePolicy {
        ttl: Ttl::Seconds(10.0),
        ..Default::default()
    };
    r.get(HttpRequest::get(URL), &p);
    r.clock.advance_ms(5_000);
    assert_eq!(body(&r.get(cc("max-age=2"), &p)), "v1");
}

#[test]
fn rfc9111_5_2_2_4_a_no_cache_entry_is_revalidated_on_every_use() {
    let r = rig();
    validating_origin(&r, "no-cache");
    let p = CachePolicy::default();
    for _ in 0..3 {
        let a = r.get(HttpRequest::get(URL), &p);
        assert_eq!(body(&a), "v1");
    }
    assert_eq!(r.calls.get(), 3);
}

// Ready answers (hit_slots.rs): what the platform is offered must be the
// engine's own answer, and every change the engine sees must end it.

fn slotted() -> Rig {
    let r = rig();
    r.cache.enable_hit_slots(42);
    r
}

#[test]
fn a_fresh_hit_offers_a_ready_answer_equal_to_the_engines() {
    let r = slotted();
    let p = CachePolicy::default();
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("x-kind", "page"), ("age", "3")])));
    r.get(HttpRequest::get(URL), &p);
    assert_eq!(r.cache.take_hit_offer(), None, "a miss offers nothing");
    r.clock.advance_ms(1500);
    let hit = r.get(HttpRequest::get(URL), &p);
    let o = r.cache.take_hit_offer().expect("offered on the hit");
    assert_eq!(r.cache.take_hit_offer(), None, "taken once");
    assert_eq!((o.nonce, o.url.as_str(), o.status), (42, URL, 200));
    assert_eq!(o.body, hit.body);
    assert_eq!(o.headers, vec![("x-kind".to_string(), "page".to_string())]);
    // What the platform computes from the offer at the same instant.
    let now = r.clock.now_ms();
    let age = (now - o.stored_at_ms) / 1000;
    let ttl = (o.fresh_until_ms.unwrap() - now) / 1000;
    assert_eq!(hit.header("age"), Some(age.to_string()));
    assert_eq!(status(&hit), format!("edgecache; hit; ttl={ttl}"));
    let before = r.cache.stats();
    assert!(r.cache.slot_hit(o.id, o.nonce, now));
    let after = r.cache.stats();
    assert_eq!((after.hits, after.ready_hits), (before.hits + 1, 1));
    assert!(!r.cache.slot_hit(o.id, 41, now), "another instance's slot");
    r.get(HttpRequest::get(URL), &p);
    assert_eq!(r.cache.take_hit_offer(), None, "one slot per entry");
}

#[test]
fn writes_purges_and_time_end_ready_answers() {
    let r = slotted();
    let p = CachePolicy::default();
    let offered = |r: &Rig| {
        r.get(HttpRequest::get(URL), &p);
        r.get(HttpRequest::get(URL), &p);
        r.cache.take_hit_offer().expect("offered")
    };
    let o = offered(&r);
    // The generation is trusted for a second; so is the slot.
    let now = r.clock.now_ms();
    assert!(o.until_ms <= now + GENERATION_REFRESH_MS);
    assert!(!r.cache.slot_hit(o.id, o.nonce, o.until_ms));
    // A slot past its time is replaced on the next hit, even when the
    // platform dropped it without asking.
    let o = offered(&r);
    r.clock.advance_ms(o.until_ms - r.clock.now_ms());
    r.get(HttpRequest::get(URL), &p);
    let again = r.cache.take_hit_offer().expect("offered again");
    assert!(again.id != o.id && again.until_ms > o.until_ms);
    r.cache.drop_hit_slot(again.id);
    let o = offered(&r);
    block_on(r.cache.purge_url(URL, &p)).unwrap();
    assert!(!r.cache.slot_hit(o.id, o.nonce, r.clock.now_ms()), "purged");
    let o = offered(&r);
    block_on(r.cache.bump_generation(&p)).unwrap();
    assert!(!r.cache.slot_hit(o.id, o.nonce, r.clock.now_ms()), "generation bumped");
    let o = offered(&r);
    block_on(r.cache.invalidate(purge_log::Purge::soft(purge_log::Scope::All))).unwrap();
    assert!(!r.cache.slot_hit(o.id, o.nonce, r.clock.now_ms()), "soft purge");
    // A refetch (the client's no-cache, honoured) writes the key again.
    let o = offered(&r);
    let honour = CachePolicy {
        honor_client_no_cache: true,
        ..Default::default()
    };
    r.clock.advance_ms(1000);
    r.get(HttpRequest::get(URL).with_header("cache-control", "no-cache"), &honour);
    assert!(!r.cache.slot_hit(o.id, o.nonce, r.clock.now_ms()), "rewritten");
    let o = offered(&r);
    r.cache.forget_hit_slots();
    assert!(!r.cache.slot_hit(o.id, o.nonce, r.clock.now_ms()), "admin write");
    assert_eq!(r.cache.stats().ready_hits, 0);
}

#[test]
fn no_ready_answer_for_varying_entries_custom_keys_or_until_enabled() {
    let r = rig();
    let p = CachePolicy::default();
    r.get(HttpRequest::get(URL), &p);
    r.get(HttpRequest::get(URL), &p);
    assert_eq!(r.cache.take_hit_offer(), None, "not enabled");
    let r = slotted();
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[("vary", "accept-language")])));
    let fr = || HttpRequest::get(URL).with_header("accept-language", "fr");
    r.get(fr(), &p);
    assert!(status(&r.get(fr(), &p)).contains("hit"));
    assert_eq!(r.cache.take_hit_offer(), None, "the URL alone does not find it");
    let custom = CachePolicy {
        make_key: Some(Rc::new(|req: &HttpRequest, _: &str| format!("k:{}", req.url))),
        ..Default::default()
    };
    r.set_reply(|_, n| Ok(ok(&format!("v{n}"), &[])));
    r.get(HttpRequest::get(URL), &custom);
    assert!(status(&r.get(HttpRequest::get(URL), &custom)).contains("hit"));
    assert_eq!(
        r.cache.take_hit_offer(),
        None,
        "a custom key may read more than the URL"
    );
}
