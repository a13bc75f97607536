//! How a memcached backend stores a [`Value`]: its bytes plus the item's
//! 32-bit flags, so that Python clients sharing the cache read what edgecache
//! wrote as the same Python value, and the other way round.
//!
//! - [`ValueFormat::Serializer`]: any crate [`Serializer`] (`framed`, the
//!   default, `json`, `raw`, `pickle`), always with flags 0.
//! - [`ValueFormat::Pymemcache`]: pymemcache's `pickle_serde` (what Ellar's
//!   `PyMemcacheCacheBackend` configures): `int` as decimal text with flag 2,
//!   `str` as UTF-8 with flag 16, `bytes` as they are with flag 0, anything
//!   else pickled with flag 1.
//! - [`ValueFormat::Pylibmc`]: pylibmc's defaults (Ellar's
//!   `PyLibMCCacheBackend`): the same, except `int` has flag 4, and pylibmc
//!   itself writes `bool` as `1`/`0` with flag 2, which both clients (and this
//!   module) read back as the int 1/0.
//!
//! Mapping for the two Python formats: a JSON integer of any size is a Python
//! `int` (past 4300 digits, which Python's `int()` refuses to parse, it is
//! pickled instead); a JSON string is a `str`; [`Value::Bytes`]
//! is `bytes`; a float, `null`, a bool, an array or an object is pickled, so
//! Python reads a `float`, `None`, a `bool`, a `list` or a `dict`. Without the
//! `pickle` cargo feature, ints, strings and bytes still work both ways, and
//! the rest is a [`CacheError::Unsupported`] saying to build with it.
//!
//! Reading never guesses (pymemcache itself reads an unreadable pickle as
//! `None`; edgecache does not):
//! - the Python formats read exactly the flags the two clients write: 0, 1, 2,
//!   4 and 16, each optionally with [`FLAG_ZLIB`] (pylibmc's
//!   `min_compress_len`, pymemcache's `compressed_serde`). Any other flags, an
//!   int flag on text that is not an int, a str flag on bytes that are not
//!   UTF-8, a pickle that does not parse or that holds anything but plain data
//!   (a class instance, named in the message), or a zlib stream that does not
//!   inflate, is a [`CacheError::Corrupt`] naming the flags;
//! - a [`ValueFormat::Serializer`] reads only flags 0: non-zero flags mean a
//!   Python client wrote the item, and reading its bytes as framed or JSON
//!   would misread it, so that is a [`CacheError::Corrupt`] naming the flags
//!   and the format to configure instead;
//! - zlib (flag 8) is inflated by `miniz_oxide`, which comes with the `pickle`
//!   feature; without it a compressed item is a [`CacheError::Unsupported`].
//!   edgecache never compresses what it writes (both clients read
//!   uncompressed items whatever their settings).
//!
//! ```
//! use edgecache::backend::memcached::flags::ValueFormat;
//! use edgecache::Value;
//!
//! let f = ValueFormat::from_name("pymemcache").unwrap();
//! assert_eq!(f.encode(&Value::from(7)).unwrap(), (2, b"7".to_vec()));
//! assert_eq!(f.encode(&Value::from("hi")).unwrap(), (16, b"hi".to_vec()));
//! // 2**70 as pylibmc writes it: a JSON integer past 64 bits.
//! let big = f.decode(4, b"1180591620717411303424").unwrap();
//! assert_eq!(big, Value::Json(serde_json::json!(1180591620717411303424_u128)));
//! assert!(f.decode(3, b"7").is_err());
//! ```

use crate::primitives::error::{CacheError, Result};
use crate::primitives::serializer::{
    decode_pickle, integer_text, json_type, pickle_json, python_int, Serializer, PY_INT_MAX_DIGITS,
};
use crate::primitives::value::Value;
use serde_json::Value as Json;

/// Flags 0: `bytes`, stored as they are.
pub const FLAG_BYTES: u32 = 0;
/// A pickled Python value.
pub const FLAG_PICKLE: u32 = 1;
/// An `int` as decimal text (pymemcache; pylibmc's `bool`).
pub const FLAG_INTEGER: u32 = 1 << 1;
/// An `int` as decimal text (pylibmc; Python 2's `long`).
pub const FLAG_LONG: u32 = 1 << 2;
/// The bytes are a zlib stream of what the other flags describe.
pub const FLAG_ZLIB: u32 = 1 << 3;
/// A `str` as UTF-8.
pub const FLAG_TEXT: u32 = 1 << 4;

/// Most bytes a zlib-compressed item may inflate to: a 1 MiB item can hold
/// about 1 GB of zeros, more than a Worker isolate has, so more is an error.
pub const MAX_INFLATED_BYTES: usize = 32 << 20;

/// How a memcached backend writes values and reads them back, in bytes + the item's 32-bit flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueFormat {
    /// Any crate [`Serializer`] (framed default, json, raw, pickle) with flags 0.
    Serializer(Serializer),
    /// pymemcache's `pickle_serde` (what Ellar's PyMemcacheCacheBackend uses).
    Pymemcache,
    /// pylibmc's defaults (PyLibMCCacheBackend).
    Pylibmc,
}

impl Default for ValueFormat {
    /// edgecache's own framed format, flags 0.
    fn default() -> Self {
        ValueFormat::Serializer(Serializer::Framed)
    }
}

impl From<Serializer> for ValueFormat {
    fn from(s: Serializer) -> Self {
        ValueFormat::Serializer(s)
    }
}

/// What the flags (zlib bit aside) say the bytes hold, as the Python clients
/// read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PyType {
    Bytes,
    Pickle,
    Int,
    Text,
}

impl PyType {
    fn from_flags(flags: u32) -> Option<(PyType, bool)> {
        let ty = match flags & !FLAG_ZLIB {
            FLAG_BYTES => PyType::Bytes,
            FLAG_PICKLE => PyType::Pickle,
            FLAG_INTEGER | FLAG_LONG => PyType::Int,
            FLAG_TEXT => PyType::Text,
            _ => return None,
        };
        Some((ty, flags & FLAG_ZLIB != 0))
    }

    fn name(self) -> &'static str {
        match self {
            PyType::Bytes => "bytes",
            PyType::Pickle => "a pickle",
            PyType::Int => "an int",
            PyType::Text => "a str",
        }
    }
}

impl ValueFormat {
    /// The names accepted in config.
    pub const NAMES: [&'static str; 6] = ["framed", "json", "raw", "pickle", "pymemcache", "pylibmc"];

    /// The format a config name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pymemcache" => Some(ValueFormat::Pymemcache),
            "pylibmc" => Some(ValueFormat::Pylibmc),
            other => Serializer::from_name(other).map(ValueFormat::Serializer),
        }
    }

    /// Its config name.
    pub fn name(self) -> &'static str {
        match self {
            ValueFormat::Serializer(s) => s.name(),
            ValueFormat::Pymemcache => "pymemcache",
            ValueFormat::Pylibmc => "pylibmc",
        }
    }

    /// The flags and bytes to store for `value`.
    pub fn encode(self, value: &Value) -> Result<(u32, Vec<u8>)> {
        let int_flag = match self {
            ValueFormat::Serializer(s) => return Ok((0, s.encode(value)?)),
            ValueFormat::Pymemcache => FLAG_INTEGER,
            ValueFormat::Pylibmc => FLAG_LONG,
        };
        match value {
            Value::Bytes(b) => Ok((FLAG_BYTES, b.clone())),
            Value::Json(Json::String(s)) => Ok((FLAG_TEXT, s.as_bytes().to_vec())),
            Value::Json(Json::Number(n)) if integer_text(n).is_some_and(|t| py_int_fits(&t)) => {
                Ok((int_flag, n.to_string().into_bytes()))
            }
            Value::Json(v) => {
                let pickled = pickle_json(v).map_err(|e| match e {
                    CacheError::Unsupported(why) => CacheError::Unsupported(format!(
                        "the {} format stores {} as a Python pickle: {why}",
                        self.name(),
                        json_kind(v)
                    )),
                    other => other,
                })?;
                Ok((FLAG_PICKLE, pickled))
            }
        }
    }

    /// The value stored as `bytes` with `flags`.
    pub fn decode(self, flags: u32, bytes: &[u8]) -> Result<Value> {
        let ValueFormat::Serializer(s) = self else {
            return decode_python(flags, bytes);
        };
        if flags != 0 {
            let hint = match PyType::from_flags(flags) {
                Some(_) => "a Python client (pymemcache, pylibmc) wrote it: set the format to pymemcache or pylibmc",
                None => "another client wrote it in a format edgecache does not know",
            };
            return Err(CacheError::Corrupt(format!(
                "memcached item has flags {flags}, which the {s} format never writes; {hint}"
            )));
        }
        s.decode(bytes)
    }
}

impl std::fmt::Display for ValueFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether Python's `int()` parses `text` back (at most 4300 digits).
fn py_int_fits(text: &str) -> bool {
    text.trim_start_matches('-').len() <= PY_INT_MAX_DIGITS
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Number(n) if integer_text(n).is_some() => "an int of more than 4300 digits",
        other => json_type(other),
    }
}

/// Reads an item as pymemcache and pylibmc do (they read the same flags).
fn decode_python(flags: u32, bytes: &[u8]) -> Result<Value> {
    let Some((ty, zlib)) = PyType::from_flags(flags) else {
        return Err(CacheError::Corrupt(format!(
            "memcached flags {flags} are not a value pymemcache or pylibmc writes (0 bytes, 1 pickle, \
             2 or 4 int, 16 str, each optionally + 8 zlib)"
        )));
    };
    let what = || {
        let zlib = if zlib { "zlib-compressed " } else { "" };
        format!("memcached flags {flags} ({zlib}{})", ty.name())
    };
    let context = |e: CacheError| match e {
        CacheError::Corrupt(why) => CacheError::Corrupt(format!("{}: {why}", what())),
        CacheError::Unsupported(why) => CacheError::Unsupported(format!("{}: {why}", what())),
        other => other,
    };
    let inflated;
    let bytes = if zlib {
        inflated = inflate(bytes).map_err(context)?;
        &inflated[..]
    } else {
        bytes
    };
    match ty {
        PyType::Bytes => Ok(Value::Bytes(bytes.to_vec())),
        PyType::Text => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::Json(Json::String(s.to_owned()))),
            Err(e) => Err(CacheError::Corrupt(format!("{}: not UTF-8: {e}", what()))),
        },
        PyType::Int => match python_int(bytes).map_err(context)? {
            Some(n) => Ok(Value::Json(Json::Number(n))),
            None => Err(CacheError::Corrupt(format!(
                "{}: {:?} is not an integer",
                what(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
            ))),
        },
        PyType::Pickle => decode_pickle(bytes).map_err(context),
    }
}

#[cfg(feature = "pickle")]
fn inflate(bytes: &[u8]) -> Result<Vec<u8>> {
    inflate_at_most(bytes, MAX_INFLATED_BYTES)
}

#[cfg(feature = "pickle")]
fn inflate_at_most(bytes: &[u8], limit: usize) -> Result<Vec<u8>> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    decompress_to_vec_zlib_with_limit(bytes, limit).map_err(|e| {
        CacheError::Corrupt(match e.status {
            TINFLStatus::HasMoreOutput => format!("inflates to more than {limit} bytes"),
            _ => format!("zlib stream does not inflate: {e}"),
        })
    })
}

#[cfg(not(feature = "pickle"))]
fn inflate(_: &[u8]) -> Result<Vec<u8>> {
    Err(CacheError::Unsupported(
        "this build has no zlib: build with the `pickle` feature (EDGECACHE_FEATURES=app,pickle), \
         or turn off the Python client's compression"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: [ValueFormat; 6] = [
        ValueFormat::Serializer(Serializer::Framed),
        ValueFormat::Serializer(Serializer::Json),
        ValueFormat::Serializer(Serializer::Raw),
        ValueFormat::Serializer(Serializer::Pickle),
        ValueFormat::Pymemcache,
        ValueFormat::Pylibmc,
    ];
    const PYTHON: [ValueFormat; 2] = [ValueFormat::Pymemcache, ValueFormat::Pylibmc];

    fn big() -> Value {
        Value::Json(json!(1180591620717411303424_u128)) // 2**70
    }

    #[test]
    fn names_roundtrip() {
        for (f, name) in ALL.iter().zip(ValueFormat::NAMES) {
            assert_eq!(f.name(), name);
            assert_eq!(ValueFormat::from_name(name), Some(*f));
            assert_eq!(f.to_string(), name);
        }
        assert_eq!(ValueFormat::from_name("memcache"), None);
        assert_eq!(ValueFormat::default(), ValueFormat::from_name("framed").unwrap());
    }

    #[test]
    fn ints_strings_bytes_have_their_flags() {
        for (f, int_flag) in [(ValueFormat::Pymemcache, 2), (ValueFormat::Pylibmc, 4)] {
            assert_eq!(f.encode(&Value::from(7)).unwrap(), (int_flag, b"7".to_vec()));
            assert_eq!(f.encode(&Value::from(-5)).unwrap(), (int_flag, b"-5".to_vec()));
            assert_eq!(
                f.encode(&big()).unwrap(),
                (int_flag, b"1180591620717411303424".to_vec())
            );
            assert_eq!(f.encode(&Value::from("42")).unwrap(), (16, b"42".to_vec()));
            assert_eq!(
                f.encode(&Value::from("h\u{e9}")).unwrap(),
                (16, "h\u{e9}".as_bytes().to_vec())
            );
            assert_eq!(f.encode(&Value::Bytes(vec![0, 0xff])).unwrap(), (0, vec![0, 0xff]));
            for v in [
                Value::from(7),
                Value::from(-5),
                big(),
                Value::from("42"),
                Value::Bytes(vec![0, 0xff]),
            ] {
                let (flags, bytes) = f.encode(&v).unwrap();
                for g in PYTHON {
                    assert_eq!(g.decode(flags, &bytes).unwrap(), v, "{f} -> {g}");
                }
            }
        }
        // Serializer formats keep flags 0 and their own bytes.
        let f = ValueFormat::Serializer(Serializer::Framed);
        assert_eq!(f.encode(&Value::from("x")).unwrap(), (0, Value::from("x").encode()));
        assert_eq!(f.decode(0, b"42").unwrap(), Value::from(42));
    }

    /// Bytes pymemcache 4.0.0 and pylibmc 1.6.3 wrote (CPython 3.11).
    #[test]
    fn reads_what_python_writes() {
        let cases: &[(u32, &[u8], Value)] = &[
            (2, b"7", Value::from(7)),
            (4, b"-5", Value::from(-5)),
            (4, b"1180591620717411303424", big()),
            // pylibmc's bool, and memcached's in-place decr padding.
            (2, b"1", Value::from(1)),
            (2, b"9 ", Value::from(9)),
            (16, b"42", Value::from("42")),
            (0, b"\x00\xff", Value::Bytes(vec![0, 0xff])),
        ];
        for (flags, raw, want) in cases {
            for f in PYTHON {
                assert_eq!(&f.decode(*flags, raw).unwrap(), want, "{f} {flags} {raw:?}");
            }
        }
    }

    /// Pickles pymemcache and pylibmc wrote (protocol 5, their default), and one of protocol 0.
    #[cfg(feature = "pickle")]
    #[test]
    fn reads_what_python_pickles() {
        let cases: &[(u32, &[u8], Value)] = &[
            (
                1,
                b"\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00.",
                Value::Json(json!(1.5)),
            ),
            (1, b"\x80\x05\x88.", Value::Json(json!(true))),
            (1, b"\x80\x05N.", Value::Json(json!(null))),
            (1, b"(lp0\nI1\naF1.5\naNa.", Value::Json(json!([1, 1.5, null]))), // protocol 0
        ];
        for (flags, raw, want) in cases {
            for f in PYTHON {
                assert_eq!(&f.decode(*flags, raw).unwrap(), want, "{f} {flags} {raw:?}");
            }
        }
    }

    #[cfg(feature = "pickle")]
    #[test]
    fn pickles_the_rest() {
        for f in PYTHON {
            for v in [
                json!(1.5),
                json!(null),
                json!(true),
                json!(false),
                json!([1, "a", [null]]),
                json!({"a": [1, {"b": null}], "\u{fc}": 2.5}),
            ] {
                let v = Value::Json(v);
                let (flags, bytes) = f.encode(&v).unwrap();
                assert_eq!(flags, FLAG_PICKLE, "{v:?}");
                assert_eq!(f.decode(flags, &bytes).unwrap(), v);
            }
            // Python's int() stops at 4300 digits: longer ints are pickled.
            let long = Value::Json(Json::Number("9".repeat(5000).parse().unwrap()));
            let (flags, bytes) = f.encode(&long).unwrap();
            assert_eq!(flags, FLAG_PICKLE);
            assert_eq!(f.decode(flags, &bytes).unwrap(), long);
        }
    }

    #[cfg(feature = "pickle")]
    #[test]
    fn inflates_zlib_items() {
        let cases: &[(u32, &[u8], Value)] = &[
            (
                24,
                b"x\x9c\xab\xac\x1c\x05\xa3`\x14\x0cw\x00\x00N\x80\xd8\xb8",
                Value::from("y".repeat(1000)),
            ),
            (
                9,
                b"x\x9ck`\x9d\xca\xcd\x00\x01\xb1S4\xbc\x19{\x18\x13\xa7\xa4\xea\x01\x00-\x07\x04\xa0",
                Value::Json(json!([1, "a"])),
            ),
            (
                8,
                b"x\x9cc\xf8\xcf\x00\x84\x00\x08\xfd\x02\xfe",
                Value::Bytes(b"\x00\xff".repeat(3)),
            ),
            (
                12,
                b"x\x9c3426153\xb7\xb040Df\x01\x008U\x04\xb1",
                Value::Json(json!(12345678901234567890123_u128)),
            ),
        ];
        for (flags, raw, want) in cases {
            assert_eq!(&ValueFormat::Pylibmc.decode(*flags, raw).unwrap(), want, "{flags}");
        }
        let e = ValueFormat::Pylibmc.decode(8, b"notzlib").unwrap_err();
        assert!(
            matches!(&e, CacheError::Corrupt(m) if m.contains("flags 8") && m.contains("zlib")),
            "{e}"
        );
        // Past the limit: refused, not allocated.
        let zeros = miniz_oxide::deflate::compress_to_vec_zlib(&[0; 4097], 9);
        assert_eq!(inflate_at_most(&zeros, 4097).unwrap().len(), 4097);
        let e = inflate_at_most(&zeros, 4096).unwrap_err();
        assert!(e.to_string().contains("more than 4096 bytes"), "{e}");
    }

    #[test]
    fn foreign_items_are_errors_naming_flags() {
        for f in PYTHON {
            for (flags, raw, needle) in [
                (3, &b"7"[..], "flags 3 are not"),
                (32, b"ab", "flags 32 are not"),
                (17, b"ab", "flags 17 are not"),
                (2, b"x", "flags 2 (an int): \"x\" is not an integer"),
                (4, b"1.5", "flags 4 (an int)"),
                (16, b"\xff", "flags 16 (a str): not UTF-8"),
            ] {
                let e = f.decode(flags, raw).unwrap_err();
                assert!(
                    matches!(&e, CacheError::Corrupt(m) if m.contains(needle)),
                    "{f} {flags}: {e}"
                );
            }
        }
        for s in [
            Serializer::Framed,
            Serializer::Json,
            Serializer::Raw,
            Serializer::Pickle,
        ] {
            let e = ValueFormat::Serializer(s).decode(16, b"hi").unwrap_err();
            assert!(
                matches!(&e, CacheError::Corrupt(m) if m.contains("flags 16") && m.contains("pymemcache")),
                "{e}"
            );
        }
    }

    #[cfg(feature = "pickle")]
    #[test]
    fn pickled_objects_are_errors_naming_their_type() {
        // class Point: x = 1; pickle.dumps(Point(), 5)
        let point =
            b"\x80\x05\x95\x19\x00\x00\x00\x00\x00\x00\x00\x8c\x08__main__\x94\x8c\x05Point\x94\x93\x94)\x81\x94.";
        for f in PYTHON {
            let e = f.decode(1, point).unwrap_err();
            assert!(
                matches!(&e, CacheError::Corrupt(m) if m.contains("__main__.Point") && m.contains("flags 1")),
                "{e}"
            );
            let e = f.decode(1, b"garbage").unwrap_err();
            assert!(matches!(&e, CacheError::Corrupt(m) if m.contains("flags 1")), "{e}");
        }
    }

    #[cfg(not(feature = "pickle"))]
    #[test]
    fn without_pickle_other_types_say_which_feature() {
        for f in PYTHON {
            let e = f.encode(&Value::Json(json!(1.5))).unwrap_err();
            assert!(
                matches!(&e, CacheError::Unsupported(m) if m.contains("a float") && m.contains("`pickle` feature")),
                "{e}"
            );
            let e = f.decode(1, b"\x80\x05N.").unwrap_err();
            assert!(
                matches!(&e, CacheError::Unsupported(m) if m.contains("flags 1") && m.contains("`pickle` feature")),
                "{e}"
            );
            let e = f.decode(24, b"x\x9c").unwrap_err();
            assert!(matches!(&e, CacheError::Unsupported(m) if m.contains("zlib")), "{e}");
        }
    }

    /// Decoding arbitrary bytes under arbitrary flags returns, never panics:
    /// random bytes, and valid items with bytes flipped, cut or appended.
    #[test]
    fn decoding_anything_never_panics() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut seeds: Vec<Vec<u8>> = vec![
            b"7".to_vec(),
            b"1180591620717411303424".to_vec(),
            b"(lp0\nI1\naF1.5\naNa.".to_vec(),
        ];
        for v in [json!([1, "a", {"b": [null, 1.5, true]}]), json!({"k": "v"}), json!("s")] {
            if let Ok(b) = Serializer::Pickle.encode(&Value::Json(v)) {
                seeds.push(b);
            }
        }
        #[cfg(feature = "pickle")]
        {
            let more: Vec<Vec<u8>> = seeds
                .iter()
                .map(|s| miniz_oxide::deflate::compress_to_vec_zlib(s, 6))
                .collect();
            seeds.extend(more);
        }
        let interesting = [0, 1, 2, 3, 4, 8, 9, 10, 12, 16, 24, 25, 32, u32::MAX];
        for i in 0..20_000u32 {
            let r = next();
            let bytes = if i % 2 == 0 {
                let len = (r % 48) as usize;
                (0..len).map(|_| next() as u8).collect::<Vec<u8>>()
            } else {
                let mut b = seeds[(r % seeds.len() as u64) as usize].clone();
                match next() % 3 {
                    0 if !b.is_empty() => {
                        let at = (next() % b.len() as u64) as usize;
                        b[at] = next() as u8;
                    }
                    1 => b.truncate((next() % (b.len() as u64 + 1)) as usize),
                    _ => b.push(next() as u8),
                }
                b
            };
            let flags = if r % 5 == 0 {
                next() as u32
            } else {
                interesting[(next() % interesting.len() as u64) as usize]
            };
            for f in ALL {
                let _ = f.decode(flags, &bytes);
            }
        }
    }
}
