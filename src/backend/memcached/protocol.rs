//! memcached's text protocol as pure functions: commands appended to a
//! buffer (so several pipeline into one write), replies parsed from the
//! front of a read buffer. No I/O here; `link.rs` moves the bytes.
//!
//! The parser never trusts the server: a reply that is not the protocol
//! (garbage, a value longer than [`MAX_ITEM_BYTES`], a missing `\r\n` after
//! the data) is a [`ProtocolError`], and the connection is dropped.

use std::fmt;

/// Longest value a reply may announce (memcached's own item limit is 1 MiB
/// by default and 1 GiB at most); longer is garbage, not an allocation.
pub const MAX_ITEM_BYTES: usize = 128 << 20;

/// Longest reply line before its `\r\n` (a `VALUE` line with a 250-byte
/// key is under 300 bytes; error lines are short).
const MAX_LINE: usize = 2048;

/// A storage command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// Write unconditionally.
    Set,
    /// Write only if absent.
    Add,
    /// Write only if unchanged since the `gets` that returned this CAS token.
    Cas(u64),
}

/// `get k1 k2 …` (`gets` with CAS tokens).
pub fn get(keys: &[&str], with_cas: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(if with_cas { b"gets" } else { b"get" });
    for k in keys {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `set|add|cas <key> <flags> <exptime> <bytes> [<cas>] [noreply]` and the data.
pub fn store(cmd: Store, key: &str, flags: u32, exptime: i64, data: &[u8], noreply: bool, out: &mut Vec<u8>) {
    let verb = match cmd {
        Store::Set => "set",
        Store::Add => "add",
        Store::Cas(_) => "cas",
    };
    out.extend_from_slice(format!("{verb} {key} {flags} {exptime} {}", data.len()).as_bytes());
    if let Store::Cas(token) = cmd {
        out.extend_from_slice(format!(" {token}").as_bytes());
    }
    if noreply {
        out.extend_from_slice(b" noreply");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// `delete <key> [noreply]`.
pub fn delete(key: &str, noreply: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(b"delete ");
    out.extend_from_slice(key.as_bytes());
    if noreply {
        out.extend_from_slice(b" noreply");
    }
    out.extend_from_slice(b"\r\n");
}

/// `incr|decr <key> <delta>` (memcached counters are unsigned 64-bit).
pub fn count(key: &str, up: bool, delta: u64, out: &mut Vec<u8>) {
    let verb = if up { "incr" } else { "decr" };
    out.extend_from_slice(format!("{verb} {key} {delta}\r\n").as_bytes());
}

/// `touch <key> <exptime>`.
pub fn touch(key: &str, exptime: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("touch {key} {exptime}\r\n").as_bytes());
}

/// `flush_all` (only when the user opted in to clearing whole servers).
pub fn flush_all(out: &mut Vec<u8>) {
    out.extend_from_slice(b"flush_all\r\n");
}

/// `mg <key> v t f c`: value, seconds left (-1 = never), flags and CAS in
/// one meta get (memcached 1.6+; proxies such as twemproxy lack it).
pub fn meta_get(key: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("mg {key} v t f c\r\n").as_bytes());
}

/// `mn`: the meta no-op, to learn whether a server has meta commands (a
/// proxy such as twemproxy closes the connection instead).
pub fn meta_noop(out: &mut Vec<u8>) {
    out.extend_from_slice(b"mn\r\n");
}

/// `ms <key> <bytes> T<ttl> F<flags> C<cas>`: a compare-and-swap that sets
/// the lifetime in the same command (a counter keeps its remaining TTL).
pub fn meta_set_cas(key: &str, data: &[u8], ttl: i64, flags: u32, cas: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("ms {key} {} T{ttl} F{flags} C{cas}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// One item of a `get`/`gets` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The key as the server echoed it.
    pub key: String,
    /// The item's client flags (the value's type for Python clients).
    pub flags: u32,
    /// The stored bytes.
    pub data: Vec<u8>,
    /// The CAS token (`gets` only).
    pub cas: Option<u64>,
}

/// Which error line the server sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `ERROR`: an unknown command (e.g. meta commands through a proxy).
    Unknown,
    /// `CLIENT_ERROR …`: a bad request (non-numeric counter, key too long).
    Client,
    /// `SERVER_ERROR …`: the server failed (out of memory, object too large).
    Server,
}

/// A meta command's status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaStatus {
    /// `HD`: done, no value.
    Done,
    /// `VA`: a value follows.
    Value,
    /// `EN`: miss.
    Miss,
    /// `NS`: not stored.
    NotStored,
    /// `EX`: the CAS token did not match.
    Exists,
    /// `NF`: not found.
    NotFound,
    /// `MN`: the reply to `mn`.
    NoOp,
}

/// One parsed reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The items of a `get`, up to `END` (empty = all missed).
    Items(Vec<Item>),
    /// `STORED`.
    Stored,
    /// `NOT_STORED` (an `add` of a present key).
    NotStored,
    /// `EXISTS` (a `cas` that lost the race).
    Exists,
    /// `NOT_FOUND`.
    NotFound,
    /// `DELETED`.
    Deleted,
    /// `TOUCHED`.
    Touched,
    /// `OK` (`flush_all`).
    Ok,
    /// A counter's new value.
    Number(u64),
    /// A meta reply: status, its flags (`t42`, `f16`, `c9`) and value.
    Meta {
        /// The status code.
        status: MetaStatus,
        /// Returned flags as (letter, token).
        flags: Vec<(u8, String)>,
        /// The value for `VA`.
        data: Option<Vec<u8>>,
    },
    /// An error line and its message.
    Error(ErrorKind, String),
}

impl Reply {
    /// The token of meta flag `letter` (e.g. `t` → seconds left).
    pub fn meta_flag(&self, letter: u8) -> Option<&str> {
        match self {
            Reply::Meta { flags, .. } => flags.iter().find(|(l, _)| *l == letter).map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// A reply that is not memcached's protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a memcached reply: {}", self.0)
    }
}

fn garbage(what: &str, line: &[u8]) -> ProtocolError {
    let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    ProtocolError(format!("{what}: {shown:?}"))
}

/// The line at the front of `buf` (without `\r\n`) and the bytes it takes.
fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(i) => Ok(Some((&buf[..i], i + 2))),
        None if buf.len() > MAX_LINE => Err(garbage("a line longer than 2 KiB", buf)),
        None => Ok(None),
    }
}

fn number<T: std::str::FromStr>(token: Option<&[u8]>, what: &str, line: &[u8]) -> Result<T, ProtocolError> {
    token
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| garbage(what, line))
}

/// Data of `len` bytes at `buf[start..]` followed by `\r\n`: the bytes and
/// the end of the block, or `None` when it has not all arrived.
fn data_block(buf: &[u8], start: usize, len: usize, line: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ProtocolError> {
    if len > MAX_ITEM_BYTES {
        return Err(garbage("a value longer than 128 MiB", line));
    }
    let end = start + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(garbage("value not followed by \\r\\n", line));
    }
    Ok(Some((buf[start..end].to_vec(), end + 2)))
}

/// Parses the reply at the front of `buf`: `Ok(None)` until it has fully
/// arrived, then the reply and how many bytes it took.
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError> {
    let Some((first, mut used)) = line(buf)? else {
        return Ok(None);
    };
    if first.starts_with(b"VALUE ") || first == b"END" {
        let mut items = Vec::new();
        let mut cur = first;
        loop {
            if cur == b"END" {
                return Ok(Some((Reply::Items(items), used)));
            }
            let mut t = cur.split(|&b| b == b' ');
            if t.next() != Some(b"VALUE".as_slice()) {
                return Err(garbage("expected VALUE or END", cur));
            }
            let key = t
                .next()
                .and_then(|k| std::str::from_utf8(k).ok())
                .ok_or_else(|| garbage("VALUE without a UTF-8 key", cur))?
                .to_string();
            let flags: u32 = number(t.next(), "VALUE flags", cur)?;
            let len: usize = number(t.next(), "VALUE length", cur)?;
            let cas = match t.next() {
                Some(c) => Some(number(Some(c), "VALUE cas", cur)?),
                None => None,
            };
            let Some((data, end)) = data_block(buf, used, len, cur)? else {
                return Ok(None);
            };
            items.push(Item { key, flags, data, cas });
            used = end;
            match line(&buf[used..])? {
                Some((next, n)) => {
                    cur = next;
                    used += n;
                }
                None => return Ok(None),
            }
        }
    }
    let reply = match first {
        b"STORED" => Reply::Stored,
        b"NOT_STORED" => Reply::NotStored,
        b"EXISTS" => Reply::Exists,
        b"NOT_FOUND" => Reply::NotFound,
        b"DELETED" => Reply::Deleted,
        b"TOUCHED" => Reply::Touched,
        b"OK" => Reply::Ok,
        b"ERROR" => Reply::Error(ErrorKind::Unknown, String::new()),
        _ if first.starts_with(b"CLIENT_ERROR") => Reply::Error(ErrorKind::Client, message(first, 12)),
        _ if first.starts_with(b"SERVER_ERROR") => Reply::Error(ErrorKind::Server, message(first, 12)),
        _ if !first.is_empty() && first.iter().all(u8::is_ascii_digit) => {
            Reply::Number(number(Some(first), "counter value", first)?)
        }
        _ if first.len() >= 2 && first[2..].first().is_none_or(|&b| b == b' ') => {
            return meta(buf, first, used);
        }
        _ => return Err(garbage("unknown reply", first)),
    };
    Ok(Some((reply, used)))
}

fn message(line: &[u8], skip: usize) -> String {
    String::from_utf8_lossy(line.get(skip..).unwrap_or_default())
        .trim()
        .to_string()
}

fn meta(buf: &[u8], first: &[u8], used: usize) -> Result<Option<(Reply, usize)>, ProtocolError> {
    let mut t = first.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let status = match t.next() {
        Some(b"HD") => MetaStatus::Done,
        Some(b"VA") => MetaStatus::Value,
        Some(b"EN") => MetaStatus::Miss,
        Some(b"NS") => MetaStatus::NotStored,
        Some(b"EX") => MetaStatus::Exists,
        Some(b"NF") => MetaStatus::NotFound,
        Some(b"MN") => MetaStatus::NoOp,
        _ => return Err(garbage("unknown reply", first)),
    };
    let len: Option<usize> = match status {
        MetaStatus::Value => Some(number(t.next(), "VA length", first)?),
        _ => None,
    };
    let mut flags = Vec::new();
    for tok in t {
        let text = std::str::from_utf8(&tok[1..]).map_err(|_| garbage("meta flag", first))?;
        flags.push((tok[0], text.to_string()));
    }
    let (data, end) = match len {
        Some(len) => match data_block(buf, used, len, first)? {
            Some((d, end)) => (Some(d), end),
            None => return Ok(None),
        },
        None => (None, used),
    };
    Ok(Some((Reply::Meta { status, flags, data }, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Reply {
        let (r, n) = parse(bytes).unwrap().unwrap();
        assert_eq!(n, bytes.len(), "{r:?} took {n} of {}", bytes.len());
        r
    }

    #[test]
    fn commands_are_the_text_protocol() {
        let mut out = Vec::new();
        get(&["a", "b€"], false, &mut out);
        store(Store::Set, "k", 16, 0, b"v\r\nx", false, &mut out);
        store(Store::Add, "k", 0, 5, b"", true, &mut out);
        store(Store::Cas(42), "k", 2, 9, b"7", false, &mut out);
        delete("k", true, &mut out);
        count("k", false, 3, &mut out);
        touch("k", 1_800_000_000, &mut out);
        meta_get("k", &mut out);
        meta_set_cas("k", b"-4", -1, 2, 42, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "get a b€\r\nset k 16 0 4\r\nv\r\nx\r\nadd k 0 5 0 noreply\r\n\r\ncas k 2 9 1 42\r\n7\r\n\
             delete k noreply\r\ndecr k 3\r\ntouch k 1800000000\r\nmg k v t f c\r\nms k 2 T-1 F2 C42\r\n-4\r\n"
        );
    }

    #[test]
    fn replies() {
        assert_eq!(one(b"END\r\n"), Reply::Items(vec![]));
        let items = one(b"VALUE a 16 4\r\nv\r\nx\r\nVALUE b\xe2\x82\xac 0 0 77\r\n\r\nEND\r\n");
        assert_eq!(
            items,
            Reply::Items(vec![
                Item {
                    key: "a".into(),
                    flags: 16,
                    data: b"v\r\nx".to_vec(),
                    cas: None
                },
                Item {
                    key: "b€".into(),
                    flags: 0,
                    data: vec![],
                    cas: Some(77)
                },
            ])
        );
        assert_eq!(one(b"STORED\r\n"), Reply::Stored);
        assert_eq!(one(b"NOT_STORED\r\n"), Reply::NotStored);
        assert_eq!(one(b"18446744073709551615\r\n"), Reply::Number(u64::MAX));
        assert_eq!(
            one(b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
            Reply::Error(
                ErrorKind::Client,
                "cannot increment or decrement non-numeric value".into()
            )
        );
        assert_eq!(one(b"ERROR\r\n"), Reply::Error(ErrorKind::Unknown, String::new()));
        let m = one(b"VA 2 t-1 f2 c42\r\n-4\r\n");
        assert_eq!(m.meta_flag(b't'), Some("-1"));
        assert_eq!(m.meta_flag(b'c'), Some("42"));
        assert!(matches!(m, Reply::Meta { status: MetaStatus::Value, data: Some(ref d), .. } if d == b"-4"));
        assert!(matches!(
            one(b"EN\r\n"),
            Reply::Meta {
                status: MetaStatus::Miss,
                ..
            }
        ));
        assert!(matches!(
            one(b"EX\r\n"),
            Reply::Meta {
                status: MetaStatus::Exists,
                ..
            }
        ));
    }

    #[test]
    fn partial_replies_wait_for_more_and_pipelined_ones_split() {
        let full = b"VALUE a 1 3\r\nabc\r\nEND\r\nSTORED\r\n";
        for cut in 0..full.len() - 8 {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (r, n) = parse(full).unwrap().unwrap();
        assert!(matches!(r, Reply::Items(ref v) if v.len() == 1));
        assert_eq!(parse(&full[n..]).unwrap().unwrap().0, Reply::Stored);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic_or_an_allocation() {
        for bad in [
            b"HTTP/1.1 200 OK\r\n".as_slice(),
            b"VALUE a x 3\r\nabc\r\nEND\r\n",
            b"VALUE a 1 999999999999\r\n",
            b"VALUE a 1 3\r\nabcXY",
            b"VALUE a 1 3\r\nabc\r\nSTORED\r\n",
            b"-5\r\n",
            b"\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(&[b'x'; 4096]).is_err());
        // Arbitrary bytes: an error or a wait, never a panic.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(b"VALUE END 0129 \r\nHDVAc-t"[(seed % 24) as usize]);
            }
            let _ = parse(&bytes);
        }
    }
}
