//! The purge log's cost on the response cache's hit path, natively: the
//! engine answering the same cached page from a `local` store, with no purge
//! log (the peer), with a shared log that is empty, and with one holding
//! 1000 tag purges and 200 URL purges of other pages (every hit is checked
//! against real marks: the tags of the entry, its URL, the prefixes). The
//! clock advances 1 ms per request, so the log is synced once per 1000
//! requests as `purge_sync_ms = 1000` would at 1000 requests/s per isolate.
//! Passes alternate between the three; the table has the median and the
//! fastest pass in ns/request (the fastest is the steadier figure on a busy
//! machine: other load only ever adds time).
//!
//! Usage: `cargo run --release -p edgecache-bench --bin purge -- [requests=200000] [runs=5]`

use std::rc::Rc;
use std::time::Instant;

use edgecache::http::{HttpRequest, HttpResponse};
use edgecache::response_cache::purge_log::{LocalPurgeLog, Purge, PurgeLog, Scope};
use edgecache::response_cache::{BackendStore, CachePolicy, Io, Origin, ResponseStore};
use edgecache::runtime::ManualRuntime;
use edgecache::{LocalBackend, LocalOptions, ManualClock, ResponseCache, Timeout, Ttl};
use futures::executor::block_on;
use futures::FutureExt;

const URL: &str = "https://site.test/shop/item?id=7";

struct Setup {
    name: &'static str,
    cache: ResponseCache,
    clock: ManualClock,
    io: Io,
    policy: CachePolicy,
}

fn setup(name: &'static str, log: Option<usize>) -> Setup {
    let clock = ManualClock::new(1_700_000_000_000);
    let backend = LocalBackend::with_clock(
        "site",
        1,
        Timeout::default(),
        LocalOptions::default(),
        Rc::new(clock.clone()),
    );
    let stores = [(
        "default".to_string(),
        Rc::new(BackendStore {
            name: "default".into(),
            backend: Rc::new(backend),
        }) as Rc<dyn ResponseStore>,
    )]
    .into_iter()
    .collect();
    let cache = ResponseCache::new(stores, Rc::new(ManualRuntime { clock: clock.clone() }));
    if let Some(tags) = log {
        let shared = Rc::new(LocalPurgeLog::new(Rc::new(clock.clone())));
        for i in 0..tags {
            block_on(shared.append(&Purge::hard(Scope::Tag(format!("tag-{i}"))))).unwrap();
        }
        for i in 0..tags / 5 {
            block_on(shared.append(&Purge::hard(Scope::Url(format!("https://site.test/other-{i}"))))).unwrap();
        }
        cache.set_purge_log(shared, 1000);
    }
    let origin: Origin = Rc::new(|_req: HttpRequest| {
        let mut r = HttpResponse::text(200, &"x".repeat(2000));
        r.headers.push(("cache-tag".into(), "page shop product-7".into()));
        async move { Ok(r) }.boxed_local()
    });
    let io = Io {
        origin,
        spawn: Rc::new(block_on),
    };
    let policy = CachePolicy {
        ttl: Ttl::Seconds(1e9),
        key_prefix: "shop".into(),
        ..Default::default()
    };
    clock.advance_ms(10);
    Setup {
        name,
        cache,
        clock,
        io,
        policy,
    }
}

fn pass(s: &Setup, requests: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..requests {
        s.clock.advance_ms(1);
        let r = block_on(s.cache.handle(HttpRequest::get(URL), &s.policy, &s.io));
        assert_eq!(r.status, 200);
    }
    t.elapsed().as_nanos() as f64 / requests as f64
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(200_000);
    let runs = args.get(1).copied().unwrap_or(5);
    let setups = [
        setup("no purge log (peer)", None),
        setup("shared log, empty", Some(0)),
        setup("shared log, 1000 tag + 200 URL purges", Some(1000)),
    ];
    let mut times = vec![Vec::new(); setups.len()];
    for s in &setups {
        pass(s, 1000);
        let stats = s.cache.stats();
        assert!(stats.hits >= 999, "{}: not on the hit path: {stats:?}", s.name);
    }
    for _ in 0..runs {
        for (i, s) in setups.iter().enumerate() {
            times[i].push(pass(s, requests));
        }
    }
    let median = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let peer = median(&times[0]);
    let fastest = |v: &Vec<f64>| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let peer_min = fastest(&times[0]);
    println!("{requests} hits per pass, {runs} passes each, alternating");
    println!("| engine | median ns/request | vs no log | fastest ns/request | vs no log | syncs |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, s) in setups.iter().enumerate() {
        let (m, f) = (median(&times[i]), fastest(&times[i]));
        println!(
            "| {} | {m:.0} | {:.3} | {f:.0} | {:.3} | {} |",
            s.name,
            m / peer,
            f / peer_min,
            s.cache.stats().purge_syncs
        );
    }
}
