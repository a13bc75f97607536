//! The Webdis dialect: a command is POSTed as its URL form in the body
//! (`SET/k/v.raw`, every argument percent-encoded, so any byte survives)
//! with HTTP Basic auth, and `.raw` asks for the reply as RESP, which is
//! binary-safe (Webdis's JSON replies turn a non-UTF-8 string into `{}`
//! and a nested array into `null`). The RESP reply is turned into the
//! Upstash JSON shape (`{"result"}` with base64 strings, or `{"error"}`),
//! so the rest of the backend reads one shape. Webdis has no pipeline and
//! no transaction endpoint: commands go one per request.

use base64::Engine;
use percent_encoding::{percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value as Json};

use super::protocol::Arg;
use crate::primitives::error::{CacheError, Result};

/// The request body for `args`: `CMD/arg1/…/argN.raw`.
pub fn encode(args: &[Arg]) -> Vec<u8> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        let bytes = match a {
            Arg::Text(s) => s.as_bytes(),
            Arg::Bytes(b) => b.as_slice(),
        };
        out.extend(percent_encode(bytes, NON_ALPHANUMERIC));
    }
    out.push_str(".raw");
    out.into_bytes()
}

/// A whole RESP reply as the Upstash JSON shape.
pub fn decode(reply: &[u8]) -> Result<Json> {
    let (value, rest) = parse(reply, 0)?;
    if rest != reply.len() {
        return Err(CacheError::Corrupt(format!(
            "webdis reply has {} bytes after its end",
            reply.len() - rest
        )));
    }
    Ok(match value {
        Parsed::Error(e) => json!({ "error": e }),
        Parsed::Value(v) => json!({ "result": v }),
    })
}

enum Parsed {
    Value(Json),
    Error(String),
}

fn corrupt(what: &str) -> CacheError {
    CacheError::Corrupt(format!("webdis reply is not RESP: {what}"))
}

/// One RESP value at `at`, and where it ends.
fn parse(b: &[u8], at: usize) -> Result<(Parsed, usize)> {
    let line_end = b[at.min(b.len())..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| at + p)
        .ok_or_else(|| corrupt("a line without CRLF"))?;
    if line_end == at {
        return Err(corrupt("an empty line"));
    }
    let line = std::str::from_utf8(&b[at + 1..line_end]).map_err(|_| corrupt("a header that is not text"))?;
    let next = line_end + 2;
    let number = || line.parse::<i64>().map_err(|_| corrupt("a bad length or integer"));
    Ok(match b.get(at) {
        Some(b'+') if line == "OK" => (Parsed::Value(json!("OK")), next),
        Some(b'+') => (Parsed::Value(json!(b64(line.as_bytes()))), next),
        Some(b'-') => (Parsed::Error(line.to_string()), next),
        Some(b':') => (Parsed::Value(json!(number()?)), next),
        Some(b'$') => match number()? {
            n if n < 0 => (Parsed::Value(Json::Null), next),
            n => {
                let end = next
                    .checked_add(n as usize)
                    .filter(|&e| e + 2 <= b.len())
                    .ok_or_else(|| corrupt("a string longer than the reply"))?;
                (Parsed::Value(json!(b64(&b[next..end]))), end + 2)
            }
        },
        Some(b'*') => match number()? {
            n if n < 0 => (Parsed::Value(Json::Null), next),
            n => {
                let mut items = Vec::with_capacity((n as usize).min(1024));
                let mut pos = next;
                for _ in 0..n {
                    let (item, after) = parse(b, pos)?;
                    items.push(match item {
                        Parsed::Value(v) => v,
                        Parsed::Error(e) => return Ok((Parsed::Error(e), after)),
                    });
                    pos = after;
                }
                (Parsed::Value(Json::Array(items)), pos)
            }
        },
        _ => return Err(corrupt("an unknown type byte")),
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_percent_encoded_paths_ending_in_raw() {
        let body = encode(&["SET".into(), "a/b.html".into(), Arg::Bytes(vec![0xff, 0, b'%'])]);
        assert_eq!(body, b"SET/a%2Fb%2Ehtml/%FF%00%25.raw");
    }

    #[test]
    fn resp_replies_become_the_upstash_shape() {
        assert_eq!(decode(b"+OK\r\n").unwrap(), json!({"result": "OK"}));
        assert_eq!(decode(b"+PONG\r\n").unwrap(), json!({"result": "UE9ORw=="}));
        assert_eq!(decode(b":-3\r\n").unwrap(), json!({"result": -3}));
        assert_eq!(decode(b"$-1\r\n").unwrap(), json!({"result": null}));
        assert_eq!(decode(b"$2\r\n\xff\x00\r\n").unwrap(), json!({"result": "/wA="}));
        assert_eq!(
            decode(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$-1\r\n").unwrap(),
            json!({"result": ["MA==", ["YQ==", null]]})
        );
        assert_eq!(
            decode(b"-ERR value is not an integer\r\n").unwrap(),
            json!({"error": "ERR value is not an integer"})
        );
        for bad in [
            &b""[..],
            b"\r\n",
            b"$5\r\nab\r\n",
            b"?x\r\n",
            b":1",
            b":x\r\n",
            b"+OK\r\nextra",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
