//! Cached values, and the one on-the-wire format every remote backend uses,
//! so any edgecache client reads what another wrote.
//!
//! # Wire format, version 1
//! - An integer (a JSON number that fits `i64`) is stored as its ASCII decimal
//!   text, e.g. `42` or `-7`. Redis `INCRBY` and memcached `incr` then work on
//!   the server, and a Python client (django-redis, Ellar) reads a plain int.
//! - Every other value is `\x1eEC1<tag><payload>`: the ASCII record
//!   separator, `EC`, the format version as an ASCII digit, then tag `j`
//!   (UTF-8 JSON text) or `b` (raw bytes). A JSON value is thus valid UTF-8
//!   as a whole, which text-only transports (JSON over HTTP) need.
//! - Bytes written by some other client (no header, not an integer) decode as
//!   [`Value::Bytes`]. A header with an unknown version or tag is an error that
//!   names it, never a silent misread.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::primitives::error::{CacheError, Result};

/// First bytes of a framed value.
pub const MAGIC: &[u8; 3] = b"\x1eEC";
/// Current wire-format version (an ASCII digit on the wire).
pub const WIRE_VERSION: u8 = b'1';

/// A cached value: JSON (any serde value) or raw bytes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Any JSON value; one that fits `i64` is stored as its decimal text.
    Json(serde_json::Value),
    /// Raw bytes; also what unframed bytes from other clients decode to.
    Bytes(Vec<u8>),
}

impl Value {
    /// Serializes any serde value.
    pub fn json<T: Serialize + ?Sized>(v: &T) -> Result<Value> {
        serde_json::to_value(v)
            .map(Value::Json)
            .map_err(|e| CacheError::Corrupt(format!("cannot serialize value: {e}")))
    }

    /// Deserializes into any serde type; raw bytes are read as JSON text.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        match self {
            Value::Json(v) => T::deserialize(v),
            Value::Bytes(b) => serde_json::from_slice(b),
        }
        .map_err(|e| CacheError::Corrupt(format!("cached value has another shape: {e}")))
    }

    /// The integer this value holds, if any (what incr/decr accept).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Json(serde_json::Value::Number(n)) => n.as_i64(),
            _ => None,
        }
    }

    /// Encoded with the wire format.
    pub fn encode(&self) -> Vec<u8> {
        if let Some(n) = self.as_i64() {
            return n.to_string().into_bytes();
        }
        match self {
            Value::Json(v) => {
                let mut out = MAGIC.to_vec();
                out.extend_from_slice(&[WIRE_VERSION, b'j']);
                serde_json::to_writer(&mut out, v).expect("JSON values always serialize");
                out
            }
            Value::Bytes(b) => {
                let mut out = Vec::with_capacity(b.len() + 5);
                out.extend_from_slice(MAGIC);
                out.extend_from_slice(&[WIRE_VERSION, b'b']);
                out.extend_from_slice(b);
                out
            }
        }
    }

    /// Decodes the wire format.
    pub fn decode(raw: &[u8]) -> Result<Value> {
        if let Some(n) = parse_canonical_i64(raw) {
            return Ok(Value::Json(n.into()));
        }
        let Some(framed) = raw.strip_prefix(MAGIC.as_slice()) else {
            return Ok(Value::Bytes(raw.to_vec()));
        };
        match framed {
            [WIRE_VERSION, b'j', json @ ..] => serde_json::from_slice(json)
                .map(Value::Json)
                .map_err(|e| CacheError::Corrupt(format!("JSON payload does not parse: {e}"))),
            [WIRE_VERSION, b'b', bytes @ ..] => Ok(Value::Bytes(bytes.to_vec())),
            [WIRE_VERSION, tag, ..] => Err(CacheError::Corrupt(format!(
                "unknown type tag {:?} in wire format v1",
                *tag as char
            ))),
            [WIRE_VERSION] => Err(CacheError::Corrupt(
                "wire format v1 header without a type tag (truncated value)".into(),
            )),
            [v, ..] if v.is_ascii_digit() => Err(CacheError::Corrupt(format!(
                "written in wire format v{} by a newer edgecache; this one reads v1",
                *v as char
            ))),
            _ => Ok(Value::Bytes(raw.to_vec())),
        }
    }

    /// Approximate bytes this value takes when stored (its encoded size).
    pub fn stored_size(&self) -> usize {
        if let Some(n) = self.as_i64() {
            return n.to_string().len();
        }
        match self {
            Value::Bytes(b) => b.len() + 5,
            Value::Json(v) => 5 + json_len(v),
        }
    }
}

/// Length of a value's compact JSON text, without allocating it.
fn json_len(v: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    serde_json::to_writer(&mut c, v).expect("JSON values always serialize");
    c.0
}

/// An i64 in canonical decimal form (no `+`, no leading zeros, no `-0`), so
/// that encode/decode round-trips exactly.
fn parse_canonical_i64(raw: &[u8]) -> Option<i64> {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' || raw == b"-0" {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse().ok()
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Json(n.into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Json(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Json(s.into())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(v: Value) {
        let enc = v.encode();
        assert_eq!(Value::decode(&enc).unwrap(), v, "{enc:?}");
        assert_eq!(v.stored_size(), enc.len());
    }

    #[test]
    fn roundtrips() {
        roundtrip(Value::from(42));
        roundtrip(Value::from(-7));
        roundtrip(Value::from(i64::MIN));
        roundtrip(Value::from("42")); // a string, not the integer
        roundtrip(Value::Json(json!({"a": [1, 2.5, null, "ü"]})));
        roundtrip(Value::Json(json!(1.5)));
        roundtrip(Value::Json(json!(u64::MAX)));
        roundtrip(Value::Bytes(vec![]));
        roundtrip(Value::Bytes(b"42".to_vec()));
        roundtrip(Value::Bytes(b"\x1eEC1j\xff".to_vec()));
    }

    #[test]
    fn json_frames_are_utf8() {
        let enc = Value::Json(json!({"ü": [1, "x"]})).encode();
        assert!(std::str::from_utf8(&enc).is_ok());
        assert!(enc.starts_with(b"\x1eEC1j"));
    }

    #[test]
    fn integers_are_plain_decimal() {
        assert_eq!(Value::from(42).encode(), b"42");
        assert_eq!(Value::from(-1).encode(), b"-1");
    }

    #[test]
    fn foreign_bytes_read_as_bytes() {
        assert_eq!(Value::decode(b"hello").unwrap(), Value::Bytes(b"hello".to_vec()));
        assert_eq!(Value::decode(b"007").unwrap(), Value::Bytes(b"007".to_vec()));
        assert_eq!(Value::decode(b"").unwrap(), Value::Bytes(vec![]));
        assert_eq!(
            Value::decode(b"99999999999999999999").unwrap(),
            Value::Bytes(b"99999999999999999999".to_vec())
        );
    }

    #[test]
    fn corrupt_frames_are_errors() {
        let e = Value::decode(b"\x1eEC1j{").unwrap_err();
        assert!(matches!(e, CacheError::Corrupt(_)));
        let e = Value::decode(b"\x1eEC1z").unwrap_err();
        assert!(e.to_string().contains("tag"), "{e}");
        let e = Value::decode(b"\x1eEC2j").unwrap_err();
        assert!(e.to_string().contains("v2"), "{e}");
        let e = Value::decode(b"\x1eEC1").unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        assert_eq!(Value::decode(b"\x1eECx").unwrap(), Value::Bytes(b"\x1eECx".to_vec()));
    }

    #[test]
    fn typed_access() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct User {
            id: u32,
            name: String,
        }
        let u = User {
            id: 1,
            name: "Ada".into(),
        };
        let v = Value::json(&u).unwrap();
        assert_eq!(v.parse::<User>().unwrap(), u);
        assert!(v.parse::<Vec<u8>>().is_err());
    }
}
