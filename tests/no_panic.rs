//! Property test: every pure function that request or response data reaches
//! (header parsing, storability, Vary, forwarding filters, route matching,
//! the entry and value codecs, every serializer's decoder, the admin API, the whole engine) is fed
//! arbitrary bytes, statuses and sizes, and must never panic: in a Worker a
//! panic aborts the wasm instance and wipes every cached entry.

use std::collections::BTreeMap;
use std::rc::Rc;

use edgecache::app::admin::{self, AdminContext, AdminRequest};
use edgecache::app::routes::{lenient_path, match_path, Routes};
use edgecache::http::{
    cache_control, decide_store, delta_seconds, evaluate_preconditions, http_date_secs, if_range_allows,
    normalize_vary_value, parse_age, partial_response, request_mode, select_ranges, strip_client_overrides,
    strip_hop_by_hop, targeted_cache_control, unstored_fields, variant_key, vary_names, FreshnessRules, HttpRequest,
    HttpResponse, OriginError, RangeAnswer, StoreFacts,
};
use edgecache::response_cache::{BackendStore, CachePolicy, CachedResponse, Io, Origin, ResponseStore};
use edgecache::runtime::ManualRuntime;
use edgecache::{CacheService, LocalBackend, ResponseCache, Serializer, Timeout, Value};
use futures::executor::block_on;
use futures::FutureExt;

/// xorshift64*: deterministic, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Bytes biased towards the characters parsers care about.
    fn bytes(&mut self, max: u64) -> Vec<u8> {
        const SPECIAL: &[u8] = b",;=\"/\\.%*?#: \t\r\n-_0123456789aAzZ\x00\x7f\xff\xc3\xa9";
        let n = self.below(max + 1);
        (0..n)
            .map(|_| match self.below(3) {
                0 => SPECIAL[self.below(SPECIAL.len() as u64) as usize],
                _ => self.next() as u8,
            })
            .collect()
    }
    fn text(&mut self, max: u64) -> String {
        String::from_utf8_lossy(&self.bytes(max)).into_owned()
    }
    fn header_value(&mut self) -> String {
        const WORDS: &[&str] = &[
            "max-age=",
            "s-maxage=",
            "no-cache",
            "no-store",
            "private",
            "public",
            "stale-while-revalidate=",
            "must-revalidate",
            "Accept-Language",
            "*",
            "99999999999999999999999",
            "-1",
            "close, X-Foo",
        ];
        let mut s = String::new();
        for _ in 0..self.below(4) {
            if self.below(2) == 0 {
                s.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
            } else {
                s.push_str(&self.text(12));
            }
        }
        s
    }
    fn headers(&mut self) -> Vec<(String, String)> {
        const NAMES: &[&str] = &[
            "cache-control",
            "vary",
            "age",
            "expires",
            "date",
            "set-cookie",
            "cookie",
            "authorization",
            "connection",
            "pragma",
            "accept-language",
            "location",
            "x-forwarded-host",
        ];
        (0..self.below(6))
            .map(|_| {
                let name = match self.below(4) {
                    0 => self.text(8).to_ascii_lowercase(),
                    _ => NAMES[self.below(NAMES.len() as u64) as usize].to_string(),
                };
                (name, self.header_value())
            })
            .collect()
    }
    fn status(&mut self) -> u16 {
        match self.below(3) {
            0 => self.next() as u16,
            _ => [
                100, 101, 103, 199, 200, 204, 205, 206, 301, 302, 304, 404, 500, 503, 599, 600, 999,
            ][self.below(17) as usize],
        }
    }
}

#[test]
fn http_rules_take_any_input() {
    let mut r = Rng(0x5eed);
    for _ in 0..20_000 {
        let v = r.header_value();
        let _ = cache_control(&v);
        let _ = delta_seconds(&v);
        let _ = request_mode(&r.text(8), Some(&v), Some(&r.header_value()));
        let names = vary_names(&v);
        let _ = variant_key(&r.text(20), &names, |_| Some(r.0.to_string()));
        let (cc, vary, expires, date) = (r.header_value(), r.header_value(), r.header_value(), r.header_value());
        let facts = StoreFacts {
            status: r.status(),
            cache_control: Some(&cc),
            has_set_cookie: r.below(2) == 0,
            vary: Some(&vary),
            request_has_authorization: r.below(2) == 0,
            expires: Some(&expires),
            date: Some(&date),
            last_modified: Some(&expires),
            has_validator: r.below(2) == 0,
            age_ms: r.next() % (1 << 40),
            targeted: None,
            received_ms: r.next(),
        };
        let rules = FreshnessRules {
            ttl: Timeout::Seconds(r.below(1_000_000) as f64),
            origin_ttl: r.below(2) == 0,
            heuristic_max: r.below(100_000) as f64,
            keep: r.below(1000) as f64,
            stale_while_revalidate: r.below(100) as f64,
            stale_if_error: r.below(100) as f64,
        };
        let _ = decide_store(&facts, &rules);
        // The RFC 9110/9111/9213 parsers behind revalidation, ranges and
        // targeted fields.
        let _ = parse_age(&v);
        let _ = unstored_fields(&v);
        let _ = http_date_secs(&v);
        let _ = normalize_vary_value(&r.text(3), &v);
        let w = r.header_value();
        let _ = evaluate_preconditions(&r.text(4), |_| Some(w.clone()), Some(&v), Some(&date));
        let _ = if_range_allows(&w, Some(&v), Some(&date));
        let len = r.below(5000);
        if let RangeAnswer::Partial(ranges) = select_ranges(&v, len) {
            let full = HttpResponse {
                status: 200,
                body: vec![b'x'; len as usize],
                ..Default::default()
            };
            let _ = partial_response(&full, &ranges, "b");
        }
        if let Some((_, d)) = targeted_cache_control(|_| Some(v.clone())) {
            let with = StoreFacts {
                targeted: Some(&d),
                ..facts
            };
            let _ = decide_store(&with, &rules);
        }
        let mut h = r.headers();
        strip_hop_by_hop(&mut h);
        strip_client_overrides(&mut h, &[r.text(5)]);
    }
}

#[test]
fn route_matching_and_codecs_take_any_input() {
    let mut r = Rng(42);
    let routes =
        Routes::parse(r#"[{"path": "/account/*", "bypass": true}, {"path": "/S/*", "strict": true}, {"path": "*"}]"#)
            .unwrap();
    for _ in 0..20_000 {
        let p = r.text(40);
        let _ = match_path(&p);
        let _ = lenient_path(&p);
        let _ = routes.find(&p);
        let _ = Routes::parse(&r.text(60));
        let raw = r.bytes(80);
        let _ = CachedResponse::decode(&raw);
        let _ = Value::decode(&raw);
        let mut framed = b"ECR2".to_vec();
        framed.extend_from_slice(&raw);
        let _ = CachedResponse::decode(&framed);
        let mut framed = b"\x1eEC1".to_vec();
        framed.extend_from_slice(&raw);
        let _ = Value::decode(&framed);
    }
}

#[test]
fn every_serializer_decodes_any_bytes() {
    const SERIALIZERS: [Serializer; 4] = [
        Serializer::Framed,
        Serializer::Pickle,
        Serializer::Json,
        Serializer::Raw,
    ];
    // Opcodes of every pickle protocol, and bytes that make lengths large.
    const OPS: &[u8] = b"(.0125NIJKLMFGSTUVXBCabcdeghijloqprstu}])\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\xff\x7f\x00\n";
    let mut r = Rng(17);
    let samples: Vec<Vec<u8>> = [
        Value::Json(serde_json::json!([1, 2.5, "ü", {"a": [null, true]}, [[[]]]])),
        Value::Json(serde_json::json!({"k": "v", "n": 12345678901234567890_u64})),
        Value::Bytes(vec![0, 0x80, 0xff]),
        Value::from("text"),
    ]
    .iter()
    .flat_map(|v| SERIALIZERS.map(|s| s.encode(v).unwrap_or_default()))
    .collect();
    for i in 0..60_000u64 {
        let raw = match i % 4 {
            0 => r.bytes(80),
            1 => {
                // A pickle header, then opcodes and random arguments.
                let mut p = vec![0x80, 2 + r.below(4) as u8];
                for _ in 0..r.below(40) {
                    p.push(OPS[r.below(OPS.len() as u64) as usize]);
                    if r.below(2) == 0 {
                        p.extend(r.bytes(3));
                    }
                }
                p
            }
            _ => {
                // A valid value, truncated or with bytes changed.
                let mut p = samples[r.below(samples.len() as u64) as usize].clone();
                if !p.is_empty() {
                    for _ in 0..=r.below(3) {
                        let at = r.below(p.len() as u64) as usize;
                        p[at] = match r.below(2) {
                            0 => OPS[r.below(OPS.len() as u64) as usize],
                            _ => r.next() as u8,
                        };
                    }
                    if r.below(3) == 0 {
                        p.truncate(r.below(p.len() as u64) as usize);
                    }
                }
                p
            }
        };
        for s in SERIALIZERS {
            if let Ok(v) = s.decode(&raw) {
                // Whatever decodes encodes again (or is refused cleanly).
                let _ = s.encode(&v);
            }
        }
    }
}

#[test]
fn the_admin_api_takes_any_request() {
    let mut r = Rng(7);
    let service = CacheService::builder()
        .default_backend(LocalBackend::builder().build())
        .build()
        .unwrap();
    let ctx = AdminContext {
        service: &service,
        responses: None,
        selftest: None,
    };
    const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH", "get"];
    const ACTIONS: &[&str] = &[
        "keys/default/",
        "add/default/",
        "incr/default/",
        "decr/default/",
        "touch/default/",
        "key/default/",
        "clear/",
        "purge",
        "stats",
        "keys/nope/",
    ];
    block_on(async {
        for _ in 0..5_000 {
            let path = format!("{}{}", ACTIONS[r.below(ACTIONS.len() as u64) as usize], r.text(12));
            let query = format!("ttl={}&version={}&delta={}", r.text(6), r.text(4), r.text(4));
            let body = r.bytes(40);
            let reply = admin::handle(
                &ctx,
                AdminRequest {
                    method: METHODS[r.below(METHODS.len() as u64) as usize],
                    path: &path,
                    query: Some(&query),
                    content_type: Some(if r.below(2) == 0 {
                        "application/json"
                    } else {
                        "text/plain"
                    }),
                    authorization: None,
                    body,
                    base_url: "https://example.com",
                },
            )
            .await;
            assert!((200..600).contains(&reply.status), "{path}: status {}", reply.status);
        }
    });
}

#[test]
fn the_engine_takes_any_origin_answer() {
    let mut r = Rng(99);
    let backend = Rc::new(LocalBackend::builder().max_bytes(1 << 20).build());
    let mut stores: BTreeMap<String, Rc<dyn ResponseStore>> = BTreeMap::new();
    stores.insert(
        "default".into(),
        Rc::new(BackendStore {
            name: "default".into(),
            backend,
        }),
    );
    let cache = ResponseCache::new(stores, Rc::new(ManualRuntime::default()));
    for i in 0..3_000 {
        let answer = HttpResponse {
            status: r.status(),
            headers: r.headers(),
            body: r.bytes(2_000),
            stream: None,
        };
        let failing = r.below(8) == 0;
        let origin: Origin = Rc::new(move |_| {
            let a = answer.clone();
            async move {
                if failing {
                    Err(OriginError::Unreachable("down".into()))
                } else {
                    Ok(a)
                }
            }
            .boxed_local()
        });
        let io = Io {
            origin,
            spawn: Rc::new(|_| {}),
        };
        let mut req = HttpRequest::get(&format!("https://e.com/{}", i % 37));
        req.method = ["GET", "HEAD", "POST", "get"][r.below(4) as usize].into();
        req.headers = r.headers();
        let policy = CachePolicy {
            origin_ttl: r.below(2) == 0,
            stale_if_error: r.below(5) as f64,
            max_entry_bytes: r.below(3_000) as usize,
            ..Default::default()
        };
        // The engine relays statuses as they are (the platform turns one a
        // response cannot carry into a 502); it must only not panic, and an
        // answer it made itself is a 502 for a failed origin.
        let out = block_on(cache.handle(req, &policy, &io));
        if failing
            && out
                .header("cache-status")
                .is_some_and(|s| !s.contains("hit") && !s.contains("fwd=stale"))
        {
            assert_eq!(out.status, 502, "{:?}", out.header("cache-status"));
        }
    }
}
