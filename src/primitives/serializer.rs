//! How a remote backend turns a [`Value`] into the bytes it stores, and back:
//! the [`Serializer`] a backend is configured with (`options.serializer`).
//!
//! - [`Serializer::Framed`] (the default): edgecache's own wire format
//!   ([`crate::primitives::value`]): integers as plain decimal, everything else
//!   behind a `\x1eEC1` header, so JSON and bytes both round-trip exactly.
//! - [`Serializer::Pickle`]: what Ellar's and Django's Redis backends write and
//!   read: integers as plain decimal, everything else pickled. Python
//!   `None`/`bool`/`int`/`float`/`str`/`bytes`/`list`/`tuple`/`dict` map to and
//!   from JSON and bytes. A pickle that names any other Python type (a class
//!   instance, a `datetime`, a `set`) is an error naming it: the pickle is
//!   checked opcode by opcode before [`serde_pickle`] reads it, and nothing in it
//!   is ever executed or constructed.
//! - [`Serializer::Json`]: plain JSON text, what `@upstash/redis` writes.
//! - [`Serializer::Raw`]: bytes in, bytes out.
//!
//! Every decoder reads edgecache's framed values too, and never guesses: bytes
//! it cannot decode come back as [`Value::Bytes`] or as a [`CacheError::Corrupt`]
//! saying why.
//!
//! ```
//! use edgecache::{Serializer, Value};
//!
//! // What Ellar writes for cache.set("k", "hi") and cache.set("n", 7):
//! let hi = Serializer::Pickle.encode(&Value::from("hi")).unwrap();
//! assert!(hi.starts_with(b"\x80"));
//! assert_eq!(Serializer::Pickle.decode(&hi).unwrap(), Value::from("hi"));
//! assert_eq!(Serializer::Pickle.encode(&Value::from(7)).unwrap(), b"7");
//! // A config names it: {"backend": "redis", "options": {"serializer": "pickle", …}}
//! assert_eq!(Serializer::from_name("pickle"), Some(Serializer::Pickle));
//! ```

#[cfg(feature = "pickle")]
use std::collections::BTreeMap;
use std::str::FromStr;

use crate::primitives::error::{CacheError, Result};
use crate::primitives::value::{Value, MAGIC};
use serde_json::Value as Json;

/// How values are stored by a remote backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Serializer {
    /// edgecache's wire format: integers as decimal, else `\x1eEC1j<json>` or `\x1eEC1b<bytes>`.
    #[default]
    Framed,
    /// Ellar's and Django's Redis format: integers as decimal, everything else pickled.
    Pickle,
    /// Plain JSON text (what `@upstash/redis` writes); bytes in edgecache's frame.
    Json,
    /// Bytes as they are; strings as UTF-8 and integers as decimal; reads are always bytes.
    Raw,
}

/// Deepest nesting of lists and dicts a pickle may hold (deeper is an error,
/// so reading it never exhausts the stack).
#[cfg(feature = "pickle")]
pub const MAX_PICKLE_DEPTH: u32 = 128;

/// Most values a pickle may expand to, counting each use of a shared (memo)
/// value again: more is an error, so a small pickle that refers to its parts
/// over and over cannot take all memory.
#[cfg(feature = "pickle")]
pub const MAX_PICKLE_VALUES: u64 = 1_000_000;

impl Serializer {
    /// The names accepted in config, in the order of the variants.
    pub const NAMES: [&'static str; 4] = ["framed", "pickle", "json", "raw"];

    /// The serializer a config name stands for.
    pub fn from_name(name: &str) -> Option<Serializer> {
        match name {
            "framed" => Some(Serializer::Framed),
            "pickle" => Some(Serializer::Pickle),
            "json" => Some(Serializer::Json),
            "raw" => Some(Serializer::Raw),
            _ => None,
        }
    }

    /// Its config name.
    pub fn name(self) -> &'static str {
        match self {
            Serializer::Framed => "framed",
            Serializer::Pickle => "pickle",
            Serializer::Json => "json",
            Serializer::Raw => "raw",
        }
    }

    /// The bytes to store for `value`.
    pub fn encode(self, value: &Value) -> Result<Vec<u8>> {
        match self {
            Serializer::Framed => Ok(value.encode()),
            Serializer::Pickle => encode_pickle(value),
            Serializer::Json => Ok(match value {
                Value::Json(v) => serde_json::to_vec(v).expect("JSON values always serialize"),
                // JSON has no bytes: edgecache's own frame keeps them exact.
                Value::Bytes(_) => value.encode(),
            }),
            Serializer::Raw => match value {
                Value::Bytes(b) => Ok(b.clone()),
                Value::Json(Json::String(s)) => Ok(s.as_bytes().to_vec()),
                Value::Json(Json::Number(n)) if integer_text(n).is_some() => Ok(n.to_string().into_bytes()),
                Value::Json(other) => Err(CacheError::Unsupported(format!(
                    "the raw serializer stores bytes, strings and integers, not {}; use framed, json or pickle",
                    json_type(other)
                ))),
            },
        }
    }

    /// The value stored as `raw`.
    pub fn decode(self, raw: &[u8]) -> Result<Value> {
        match self {
            Serializer::Framed => Value::decode(raw),
            Serializer::Raw => Ok(Value::Bytes(raw.to_vec())),
            Serializer::Pickle => {
                if let Some(n) = python_int(raw)? {
                    return Ok(Value::Json(Json::Number(n)));
                }
                match raw.first() {
                    Some(0x80) => decode_pickle(raw),
                    _ if raw.starts_with(MAGIC) => Value::decode(raw),
                    // Not an int, not a pickle of protocol 2 or later: bytes.
                    _ => Ok(Value::Bytes(raw.to_vec())),
                }
            }
            Serializer::Json => {
                if raw.starts_with(MAGIC) {
                    return Value::decode(raw);
                }
                if let Ok(v) = serde_json::from_slice::<Json>(raw) {
                    return Ok(Value::Json(v));
                }
                match std::str::from_utf8(raw) {
                    // `@upstash/redis` writes a string as its plain text and reads
                    // back text that is not JSON as that string.
                    Ok(s) => Ok(Value::Json(Json::String(s.to_string()))),
                    Err(_) => Ok(Value::Bytes(raw.to_vec())),
                }
            }
        }
    }
}

impl std::fmt::Display for Serializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a float",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a dict",
    }
}

/// The decimal text of an integer JSON number (any size), if it is one.
pub(crate) fn integer_text(n: &serde_json::Number) -> Option<String> {
    let s = n.to_string();
    let digits = s.strip_prefix('-').unwrap_or(&s);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Longest digit string Python's `int()` parses (CPython's default
/// `sys.set_int_max_str_digits`); longer text is not an integer to Python.
pub(crate) const PY_INT_MAX_DIGITS: usize = 4300;

/// What Python's `int(data)` accepts, as Ellar's and Django's serializers try
/// first: ASCII whitespace around, a sign, digits (single `_` between them).
/// `Ok(None)` when it is not such an integer.
pub(crate) fn python_int(raw: &[u8]) -> Result<Option<serde_json::Number>> {
    let t = raw.trim_ascii();
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty()
        || body.len() > PY_INT_MAX_DIGITS
        || !body[0].is_ascii_digit()
        || !body[body.len() - 1].is_ascii_digit()
    {
        return Ok(None);
    }
    let mut digits = String::with_capacity(body.len() + 1);
    let mut prev_underscore = false;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                prev_underscore = false;
                if !(digits.is_empty() && b == b'0') {
                    digits.push(b as char);
                }
            }
            b'_' if !prev_underscore => prev_underscore = true,
            _ => return Ok(None),
        }
    }
    if digits.is_empty() {
        digits.push('0');
    } else if neg {
        digits.insert(0, '-');
    }
    serde_json::Number::from_str(&digits)
        .map(Some)
        .map_err(|e| CacheError::Corrupt(format!("integer does not parse: {e}")))
}

/// The pickle codec, behind the `pickle` feature: serde-pickle and
/// num-bigint add about 60 KB gzip to the wasm, which a deploy that does
/// not share a cache with Python need not carry.
#[cfg(feature = "pickle")]
mod pickle {
    use super::*;
    use serde_pickle::{HashableValue, Value as Py};

    pub(super) fn encode_pickle(value: &Value) -> Result<Vec<u8>> {
        let py = match value {
            // Ellar and Django store ints unpickled, so INCR works on the server.
            Value::Json(Json::Number(n)) if integer_text(n).is_some() => return Ok(n.to_string().into_bytes()),
            Value::Json(v) => return pickle_json(v),
            Value::Bytes(b) => Py::Bytes(b.clone()),
        };
        pickle_py(&py)
    }

    /// The pickle of `v`, integers included (memcached's Python formats
    /// pickle an int too long for Python's `int()` to parse).
    pub(crate) fn pickle_json(v: &Json) -> Result<Vec<u8>> {
        pickle_py(&json_to_py(v)?)
    }

    fn pickle_py(py: &Py) -> Result<Vec<u8>> {
        serde_pickle::value_to_vec(py, serde_pickle::SerOptions::new())
            .map_err(|e| CacheError::Corrupt(format!("cannot pickle value: {e}")))
    }

    fn json_to_py(v: &Json) -> Result<Py> {
        Ok(match v {
            Json::Null => Py::None,
            Json::Bool(b) => Py::Bool(*b),
            Json::Number(n) => match (n.as_i64(), integer_text(n)) {
                (Some(i), _) => Py::I64(i),
                (None, Some(text)) => Py::Int(
                    num_bigint::BigInt::from_str(&text)
                        .map_err(|e| CacheError::Corrupt(format!("integer {text} does not parse: {e}")))?,
                ),
                (None, None) => Py::F64(
                    n.as_f64()
                        .ok_or_else(|| CacheError::Corrupt(format!("number {n} is not a float")))?,
                ),
            },
            Json::String(s) => Py::String(s.clone()),
            Json::Array(a) => Py::List(a.iter().map(json_to_py).collect::<Result<_>>()?),
            Json::Object(m) => {
                let mut d = BTreeMap::new();
                for (k, v) in m {
                    d.insert(HashableValue::String(k.clone()), json_to_py(v)?);
                }
                Py::Dict(d)
            }
        })
    }

    pub(crate) fn decode_pickle(raw: &[u8]) -> Result<Value> {
        check_pickle(raw)?;
        let py = serde_pickle::value_from_slice(raw, serde_pickle::DeOptions::new())
            .map_err(|e| CacheError::Corrupt(format!("pickle does not parse: {e}")))?;
        match py {
            Py::Bytes(b) => Ok(Value::Bytes(b)),
            other => py_to_json(other).map(Value::Json),
        }
    }

    fn unsupported(what: &str) -> CacheError {
        CacheError::Corrupt(format!(
            "pickled value holds {what}, which edgecache does not read (it reads None, bool, int, float, str, \
             bytes, list, tuple and dict, with bytes only at the top level)"
        ))
    }

    fn py_to_json(v: Py) -> Result<Json> {
        Ok(match v {
            Py::None => Json::Null,
            Py::Bool(b) => Json::Bool(b),
            Py::I64(i) => Json::from(i),
            Py::Int(i) => Json::Number(
                serde_json::Number::from_str(&i.to_string())
                    .map_err(|e| CacheError::Corrupt(format!("integer does not parse: {e}")))?,
            ),
            Py::F64(f) => {
                Json::Number(serde_json::Number::from_f64(f).ok_or_else(|| unsupported(&format!("the float {f}")))?)
            }
            Py::String(s) => Json::String(s),
            Py::Bytes(_) => return Err(unsupported("bytes inside a list or dict")),
            Py::List(items) | Py::Tuple(items) => {
                Json::Array(items.into_iter().map(py_to_json).collect::<Result<_>>()?)
            }
            Py::Set(_) => return Err(unsupported("a set")),
            Py::FrozenSet(_) => return Err(unsupported("a frozenset")),
            Py::Dict(d) => {
                let mut m = serde_json::Map::new();
                for (k, v) in d {
                    let HashableValue::String(k) = k else {
                        return Err(unsupported(&format!("a dict key of type {}", hashable_type(&k))));
                    };
                    m.insert(k, py_to_json(v)?);
                }
                Json::Object(m)
            }
        })
    }

    fn hashable_type(k: &HashableValue) -> &'static str {
        match k {
            HashableValue::None => "NoneType",
            HashableValue::Bool(_) => "bool",
            HashableValue::I64(_) | HashableValue::Int(_) => "int",
            HashableValue::F64(_) => "float",
            HashableValue::Bytes(_) => "bytes",
            HashableValue::String(_) => "str",
            HashableValue::Tuple(_) => "tuple",
            HashableValue::FrozenSet(_) => "frozenset",
        }
    }

    /// One item on the checker's stack: how deeply nested it is, and its text
    /// when it is a short string (the operands of `STACK_GLOBAL`).
    #[derive(Clone, Default)]
    struct Item {
        depth: u32,
        /// Values it expands to, itself included.
        values: u64,
        text: Option<String>,
    }

    /// Walks a pickle's opcodes without building anything, and refuses what is not
    /// plain data before `serde_pickle` sees it: any reference to a Python global
    /// (a class, a function; named in the error) except the builtins plain data is
    /// spelled with (`set`, `frozenset`, `bytearray`, and `_codecs.encode` for bytes in
    /// protocols 0 to 2), any object construction (`NEWOBJ`, `BUILD`, …: what
    /// `serde_pickle` would otherwise turn into a dict), persistent ids, the
    /// extension registry, out-of-band buffers, lengths past the end of the input,
    /// and nesting deeper than [`MAX_PICKLE_DEPTH`].
    fn check_size(item: &Item) -> Result<()> {
        if item.depth > MAX_PICKLE_DEPTH {
            return Err(CacheError::Corrupt(format!(
                "pickled value is nested deeper than {MAX_PICKLE_DEPTH} levels"
            )));
        }
        if item.values > MAX_PICKLE_VALUES {
            return Err(CacheError::Corrupt(format!(
                "pickled value expands to more than {MAX_PICKLE_VALUES} values"
            )));
        }
        Ok(())
    }

    fn check_pickle(raw: &[u8]) -> Result<()> {
        let corrupt = |m: &str| CacheError::Corrupt(format!("pickle does not parse: {m}"));
        let mut pos = 0usize;
        let mut stack: Vec<Item> = Vec::new();
        let mut marks: Vec<usize> = Vec::new();
        let mut memo: BTreeMap<u64, Item> = BTreeMap::new();
        let mut last_global = String::from("an object");

        macro_rules! take {
            ($n:expr) => {{
                let n: usize = $n;
                if raw.len() - pos < n {
                    return Err(corrupt("truncated"));
                }
                let s = &raw[pos..pos + n];
                pos += n;
                s
            }};
        }
        macro_rules! uint {
            ($n:expr) => {{
                take!($n)
                    .iter()
                    .rev()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            }};
        }
        macro_rules! read_line {
            () => {{
                let rest = &raw[pos..];
                let end = rest
                    .iter()
                    .position(|b| *b == b'\n')
                    .ok_or_else(|| corrupt("truncated line"))?;
                pos += end + 1;
                &rest[..end]
            }};
        }
        macro_rules! pop {
            () => {
                match stack.pop() {
                    Some(i) if marks.last().is_none_or(|m| stack.len() >= *m) => i,
                    _ => return Err(corrupt("stack underflow")),
                }
            };
        }
        macro_rules! pop_mark {
            () => {{
                let m = marks.pop().ok_or_else(|| corrupt("no mark"))?;
                if m > stack.len() {
                    return Err(corrupt("stack underflow"));
                }
                let items = stack.split_off(m);
                (
                    items.iter().map(|i| i.depth).max().unwrap_or(0),
                    items.iter().fold(0u64, |n, i| n.saturating_add(i.values)),
                )
            }};
        }
        macro_rules! push {
            ($depth:expr, $values:expr) => {{
                let item = Item {
                    depth: $depth,
                    values: $values,
                    text: None,
                };
                check_size(&item)?;
                stack.push(item);
            }};
        }
        macro_rules! grow_top {
            (($depth:expr, $values:expr)) => {{
                let (depth, values): (u32, u64) = ($depth, $values);
                let top = stack.last_mut().ok_or_else(|| corrupt("stack underflow"))?;
                top.depth = top.depth.max(depth + 1);
                top.values = top.values.saturating_add(values);
                check_size(top)?;
            }};
        }
        let allowed = |module: &str, name: &str| {
            matches!(
                (module, name),
                ("builtins" | "__builtin__", "set" | "frozenset" | "bytearray") | ("_codecs", "encode")
            )
        };

        loop {
            let op = take!(1)[0];
            match op {
                b'.' => return Ok(()),
                0x80 => {
                    take!(1);
                }
                0x95 => {
                    take!(8);
                }
                b'(' => marks.push(stack.len()),
                b'0' => {
                    if stack.len() > marks.last().copied().unwrap_or(0) {
                        stack.pop();
                    } else {
                        pop_mark!();
                    }
                }
                b'1' => {
                    pop_mark!();
                }
                b'2' => {
                    let top = stack.last().cloned().ok_or_else(|| corrupt("stack underflow"))?;
                    stack.push(top);
                }
                // Scalars.
                b'N' | 0x88 | 0x89 => push!(0, 1),
                b'I' | b'L' | b'F' => {
                    let _ = read_line!();
                    push!(0, 1)
                }
                b'J' => {
                    take!(4);
                    push!(0, 1)
                }
                b'K' => {
                    take!(1);
                    push!(0, 1)
                }
                b'M' => {
                    take!(2);
                    push!(0, 1)
                }
                b'G' => {
                    take!(8);
                    push!(0, 1)
                }
                0x8a => {
                    let n = uint!(1) as usize;
                    let _ = take!(n);
                    push!(0, 1)
                }
                0x8b => {
                    let n = uint!(4) as usize;
                    let _ = take!(n);
                    push!(0, 1)
                }
                b'S' => {
                    let _ = read_line!();
                    push!(0, 1)
                }
                b'V' => {
                    let s = read_line!();
                    let text = (s.len() <= 256).then(|| String::from_utf8_lossy(s).into_owned());
                    stack.push(Item {
                        depth: 0,
                        values: 1,
                        text,
                    });
                }
                b'T' | b'U' | b'X' | b'B' | b'C' | 0x8c | 0x8d | 0x8e | 0x96 => {
                    let n = match op {
                        b'U' | b'C' | 0x8c => uint!(1),
                        b'T' | b'X' | b'B' => uint!(4),
                        _ => uint!(8),
                    };
                    let n = usize::try_from(n).map_err(|_| corrupt("length too large"))?;
                    let s = take!(n);
                    let text = matches!(op, b'X' | 0x8c | 0x8d | b'T' | b'U')
                        .then(|| s.len() <= 256)
                        .unwrap_or(false)
                        .then(|| String::from_utf8_lossy(s).into_owned());
                    stack.push(Item {
                        depth: 0,
                        values: 1,
                        text,
                    });
                }
                // Containers.
                b']' | b'}' | b')' | 0x8f => push!(1, 1),
                b'l' | b't' | b'd' | 0x91 => {
                    let (d, n) = pop_mark!();
                    push!(d + 1, n.saturating_add(1))
                }
                0x85..=0x87 => {
                    let (mut d, mut n) = (0, 1u64);
                    for _ in 0..(op - 0x84) {
                        let i = pop!();
                        d = d.max(i.depth);
                        n = n.saturating_add(i.values);
                    }
                    push!(d + 1, n)
                }
                b'a' => {
                    let i = pop!();
                    grow_top!((i.depth, i.values))
                }
                b's' => {
                    let (v, k) = (pop!(), pop!());
                    grow_top!((v.depth.max(k.depth), v.values.saturating_add(k.values)))
                }
                b'e' | b'u' | 0x90 => {
                    let (d, n) = pop_mark!();
                    grow_top!((d, n))
                }
                // Memo.
                b'p' => {
                    let id = std::str::from_utf8(read_line!())
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| corrupt("bad PUT"))?;
                    memo.insert(id, stack.last().cloned().ok_or_else(|| corrupt("stack underflow"))?);
                }
                b'q' | b'r' | 0x94 => {
                    let id = match op {
                        b'q' => uint!(1),
                        b'r' => uint!(4),
                        _ => memo.len() as u64,
                    };
                    memo.insert(id, stack.last().cloned().ok_or_else(|| corrupt("stack underflow"))?);
                }
                b'g' | b'h' | b'j' => {
                    let id = match op {
                        b'g' => std::str::from_utf8(read_line!())
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .ok_or_else(|| corrupt("bad GET"))?,
                        b'h' => uint!(1),
                        _ => uint!(4),
                    };
                    let item = memo.get(&id).cloned().ok_or_else(|| corrupt("memo id not found"))?;
                    stack.push(item);
                }
                // Globals: only the builtins plain data is spelled with.
                b'c' | 0x93 => {
                    let (module, name) = if op == b'c' {
                        let m = String::from_utf8_lossy(read_line!()).into_owned();
                        let n = String::from_utf8_lossy(read_line!()).into_owned();
                        (m, n)
                    } else {
                        let n = pop!().text.unwrap_or_else(|| "?".into());
                        let m = pop!().text.unwrap_or_else(|| "?".into());
                        (m, n)
                    };
                    if !allowed(&module, &name) {
                        return Err(unsupported(&format!("a {module}.{name}")));
                    }
                    last_global = format!("{module}.{name}");
                    push!(0, 1)
                }
                b'R' => {
                    let args = pop!();
                    pop!();
                    push!(args.depth + 1, args.values.saturating_add(1))
                }
                b'i' => {
                    let mut lines = raw[pos..].split(|b| *b == b'\n').map(String::from_utf8_lossy);
                    let (m, n) = (lines.next().unwrap_or_default(), lines.next().unwrap_or_default());
                    return Err(unsupported(&format!("a {m}.{n} object")));
                }
                b'o' | 0x81 | 0x92 | b'b' => return Err(unsupported(&format!("a {last_global} object"))),
                b'P' | b'Q' => return Err(unsupported("a persistent id")),
                0x82..=0x84 => return Err(unsupported("an object from the extension registry")),
                0x97 | 0x98 => return Err(unsupported("an out-of-band buffer")),
                other => return Err(corrupt(&format!("unknown opcode {other:#04x}"))),
            }
        }
    }
}

#[cfg(feature = "pickle")]
pub(crate) use pickle::decode_pickle;
#[cfg(feature = "pickle")]
use pickle::encode_pickle;
#[cfg(all(feature = "pickle", feature = "memcached"))]
pub(crate) use pickle::pickle_json;

/// Without the `pickle` feature: a clear error instead of a codec.
#[cfg(not(feature = "pickle"))]
fn no_pickle() -> CacheError {
    CacheError::Unsupported(
        "this build has no pickle serializer: build with the `pickle` feature (EDGECACHE_FEATURES=app,pickle)".into(),
    )
}

#[cfg(not(feature = "pickle"))]
fn encode_pickle(_: &Value) -> Result<Vec<u8>> {
    Err(no_pickle())
}

#[cfg(all(not(feature = "pickle"), feature = "memcached"))]
pub(crate) fn pickle_json(_: &Json) -> Result<Vec<u8>> {
    Err(no_pickle())
}

#[cfg(not(feature = "pickle"))]
pub(crate) fn decode_pickle(_: &[u8]) -> Result<Value> {
    Err(no_pickle())
}

#[cfg(all(test, feature = "pickle"))]
mod tests {
    use super::*;
    use serde_json::json;

    fn all() -> [Serializer; 4] {
        [
            Serializer::Framed,
            Serializer::Pickle,
            Serializer::Json,
            Serializer::Raw,
        ]
    }

    #[test]
    fn names_roundtrip() {
        for s in all() {
            assert_eq!(Serializer::from_name(s.name()), Some(s));
            assert!(Serializer::NAMES.contains(&s.name()));
        }
        assert_eq!(Serializer::from_name("yaml"), None);
        assert_eq!(Serializer::default(), Serializer::Framed);
    }

    #[test]
    fn pickle_roundtrips_plain_data() {
        for v in [
            json!(null),
            json!(true),
            json!(false),
            json!(1.5),
            json!(-0.25),
            json!("héllo ✓"),
            json!("42"),
            json!([1, "a", null, [2.5, {"k": [true]}]]),
            json!({"a": 1, "b": {"c": [1, 2, 3]}, "ü": "x"}),
            json!([i64::MAX, u64::MAX]),
            json!(12345678901234567890123_u128),
        ] {
            let enc = Serializer::Pickle.encode(&Value::Json(v.clone())).unwrap();
            assert_eq!(Serializer::Pickle.decode(&enc).unwrap(), Value::Json(v.clone()), "{v}");
        }
        let b = Value::Bytes(vec![0, 1, 0xff, b'4']);
        assert_eq!(
            Serializer::Pickle
                .decode(&Serializer::Pickle.encode(&b).unwrap())
                .unwrap(),
            b
        );
    }

    #[test]
    fn pickle_integers_are_decimal_as_python_writes_them() {
        assert_eq!(Serializer::Pickle.encode(&Value::from(42)).unwrap(), b"42");
        assert_eq!(Serializer::Pickle.encode(&Value::from(-7)).unwrap(), b"-7");
        assert_eq!(Serializer::Pickle.decode(b"42").unwrap(), Value::from(42));
        // Python's int() accepts these too.
        assert_eq!(Serializer::Pickle.decode(b" +0042 ").unwrap(), Value::from(42));
        assert_eq!(Serializer::Pickle.decode(b"1_000").unwrap(), Value::from(1000));
        assert_eq!(Serializer::Pickle.decode(b"-0").unwrap(), Value::from(0));
        let big = Serializer::Pickle.decode(b"1180591620717411303424").unwrap();
        assert_eq!(big, Value::Json(json!(1180591620717411303424_u128)));
        assert_eq!(
            Serializer::Pickle.decode(b"1__0").unwrap(),
            Value::Bytes(b"1__0".to_vec())
        );
    }

    /// Pickles made by CPython 3.11 (`pickle.dumps(x, 5)` unless noted).
    #[test]
    fn reads_what_python_writes() {
        let cases: &[(&[u8], Value)] = &[
            (b"\x80\x05N.", Value::Json(json!(null))),
            (b"\x80\x05\x88.", Value::Json(json!(true))),
            (b"\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00.", Value::Json(json!(1.5))),
            (
                b"\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x8c\x06h\xc3\xa9llo\x94.",
                Value::Json(json!("héllo")),
            ),
            (b"\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00C\x03\x00\x01\xff\x94.", Value::Bytes(vec![0, 1, 0xff])),
            // [1, (2, "a"), {"k": None}]
            (
                b"\x80\x05\x95\x17\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02\x8c\x01a\x94\x86\x94}\x94\x8c\x01k\x94Nse.",
                Value::Json(json!([1, [2, "a"], {"k": null}])),
            ),
            // bytearray(b"ab") in protocol 5
            (b"\x80\x05\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x94.", Value::Bytes(b"ab".to_vec())),
            // b"ab" in protocol 2: _codecs.encode("ab", "latin1")
            (
                b"\x80\x02c_codecs\nencode\nq\x00X\x02\x00\x00\x00abq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.",
                Value::Bytes(b"ab".to_vec()),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(&Serializer::Pickle.decode(raw).unwrap(), want, "{raw:?}");
        }
    }

    #[test]
    fn objects_are_errors_naming_their_type() {
        // class Point: x = 1 (an instance with __dict__ {"x": 1}), protocol 5
        let point = b"\x80\x05\x95#\x00\x00\x00\x00\x00\x00\x00\x8c\x08__main__\x94\x8c\x05Point\x94\x93\x94)\x81\x94}\x94\x8c\x01x\x94K\x01sb.";
        let e = Serializer::Pickle.decode(point).unwrap_err().to_string();
        assert!(e.contains("__main__.Point"), "{e}");
        // datetime.date(2026, 12, 1), protocol 5
        let date = b"\x80\x05\x95 \x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x04date\x94\x93\x94C\x04\x07\xea\x0c\x01\x94\x85\x94R\x94.";
        let e = Serializer::Pickle.decode(date).unwrap_err().to_string();
        assert!(e.contains("datetime.date"), "{e}");
        // os.system("true") in protocol 0: never called, named.
        let e = Serializer::Pickle
            .decode(b"\x80\x02cos\nsystem\n(S'true'\ntR.")
            .unwrap_err()
            .to_string();
        assert!(e.contains("os.system"), "{e}");
        // {1, 2}: a set has no JSON form.
        let e = Serializer::Pickle
            .decode(b"\x80\x05\x95\x09\x00\x00\x00\x00\x00\x00\x00\x8f\x94(K\x01K\x02\x90.")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a set"), "{e}");
        // {1: "a"}: JSON keys are strings.
        let e = Serializer::Pickle
            .decode(b"\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00}\x94K\x01\x8c\x01a\x94s.")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key of type int"), "{e}");
    }

    #[test]
    fn deep_and_huge_pickles_are_errors() {
        let mut deep = b"\x80\x05".to_vec();
        deep.extend(std::iter::repeat_n(b']', 10_000));
        deep.extend(std::iter::repeat_n(b'a', 9_999));
        deep.push(b'.');
        assert!(Serializer::Pickle
            .decode(&deep)
            .unwrap_err()
            .to_string()
            .contains("deeper"));
        // [L, L] where L = [M, M] where M = …: 2^60 values from a few bytes.
        let mut laughs = b"\x80\x05K\x00\x94".to_vec();
        for i in 0..60u8 {
            laughs.extend_from_slice(&[b'h', i, b'h', i, 0x86, 0x94]);
        }
        laughs.push(b'.');
        assert!(Serializer::Pickle
            .decode(&laughs)
            .unwrap_err()
            .to_string()
            .contains("more than"));
        let huge = b"\x80\x05\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.";
        assert!(Serializer::Pickle
            .decode(huge)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
    }

    #[test]
    fn foreign_formats_are_never_misread() {
        // Anything but an int or a protocol 2+ pickle is bytes for pickle.
        assert_eq!(
            Serializer::Pickle.decode(b"hello").unwrap(),
            Value::Bytes(b"hello".to_vec())
        );
        assert_eq!(
            Serializer::Pickle.decode(br#"{"a":1}"#).unwrap(),
            Value::Bytes(br#"{"a":1}"#.to_vec())
        );
        // Framed values read as what they hold, whatever the serializer (but raw).
        let framed = Value::Json(json!({"a": [1]})).encode();
        for s in [Serializer::Framed, Serializer::Pickle, Serializer::Json] {
            assert_eq!(s.decode(&framed).unwrap(), Value::Json(json!({"a": [1]})), "{s}");
        }
        // A pickle is not UTF-8: json reads it as bytes.
        let pickled = Serializer::Pickle.encode(&Value::from("x")).unwrap();
        assert_eq!(
            Serializer::Json.decode(&pickled).unwrap(),
            Value::Bytes(pickled.clone())
        );
        // Framed reads a pickle as bytes.
        assert_eq!(
            Serializer::Framed.decode(&pickled).unwrap(),
            Value::Bytes(pickled.clone())
        );
        assert_eq!(Serializer::Raw.decode(&pickled).unwrap(), Value::Bytes(pickled));
    }

    #[test]
    fn json_is_plain_json_text() {
        let v = Value::Json(json!({"a": [1, "x"]}));
        assert_eq!(Serializer::Json.encode(&v).unwrap(), br#"{"a":[1,"x"]}"#);
        assert_eq!(Serializer::Json.decode(br#"{"a":[1,"x"]}"#).unwrap(), v);
        assert_eq!(Serializer::Json.encode(&Value::from("42")).unwrap(), br#""42""#);
        assert_eq!(Serializer::Json.encode(&Value::from(42)).unwrap(), b"42");
        // What @upstash/redis writes for a string: its plain text.
        assert_eq!(Serializer::Json.decode(b"hello").unwrap(), Value::from("hello"));
        let b = Value::Bytes(vec![b'{', 0xff]);
        assert_eq!(
            Serializer::Json.decode(&Serializer::Json.encode(&b).unwrap()).unwrap(),
            b
        );
        assert_eq!(
            Serializer::Json.decode(&[0xff, 0]).unwrap(),
            Value::Bytes(vec![0xff, 0])
        );
    }

    #[test]
    fn raw_is_bytes() {
        assert_eq!(
            Serializer::Raw.encode(&Value::Bytes(b"\x80x".to_vec())).unwrap(),
            b"\x80x"
        );
        assert_eq!(Serializer::Raw.encode(&Value::from("ü")).unwrap(), "ü".as_bytes());
        assert_eq!(Serializer::Raw.encode(&Value::from(-3)).unwrap(), b"-3");
        let e = Serializer::Raw
            .encode(&Value::Json(json!([1])))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a list"), "{e}");
        assert_eq!(Serializer::Raw.decode(b"42").unwrap(), Value::Bytes(b"42".to_vec()));
    }
}
