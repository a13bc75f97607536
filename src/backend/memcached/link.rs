//! One memcached server as a [`Link`]: commands in, replies out, so the
//! backend's logic is the same over TCP and through the HTTP gateway.
//!
//! - [`StreamLink`]: the commands of one call go out in one write (a
//!   pipeline) on a connection kept for the next call. A kept connection can
//!   go stale (the server restarted; in workerd a socket belongs to the
//!   request that opened it), so when it fails before any reply byte
//!   arrives, the call is sent once more on a fresh connection: nothing was
//!   applied, since nothing was read.
//! - [`GatewayLink`]: nginx with the memc module (`gateway/nginx-memc.conf`),
//!   one HTTP request per command (the keys of a `get` concurrently). The
//!   key travels in a header, not the URL, so nginx's URL normalisation
//!   (`a/../b` → `b`) never changes it. memc has no `gets`, `cas`, `touch`
//!   or meta commands: those come back as [`ErrorKind::Unknown`], the
//!   reply memcached itself gives to a command it does not know.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use async_trait::async_trait;

use super::protocol::{self, ErrorKind, Item, ProtocolError, Reply, Store};
use crate::transport::{ByteStream, HttpTransport, StreamTransport, TransportError};

/// One command for one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `get`/`gets` of several keys.
    Get {
        /// Full keys.
        keys: Vec<String>,
        /// `gets`: with CAS tokens.
        cas: bool,
    },
    /// `set`/`add`/`cas`.
    Store {
        /// Which storage command.
        cmd: Store,
        /// Full key.
        key: String,
        /// Item flags.
        flags: u32,
        /// memcached exptime (0 = never; past 30 days an absolute time).
        exptime: i64,
        /// The value.
        data: Vec<u8>,
        /// Do not wait for the reply.
        noreply: bool,
    },
    /// `delete`.
    Delete {
        /// Full key.
        key: String,
        /// Do not wait for the reply.
        noreply: bool,
    },
    /// `incr`/`decr`.
    Count {
        /// Full key.
        key: String,
        /// `incr` (else `decr`).
        up: bool,
        /// The amount.
        delta: u64,
    },
    /// `touch`.
    Touch {
        /// Full key.
        key: String,
        /// New exptime.
        exptime: i64,
    },
    /// `mg <key> v t f c`.
    MetaGet {
        /// Full key.
        key: String,
    },
    /// `ms <key> T<ttl> F<flags> C<cas>`.
    MetaSetCas {
        /// Full key.
        key: String,
        /// The value.
        data: Vec<u8>,
        /// Seconds to live (-1 = never).
        ttl: i64,
        /// Item flags.
        flags: u32,
        /// The CAS token it must still have.
        cas: u64,
    },
    /// `flush_all`.
    FlushAll,
    /// `mn`.
    MetaNoop,
}

impl Command {
    fn noreply(&self) -> bool {
        matches!(
            self,
            Command::Store { noreply: true, .. } | Command::Delete { noreply: true, .. }
        )
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Command::Get { keys, cas } => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                protocol::get(&keys, *cas, out)
            }
            Command::Store {
                cmd,
                key,
                flags,
                exptime,
                data,
                noreply,
            } => protocol::store(*cmd, key, *flags, *exptime, data, *noreply, out),
            Command::Delete { key, noreply } => protocol::delete(key, *noreply, out),
            Command::Count { key, up, delta } => protocol::count(key, *up, *delta, out),
            Command::Touch { key, exptime } => protocol::touch(key, *exptime, out),
            Command::MetaGet { key } => protocol::meta_get(key, out),
            Command::MetaSetCas {
                key,
                data,
                ttl,
                flags,
                cas,
            } => protocol::meta_set_cas(key, data, *ttl, *flags, *cas, out),
            Command::FlushAll => protocol::flush_all(out),
            Command::MetaNoop => protocol::meta_noop(out),
        }
    }
}

/// Why a call to a server failed (the server is then treated as down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Could not connect, timed out, or the connection broke.
    Transport(TransportError),
    /// The server answered something that is not memcached's protocol.
    Protocol(ProtocolError),
    /// The gateway answered an HTTP error that is not memcached's.
    Gateway(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Transport(e) => e.fmt(f),
            LinkError::Protocol(e) => e.fmt(f),
            LinkError::Gateway(m) => write!(f, "gateway: {m}"),
        }
    }
}

impl From<TransportError> for LinkError {
    fn from(e: TransportError) -> Self {
        LinkError::Transport(e)
    }
}

/// One server: runs commands in order, one reply each (`Reply::Ok` for a
/// `noreply` command, whose outcome is not known).
#[async_trait(?Send)]
pub trait Link {
    /// Runs `commands` and returns their replies in order.
    async fn call(&self, commands: &[Command]) -> Result<Vec<Reply>, LinkError>;
}

/// memcached's text protocol over a byte stream.
pub struct StreamLink {
    address: String,
    transport: Rc<dyn StreamTransport>,
    connect_timeout_ms: u64,
    timeout_ms: u64,
    idle: RefCell<Option<Box<dyn ByteStream>>>,
}

impl StreamLink {
    /// A link to `address` (`host:port` or a socket path); connects on first use.
    pub fn new(address: &str, transport: Rc<dyn StreamTransport>, connect_timeout_ms: u64, timeout_ms: u64) -> Self {
        StreamLink {
            address: address.to_string(),
            transport,
            connect_timeout_ms,
            timeout_ms,
            idle: RefCell::new(None),
        }
    }

    async fn connect(&self) -> Result<Box<dyn ByteStream>, LinkError> {
        Ok(self
            .transport
            .connect(&self.address, self.connect_timeout_ms, self.timeout_ms)
            .await?)
    }

    /// Writes `out` and reads `expected` replies; `Err((error, retry))`
    /// with `retry` when nothing was read back (the call had no effect).
    async fn exchange(conn: &mut dyn ByteStream, out: &[u8], expected: usize) -> Result<Vec<Reply>, (LinkError, bool)> {
        conn.write_all(out).await.map_err(|e| (e.into(), true))?;
        let mut replies = Vec::with_capacity(expected);
        let mut buf: Vec<u8> = Vec::new();
        let mut start = 0;
        let mut chunk = vec![0u8; 16 * 1024];
        let mut received = false;
        while replies.len() < expected {
            let parsed = protocol::parse(&buf[start..]).map_err(|e| (LinkError::Protocol(e), false))?;
            if let Some((reply, used)) = parsed {
                replies.push(reply);
                start += used;
                continue;
            }
            let n = conn.read(&mut chunk).await.map_err(|e| (e.into(), !received))?;
            if n == 0 {
                let e = TransportError::Io("the server closed the connection".into());
                return Err((e.into(), !received));
            }
            received = true;
            if start > 0 && start == buf.len() {
                buf.clear();
                start = 0;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        if start != buf.len() {
            return Err((
                LinkError::Protocol(ProtocolError(format!(
                    "{} bytes after the last reply",
                    buf.len() - start
                ))),
                false,
            ));
        }
        Ok(replies)
    }
}

#[async_trait(?Send)]
impl Link for StreamLink {
    async fn call(&self, commands: &[Command]) -> Result<Vec<Reply>, LinkError> {
        let mut out = Vec::new();
        for c in commands {
            c.encode(&mut out);
        }
        let expected = commands.iter().filter(|c| !c.noreply()).count();
        let kept = self.idle.borrow_mut().take();
        let reused = kept.is_some();
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        let replies = match Self::exchange(&mut *conn, &out, expected).await {
            Ok(r) => r,
            Err((_, true)) if reused => {
                conn = self.connect().await?;
                Self::exchange(&mut *conn, &out, expected).await.map_err(|(e, _)| e)?
            }
            Err((e, _)) => return Err(e),
        };
        let mut idle = self.idle.borrow_mut();
        if idle.is_none() {
            *idle = Some(conn);
        }
        let mut replies = replies.into_iter();
        Ok(commands
            .iter()
            .map(|c| match c.noreply() {
                true => Reply::Ok,
                false => replies.next().expect("one reply per command"),
            })
            .collect())
    }
}

/// The header that carries the key (as bytes: one char per byte).
pub const KEY_HEADER: &str = "x-memc-key";
/// The header nginx returns a value's flags in.
pub const FLAGS_HEADER: &str = "x-memc-flags";
/// The header that carries the gateway's shared secret.
pub const TOKEN_HEADER: &str = "x-edgecache-gateway-token";

/// nginx with the memc module in front of one server: `{base}` for
/// get/set/add/delete/flush_all, `{base}/count` for incr/decr.
pub struct GatewayLink {
    base: String,
    token: Option<String>,
    transport: Rc<dyn HttpTransport>,
    timeout_ms: u64,
}

/// A key's UTF-8 bytes as a byte string (one char per byte), which `fetch`
/// sends unchanged and nginx hands to memcached as they are.
fn byte_string(key: &str) -> String {
    key.bytes().map(char::from).collect()
}

impl GatewayLink {
    /// A link to server `index` behind the gateway at `url`.
    pub fn new(
        url: &str,
        index: usize,
        token: Option<String>,
        transport: Rc<dyn HttpTransport>,
        timeout_ms: u64,
    ) -> Self {
        GatewayLink {
            base: format!("{url}/{index}"),
            token,
            transport,
            timeout_ms,
        }
    }

    async fn request(
        &self,
        path: &str,
        query: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, crate::transport::HttpReply), LinkError> {
        // The key also goes in the URL (ignored by nginx, which reads the
        // header) so that concurrent requests never share a URL and logs
        // name their key.
        let url = match key {
            Some(k) => format!(
                "{}{path}?{query}&key={}",
                self.base,
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC)
            ),
            None => format!("{}{path}?{query}", self.base),
        };
        let key = key.map(byte_string);
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(2);
        if let Some(k) = &key {
            headers.push((KEY_HEADER, k));
        }
        if let Some(t) = &self.token {
            headers.push((TOKEN_HEADER, t));
        }
        let reply = self
            .transport
            .post(&url, &headers, body, &[FLAGS_HEADER], self.timeout_ms)
            .await?;
        match reply.status {
            401 | 403 => Err(LinkError::Gateway(format!(
                "HTTP {} from {url}: check the gateway token (token_secret)",
                reply.status
            ))),
            status => Ok((status, reply)),
        }
    }

    /// A memcached error line in a 502's body, or the gateway's own failure.
    fn failure(status: u16, body: &[u8]) -> Result<Reply, LinkError> {
        match protocol::parse(body) {
            Ok(Some((e @ Reply::Error(..), _))) => Ok(e),
            _ => Err(LinkError::Gateway(format!(
                "HTTP {status}: {:?}",
                String::from_utf8_lossy(&body[..body.len().min(120)])
            ))),
        }
    }

    async fn one(&self, c: &Command) -> Result<Reply, LinkError> {
        let unsupported = || {
            Ok(Reply::Error(
                ErrorKind::Unknown,
                "not supported by the memc gateway".into(),
            ))
        };
        match c {
            Command::Get { cas: true, .. } | Command::Touch { .. } | Command::MetaGet { .. } => unsupported(),
            Command::MetaNoop => unsupported(),
            Command::MetaSetCas { .. } | Command::Store { cmd: Store::Cas(_), .. } => unsupported(),
            Command::Get { keys, cas: false } => {
                let gets = keys.iter().map(|k| async move {
                    let (status, reply) = self.request("", "cmd=get", Some(k), Vec::new()).await?;
                    match status {
                        200 => {
                            let flags = reply.header(FLAGS_HEADER).unwrap_or("0");
                            let flags = flags
                                .trim()
                                .parse()
                                .map_err(|_| LinkError::Gateway(format!("flags header {flags:?} is not a number")))?;
                            Ok(Some(Item {
                                key: k.clone(),
                                flags,
                                data: reply.body,
                                cas: None,
                            }))
                        }
                        404 => Ok(None),
                        // A get has no error reply of its own: any failure is the gateway's.
                        s => Err(match Self::failure(s, &reply.body) {
                            Ok(e) => LinkError::Gateway(format!("{e:?}")),
                            Err(e) => e,
                        }),
                    }
                });
                let found = futures::future::join_all(gets).await;
                let mut items = Vec::new();
                for f in found {
                    items.extend(f?);
                }
                Ok(Reply::Items(items))
            }
            Command::Store {
                cmd,
                key,
                flags,
                exptime,
                data,
                noreply: _,
            } => {
                let verb = if *cmd == Store::Add { "add" } else { "set" };
                let query = format!("cmd={verb}&flags={flags}&exptime={exptime}");
                let (status, reply) = self.request("", &query, Some(key), data.clone()).await?;
                match status {
                    201 => Ok(Reply::Stored),
                    200 if reply.body.starts_with(b"NOT_STORED") => Ok(Reply::NotStored),
                    404 => Ok(Reply::NotFound),
                    s => Self::failure(s, &reply.body),
                }
            }
            Command::Delete { key, noreply: _ } => {
                let (status, reply) = self.request("", "cmd=delete", Some(key), Vec::new()).await?;
                match status {
                    200 => Ok(Reply::Deleted),
                    404 => Ok(Reply::NotFound),
                    s => Self::failure(s, &reply.body),
                }
            }
            Command::Count { key, up, delta } => {
                let verb = if *up { "incr" } else { "decr" };
                let query = format!("cmd={verb}&val={delta}");
                let (status, reply) = self.request("/count", &query, Some(key), Vec::new()).await?;
                match status {
                    200 | 201 => match protocol::parse(&reply.body) {
                        Ok(Some((n @ Reply::Number(_), _))) => Ok(n),
                        _ => Self::failure(status, &reply.body),
                    },
                    404 => Ok(Reply::NotFound),
                    s => Self::failure(s, &reply.body),
                }
            }
            Command::FlushAll => {
                let (status, reply) = self.request("", "cmd=flush_all", None, Vec::new()).await?;
                match status {
                    200 => Ok(Reply::Ok),
                    s => Self::failure(s, &reply.body),
                }
            }
        }
    }
}

#[async_trait(?Send)]
impl Link for GatewayLink {
    async fn call(&self, commands: &[Command]) -> Result<Vec<Reply>, LinkError> {
        // Writes of distinct keys (set_many, delete_many) go concurrently;
        // anything else in order: a set followed by a get must read what was set.
        let key = |c: &Command| match c {
            Command::Store { key, .. } | Command::Delete { key, .. } => Some(key.clone()),
            _ => None,
        };
        let keys: Option<std::collections::HashSet<String>> = commands.iter().map(key).collect();
        if commands.len() > 1 && keys.is_some_and(|k| k.len() == commands.len()) {
            return futures::future::join_all(commands.iter().map(|c| self.one(c)))
                .await
                .into_iter()
                .collect();
        }
        let mut replies = Vec::with_capacity(commands.len());
        for c in commands {
            replies.push(self.one(c).await?);
        }
        Ok(replies)
    }
}
