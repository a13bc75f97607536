//! The memcached backend against real servers, natively: the conformance
//! suite over TCP to three memcached processes, over a Unix socket,
//! through nginx with the memc module (the repo's gateway config) and
//! through twemproxy; and the faults: a server killed mid-test, one that
//! hangs, one that answers garbage.
#![cfg(not(target_arch = "wasm32"))] // real server processes: native only

mod support;

use std::collections::BTreeMap;
use std::rc::Rc;

use edgecache::backend::memcached::{MemcachedBackend, MemcachedOptions, Transports};
use edgecache::testkit::{RealTime, Suite};
use edgecache::{
    BackendConfig, BackendRegistry, CacheBackend, CacheError, CachesConfig, Clock, Runtime, SystemClock, Ttl, Value,
};
use futures::executor::block_on;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use serde_json::json;

/// Real time for a blocking test: `sleep` blocks the thread.
struct StdRuntime;

impl Clock for StdRuntime {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms()
    }
}

impl Runtime for StdRuntime {
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        futures::future::ready(()).boxed_local()
    }
}

/// A backend built from a `CACHES` entry through the native registry.
fn from_config(name: &str, prefix: &str, options: serde_json::Value) -> Rc<dyn CacheBackend> {
    let text = json!({
        "default": {"backend": "local"},
        name: {"backend": "memcached", "key_prefix": prefix, "ttl": 300, "options": options}
    })
    .to_string();
    let config = CachesConfig::parse(&text).unwrap();
    BackendRegistry::default()
        .build(&config.backends[name], &edgecache::backend::NoSecrets)
        .unwrap()
}

/// A gateway backend (the registry has no HTTP transport natively).
fn gateway_backend(prefix: &str, options: serde_json::Value, token: &str) -> MemcachedBackend {
    let mut c = BackendConfig::new("mc", "memcached");
    c.key_prefix = prefix.to_string();
    c.options = options.as_object().unwrap().clone();
    let secrets: BTreeMap<String, String> = [("GATEWAY_TOKEN".to_string(), token.to_string())].into();
    let options = MemcachedOptions::from_config(&c, &secrets).unwrap();
    let transports = Transports {
        stream: None,
        http: Some(Rc::new(support::StdHttp)),
    };
    MemcachedBackend::new(&c, options, transports, Rc::new(SystemClock)).unwrap()
}

fn conform(what: &str, backend: &dyn CacheBackend, sibling: &dyn CacheBackend) {
    conform_with(what, backend, sibling, false)
}

/// `unsigned`: counters cannot go below zero (no meta commands on the way).
fn conform_with(what: &str, backend: &dyn CacheBackend, sibling: &dyn CacheBackend, unsigned: bool) {
    let runtime: Rc<dyn Runtime> = Rc::new(StdRuntime);
    let time = RealTime(runtime);
    let mut suite = Suite::new(backend, &time);
    suite.sibling = Some(sibling);
    suite.ttl_slack_ms = 1000;
    suite.unsigned_counters = unsigned;
    let report = block_on(suite.run());
    assert!(report.all_passed(), "{what}:\n{report}");
    eprintln!("{what}: {} cases passed", report.passed());
}

#[test]
fn tcp_to_three_servers_conforms() {
    let servers = [support::memcached(), support::memcached(), support::memcached()];
    let list: Vec<&str> = servers.iter().map(|s| s.address.as_str()).collect();
    for distribution in ["rendezvous", "modula", "ketama", "ketama_weighted"] {
        let opts = json!({"servers": list, "distribution": distribution});
        let b = from_config("mc", "site", opts.clone());
        let sibling = from_config("mc", "other", opts);
        conform(&format!("tcp, {distribution}"), &*b, &*sibling);
    }
}

#[test]
fn unix_socket_and_server_string_conform() {
    let sock = support::memcached_unix();
    let tcp = support::memcached();
    // One string split on `;` as Ellar's docs write it.
    let opts = json!({"servers": format!("{};{}", sock.address, tcp.address)});
    let b = from_config("mc", "u", opts.clone());
    let sibling = from_config("mc", "v", opts);
    conform("unix socket + tcp", &*b, &*sibling);
}

#[test]
fn http_gateway_conforms_and_refuses_a_wrong_token() {
    let servers = [support::memcached(), support::memcached(), support::memcached()];
    let list: Vec<&str> = servers.iter().map(|s| s.address.as_str()).collect();
    let nginx = support::nginx_gateway(&list, "s3cret-token");
    let opts = json!({"servers": list, "gateway_url": nginx.address, "token_secret": "GATEWAY_TOKEN"});
    let b = gateway_backend("gw", opts.clone(), "s3cret-token");
    let sibling = gateway_backend("gw2", opts.clone(), "s3cret-token");
    conform_with("http gateway", &b, &sibling, true);

    // Keys that URL normalisation would change arrive intact, on the server
    // placement names (read directly over TCP).
    let direct = from_config("mc", "gw", json!({"servers": list}));
    block_on(async {
        for key in ["a/../b", "x//y", "dot/./z", "ключ€"] {
            b.set(key, Value::from(key), Ttl::Default, None).await.unwrap();
            assert_eq!(direct.get(key, None).await.unwrap(), Some(Value::from(key)), "{key}");
        }
    });

    let wrong = gateway_backend("gw", opts, "not-the-token");
    let e = block_on(wrong.set("k", Value::from(1), Ttl::Default, None)).unwrap_err();
    assert!(e.to_string().contains("HTTP 403"), "{e}");
}

#[test]
fn a_killed_server_misses_only_its_keys_and_comes_back() {
    let mut servers = [support::memcached(), support::memcached(), support::memcached()];
    let list: Vec<String> = servers.iter().map(|s| s.address.clone()).collect();
    let b = from_config(
        "mc",
        "",
        json!({"servers": list, "dead_retry_ms": 300, "timeout_ms": 500}),
    );
    let keys: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    block_on(async {
        for k in &keys {
            b.set(k, Value::from(k.as_str()), Ttl::Never, None).await.unwrap();
        }
        assert_eq!(b.get_many(&refs, None).await.unwrap().len(), 300);
    });
    let port = servers[1].port;
    servers[1].kill();
    let (found, write_errors) = block_on(async {
        let found = b.get_many(&refs, None).await.unwrap();
        let mut write_errors = 0;
        for k in &keys {
            // Single gets miss on the dead server instead of failing.
            let got = b.get(k, None).await.unwrap();
            assert_eq!(got.is_some(), found.contains_key(k.as_str()), "{k}");
            if let Err(e) = b.set(k, Value::from(1), Ttl::Never, None).await {
                assert!(matches!(e, CacheError::Backend { .. }), "{e}");
                assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
                write_errors += 1;
            }
        }
        (found, write_errors)
    });
    let missing = 300 - found.len();
    assert!(
        (40..=160).contains(&missing),
        "one of three servers down should miss about a third of the keys, missed {missing}"
    );
    assert_eq!(write_errors, missing, "writes fail exactly for the dead server's keys");
    assert_eq!(b.stats()["servers_down"], json!([format!("127.0.0.1:{port}")]));

    // Restarted (empty) at the same address: used again after the retry interval.
    servers[1] = support::memcached_on(port);
    std::thread::sleep(std::time::Duration::from_millis(400));
    block_on(async {
        for k in &keys {
            b.set(k, Value::from(2), Ttl::Never, None).await.unwrap();
        }
        assert_eq!(b.get_many(&refs, None).await.unwrap().len(), 300);
    });
    assert_eq!(b.stats()["servers_down"], json!([]));
}

/// A "server" that accepts and then never answers, or answers garbage.
fn fake_server(reply: &'static [u8]) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        use std::io::{Read, Write};
        listener.set_nonblocking(false).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(reply);
        std::thread::sleep(std::time::Duration::from_millis(1500));
    });
    (addr, handle)
}

#[test]
fn a_hanging_or_garbage_server_is_a_bounded_clear_error() {
    for (reply, what) in [
        (b"".as_slice(), "no answer within 200 ms"),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n".as_slice(), "not a memcached reply"),
    ] {
        let (addr, server) = fake_server(reply);
        let b = from_config("mc", "", json!({"servers": [addr], "timeout_ms": 200}));
        let e = block_on(b.set("k", Value::from(1), Ttl::Never, None)).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
        // Reads of a failed server miss rather than fail.
        assert_eq!(block_on(b.get("k", None)).unwrap(), None);
        server.join().unwrap();
    }
}

#[test]
fn through_twemproxy_conforms_with_unsigned_counters() {
    let servers = [support::memcached(), support::memcached(), support::memcached()];
    let list: Vec<&str> = servers.iter().map(|s| s.address.as_str()).collect();
    let proxy = support::nutcracker(&list);
    let opts = json!({"servers": [proxy.address]});
    let b = from_config("mc", "px", opts.clone());
    let sibling = from_config("mc", "px2", opts);
    conform_with("twemproxy", &*b, &*sibling, true);
}

#[test]
fn noreply_long_keys_and_flush_all_options() {
    let server = support::memcached();
    let b = from_config(
        "mc",
        "opt",
        json!({"servers": [server.address], "default_noreply": true, "hash_long_keys": true, "clear": "flush_all"}),
    );
    let other = from_config("mc", "other", json!({"servers": [server.address]}));
    block_on(async {
        // noreply writes are not confirmed, but land (a read on the same
        // connection comes after them).
        b.set("k", Value::from("v"), Ttl::Default, None).await.unwrap();
        assert_eq!(b.get("k", None).await.unwrap(), Some(Value::from("v")));
        assert!(b.delete("k", None).await.unwrap(), "noreply delete reports true");
        assert_eq!(b.get("k", None).await.unwrap(), None);
        // A 300-byte key is hashed, not refused, and is distinct from its neighbour.
        let long = "l".repeat(300);
        b.set(&long, Value::from(1), Ttl::Default, None).await.unwrap();
        b.set(&format!("{long}x"), Value::from(2), Ttl::Default, None)
            .await
            .unwrap();
        assert_eq!(b.get(&long, None).await.unwrap(), Some(Value::from(1)));
        assert_eq!(b.get(&format!("{long}x"), None).await.unwrap(), Some(Value::from(2)));
        // flush_all empties the whole server, other prefixes included.
        other.set("kept?", Value::from(1), Ttl::Default, None).await.unwrap();
        b.clear().await.unwrap();
        assert_eq!(other.get("kept?", None).await.unwrap(), None);
        assert_eq!(b.get(&long, None).await.unwrap(), None);
    });
    // Without the option a long key is a clear error.
    let strict = from_config("mc", "s", json!({"servers": [server.address]}));
    let e = block_on(strict.set(&"l".repeat(300), Value::from(1), Ttl::Default, None)).unwrap_err();
    assert!(matches!(e, CacheError::InvalidKey { .. }), "{e}");
}
