//! memcached behind the backend trait: the text protocol over a byte stream
//! (Workers TCP sockets, std TCP and Unix sockets) or through an HTTP
//! gateway (nginx with the memc module), across several servers placed as
//! pymemcache, pylibmc and twemproxy place them.
//!
//! What memcached cannot do, and what this backend does instead:
//! - **No key listing**: `clear` starts a new *generation* for this backend
//!   (a token, the time of the clear, kept in memcached at
//!   `{key_prefix}:edgecache-generation`); keys written after it carry a
//!   `g{token}:` prefix, the old ones are never read again and age out (if
//!   memcached evicts the token, keys from before the first clear could be
//!   read again: it is read every second, so it stays hot in the LRU). Until the first `clear` keys are Ellar's byte for
//!   byte. Each isolate re-reads the generation at most once a second, so a
//!   `clear` elsewhere shows within a second. `clear: "flush_all"` empties
//!   whole servers instead (only for servers this backend owns).
//! - **Unsigned counters**: memcached's `incr`/`decr` are unsigned and stop
//!   at 0. `incr`/`decr` use them while the result stays in `0..=i64::MAX`
//!   (atomic, TTL kept); below zero, or on a negative value, they use the
//!   meta commands (`mg`/`ms` with CAS, TTL kept), which memcached 1.6 has
//!   and proxies and the gateway lack: there such a call is
//!   [`CacheError::Unsupported`].
//! - **Whole seconds**: TTLs round up to whole seconds (memcached's clock
//!   ticks once a second, so expiry lands within a second of the TTL);
//!   past 30 days they are sent as an absolute Unix time, as memcached
//!   requires.
//! - **A down server** (refused, timed out, garbage reply): its keys miss,
//!   writes to it fail with [`CacheError::Backend`], the other servers go on,
//!   and it is tried again after `dead_retry_ms`.

pub mod flags;
mod link;
mod options;
pub mod placement;
pub mod protocol;

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use async_trait::async_trait;
use serde_json::json;

pub use link::{Command, GatewayLink, Link, LinkError, StreamLink, FLAGS_HEADER, KEY_HEADER, TOKEN_HEADER};
pub use options::{ClearMode, MemcachedOptions, Reach};
pub use placement::{Distribution, Placement};

use self::protocol::{ErrorKind, Item, MetaStatus, Reply, Store};
use crate::backend::{BackendConfig, BackendStats, CacheBackend};
use crate::primitives::clock::Clock;
use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::{KeyMaker, KeyRules};
use crate::primitives::ttl::{Expiry, Timeout, Ttl};
use crate::primitives::value::Value;
use crate::transport::{HttpTransport, StreamTransport};

/// Relative exptimes above this many seconds are read by memcached as
/// absolute Unix times.
const MAX_RELATIVE_EXPTIME: i64 = 30 * 24 * 3600;
/// How long an isolate trusts the generation it read.
const GENERATION_CHECK_MS: u64 = 1000;
/// Keys per `get` command in a `get_many`.
const GET_BATCH: usize = 100;

/// The memcached backend.
pub struct MemcachedBackend {
    keys: KeyMaker,
    timeout: Timeout,
    options: MemcachedOptions,
    placement: Placement,
    links: Vec<Rc<dyn Link>>,
    down_until: Vec<Cell<u64>>,
    /// Why each server was last marked down.
    down_reason: Vec<std::cell::RefCell<String>>,
    /// Whether each server has the meta commands (learned on first use).
    meta: Vec<Cell<Option<bool>>>,
    /// The generation and when it was read.
    generation: Cell<Option<(u64, u64)>>,
    clock: Rc<dyn Clock>,
    name: String,
    hits: Cell<u64>,
    misses: Cell<u64>,
    server_errors: Cell<u64>,
}

/// What a call reaches the servers with: a stream transport for TCP, an
/// HTTP transport for the gateway (a platform supplies what it has).
#[derive(Clone, Default)]
pub struct Transports {
    /// Byte streams (Workers `connect()`, std sockets).
    pub stream: Option<Rc<dyn StreamTransport>>,
    /// HTTP POST (`fetch`).
    pub http: Option<Rc<dyn HttpTransport>>,
}

impl MemcachedBackend {
    /// A backend for `config` over the transport its options need.
    pub fn new(
        config: &BackendConfig,
        options: MemcachedOptions,
        transports: Transports,
        clock: Rc<dyn Clock>,
    ) -> Result<Self> {
        let links: Vec<Rc<dyn Link>> = match &options.reach {
            Reach::Tcp => {
                let stream = transports.stream.ok_or_else(|| {
                    CacheError::config(
                        format!("{}.options.servers", config.name),
                        "this platform has no TCP sockets (in a JS Worker the package passes cloudflare:sockets' connect; elsewhere reach memcached through the HTTP gateway: gateway_url)",
                    )
                })?;
                options
                    .servers
                    .iter()
                    .map(|s| {
                        Rc::new(StreamLink::new(
                            s,
                            stream.clone(),
                            options.connect_timeout_ms,
                            options.timeout_ms,
                        )) as Rc<dyn Link>
                    })
                    .collect()
            }
            Reach::Gateway { url, token } => {
                let http = transports.http.ok_or_else(|| {
                    CacheError::config(
                        format!("{}.options.gateway_url", config.name),
                        "this platform has no HTTP transport",
                    )
                })?;
                (0..options.servers.len())
                    .map(|i| {
                        Rc::new(GatewayLink::new(
                            url,
                            i,
                            token.clone(),
                            http.clone(),
                            options.timeout_ms,
                        )) as Rc<dyn Link>
                    })
                    .collect()
            }
        };
        let n = links.len();
        let rules = KeyRules {
            // With hash_long_keys any length goes (long keys are hashed).
            max_len: (!options.hash_long_keys).then_some(250),
            printable_only: true,
        };
        Ok(MemcachedBackend {
            keys: KeyMaker::new(config.key_prefix.clone(), config.version, rules, "memcached"),
            timeout: config.ttl,
            placement: Placement::new(options.distribution, &options.servers),
            options,
            links,
            down_until: (0..n).map(|_| Cell::new(0)).collect(),
            down_reason: (0..n).map(|_| Default::default()).collect(),
            meta: (0..n).map(|_| Cell::new(None)).collect(),
            generation: Cell::new(None),
            clock,
            name: config.name.clone(),
            hits: Cell::new(0),
            misses: Cell::new(0),
            server_errors: Cell::new(0),
        })
    }

    /// The options it runs with.
    pub fn options(&self) -> &MemcachedOptions {
        &self.options
    }

    fn fail(&self, server: usize, message: impl std::fmt::Display) -> CacheError {
        CacheError::backend(
            format!("memcached ({})", self.name),
            format!("{}: {message}", self.options.servers[server]),
        )
    }

    /// Runs commands on one server; a down server fails at once, a failing
    /// one is marked down for `dead_retry_ms`.
    async fn run(&self, server: usize, commands: &[link::Command]) -> Result<Vec<Reply>> {
        let now = self.clock.now_ms();
        let until = self.down_until[server].get();
        if now < until {
            self.server_errors.set(self.server_errors.get() + 1);
            return Err(self.fail(
                server,
                format!(
                    "marked down ({}); tried again in {} ms",
                    self.down_reason[server].borrow(),
                    until - now
                ),
            ));
        }
        match self.links[server].call(commands).await {
            Ok(replies) => Ok(replies),
            Err(e) => {
                self.server_errors.set(self.server_errors.get() + 1);
                self.down_until[server].set(self.clock.now_ms() + self.options.dead_retry_ms);
                *self.down_reason[server].borrow_mut() = e.to_string();
                Err(self.fail(server, e))
            }
        }
    }

    async fn run_one(&self, server: usize, command: link::Command) -> Result<Reply> {
        let mut r = self.run(server, std::slice::from_ref(&command)).await?;
        Ok(r.pop().expect("one reply per command"))
    }

    fn unexpected(&self, server: usize, reply: &Reply) -> CacheError {
        match reply {
            Reply::Error(kind, m) => self.fail(server, format!("{kind:?} error: {m}")),
            other => self.fail(server, format!("unexpected reply {other:?}")),
        }
    }

    /// The generation keys are made in (0 until the first `clear`).
    async fn generation(&self) -> u64 {
        if self.options.clear == ClearMode::FlushAll {
            return 0;
        }
        let now = self.clock.now_ms();
        if let Some((g, at)) = self.generation.get() {
            if now.saturating_sub(at) < GENERATION_CHECK_MS {
                return g;
            }
        }
        let key = self.generation_key();
        let server = self.placement.server_for(&key);
        let g = match self
            .run_one(
                server,
                link::Command::Get {
                    keys: vec![key],
                    cas: false,
                },
            )
            .await
        {
            Ok(Reply::Items(items)) => items
                .first()
                .and_then(|i| std::str::from_utf8(&i.data).ok())
                .and_then(|t| t.trim_end().parse().ok())
                .unwrap_or(0),
            // Unreachable: keep what was known (the keys' own server may be fine).
            _ => return self.generation.get().map_or(0, |(g, _)| g),
        };
        self.generation.set(Some((g, now)));
        g
    }

    fn generation_key(&self) -> String {
        format!("{}:edgecache-generation", self.keys.prefix)
    }

    /// The key as stored, checked against memcached's rules.
    fn stored_key(&self, full: String, generation: u64) -> Result<String> {
        let key = match generation {
            0 => full,
            g => format!("g{}:{full}", base36(g)),
        };
        // After a clear no other client reads these keys, so one the
        // generation made too long is hashed rather than refused.
        if key.len() > 250 && (self.options.hash_long_keys || generation > 0) {
            return Ok(crate::primitives::key::digest_key(&key, 180));
        }
        KeyRules::MEMCACHED.check(&key, "memcached")?;
        Ok(key)
    }

    async fn key(&self, key: &str, version: Option<i64>) -> Result<(String, usize)> {
        let full = self.keys.make(key, version)?;
        let stored = self.stored_key(full, self.generation().await)?;
        let server = self.placement.server_for(&stored);
        Ok((stored, server))
    }

    /// The exptime for a TTL, or `None` when the TTL removes the key.
    fn exptime(&self, ttl: Ttl) -> Result<Option<i64>> {
        Ok(match ttl.or(self.timeout).expiry(0)? {
            Expiry::Now => None,
            Expiry::Never => Some(0),
            Expiry::At(ms) => {
                let secs = ms.div_ceil(1000).min(i64::MAX as u64 / 2) as i64;
                if secs > MAX_RELATIVE_EXPTIME {
                    Some(self.clock.now_ms() as i64 / 1000 + secs)
                } else {
                    Some(secs)
                }
            }
        })
    }

    fn encode(&self, key: &str, value: &Value) -> Result<(u32, Vec<u8>)> {
        let (flags, bytes) = self.options.serializer.encode(value)?;
        if bytes.len() > self.options.max_value_bytes {
            return Err(CacheError::ValueTooLarge {
                key: key.to_string(),
                size: bytes.len(),
                limit: self.options.max_value_bytes,
            });
        }
        Ok((flags, bytes))
    }

    fn decode(&self, item: &Item) -> Result<Value> {
        self.options.serializer.decode(item.flags, counter_text(&item.data))
    }

    fn count_reads(&self, hits: usize, misses: usize) {
        self.hits.set(self.hits.get() + hits as u64);
        self.misses.set(self.misses.get() + misses as u64);
    }

    async fn store(&self, cmd: Store, key: &str, value: &Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let (full, server) = self.key(key, version).await?;
        let Some(exptime) = self.exptime(ttl)? else {
            if cmd == Store::Add {
                // Django's add with a zero TTL: "written and gone at once" if absent.
                return Ok(!self.has_key(key, version).await?);
            }
            self.delete(key, version).await?;
            return Ok(false);
        };
        let (flags, data) = self.encode(key, value)?;
        let noreply = self.options.default_noreply && cmd == Store::Set;
        let reply = self
            .run_one(
                server,
                link::Command::Store {
                    cmd,
                    key: full,
                    flags,
                    exptime,
                    data,
                    noreply,
                },
            )
            .await?;
        match reply {
            Reply::Stored | Reply::Ok => Ok(true),
            Reply::NotStored if cmd == Store::Add => Ok(false),
            Reply::Error(ErrorKind::Server, ref m) if m.contains("too large") => Err(CacheError::ValueTooLarge {
                key: key.to_string(),
                size: 0,
                limit: self.options.max_value_bytes,
            }),
            other => Err(self.unexpected(server, &other)),
        }
    }

    /// Reads the item at `full` (a miss when its server is down).
    async fn item(&self, full: &str, server: usize) -> Result<Option<Item>> {
        let reply = self
            .run_one(
                server,
                link::Command::Get {
                    keys: vec![full.to_string()],
                    cas: false,
                },
            )
            .await;
        match reply {
            Ok(Reply::Items(mut items)) => Ok(items.pop()),
            Ok(other) => Err(self.unexpected(server, &other)),
            Err(CacheError::Backend { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// incr/decr through the meta commands: read value, TTL and CAS, write
    /// the sum only if nothing changed meanwhile, keeping the TTL.
    async fn count_with_cas(&self, key: &str, full: &str, server: usize, delta: i64) -> Result<i64> {
        if !self.has_meta(server).await {
            return Err(self.unsigned_only(key, full, server).await);
        }
        for _ in 0..16 {
            let got = self
                .run_one(server, link::Command::MetaGet { key: full.to_string() })
                .await?;
            let (data, ttl, flags, cas) = match &got {
                Reply::Meta {
                    status: MetaStatus::Value,
                    data: Some(d),
                    ..
                } => {
                    let num = |l: u8| got.meta_flag(l).and_then(|t| t.parse::<i64>().ok());
                    (d.clone(), num(b't'), num(b'f'), num(b'c'))
                }
                Reply::Meta {
                    status: MetaStatus::Miss,
                    ..
                } => return Err(CacheError::NotFound { key: key.to_string() }),
                other => return Err(self.unexpected(server, other)),
            };
            let (Some(ttl), Some(flags), Some(cas)) = (ttl, flags, cas) else {
                return Err(self.fail(server, format!("meta get of {full} lacks t/f/c: {got:?}")));
            };
            let current =
                integer(counter_text(&data)).ok_or_else(|| CacheError::NotAnInteger { key: key.to_string() })?;
            let new = current
                .checked_add(delta)
                .ok_or_else(|| CacheError::Overflow { key: key.to_string() })?;
            let set = link::Command::MetaSetCas {
                key: full.to_string(),
                data: new.to_string().into_bytes(),
                // `t-1` is "never"; for `ms`, as for `set`, 0 is never.
                ttl: ttl.max(0),
                flags: flags as u32,
                cas: cas as u64,
            };
            match self.run_one(server, set).await? {
                Reply::Meta {
                    status: MetaStatus::Done,
                    ..
                } => return Ok(new),
                Reply::Meta {
                    status: MetaStatus::Exists,
                    ..
                } => continue,
                Reply::Meta {
                    status: MetaStatus::NotFound,
                    ..
                } => return Err(CacheError::NotFound { key: key.to_string() }),
                other => return Err(self.unexpected(server, &other)),
            }
        }
        Err(self.fail(
            server,
            format!("{full} kept changing during incr; gave up after 16 tries"),
        ))
    }

    /// Whether the server has the meta commands, asked once with `mn`
    /// (outside `run`: a proxy that closes the connection on an unknown
    /// command is not a down server). Remembered once it answers.
    async fn has_meta(&self, server: usize) -> bool {
        if let Some(known) = self.meta[server].get() {
            return known;
        }
        match self.links[server].call(&[link::Command::MetaNoop]).await {
            Ok(replies) => {
                let yes = matches!(
                    replies.first(),
                    Some(Reply::Meta {
                        status: MetaStatus::NoOp,
                        ..
                    })
                );
                self.meta[server].set(Some(yes));
                yes
            }
            Err(_) => false,
        }
    }

    /// Why a counter change cannot be done without the meta commands: the
    /// value is not an integer, or the result would go below zero.
    async fn unsigned_only(&self, key: &str, full: &str, server: usize) -> CacheError {
        match self.item(full, server).await {
            Ok(Some(item)) if integer(counter_text(&item.data)).is_some() => {
                let via = match self.options.reach {
                    Reach::Tcp => format!("{} has", self.options.servers[server]),
                    Reach::Gateway { .. } => "the memc gateway has".to_string(),
                };
                CacheError::Unsupported(format!(
                    "memcached counters are unsigned and {via} no meta commands: {key:?} cannot go below zero \
                     (connect to memcached 1.6+ directly, or keep counters at zero or above)"
                ))
            }
            Ok(Some(_)) => CacheError::NotAnInteger { key: key.to_string() },
            Ok(None) => CacheError::NotFound { key: key.to_string() },
            Err(e) => e,
        }
    }

    /// Splits full keys by server, keeping each key's position.
    fn by_server(&self, keys: Vec<String>) -> HashMap<usize, Vec<(usize, String)>> {
        let mut groups: HashMap<usize, Vec<(usize, String)>> = HashMap::new();
        for (i, k) in keys.into_iter().enumerate() {
            groups.entry(self.placement.server_for(&k)).or_default().push((i, k));
        }
        groups
    }
}

/// A counter's digits: memcached may pad a decremented value with spaces.
fn counter_text(data: &[u8]) -> &[u8] {
    let trimmed = data.trim_ascii_end();
    if trimmed.len() < data.len() && !trimmed.is_empty() && trimmed.iter().all(u8::is_ascii_digit) {
        trimmed
    } else {
        data
    }
}

/// A generation token, short.
fn base36(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

fn integer(data: &[u8]) -> Option<i64> {
    std::str::from_utf8(data).ok()?.parse().ok()
}

#[async_trait(?Send)]
impl CacheBackend for MemcachedBackend {
    fn kind(&self) -> &str {
        "memcached"
    }

    fn key_maker(&self) -> &KeyMaker {
        &self.keys
    }

    fn default_timeout(&self) -> Timeout {
        self.timeout
    }

    fn make_key(&self, key: &str, version: Option<i64>) -> Result<String> {
        let full = self.keys.make(key, version)?;
        self.stored_key(full, 0)
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
        let (full, server) = self.key(key, version).await?;
        let item = self.item(&full, server).await?;
        self.count_reads(usize::from(item.is_some()), usize::from(item.is_none()));
        item.map(|i| self.decode(&i)).transpose()
    }

    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
        self.store(Store::Set, key, &value, ttl, version).await.map(|_| ())
    }

    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        self.store(Store::Add, key, &value, ttl, version).await
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let (full, server) = self.key(key, version).await?;
        let noreply = self.options.default_noreply;
        match self
            .run_one(server, link::Command::Delete { key: full, noreply })
            .await?
        {
            Reply::Deleted | Reply::Ok => Ok(true),
            Reply::NotFound => Ok(false),
            other => Err(self.unexpected(server, &other)),
        }
    }

    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let (full, server) = self.key(key, version).await?;
        let Some(exptime) = self.exptime(ttl)? else {
            return self.delete(key, version).await;
        };
        let touch = link::Command::Touch {
            key: full.clone(),
            exptime,
        };
        match self.run_one(server, touch).await? {
            Reply::Touched => Ok(true),
            Reply::NotFound => Ok(false),
            // The gateway has no touch: write the value back with the new
            // lifetime (not atomic with a concurrent write).
            Reply::Error(ErrorKind::Unknown, _) => {
                let Some(item) = self.item(&full, server).await? else {
                    return Ok(false);
                };
                let set = link::Command::Store {
                    cmd: Store::Set,
                    key: full,
                    flags: item.flags,
                    exptime,
                    data: item.data,
                    noreply: false,
                };
                match self.run_one(server, set).await? {
                    Reply::Stored => Ok(true),
                    other => Err(self.unexpected(server, &other)),
                }
            }
            other => Err(self.unexpected(server, &other)),
        }
    }

    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        let (full, server) = self.key(key, version).await?;
        if delta < 0 {
            // decr stops at 0: use it only when the result stays >= 0.
            let Some(item) = self.item(&full, server).await? else {
                return Err(CacheError::NotFound { key: key.to_string() });
            };
            match integer(counter_text(&item.data)) {
                Some(v) if v >= 0 && v.checked_add(delta).is_some_and(|r| r >= 0) => {}
                None => return Err(CacheError::NotAnInteger { key: key.to_string() }),
                Some(_) => return self.count_with_cas(key, &full, server, delta).await,
            }
        }
        let up = delta >= 0;
        let count = link::Command::Count {
            key: full.clone(),
            up,
            delta: delta.unsigned_abs(),
        };
        match self.run_one(server, count).await? {
            Reply::Number(n) if n <= i64::MAX as u64 => Ok(n as i64),
            Reply::Number(n) => {
                // Past i64: undo, so a failed incr changes nothing. The undo
                // is checked: a counter left past i64 (the undo lost, or a
                // concurrent writer) is reported, not hidden behind Overflow.
                let undo = link::Command::Count {
                    key: full,
                    up: false,
                    delta: delta.unsigned_abs(),
                };
                let expected = n - delta.unsigned_abs();
                match self.run_one(server, undo).await? {
                    Reply::Number(back) if back == expected => Err(CacheError::Overflow { key: key.to_string() }),
                    other => Err(self.fail(
                        server,
                        format!(
                            "incr of {key:?} passed i64::MAX (to {n}) and undoing it answered {other:?} \
                             instead of {expected}: the counter may be left changed"
                        ),
                    )),
                }
            }
            Reply::NotFound => Err(CacheError::NotFound { key: key.to_string() }),
            // A negative or non-numeric value.
            Reply::Error(ErrorKind::Client, _) => self.count_with_cas(key, &full, server, delta).await,
            other => Err(self.unexpected(server, &other)),
        }
    }

    async fn get_many(&self, keys: &[&str], version: Option<i64>) -> Result<HashMap<String, Value>> {
        let generation = self.generation().await;
        let mut full = Vec::with_capacity(keys.len());
        for k in keys {
            full.push(self.stored_key(self.keys.make(k, version)?, generation)?);
        }
        let groups = self.by_server(full);
        let calls = groups.iter().map(|(&server, group)| async move {
            let commands: Vec<link::Command> = group
                .chunks(GET_BATCH)
                .map(|chunk| link::Command::Get {
                    keys: chunk.iter().map(|(_, k)| k.clone()).collect(),
                    cas: false,
                })
                .collect();
            (server, group, self.run(server, &commands).await)
        });
        let mut out = HashMap::new();
        for (server, group, replies) in futures::future::join_all(calls).await {
            let replies = match replies {
                Ok(r) => r,
                // A down server's keys miss.
                Err(CacheError::Backend { .. }) => continue,
                Err(e) => return Err(e),
            };
            let positions: HashMap<&str, usize> = group.iter().map(|(i, k)| (k.as_str(), *i)).collect();
            for reply in replies {
                let Reply::Items(items) = reply else {
                    return Err(self.unexpected(server, &reply));
                };
                for item in items {
                    if let Some(&i) = positions.get(item.key.as_str()) {
                        out.insert(keys[i].to_string(), self.decode(&item)?);
                    }
                }
            }
        }
        self.count_reads(out.len(), keys.len() - out.len());
        Ok(out)
    }

    async fn set_many(&self, items: Vec<(String, Value)>, ttl: Ttl, version: Option<i64>) -> Result<Vec<String>> {
        let Some(exptime) = self.exptime(ttl)? else {
            let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
            self.delete_many(&keys, version).await?;
            return Ok(Vec::new());
        };
        let generation = self.generation().await;
        let mut failed = Vec::new();
        let mut full = Vec::new();
        let mut encoded = Vec::new();
        for (k, v) in &items {
            let key = self.stored_key(self.keys.make(k, version)?, generation)?;
            match self.encode(k, v) {
                Ok(e) => {
                    full.push(key);
                    encoded.push((k.clone(), e));
                }
                Err(CacheError::ValueTooLarge { .. }) => failed.push(k.clone()),
                Err(e) => return Err(e),
            }
        }
        let groups = self.by_server(full);
        let noreply = self.options.default_noreply;
        let calls = groups.into_iter().map(|(server, group)| {
            let commands: Vec<link::Command> = group
                .iter()
                .map(|(i, key)| link::Command::Store {
                    cmd: Store::Set,
                    key: key.clone(),
                    flags: encoded[*i].1 .0,
                    exptime,
                    data: encoded[*i].1 .1.clone(),
                    noreply,
                })
                .collect();
            async move { (group, self.run(server, &commands).await) }
        });
        for (group, replies) in futures::future::join_all(calls).await {
            let replies = replies?;
            for ((i, _), reply) in group.iter().zip(replies) {
                match reply {
                    Reply::Stored | Reply::Ok => {}
                    Reply::Error(ErrorKind::Server, _) => failed.push(encoded[*i].0.clone()),
                    other => return Err(self.unexpected(0, &other)),
                }
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[&str], version: Option<i64>) -> Result<usize> {
        let generation = self.generation().await;
        let mut full = Vec::with_capacity(keys.len());
        for k in keys {
            full.push(self.stored_key(self.keys.make(k, version)?, generation)?);
        }
        let noreply = self.options.default_noreply;
        let calls = self.by_server(full).into_iter().map(|(server, group)| {
            let commands: Vec<link::Command> = group
                .into_iter()
                .map(|(_, key)| link::Command::Delete { key, noreply })
                .collect();
            async move { self.run(server, &commands).await }
        });
        let mut n = 0;
        for replies in futures::future::join_all(calls).await {
            n += replies?
                .iter()
                .filter(|r| matches!(r, Reply::Deleted | Reply::Ok))
                .count();
        }
        Ok(n)
    }

    async fn clear(&self) -> Result<()> {
        match self.options.clear {
            ClearMode::FlushAll => {
                for server in 0..self.links.len() {
                    match self.run_one(server, link::Command::FlushAll).await? {
                        Reply::Ok => {}
                        other => return Err(self.unexpected(server, &other)),
                    }
                }
                Ok(())
            }
            ClearMode::Generation => {
                // A fresh token rather than a counter: two backends that
                // see different counters (another ring, a lost key) must
                // never land on the same generation and each other's keys.
                let known = self.generation.get().map_or(0, |(g, _)| g);
                let g = self.clock.now_ms().max(known + 1);
                let key = self.generation_key();
                let server = self.placement.server_for(&key);
                let set = link::Command::Store {
                    cmd: Store::Set,
                    key,
                    flags: 0,
                    exptime: 0,
                    data: g.to_string().into_bytes(),
                    noreply: false,
                };
                match self.run_one(server, set).await? {
                    Reply::Stored => {
                        self.generation.set(Some((g, self.clock.now_ms())));
                        Ok(())
                    }
                    other => Err(self.unexpected(server, &other)),
                }
            }
        }
    }

    fn stats(&self) -> BackendStats {
        let now = self.clock.now_ms();
        let mut m = BackendStats::new();
        m.insert("servers".into(), json!(self.options.servers));
        m.insert("distribution".into(), json!(self.options.distribution.name()));
        m.insert(
            "transport".into(),
            json!(match self.options.reach {
                Reach::Tcp => "tcp",
                Reach::Gateway { .. } => "gateway",
            }),
        );
        let down: Vec<&String> = self
            .options
            .servers
            .iter()
            .zip(&self.down_until)
            .filter(|(_, d)| d.get() > now)
            .map(|(s, _)| s)
            .collect();
        m.insert("servers_down".into(), json!(down));
        m.insert("hits".into(), json!(self.hits.get()));
        m.insert("misses".into(), json!(self.misses.get()));
        m.insert("server_errors".into(), json!(self.server_errors.get()));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{HttpReply, HttpTransport, TransportError};

    /// A gateway whose counter sits at i64::MAX and whose `decr` answers
    /// `decr_status` (the undo of an overflowing incr).
    struct Gateway {
        decr_status: u16,
    }

    #[async_trait(?Send)]
    impl HttpTransport for Gateway {
        async fn post(
            &self,
            url: &str,
            _: &[(&str, &str)],
            _: Vec<u8>,
            _: &[&str],
            _: u64,
        ) -> std::result::Result<HttpReply, TransportError> {
            Ok(if url.contains("cmd=incr") {
                HttpReply::new(201, "9223372036854775808\r\n")
            } else if url.contains("cmd=decr") {
                HttpReply::new(self.decr_status, "9223372036854775807\r\n")
            } else {
                HttpReply::new(404, "")
            })
        }
    }

    fn through_gateway(decr_status: u16) -> MemcachedBackend {
        let mut c = BackendConfig::new("mc", "memcached");
        c.options = serde_json::json!({"servers": ["127.0.0.1:1"], "gateway_url": "http://gw"})
            .as_object()
            .unwrap()
            .clone();
        let options = MemcachedOptions::from_config(&c, &crate::backend::NoSecrets).unwrap();
        let transports = Transports {
            stream: None,
            http: Some(Rc::new(Gateway { decr_status })),
        };
        MemcachedBackend::new(&c, options, transports, Rc::new(crate::SystemClock)).unwrap()
    }

    #[test]
    fn an_overflowing_incr_is_undone_and_a_lost_undo_is_reported() {
        let e = futures::executor::block_on(through_gateway(201).incr("n", 1, None)).unwrap_err();
        assert!(matches!(e, CacheError::Overflow { .. }), "{e:?}");
        // The undo finds no key (evicted meanwhile, or the gateway lost it):
        // not an Overflow that would claim nothing changed.
        let e = futures::executor::block_on(through_gateway(404).incr("n", 1, None)).unwrap_err();
        assert!(!matches!(e, CacheError::Overflow { .. }), "{e:?}");
        assert!(e.to_string().contains("may be left changed"), "{e}");
    }

    #[test]
    fn counters_and_keys() {
        assert_eq!(counter_text(b"9 "), b"9");
        assert_eq!(counter_text(b"a "), b"a ");
        assert_eq!(counter_text(b" "), b" ");
        assert_eq!(integer(b"-4"), Some(-4));
        assert_eq!(base36(0), "0");
        assert_eq!(base36(1_796_125_508_588), "mx4mr46k");
    }
}
