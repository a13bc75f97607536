//! The Python memcached formats against the real clients: Ellar 0.9.5's
//! `PyMemcacheCacheBackend` (pymemcache 4.0.0) and `PyLibMCCacheBackend`
//! (pylibmc 1.6.3), constructed standalone as Ellar's docs configure them,
//! plus each with compression on. For every value in [`cases`], both ways:
//! Python sets it through the client and the test reads the raw item (flags +
//! bytes) over TCP and decodes it with [`ValueFormat::decode`]; the test
//! encodes with [`ValueFormat::encode`], stores the raw item, and Python reads
//! it through the client and prints it, type-tagged, as JSON, and whether it
//! equals the case's Python literal type for type. Expected values come from
//! [`cases`] (and the one known client quirk, [`known_quirk`]).
//! Prints the interop table (run with `--nocapture` to see it).
#![cfg(not(target_arch = "wasm32"))] // real server processes: native only

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use edgecache::backend::memcached::flags::{ValueFormat, FLAG_PICKLE, FLAG_ZLIB};
use edgecache::Value;
use serde_json::{json, Value as Json};

/// A Python client configuration, and the format that matches it.
struct Client {
    name: &'static str,
    format: ValueFormat,
    /// Whether it compresses large values (flag 8).
    compresses: bool,
}

const CLIENTS: [Client; 4] = [
    Client {
        name: "ellar-pymemcache",
        format: ValueFormat::Pymemcache,
        compresses: false,
    },
    Client {
        name: "ellar-pylibmc",
        format: ValueFormat::Pylibmc,
        compresses: false,
    },
    Client {
        name: "ellar-pymemcache+compressed_serde",
        format: ValueFormat::Pymemcache,
        compresses: true,
    },
    Client {
        name: "pylibmc+min_compress_len",
        format: ValueFormat::Pylibmc,
        compresses: true,
    },
];

/// The Python side: builds the client named in the request, then either
/// writes every case (`py-<name>`) or reads every `rs-<name>` and prints it
/// type-tagged (so `1`, `True` and `1.0` stay apart).
const PY: &str = r#"
import json, sys
req = json.load(sys.stdin)
from ellar.cache.backends.pymem_cache import PyMemcacheCacheBackend
from ellar.cache.backends.pylib_cache import PyLibMCCacheBackend
from pymemcache.serde import compressed_serde

servers = [req["addr"]]
client = req["client"]
if client == "ellar-pymemcache":
    cache = PyMemcacheCacheBackend(servers=servers)
    write = cache.set
elif client == "ellar-pymemcache+compressed_serde":
    cache = PyMemcacheCacheBackend(servers=servers, options={"serde": compressed_serde})
    write = cache.set
elif client == "ellar-pylibmc":
    cache = PyLibMCCacheBackend(servers=servers)
    write = cache.set
elif client == "pylibmc+min_compress_len":
    # Ellar's backend never passes min_compress_len: set it on its client.
    cache = PyLibMCCacheBackend(servers=servers)
    write = lambda k, v: cache._cache_client.set(cache.make_key(k), v, 0, min_compress_len=64)
else:
    raise SystemExit("unknown client " + client)

def tag(v):
    t = type(v)
    if v is None: return ["None"]
    if t is bool: return ["bool", v]
    if t is int: return ["int", str(v)]
    if t is float: return ["float", v]
    if t is str: return ["str", v]
    if t is bytes: return ["bytes", v.hex()]
    if t is list: return ["list", [tag(x) for x in v]]
    if t is tuple: return ["tuple", [tag(x) for x in v]]
    if t is dict: return ["dict", [[tag(k), tag(x)] for k, x in v.items()]]
    return ["other", t.__name__, repr(v)]

MISSING = object()
out = {}
for name, expr in req["cases"]:
    if req["mode"] == "write":
        assert write("py-" + name, eval(expr)), name
        out[name] = [cache.make_key("py-" + name), cache.make_key("rs-" + name)]
    else:
        try:
            v = cache.get("rs-" + name)
            if v is None and cache._cache_client.get(cache.make_key("rs-" + name), MISSING) is MISSING:
                out[name] = [["missing"], False]
            else:
                # Also compared with the case's own Python value, type for type.
                out[name] = [tag(v), tag(v) == tag(eval(expr))]
        except Exception as e:
            out[name] = [["error", type(e).__name__, str(e)], False]
print(json.dumps(out))
"#;

/// Each case: its name, the Python expression, the value edgecache sees.
fn cases() -> Vec<(&'static str, &'static str, Value)> {
    let num = |s: &str| Value::Json(Json::Number(s.parse().unwrap()));
    vec![
        ("int", "7", Value::from(7)),
        ("big_int", "2**70", num("1180591620717411303424")),
        ("negative_int", "-5", Value::from(-5)),
        ("negative_big_int", "-(2**70)", num("-1180591620717411303424")),
        ("str_ascii", "'hello'", Value::from("hello")),
        (
            "str_unicode",
            "'h\u{e9}llo \u{2713} \u{65e5}\u{672c}'",
            Value::from("h\u{e9}llo \u{2713} \u{65e5}\u{672c}"),
        ),
        ("str_numeric", "'42'", Value::from("42")),
        ("str_empty", "''", Value::from("")),
        ("bytes_ascii", "b'abc'", Value::Bytes(b"abc".to_vec())),
        (
            "bytes_non_utf8",
            "b'\\x00\\xff\\x80ab'",
            Value::Bytes(vec![0, 0xff, 0x80, b'a', b'b']),
        ),
        ("bytes_empty", "b''", Value::Bytes(vec![])),
        ("float", "1.5", Value::Json(json!(1.5))),
        ("float_negative", "-0.1", Value::Json(json!(-0.1))),
        ("none", "None", Value::Json(json!(null))),
        ("true", "True", Value::Json(json!(true))),
        ("false", "False", Value::Json(json!(false))),
        ("list", "[1, 'a', 2.5]", Value::Json(json!([1, "a", 2.5]))),
        ("dict", "{'a': 1, 'b': 'x'}", Value::Json(json!({"a": 1, "b": "x"}))),
        (
            "nested",
            "{'a': [1, {'b': None, 'c': [True, 1.5]}], '\u{fc}': {'d': []}}",
            Value::Json(json!({"a": [1, {"b": null, "c": [true, 1.5]}], "\u{fc}": {"d": []}})),
        ),
        ("str_long", "'ab' * 500", Value::from("ab".repeat(500))),
        (
            "list_long",
            "list(range(300))",
            Value::Json(Json::Array((0..300).map(Json::from).collect())),
        ),
    ]
}

/// The one place a client does not give back what it was given: pylibmc
/// writes `bool` as the int text `1`/`0` with flags 2, and reads that back
/// (itself too) as the int. The value and flags edgecache then reads.
fn known_quirk(client: &Client, case: &str) -> Option<(Value, u32, &'static str)> {
    match (client.format, case) {
        (ValueFormat::Pylibmc, "true") => Some((Value::from(1), 2, "pylibmc writes bool as int")),
        (ValueFormat::Pylibmc, "false") => Some((Value::from(0), 2, "pylibmc writes bool as int")),
        _ => None,
    }
}

/// A value as the Python side tags it.
fn tag(v: &Value) -> Json {
    match v {
        Value::Bytes(b) => json!(["bytes", b.iter().map(|x| format!("{x:02x}")).collect::<String>()]),
        Value::Json(j) => tag_json(j),
        other => panic!("no Python form for {other:?}"),
    }
}

fn tag_json(j: &Json) -> Json {
    match j {
        Json::Null => json!(["None"]),
        Json::Bool(b) => json!(["bool", b]),
        Json::Number(n) if !n.to_string().contains(['.', 'e', 'E']) => json!(["int", n.to_string()]),
        Json::Number(n) => json!(["float", n.as_f64().unwrap()]),
        Json::String(s) => json!(["str", s]),
        Json::Array(a) => json!(["list", a.iter().map(tag_json).collect::<Vec<_>>()]),
        Json::Object(m) => json!([
            "dict",
            m.iter()
                .map(|(k, v)| json!([["str", k], tag_json(v)]))
                .collect::<Vec<_>>()
        ]),
    }
}

/// Floats as f64 (Python's and Rust's shortest texts agree on the value, not
/// always on the spelling) and dict items sorted, so equal values compare equal.
fn normalize(t: &mut Json) {
    let Some(a) = t.as_array_mut() else { return };
    match a.first().and_then(Json::as_str) {
        Some("float") => a[1] = Json::from(a[1].as_f64().unwrap()),
        Some("list" | "tuple") => a[1].as_array_mut().unwrap().iter_mut().for_each(normalize),
        Some("dict") => {
            let items = a[1].as_array_mut().unwrap();
            for kv in items.iter_mut() {
                kv.as_array_mut().unwrap().iter_mut().for_each(normalize);
            }
            items.sort_by_key(|kv| kv.to_string());
        }
        _ => {}
    }
}

fn python(client: &Client, addr: &str, mode: &str) -> serde_json::Map<String, Json> {
    let cases: Vec<_> = cases().into_iter().map(|(n, e, _)| json!([n, e])).collect();
    let req = json!({"mode": mode, "client": client.name, "addr": addr, "cases": cases});
    let out = support::python(PY, &req.to_string());
    match serde_json::from_str(&out) {
        Ok(Json::Object(m)) => m,
        _ => panic!("python printed {out:?}"),
    }
}

fn raw_get(addr: &str, key: &str) -> Option<(u32, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("get {key}\r\n").as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    if line == "END\r\n" {
        return None;
    }
    let parts: Vec<&str> = line.trim_end().split(' ').collect();
    assert!(parts.len() == 4 && parts[0] == "VALUE" && parts[1] == key, "{line:?}");
    let (flags, len): (u32, usize) = (parts[2].parse().unwrap(), parts[3].parse().unwrap());
    let mut data = vec![0; len + 2];
    r.read_exact(&mut data).unwrap();
    assert!(data.ends_with(b"\r\n"));
    data.truncate(len);
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "END\r\n");
    Some((flags, data))
}

fn raw_set(addr: &str, key: &str, flags: u32, data: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut cmd = format!("set {key} {flags} 0 {}\r\n", data.len()).into_bytes();
    cmd.extend_from_slice(data);
    cmd.extend_from_slice(b"\r\n");
    s.write_all(&cmd).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    assert_eq!(line, "STORED\r\n", "set {key}");
}

/// How an item is stored, for the table: flags, and the pickle protocol.
fn describe(flags: u32, bytes: &[u8]) -> String {
    match bytes {
        [0x80, proto, ..] if flags == FLAG_PICKLE => format!("{flags} (pickle v{proto})"),
        _ => flags.to_string(),
    }
}

fn show(v: &Result<Value, edgecache::CacheError>) -> String {
    let s = match v {
        Ok(Value::Json(j)) => j.to_string(),
        Ok(Value::Bytes(b)) => format!("bytes {b:?}"),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error: {e}"),
    };
    if s.chars().count() > 48 {
        format!("{}…", s.chars().take(48).collect::<String>())
    } else {
        s
    }
}

#[test]
fn python_clients_and_edgecache_read_each_others_values() {
    let server = support::memcached();
    let addr = server.address.as_str();
    let mut failures = Vec::new();
    let mut table = vec![format!(
        "| {:<34} | {:<16} | {:<44} | {:<28} |",
        "client", "value", "Python writes (flags) -> edgecache reads", "edgecache writes (flags) -> Python reads"
    )];
    for client in &CLIENTS {
        let keys = python(client, addr, "write");
        // edgecache writes every case before Python reads them all.
        let mut written = Vec::new();
        for (name, _, value) in cases() {
            let (flags, bytes) = client.format.encode(&value).unwrap();
            let rs_key = keys[name][1].as_str().unwrap();
            raw_set(addr, rs_key, flags, &bytes);
            written.push(describe(flags, &bytes));
        }
        let read = python(client, addr, "read");

        for ((name, expr, value), rs_flags) in cases().into_iter().zip(written) {
            // Python -> edgecache.
            let py_key = keys[name][0].as_str().unwrap();
            let (flags, bytes) = raw_get(addr, py_key).unwrap_or_else(|| panic!("{py_key} missing"));
            let got = client.format.decode(flags, &bytes);
            let quirk = known_quirk(client, name);
            let (want, mut want_flags) = match &quirk {
                Some((v, f, _)) => (v.clone(), *f),
                None => (value.clone(), client.format.encode(&value).unwrap().0),
            };
            let mut py_to_rs = match &got {
                Ok(v) if *v == want => match &quirk {
                    Some((_, _, why)) => format!("reads {} ({why})", show(&got)),
                    None => "equal".to_string(),
                },
                _ => {
                    failures.push(format!(
                        "{} {name}: Python wrote, edgecache read {}",
                        client.name,
                        show(&got)
                    ));
                    format!("DIFFERS: {}", show(&got))
                }
            };
            if client.compresses && flags & FLAG_ZLIB != 0 {
                want_flags |= FLAG_ZLIB;
                py_to_rs += ", zlib";
            }
            if client.compresses && name.ends_with("_long") && flags & FLAG_ZLIB == 0 {
                failures.push(format!(
                    "{} {name}: expected a compressed item, got flags {flags}",
                    client.name
                ));
            }
            if flags != want_flags {
                failures.push(format!(
                    "{} {name}: Python wrote flags {flags}, expected {want_flags}",
                    client.name
                ));
            }

            // edgecache -> Python.
            let mut got_py = read[name][0].clone();
            let same_as_python_literal = read[name][1] == json!(true);
            let mut want_py = tag(&value);
            normalize(&mut got_py);
            normalize(&mut want_py);
            let rs_to_py = if got_py == want_py && same_as_python_literal {
                "equal".to_string()
            } else {
                failures.push(format!(
                    "{} {name}: edgecache wrote, Python read {got_py} (equal to the literal {expr}: {same_as_python_literal})",
                    client.name
                ));
                format!("DIFFERS: {got_py}")
            };
            table.push(format!(
                "| {:<34} | {:<16} | {:<44} | {:<28} |",
                client.name,
                name,
                format!("({}) {py_to_rs}", describe(flags, &bytes)),
                format!("({rs_flags}) {rs_to_py}")
            ));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Items a Python client would choke on, or that are not plain data, are
/// errors naming the flags (or the type), never a silent misread.
#[test]
fn python_objects_and_foreign_flags_are_errors() {
    let server = support::memcached();
    let addr = server.address.as_str();
    let out = support::python(
        r#"
import sys, datetime
from ellar.cache.backends.pymem_cache import PyMemcacheCacheBackend
cache = PyMemcacheCacheBackend(servers=[sys.stdin.read()])
cache.set("date", datetime.date(2026, 12, 1))
cache.set("set", {1, 2})
print(cache.make_key("date"), cache.make_key("set"))
"#,
        addr,
    );
    let keys: Vec<&str> = out.split_whitespace().collect();
    for (key, needle) in [(keys[0], "datetime.date"), (keys[1], "a set")] {
        let (flags, bytes) = raw_get(addr, key).unwrap();
        assert_eq!(flags, FLAG_PICKLE);
        let e = ValueFormat::Pymemcache.decode(flags, &bytes).unwrap_err().to_string();
        assert!(e.contains(needle) && e.contains("flags 1"), "{e}");
        // A serializer format (flags 0 only) refuses the Python item too.
        let e = ValueFormat::default().decode(flags, &bytes).unwrap_err().to_string();
        assert!(e.contains("flags 1") && e.contains("pymemcache"), "{e}");
    }
}
