//! `Placement` against the real clients: pymemcache's `HashClient` and
//! pylibmc (libmemcached 1.0.16) write keys to three real memcached
//! servers, twemproxy forwards keys to them, and every key must be on
//! exactly the server `Placement::server_for` names, read back over a raw
//! text-protocol connection to each server.
#![cfg(not(target_arch = "wasm32"))] // real server processes: native only

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use edgecache::backend::memcached::placement::{Distribution, Placement};
use support::Server;

/// Writes `keys` with the client `distribution` stands for: pymemcache
/// `HashClient` for rendezvous, pylibmc with the matching behaviors for the
/// others.
const WRITE_KEYS: &str = r#"
import json, sys
cfg = json.loads(sys.stdin.buffer.read().decode("utf-8"))
if cfg["distribution"] == "rendezvous":
    from pymemcache.client.hash import HashClient
    client = HashClient(cfg["servers"], allow_unicode_keys=True)
    for key in cfg["keys"]:
        assert client.set(key, b"1", noreply=False), key
else:
    import pylibmc
    behaviors = {"modula": {}, "ketama": {"ketama": True}, "ketama_weighted": {"ketama_weighted": True}}
    client = pylibmc.Client(cfg["servers"], behaviors=behaviors[cfg["distribution"]])
    for key in cfg["keys"]:
        assert client.set(key, b"1"), key
print(len(cfg["keys"]))
"#;

fn client_writes(distribution: Distribution, servers: &[String], keys: &[String]) {
    let input = serde_json::json!({"distribution": distribution.name(), "servers": servers, "keys": keys});
    let written = support::python(WRITE_KEYS, &input.to_string());
    assert_eq!(written.trim(), keys.len().to_string());
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// A raw text-protocol connection to one server.
struct Conn(BufReader<Box<dyn Stream>>);

impl Conn {
    /// `host:port` or a Unix socket path.
    fn to(address: &str) -> Conn {
        let stream: Box<dyn Stream> = if address.starts_with('/') {
            Box::new(UnixStream::connect(address).unwrap())
        } else {
            Box::new(TcpStream::connect(address).unwrap())
        };
        Conn(BufReader::new(stream))
    }

    fn send(&mut self, command: &[u8]) -> Vec<u8> {
        self.0.get_mut().write_all(command).unwrap();
        self.line()
    }

    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.0.read_until(b'\n', &mut line).unwrap();
        line
    }

    fn has(&mut self, key: &str) -> bool {
        let header = self.send(format!("get {key}\r\n").as_bytes());
        if header == b"END\r\n" {
            return false;
        }
        let header = String::from_utf8_lossy(&header).into_owned();
        let bytes: usize = header
            .split_whitespace()
            .nth(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!("get {key:?}: unexpected reply {header:?}");
            });
        let mut value = vec![0; bytes + 2];
        self.0.read_exact(&mut value).unwrap();
        assert_eq!(self.line(), b"END\r\n", "get {key:?}");
        true
    }

    fn set(&mut self, key: &str) {
        let reply = self.send(format!("set {key} 0 0 1\r\n1\r\n").as_bytes());
        assert_eq!(reply, b"STORED\r\n", "set {key:?} through twemproxy");
    }

    fn flush_all(&mut self) {
        assert_eq!(self.send(b"flush_all\r\n"), b"OK\r\n");
    }
}

/// Fails unless each key is on exactly the server `placement` names, then
/// empties the servers for the next round.
fn check_placed(what: &str, placement: &Placement, names: &[String], keys: &[String]) {
    let mut conns: Vec<Conn> = names.iter().map(|name| Conn::to(name)).collect();
    for key in keys {
        let found: Vec<usize> = (0..conns.len()).filter(|&i| conns[i].has(key)).collect();
        let expected = placement.server_for(key);
        assert_eq!(
            found,
            [expected],
            "{what}: key {key:?} expected on server {expected} ({}), got {:?}",
            names[expected],
            found.iter().map(|&i| &names[i]).collect::<Vec<_>>()
        );
    }
    for conn in &mut conns {
        conn.flush_all();
    }
}

/// Writes `keys` with the real client over servers spelled as `names`, and
/// checks where they went.
fn round(distribution: Distribution, names: &[String], keys: &[String]) {
    client_writes(distribution, names, keys);
    let placement = Placement::new(distribution, names);
    check_placed(distribution.name(), &placement, names, keys);
}

/// Sets `keys` through twemproxy in front of `names`, and checks where
/// they went.
fn twemproxy_round(names: &[String], keys: &[String]) {
    let upstream: Vec<&str> = names.iter().map(String::as_str).collect();
    let proxy = support::nutcracker(&upstream);
    let mut conn = Conn::to(&proxy.address);
    for key in keys {
        conn.set(key);
    }
    let placement = Placement::new(Distribution::KetamaWeighted, names);
    check_placed("twemproxy", &placement, names, keys);
}

fn three_servers() -> (Vec<Server>, Vec<String>) {
    let servers: Vec<Server> = (0..3).map(|_| support::memcached()).collect();
    let names = servers.iter().map(|s| s.address.clone()).collect();
    (servers, names)
}

/// xorshift64*: the keys are the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

const ASCII: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/!#$%&'()*+,;<=>?@[]^`{|}~";
/// Latin-1 and beyond, down to characters pymemcache's `& 0xFF` turns into
/// 0x00 (U+0100) or 0xFF (U+00FF), non-Latin scripts, a combining mark,
/// emoji and a character outside the BMP.
const WIDE: &[char] = &[
    'é', 'ü', 'ß', 'ñ', 'Å', 'ÿ', 'Ā', 'ĩ', 'ő', 'Ł', 'Ω', 'λ', 'ж', 'я', '中', '文', 'キ', '한', 'ع', 'א', 'ह', '€',
    '™', '→', '\u{301}', '😀', '🚀', '🦀', '👍', '𝄞',
];

impl Rng {
    fn ascii(&mut self) -> char {
        ASCII[self.below(ASCII.len())] as char
    }
    fn wide(&mut self) -> char {
        WIDE[self.below(WIDE.len())]
    }
    fn text(&mut self, chars: usize, wide_percent: usize) -> String {
        (0..chars)
            .map(|_| {
                if self.below(100) < wide_percent {
                    self.wide()
                } else {
                    self.ascii()
                }
            })
            .collect()
    }
}

/// `n` distinct valid memcached keys (no spaces or control characters, at
/// most 250 bytes): ASCII, mixed and all-non-ASCII Unicode, keys of exactly
/// 250 bytes, and Ellar's `prefix:version:key`.
fn keys(n: usize) -> Vec<String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    while keys.len() < n {
        let key = match keys.len() % 5 {
            0 => {
                let len = 1 + rng.below(64);
                rng.text(len, 0)
            }
            1 => {
                let len = 1 + rng.below(30);
                rng.text(len, 50)
            }
            2 => {
                let wide = if rng.below(2) == 0 { 0 } else { 40 };
                let mut key = format!("{}-", keys.len());
                loop {
                    let c = if rng.below(100) < wide { rng.wide() } else { rng.ascii() };
                    if key.len() + c.len_utf8() > 250 {
                        break;
                    }
                    key.push(c);
                }
                while key.len() < 250 {
                    key.push(rng.ascii());
                }
                key
            }
            3 => {
                let prefix = ["", "ellar", "myapp", "プロジェクト"][rng.below(4)];
                let version = 1 + rng.below(2);
                let len = 1 + rng.below(40);
                let wide = [0, 30][rng.below(2)];
                let rest = rng.text(len, wide);
                format!("{prefix}:{version}:{rest}")
            }
            _ => {
                let len = 1 + rng.below(8);
                rng.text(len, 100)
            }
        };
        if seen.insert(key.clone()) {
            keys.push(key);
        }
    }
    keys
}

#[test]
fn the_keys_cover_the_cases() {
    let keys = keys(2000);
    assert!(keys
        .iter()
        .all(|k| !k.is_empty() && k.len() <= 250 && !k.contains(|c: char| c.is_whitespace())));
    assert!(keys.iter().filter(|k| k.len() == 250).count() >= 400);
    assert!(keys.iter().filter(|k| !k.is_ascii()).count() >= 600);
    assert!(keys.iter().any(|k| k.contains('😀')) && keys.iter().any(|k| k.contains('中')));
    assert!(keys.iter().any(|k| k.starts_with("ellar:1:")) && keys.iter().any(|k| k.starts_with(":2:")));
}

#[test]
fn rendezvous_matches_pymemcache() {
    let (_servers, names) = three_servers();
    round(Distribution::Rendezvous, &names, &keys(2000));
}

#[test]
fn modula_matches_pylibmc() {
    let (_servers, names) = three_servers();
    round(Distribution::Modula, &names, &keys(2000));
}

#[test]
fn ketama_matches_pylibmc() {
    let (_servers, names) = three_servers();
    round(Distribution::Ketama, &names, &keys(2000));
}

#[test]
fn ketama_weighted_matches_pylibmc_and_twemproxy() {
    let (_servers, names) = three_servers();
    let keys = keys(2000);
    round(Distribution::KetamaWeighted, &names, &keys);
    twemproxy_round(&names, &keys);
}

const ALL: [Distribution; 4] = [
    Distribution::Rendezvous,
    Distribution::Ketama,
    Distribution::KetamaWeighted,
    Distribution::Modula,
];

/// "localhost:PORT" and "127.0.0.1:PORT" are the same servers but different
/// names: each client, given each spelling, puts every key where
/// `Placement` with that spelling says, and the two spellings place keys
/// differently, except under modula, which never looks at names.
#[test]
fn placement_follows_the_server_spelling() {
    let (servers, numeric) = three_servers();
    let named: Vec<String> = servers.iter().map(|s| format!("localhost:{}", s.port)).collect();
    let keys = keys(500);
    for distribution in ALL {
        round(distribution, &named, &keys);
        round(distribution, &numeric, &keys);
        let (a, b) = (
            Placement::new(distribution, &named),
            Placement::new(distribution, &numeric),
        );
        let moved = keys.iter().filter(|k| a.server_for(k) != b.server_for(k)).count();
        if distribution == Distribution::Modula {
            assert_eq!(moved, 0, "modula");
        } else {
            assert!(moved > 0, "{}: the spelling moved no key", distribution.name());
        }
    }
    twemproxy_round(&named, &keys);
}

/// Unix-socket servers, named by their paths: pylibmc's ring points are
/// "<path>:0-<i>", pymemcache's node is the path.
#[test]
fn unix_socket_servers() {
    let servers: Vec<Server> = (0..3).map(|_| support::memcached_unix()).collect();
    let names: Vec<String> = servers.iter().map(|s| s.address.clone()).collect();
    let keys = keys(500);
    for distribution in ALL {
        round(distribution, &names, &keys);
    }
}

/// memcached on `ip`:11211, killed on drop (the support module's servers
/// all listen on 127.0.0.1, where 11211 may be taken).
struct DefaultPort(std::process::Child);

impl DefaultPort {
    fn start(ip: &str) -> DefaultPort {
        let mut child = std::process::Command::new("memcached")
            .args(["-l", ip, "-p", "11211", "-U", "0", "-m", "64", "-u", "root"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn memcached");
        let start = std::time::Instant::now();
        while TcpStream::connect((ip, 11211)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("memcached on {ip}:11211 exited with {status} (is the port taken?)");
            }
            assert!(start.elapsed().as_secs() < 10, "memcached on {ip}:11211 did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        DefaultPort(child)
    }
}

impl Drop for DefaultPort {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Servers on the default port, the usual production spelling: libmemcached
/// and twemproxy name their ring points "host-<i>", without ":11211".
#[test]
fn default_port_servers() {
    let ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let _servers: Vec<DefaultPort> = ips.iter().map(|ip| DefaultPort::start(ip)).collect();
    let names: Vec<String> = ips.iter().map(|ip| format!("{ip}:11211")).collect();
    let keys = keys(500);
    for distribution in ALL {
        round(distribution, &names, &keys);
    }
    twemproxy_round(&names, &keys);
}
