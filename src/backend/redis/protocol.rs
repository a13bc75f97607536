//! The Upstash REST wire format: commands as JSON arrays (or path-style with
//! a raw body for binary values), replies as `{"result"}`/`{"error"}` with
//! base64-encoded strings.

use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value as Json;

use crate::primitives::error::{CacheError, Result};

/// One command argument: text or raw bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Text(String),
    Bytes(Vec<u8>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

/// A value argument: text when it is UTF-8, bytes otherwise.
pub fn value_arg(bytes: Vec<u8>) -> Arg {
    match String::from_utf8(bytes) {
        Ok(s) => Arg::Text(s),
        Err(e) => Arg::Bytes(e.into_bytes()),
    }
}

/// How a command travels: a JSON body, or path-style with a raw last
/// argument as the body (for binary values).
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub path: String,
    pub body: Vec<u8>,
}

/// Encodes one command.
pub fn encode_command(args: &[Arg]) -> Encoded {
    let binary_at = args.iter().position(|a| matches!(a, Arg::Bytes(_)));
    match binary_at {
        None => {
            let items: Vec<&str> = args
                .iter()
                .map(|a| match a {
                    Arg::Text(s) => s.as_str(),
                    Arg::Bytes(_) => unreachable!(),
                })
                .collect();
            Encoded {
                path: String::new(),
                body: serde_json::to_vec(&items).expect("strings serialize"),
            }
        }
        Some(i) => {
            // Path-style: the other arguments in the path, the binary one as
            // the body, which Upstash appends as the last argument.
            assert_eq!(i, args.len() - 1, "a binary argument must be the last one");
            let mut path = String::new();
            for (j, a) in args.iter().enumerate() {
                if j == i {
                    continue;
                }
                if let Arg::Text(s) = a {
                    path.push('/');
                    path.push_str(&utf8_percent_encode(s, NON_ALPHANUMERIC).to_string());
                }
            }
            let body = match &args[i] {
                Arg::Bytes(b) => b.clone(),
                Arg::Text(_) => unreachable!(),
            };
            Encoded { path, body }
        }
    }
}

/// A reply value, strings already base64-decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Nil (or `false` from a script).
    Nil,
    /// An integer.
    Int(i64),
    /// A string (bulk or status).
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Reply>),
}

impl Reply {
    fn from_json(v: &Json) -> Result<Reply> {
        Ok(match v {
            Json::Null => Reply::Nil,
            Json::Bool(false) => Reply::Nil,
            Json::Bool(true) => Reply::Int(1),
            Json::Number(n) => Reply::Int(
                n.as_i64()
                    .ok_or_else(|| CacheError::Corrupt(format!("reply number {n} is not an integer")))?,
            ),
            // Upstash sends the status reply OK as is, even with base64
            // encoding on (its own clients special-case it); "OK" is not
            // valid padded base64, so nothing else can be meant.
            Json::String(s) if s == "OK" => Reply::Bytes(b"OK".to_vec()),
            Json::String(s) => Reply::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| CacheError::Corrupt(format!("reply string is not base64: {e}")))?,
            ),
            Json::Array(a) => Reply::Array(a.iter().map(Reply::from_json).collect::<Result<_>>()?),
            Json::Object(_) => return Err(CacheError::Corrupt(format!("unexpected object in reply: {v}"))),
        })
    }

    /// The integer, or [`CacheError::Corrupt`].
    pub fn int(&self) -> Result<i64> {
        match self {
            Reply::Int(n) => Ok(*n),
            other => Err(CacheError::Corrupt(format!("expected an integer reply, got {other:?}"))),
        }
    }
}

/// Decodes one `{"result": …}` / `{"error": …}` object.
pub fn decode_reply(v: &Json) -> Result<std::result::Result<Reply, String>> {
    if let Some(e) = v.get("error") {
        return Ok(Err(e.as_str().unwrap_or("unknown error").to_string()));
    }
    match v.get("result") {
        Some(r) => Ok(Ok(Reply::from_json(r)?)),
        None => Err(CacheError::Corrupt(format!("reply has neither result nor error: {v}"))),
    }
}

/// Escapes Redis glob characters so a key prefix matches literally in SCAN.
pub fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
