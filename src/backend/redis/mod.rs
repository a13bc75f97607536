//! Redis over HTTP REST, the protocol Upstash serves: each command is a JSON
//! array POSTed to the endpoint (`["SET","k","v","PX","5000"]`), replies are
//! `{"result": …}` or `{"error": "…"}`, and `Upstash-Encoding: base64` makes
//! string results base64 so binary values survive JSON. Values that are not
//! UTF-8 are written path-style (`POST /set/<key>/PX/<ms>` with the raw value
//! as the body).
//!
//! Writes go to the leader; reads go to a read replica picked at random
//! (the leader when there is none). Replicas lag, so for
//! `read_your_writes_ms` after this isolate's last write its reads go to the
//! leader, and a `set` is visible to the next `get`. A replica read that
//! fails, times out (`replica_timeout_ms`) or finds the replica's link down
//! is asked again of the leader in the same call, and the replica is skipped
//! for a while ([`replicas`]). The HTTP transport is a trait so this module
//! holds no platform code: `platform::workers` provides `fetch`.
//!
//! Options: `url` (required), `read_urls` (list), `token_secret` (name of
//! the Worker secret holding the bearer token), `timeout_ms` (default 2000),
//! `max_value_bytes` (default 1 MiB), `read_your_writes_ms` (default 2000),
//! `serializer` (`framed`, the default; `pickle`, `json` or `raw`: see
//! [`crate::primitives::serializer`]), `replica_timeout_ms` (300),
//! `replica_down_ms` (10000), `replica_check_ms` (1000; 0 = never).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use async_trait::async_trait;
use base64::Engine;
use futures::FutureExt;
use serde_json::{json, Value as Json};

use crate::backend::BackendConfig;
use crate::backend::{BackendStats, CacheBackend};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::{KeyMaker, KeyRules};
use crate::primitives::ttl::{Expiry, Timeout, Ttl};
use crate::primitives::value::Value;
use crate::runtime::Runtime;
use crate::transport::HttpTransport;

mod batch;
mod options;
mod protocol;
mod replicas;
mod webdis;

use batch::{Batches, Queued};
#[cfg(any(test, feature = "memcached"))]
pub(crate) use options::check_url;
#[cfg(test)]
use options::without_credentials;
pub use options::{Dialect, RedisRestOptions};
pub use protocol::{decode_reply, encode_command, glob_escape, value_arg, Arg, Reply};
use replicas::{DownReason, Replicas};

/// Picks an index in `0..n` (random in production, fixed in tests).
pub type Picker = Rc<dyn Fn(usize) -> usize>;

/// How many key and value bytes one `set_many` MSET carries at most.
const MSET_MAX_BYTES: usize = 1 << 20;

/// The value and its remaining lifetime in one round trip.
const GET_WITH_PTTL: &str = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";

/// INCRBY only when the key exists. The new value is read back with GET:
/// Lua numbers are doubles, which would round values near i64::MAX.
const INCR_IF_EXISTS: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) \
     return redis.call('GET', KEYS[1]) end return false";
/// SET KEYS[1] to the base64-decoded ARGV[2], with PX ARGV[1] unless it is
/// "0": a binary value as a JSON string, so `set_many` is one pipeline.
const SET_BASE64: &str = "local a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' \
     local d = {} for i = 1, 64 do d[string.byte(a, i)] = i - 1 end \
     local s, out = ARGV[2], {} \
     for i = 1, #s, 4 do \
       local c1, c2, c3, c4 = string.byte(s, i, i + 3) \
       local n = d[c1] * 262144 + d[c2] * 4096 + (d[c3] or 0) * 64 + (d[c4] or 0) \
       local b1, b2, b3 = math.floor(n / 65536), math.floor(n / 256) % 256, n % 256 \
       if c4 ~= 61 then out[#out + 1] = string.char(b1, b2, b3) \
       elseif c3 ~= 61 then out[#out + 1] = string.char(b1, b2) \
       else out[#out + 1] = string.char(b1) end \
     end \
     local v = table.concat(out) \
     if ARGV[1] == '0' then return redis.call('SET', KEYS[1], v) end \
     return redis.call('SET', KEYS[1], v, 'PX', ARGV[1])";
/// GET+PTTL for Webdis, whose RESP output drops nil array items and
/// renders integers in arrays as strings: `{}` when absent, else the value
/// and the PTTL as text.
const GET_WITH_PTTL_TEXT: &str = "local v = redis.call('GET', KEYS[1]) if not v then return {} end \
     return {v, tostring(redis.call('PTTL', KEYS[1]))}";
/// MGET for Webdis (no nil items): (1-based index as text, value) pairs of the keys present.
const MGET_PAIRS: &str = "local out = {} for i, k in ipairs(KEYS) do local v = redis.call('GET', k) \
     if v then out[#out + 1] = tostring(i) out[#out + 1] = v end end return out";
/// SCAN as one flat list (cursor, then the keys): Webdis's RESP output
/// drops nested arrays.
const SCAN_FLAT: &str = "local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3]) \
     local out = {r[1]} for _, k in ipairs(r[2]) do out[#out + 1] = k end return out";
const PERSIST_IF_EXISTS: &str =
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PERSIST', KEYS[1]) return 1 end return 0";

/// The Redis REST backend.
pub struct RedisRestBackend {
    keys: KeyMaker,
    timeout: Timeout,
    options: RedisRestOptions,
    transport: Rc<dyn HttpTransport>,
    pick: Picker,
    name: String,
    runtime: Rc<dyn Runtime>,
    /// When this isolate last wrote, for read-your-writes.
    last_write_ms: Cell<Option<u64>>,
    /// Which read replicas are usable.
    replicas: Replicas,
    /// This tick's open batch per server (automatic pipelining).
    batches: Batches,
}

/// Where a command goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Leader,
    /// `read_urls[i]`.
    Replica(usize),
}

impl RedisRestBackend {
    /// A backend over `transport`; `pick` chooses read replicas, `runtime`
    /// times read-your-writes and dead replicas and wakes batched callers.
    pub fn new(
        config: &BackendConfig,
        options: RedisRestOptions,
        transport: Rc<dyn HttpTransport>,
        pick: Picker,
        runtime: Rc<dyn Runtime>,
    ) -> Self {
        RedisRestBackend {
            keys: KeyMaker::new(config.key_prefix.clone(), config.version, KeyRules::ANY, "redis"),
            timeout: config.ttl,
            transport,
            pick,
            name: config.name.clone(),
            runtime,
            last_write_ms: Cell::new(None),
            batches: Batches::default(),
            replicas: Replicas::new(
                options.read_urls.len(),
                options.replica_down_ms,
                options.replica_check_ms,
            ),
            options,
        }
    }

    fn fail(&self, url: &str, message: impl std::fmt::Display) -> CacheError {
        CacheError::backend(format!("redis ({})", self.name), format!("{url}: {message}"))
    }

    /// Whether this isolate wrote within `read_your_writes_ms` (reads then go to the leader).
    fn recent_write(&self) -> bool {
        self.last_write_ms
            .get()
            .is_some_and(|t| self.runtime.now_ms().saturating_sub(t) < self.options.read_your_writes_ms)
    }

    /// One POST to `base` + `path`; a write marks the read-your-writes
    /// window from its start until `read_your_writes_ms` after its end (or
    /// failure), so the window covers the replicas' lag after it.
    async fn send(&self, base: &str, path: &str, body: Vec<u8>, timeout_ms: u64, write: bool) -> Result<Json> {
        if write {
            self.last_write_ms.set(Some(self.runtime.now_ms()));
        }
        let reply = self.post(base, path, body, timeout_ms).await;
        if write {
            self.last_write_ms.set(Some(self.runtime.now_ms()));
        }
        reply
    }

    async fn post(&self, base: &str, path: &str, body: Vec<u8>, timeout_ms: u64) -> Result<Json> {
        let url = format!("{base}{path}");
        let auth = self.options.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![("upstash-encoding", "base64"), ("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let crate::transport::HttpReply {
            status, body: reply, ..
        } = self
            .transport
            .post(&url, &headers, body, &[], timeout_ms)
            .await
            .map_err(|e| self.fail(&url, e))?;
        if status == 401 || status == 403 {
            return Err(self.fail(&url, format!("HTTP {status}: check the token (token_secret)")));
        }
        let parsed: Json = serde_json::from_slice(&reply).map_err(|_| {
            self.fail(
                &url,
                format!(
                    "HTTP {status}, not a JSON reply: {:?}",
                    String::from_utf8_lossy(&reply[..reply.len().min(200)])
                ),
            )
        })?;
        if status >= 500 {
            return Err(self.fail(&url, format!("HTTP {status}: {parsed}")));
        }
        Ok(parsed)
    }

    fn url(&self, target: Target) -> &str {
        match target {
            Target::Leader => &self.options.url,
            Target::Replica(i) => &self.options.read_urls[i],
        }
    }

    /// Runs one command on `target` and returns its raw reply. Text
    /// commands join this tick's batch for `target` (one request for all);
    /// a command with a binary argument travels alone, path-style (Upstash;
    /// Webdis takes any byte in its URL form).
    async fn exchange(&self, target: Target, args: &[Arg], write: bool) -> Result<Json> {
        let url = self.url(target);
        if self.options.dialect == Dialect::Upstash && args.iter().any(|a| matches!(a, Arg::Bytes(_))) {
            let enc = encode_command(args);
            let timeout = self.timeout_of(target);
            return self.send(url, &enc.path, enc.body, timeout, write).await;
        }
        let queued = Queued {
            command: args.to_vec(),
            write,
        };
        if !self.options.auto_pipeline {
            let mut replies = self.send_batch(target, vec![queued]).await?;
            return Ok(replies.pop().unwrap_or(Json::Null));
        }
        let key = match target {
            Target::Leader => format!("leader {url}"),
            Target::Replica(i) => format!("replica {i} {url}"),
        };
        let send: batch::Send<'_> = Box::new(move |queued| self.send_batch(target, queued).boxed_local());
        let signal = || self.runtime.signal();
        self.batches.run(&key, queued, &signal, send).await
    }

    /// One command to a Webdis server: its URL form in the body, HTTP
    /// Basic auth, the RESP reply as the Upstash JSON shape.
    async fn webdis_call(&self, base: &str, args: &[Arg], timeout_ms: u64, write: bool) -> Result<Json> {
        if write {
            self.last_write_ms.set(Some(self.runtime.now_ms()));
        }
        let url = format!("{base}/");
        let auth = self
            .options
            .token
            .as_ref()
            .map(|t| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(t)));
        let mut headers = vec![("content-type", "text/plain")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let reply = self
            .transport
            .post(&url, &headers, webdis::encode(args), &[], timeout_ms)
            .await;
        if write {
            self.last_write_ms.set(Some(self.runtime.now_ms()));
        }
        let reply = reply.map_err(|e| self.fail(&url, e))?;
        match reply.status {
            401 | 403 => Err(self.fail(
                &url,
                format!(
                    "HTTP {}: check the credentials (token_secret holds user:password for webdis) and its ACL",
                    reply.status
                ),
            )),
            s if s >= 300 => Err(self.fail(
                &url,
                format!(
                    "HTTP {s}: {:?}",
                    String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)])
                ),
            )),
            _ => webdis::decode(&reply.body).map_err(|e| self.fail(&url, e)),
        }
    }

    fn timeout_of(&self, target: Target) -> u64 {
        match target {
            Target::Leader => self.options.timeout_ms,
            Target::Replica(_) => self.options.replica_timeout_ms,
        }
    }

    /// Sends a batch: one command as is, several as `/pipeline`; to a
    /// replica due a link check, `INFO replication` first in the same
    /// request. A replica that fails or reports its link down is marked
    /// down (once for the whole batch).
    async fn send_batch(&self, target: Target, queued: Vec<Queued>) -> Result<Vec<Json>> {
        let result = self.send_batch_inner(target, queued).await;
        if let (Target::Replica(i), Err(_)) = (target, &result) {
            self.replicas.mark_down(i, self.runtime.now_ms(), DownReason::Failed);
        }
        result
    }

    async fn send_batch_inner(&self, target: Target, queued: Vec<Queued>) -> Result<Vec<Json>> {
        let url = self.url(target);
        let write = queued.iter().any(|q| q.write);
        let check = match target {
            Target::Replica(i) => self.replicas.needs_check(i, self.runtime.now_ms()).then_some(i),
            Target::Leader => None,
        };
        let mut commands: Vec<Vec<Arg>> = queued.into_iter().map(|q| q.command).collect();
        if check.is_some() {
            commands.insert(0, vec!["INFO".into(), "replication".into()]);
        }
        let timeout = self.timeout_of(target);
        let mut replies = if self.options.dialect == Dialect::Webdis {
            // No pipeline: one request per command, in order.
            let mut replies = Vec::with_capacity(commands.len());
            for c in &commands {
                replies.push(self.webdis_call(url, c, timeout, write).await?);
            }
            replies
        } else if let [one] = commands.as_slice() {
            let body = serde_json::to_vec(&texts(one)).expect("strings serialize");
            vec![self.send(url, "", body, timeout, write).await?]
        } else {
            let all: Vec<Vec<&str>> = commands.iter().map(|c| texts(c)).collect();
            let body = serde_json::to_vec(&all).expect("strings serialize");
            match self.send(url, "/pipeline", body, timeout, write).await? {
                Json::Array(items) => items,
                other => return Err(self.fail(url, format!("pipeline reply is not a list: {other}"))),
            }
        };
        if let Some(i) = check {
            if replies.len() != commands.len() {
                return Err(self.fail(url, "pipeline reply has the wrong length"));
            }
            match decode_reply(&replies.remove(0)) {
                Ok(Ok(Reply::Bytes(info))) if !replicas::link_is_up(&String::from_utf8_lossy(&info)) => {
                    self.replicas.mark_down(i, self.runtime.now_ms(), DownReason::LinkDown);
                    return Err(self.fail(url, "the replica's link to its leader is down"));
                }
                Ok(Ok(Reply::Bytes(_))) => self.replicas.link_up(i, self.runtime.now_ms()),
                // INFO refused or odd: the link state is unknown, the reads stand.
                _ => {}
            }
        }
        Ok(replies)
    }

    /// Runs one command on `target`; a Redis error reply comes back as
    /// `Ok(Err(message))`.
    async fn raw(&self, target: Target, write: bool, args: &[Arg]) -> Result<std::result::Result<Reply, String>> {
        decode_reply(&self.exchange(target, args, write).await?)
    }

    async fn command(&self, read: bool, args: &[Arg]) -> Result<Reply> {
        if read {
            return self.read(args).await;
        }
        self.raw(Target::Leader, true, args)
            .await?
            .map_err(|e| self.fail(&self.options.url, format!("Redis error: {e}")))
    }

    /// A read: on a usable replica (none within `read_your_writes_ms` of a
    /// write), and on the leader if the replica fails, times out after
    /// `replica_timeout_ms`, is loading, or reports its link down. Reads
    /// are idempotent, so asking twice is safe.
    async fn read(&self, args: &[Arg]) -> Result<Reply> {
        if !self.recent_write() {
            if let Some(i) = self.replicas.pick(self.runtime.now_ms(), &*self.pick) {
                match self.raw(Target::Replica(i), false, args).await {
                    Ok(Err(e)) if replicas::is_unavailable_error(&e) => {
                        self.replicas.mark_down(i, self.runtime.now_ms(), DownReason::Failed)
                    }
                    Ok(reply) => {
                        self.replicas.answered(i);
                        let url = &self.options.read_urls[i];
                        return reply.map_err(|e| self.fail(url, format!("Redis error: {e}")));
                    }
                    // Marked down by send_batch; the leader answers.
                    Err(_) => {}
                }
            }
        }
        self.raw(Target::Leader, false, args)
            .await?
            .map_err(|e| self.fail(&self.options.url, format!("Redis error: {e}")))
    }

    /// Runs a Lua script (EVAL) on the leader, for structures kept next to
    /// the cache's keys (the response cache's purge log). `keys` are full keys.
    pub async fn eval(&self, script: &str, keys: &[String], args: &[String]) -> Result<Reply> {
        let mut cmd: Vec<Arg> = vec!["EVAL".into(), script.into(), keys.len().to_string().into()];
        cmd.extend(keys.iter().chain(args).map(|a| Arg::Text(a.clone())));
        self.command(false, &cmd).await
    }

    /// SET (or SET NX) with an optional PX. A binary value must travel as
    /// the request body, which Upstash appends as the last argument, so it
    /// becomes the last argument of a small script.
    fn set_args(full: &str, bytes: Vec<u8>, px: Option<u64>, nx: bool) -> Vec<Arg> {
        match value_arg(bytes) {
            Arg::Text(v) => {
                let mut args = vec![Arg::from("SET"), Arg::from(full), Arg::Text(v)];
                if nx {
                    args.push("NX".into());
                }
                if let Some(ms) = px {
                    args.push("PX".into());
                    args.push(ms.to_string().into());
                }
                args
            }
            bin @ Arg::Bytes(_) => {
                let script = match (nx, px.is_some()) {
                    (false, false) => "return redis.call('SET', KEYS[1], ARGV[2])",
                    (true, false) => "return redis.call('SET', KEYS[1], ARGV[2], 'NX')",
                    (false, true) => "return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])",
                    (true, true) => "return redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[1])",
                };
                let ms = px.unwrap_or(0).to_string();
                vec!["EVAL".into(), script.into(), "1".into(), full.into(), ms.into(), bin]
            }
        }
    }

    /// SET with an optional PX as text only, so it can share a pipeline:
    /// a binary value travels base64-encoded and a script decodes it.
    fn set_text_args(full: String, bytes: Vec<u8>, px: Option<u64>) -> Vec<String> {
        let ms = px.map(|ms| ms.to_string());
        match value_arg(bytes) {
            Arg::Text(v) => {
                let mut args = vec!["SET".to_string(), full, v];
                if let Some(ms) = ms {
                    args.extend(["PX".to_string(), ms]);
                }
                args
            }
            Arg::Bytes(b) => vec![
                "EVAL".into(),
                SET_BASE64.into(),
                "1".into(),
                full,
                ms.unwrap_or_else(|| "0".into()),
                base64::engine::general_purpose::STANDARD.encode(b),
            ],
        }
    }

    fn px(expiry: Expiry, now: u64) -> Option<u64> {
        match expiry {
            Expiry::At(t) => Some(t.saturating_sub(now).max(1)),
            _ => None,
        }
    }

    fn check_size(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if bytes.len() > self.options.max_value_bytes {
            return Err(CacheError::ValueTooLarge {
                key: key.to_string(),
                size: bytes.len(),
                limit: self.options.max_value_bytes,
            });
        }
        Ok(())
    }

    async fn write(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>, nx: bool) -> Result<bool> {
        let full = self.make_key(key, version)?;
        // Expiry is relative for Redis: compute against 0.
        let expiry = ttl.or(self.timeout).expiry(0)?;
        if expiry == Expiry::Now {
            if nx {
                // Django's add: "written and gone at once" if absent.
                return Ok(self.command(false, &["EXISTS".into(), full.into()]).await?.int()? == 0);
            }
            self.command(false, &["DEL".into(), full.into()]).await?;
            return Ok(false);
        }
        let bytes = self.options.serializer.encode(&value)?;
        self.check_size(key, &bytes)?;
        let args = Self::set_args(&full, bytes, Self::px(expiry, 0), nx);
        Ok(self.command(false, &args).await? != Reply::Nil)
    }

    /// Deletes every key matching `pattern` (a SCAN glob) for which `ours`
    /// holds; returns how many.
    async fn delete_matching(&self, pattern: &str, ours: impl Fn(&[u8]) -> bool) -> Result<usize> {
        let mut cursor = "0".to_string();
        let mut deleted = 0usize;
        loop {
            let args: Vec<Arg> = match self.options.dialect {
                Dialect::Upstash => vec![
                    "SCAN".into(),
                    cursor.clone().into(),
                    "MATCH".into(),
                    pattern.into(),
                    "COUNT".into(),
                    "500".into(),
                ],
                Dialect::Webdis => vec![
                    "EVAL".into(),
                    SCAN_FLAT.into(),
                    "0".into(),
                    cursor.clone().into(),
                    pattern.into(),
                    "500".into(),
                ],
            };
            let reply = self.command(false, &args).await?;
            let Reply::Array(parts) = reply else {
                return Err(CacheError::Corrupt("SCAN reply is not a list".into()));
            };
            let (next, keys) = match parts.as_slice() {
                [Reply::Bytes(c), Reply::Array(k)] => (String::from_utf8_lossy(c).into_owned(), k.clone()),
                [Reply::Bytes(c), k @ ..] if self.options.dialect == Dialect::Webdis => {
                    (String::from_utf8_lossy(c).into_owned(), k.to_vec())
                }
                _ => return Err(CacheError::Corrupt("SCAN reply has an unexpected shape".into())),
            };
            let names: Vec<Arg> = keys
                .into_iter()
                .filter_map(|k| match k {
                    Reply::Bytes(b) if ours(&b) => Some(value_arg(b)),
                    _ => None,
                })
                .collect();
            if !names.is_empty() {
                let mut args = vec![Arg::from("DEL")];
                let binary: Vec<Arg> = names.iter().filter(|a| matches!(a, Arg::Bytes(_))).cloned().collect();
                args.extend(names.into_iter().filter(|a| matches!(a, Arg::Text(_))));
                if args.len() > 1 {
                    deleted += self.command(false, &args).await?.int()? as usize;
                }
                for b in binary {
                    deleted += self.command(false, &["DEL".into(), b]).await?.int()? as usize;
                }
            }
            if next == "0" {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}

/// The text arguments of a command bound for JSON (binary ones never are:
/// they travel path-style, or base64 in `set_many`).
fn texts(command: &[Arg]) -> Vec<&str> {
    command
        .iter()
        .map(|a| match a {
            Arg::Text(s) => s.as_str(),
            Arg::Bytes(_) => unreachable!("binary arguments are not sent as JSON"),
        })
        .collect()
}

/// A `set_many` write: the full key and the encoded value.
type Write = (String, Vec<u8>);

/// Splits `set_many`'s writes (full key, value) that never expire into one
/// `MSET` and the rest: binary values stay out unless `binary_ok` (Webdis's
/// URL form carries any byte; Upstash's JSON does not, and they go as
/// base64 scripts after it). A key written twice keeps only its last value,
/// so the order of the MSET and the rest cannot matter. The MSET stops
/// growing at [`MSET_MAX_BYTES`] (Webdis would otherwise get one huge
/// request where it used to get one per key); the rest go as SETs.
fn mset_split(writes: Vec<Write>, binary_ok: bool) -> (Option<Vec<Arg>>, Vec<Write>) {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(writes.len());
    for (i, (k, _)) in writes.iter().enumerate() {
        last.insert(k.as_str(), i);
    }
    let keep: Vec<bool> = (0..writes.len()).map(|i| last[writes[i].0.as_str()] == i).collect();
    let mut mset = vec![Arg::from("MSET")];
    let mut rest = Vec::new();
    let mut size = 0;
    for ((full, bytes), keep) in writes.into_iter().zip(keep) {
        if !keep {
            continue;
        }
        let n = full.len() + bytes.len();
        let fits = size + n <= MSET_MAX_BYTES || mset.len() == 1;
        match value_arg(bytes) {
            Arg::Bytes(b) if !binary_ok || !fits => rest.push((full, b)),
            Arg::Text(t) if !fits => rest.push((full, t.into_bytes())),
            v => {
                size += n;
                mset.push(Arg::Text(full));
                mset.push(v);
            }
        }
    }
    ((mset.len() > 1).then_some(mset), rest)
}

/// Whether `rest` (a key after its backend's "prefix:") starts with an
/// Ellar version: an integer and a colon.
fn is_versioned_key(rest: &[u8]) -> bool {
    let digits = rest.strip_prefix(b"-").unwrap_or(rest);
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    n > 0 && digits.get(n) == Some(&b':')
}

fn incr_error(key: &str, msg: &str) -> Option<CacheError> {
    if msg.contains("overflow") {
        Some(CacheError::Overflow { key: key.to_string() })
    } else if msg.contains("not an integer") {
        Some(CacheError::NotAnInteger { key: key.to_string() })
    } else {
        None
    }
}

#[async_trait(?Send)]
impl CacheBackend for RedisRestBackend {
    fn kind(&self) -> &str {
        "redis"
    }

    fn key_maker(&self) -> &KeyMaker {
        &self.keys
    }

    fn default_timeout(&self) -> Timeout {
        self.timeout
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
        let full = self.make_key(key, version)?;
        match self.command(true, &["GET".into(), full.into()]).await? {
            Reply::Nil => Ok(None),
            Reply::Bytes(b) => self.options.serializer.decode(&b).map(Some),
            other => Err(CacheError::Corrupt(format!("GET replied {other:?}"))),
        }
    }

    async fn get_with_ttl(&self, key: &str, version: Option<i64>) -> Result<Option<(Value, Option<f64>)>> {
        let full = self.make_key(key, version)?;
        let script = match self.options.dialect {
            Dialect::Upstash => GET_WITH_PTTL,
            Dialect::Webdis => GET_WITH_PTTL_TEXT,
        };
        let reply = self
            .command(true, &["EVAL".into(), script.into(), "1".into(), full.into()])
            .await?;
        let ms_text = |ms: &[u8]| std::str::from_utf8(ms).ok().and_then(|s| s.parse::<i64>().ok());
        match reply {
            Reply::Array(items) => match items.as_slice() {
                [Reply::Bytes(b), Reply::Int(ms), ..] => Ok(Some((
                    self.options.serializer.decode(b)?,
                    (*ms >= 0).then(|| *ms as f64 / 1000.0),
                ))),
                [Reply::Bytes(b), Reply::Bytes(ms)] if ms_text(ms).is_some() => {
                    let ms = ms_text(ms).unwrap_or(-1);
                    Ok(Some((
                        self.options.serializer.decode(b)?,
                        (ms >= 0).then(|| ms as f64 / 1000.0),
                    )))
                }
                [Reply::Nil, ..] | [] => Ok(None),
                other => Err(CacheError::Corrupt(format!("GET+PTTL replied {other:?}"))),
            },
            Reply::Nil => Ok(None),
            other => Err(CacheError::Corrupt(format!("GET+PTTL replied {other:?}"))),
        }
    }

    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
        self.write(key, value, ttl, version, false).await.map(|_| ())
    }

    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        self.write(key, value, ttl, version, true).await
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        Ok(self.command(false, &["DEL".into(), full.into()]).await?.int()? > 0)
    }

    async fn has_key(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        Ok(self.command(true, &["EXISTS".into(), full.into()]).await?.int()? > 0)
    }

    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let reply = match ttl.or(self.timeout).expiry(0)? {
            Expiry::Now => self.command(false, &["DEL".into(), full.into()]).await?,
            Expiry::Never => {
                self.command(
                    false,
                    &["EVAL".into(), PERSIST_IF_EXISTS.into(), "1".into(), full.into()],
                )
                .await?
            }
            e @ Expiry::At(_) => {
                let ms = Self::px(e, 0).unwrap_or(1);
                self.command(false, &["PEXPIRE".into(), full.into(), ms.to_string().into()])
                    .await?
            }
        };
        Ok(reply.int()? > 0)
    }

    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        let full = self.make_key(key, version)?;
        let args = [
            "EVAL".into(),
            INCR_IF_EXISTS.into(),
            "1".into(),
            full.into(),
            delta.to_string().into(),
        ];
        match self.raw(Target::Leader, true, &args).await? {
            Ok(Reply::Nil) => Err(CacheError::NotFound { key: key.to_string() }),
            Ok(Reply::Bytes(b)) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    CacheError::Corrupt(format!("INCRBY left a non-integer: {:?}", String::from_utf8_lossy(&b)))
                }),
            Ok(r) => r.int(),
            Err(msg) => {
                Err(incr_error(key, &msg)
                    .unwrap_or_else(|| self.fail(&self.options.url, format!("Redis error: {msg}"))))
            }
        }
    }

    async fn get_many(&self, keys: &[&str], version: Option<i64>) -> Result<HashMap<String, Value>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut args = match self.options.dialect {
            Dialect::Upstash => vec![Arg::from("MGET")],
            Dialect::Webdis => vec!["EVAL".into(), MGET_PAIRS.into(), keys.len().to_string().into()],
        };
        for k in keys {
            args.push(self.make_key(k, version)?.into());
        }
        let Reply::Array(items) = self.command(true, &args).await? else {
            return Err(CacheError::Corrupt("MGET reply is not a list".into()));
        };
        let mut out = HashMap::new();
        if self.options.dialect == Dialect::Webdis {
            for pair in items.chunks(2) {
                let [Reply::Bytes(i), Reply::Bytes(b)] = pair else {
                    return Err(CacheError::Corrupt(format!("MGET script replied {pair:?}")));
                };
                let i: usize = std::str::from_utf8(i).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
                let key = keys
                    .get(i.wrapping_sub(1))
                    .ok_or_else(|| CacheError::Corrupt(format!("MGET script named key {i}")))?;
                out.insert(key.to_string(), self.options.serializer.decode(b)?);
            }
            return Ok(out);
        }
        for (k, item) in keys.iter().zip(items) {
            if let Reply::Bytes(b) = item {
                out.insert(k.to_string(), self.options.serializer.decode(&b)?);
            }
        }
        Ok(out)
    }

    async fn set_many(&self, items: Vec<(String, Value)>, ttl: Ttl, version: Option<i64>) -> Result<Vec<String>> {
        let expiry = ttl.or(self.timeout).expiry(0)?;
        let px = Self::px(expiry, 0);
        let mut failed = Vec::new();
        let mut writes: Vec<Write> = Vec::new();
        let mut commands: Vec<Vec<Arg>> = Vec::new();
        for (k, v) in items {
            let full = self.make_key(&k, version)?;
            if expiry == Expiry::Now {
                commands.push(vec!["DEL".into(), full.into()]);
                continue;
            }
            let Ok(bytes) = self.options.serializer.encode(&v) else {
                failed.push(k);
                continue;
            };
            if self.check_size(&k, &bytes).is_err() {
                failed.push(k);
                continue;
            }
            writes.push((full, bytes));
        }
        if px.is_none() && expiry != Expiry::Now {
            // Nothing expires: one MSET for the values it can carry.
            let binary_ok = self.options.dialect == Dialect::Webdis;
            let (mset, rest) = mset_split(writes, binary_ok);
            if let Some(mset) = mset {
                commands.push(mset);
            }
            writes = rest;
        }
        for (full, bytes) in writes {
            commands.push(
                Self::set_text_args(full, bytes, px)
                    .into_iter()
                    .map(Arg::Text)
                    .collect(),
            );
        }
        if commands.is_empty() {
            return Ok(failed);
        }
        let queued = commands
            .into_iter()
            .map(|command| Queued { command, write: true })
            .collect();
        for r in self.send_batch(Target::Leader, queued).await? {
            if let Err(e) = decode_reply(&r)? {
                return Err(self.fail(&self.options.url, format!("Redis error: {e}")));
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[&str], version: Option<i64>) -> Result<usize> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut args = vec![Arg::from("DEL")];
        for k in keys {
            args.push(self.make_key(k, version)?.into());
        }
        Ok(self.command(false, &args).await?.int()? as usize)
    }

    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        if self.keys.func.is_some() {
            return Err(CacheError::Unsupported(
                "delete by prefix needs the default key function".into(),
            ));
        }
        let start = crate::primitives::key::default_key_func(prefix, &self.keys.prefix, self.keys.version_of(version));
        self.delete_matching(&format!("{}*", glob_escape(&start)), |_| true)
            .await
    }

    async fn clear(&self) -> Result<()> {
        let prefix = self.keys.clear_prefix().ok_or_else(|| {
            CacheError::Unsupported("clear needs the default key function to know this backend's keys".into())
        })?;
        // "app:*" also matches another backend's "app:beta:1:k": only keys
        // whose next part is a version ("app:1:k") are this backend's.
        self.delete_matching(&format!("{}*", glob_escape(&prefix)), |k| {
            is_versioned_key(&k[prefix.len().min(k.len())..])
        })
        .await
        .map(|_| ())
    }

    fn stats(&self) -> BackendStats {
        let mut m = BackendStats::new();
        m.insert("url".into(), json!(self.options.url));
        m.insert("read_urls".into(), json!(self.options.read_urls));
        let now = self.runtime.now_ms();
        let replicas: Vec<Json> = self
            .replicas
            .report(now)
            .into_iter()
            .zip(&self.options.read_urls)
            .map(|((down, failovers), url)| json!({"url": url, "down": down.map(DownReason::as_str), "failovers": failovers}))
            .collect();
        m.insert("replicas".into(), json!(replicas));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;
    use std::cell::RefCell;

    #[test]
    fn text_commands_are_json() {
        let e = encode_command(&["SET".into(), "k".into(), "v".into(), "PX".into(), "10".into()]);
        assert_eq!(e.path, "");
        assert_eq!(e.body, br#"["SET","k","v","PX","10"]"#);
    }

    #[test]
    fn binary_values_go_path_style() {
        let e = encode_command(&["SET".into(), "a b/ü".into(), Arg::Bytes(vec![0xff, 0])]);
        assert_eq!(e.path, "/SET/a%20b%2F%C3%BC");
        assert_eq!(e.body, vec![0xff, 0]);
        assert_eq!(value_arg(b"ok".to_vec()), Arg::Text("ok".into()));
        assert_eq!(value_arg(vec![0xff]), Arg::Bytes(vec![0xff]));
    }

    #[test]
    fn binary_set_puts_the_value_last() {
        let args = RedisRestBackend::set_args("k", vec![0xff], Some(5), true);
        assert_eq!(args.last(), Some(&Arg::Bytes(vec![0xff])));
        assert_eq!(args[4], Arg::Text("5".into()));
        let text = RedisRestBackend::set_args("k", b"v".to_vec(), Some(5), true);
        assert_eq!(
            text,
            vec![
                "SET".into(),
                "k".into(),
                "v".into(),
                "NX".into(),
                "PX".into(),
                "5".into()
            ]
        );
    }

    /// A transport that takes `latency_ms` of the clock per request and
    /// answers OK to writes and a Redis error to reads.
    struct Slow {
        clock: crate::primitives::clock::ManualClock,
        latency_ms: u64,
        urls: std::cell::RefCell<Vec<String>>,
    }

    #[async_trait(?Send)]
    impl HttpTransport for Slow {
        async fn post(
            &self,
            url: &str,
            _: &[(&str, &str)],
            body: Vec<u8>,
            _: &[&str],
            _: u64,
        ) -> std::result::Result<crate::transport::HttpReply, TransportError> {
            self.clock.advance_ms(self.latency_ms);
            self.urls.borrow_mut().push(url.to_string());
            let reply = if body.starts_with(br#"["SET""#) {
                br#"{"result":"OK"}"#.to_vec()
            } else {
                br#"{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}"#.to_vec()
            };
            Ok(crate::transport::HttpReply::new(200, reply))
        }
    }

    fn runtime(clock: &crate::primitives::clock::ManualClock) -> Rc<dyn Runtime> {
        Rc::new(crate::runtime::ManualRuntime { clock: clock.clone() })
    }

    fn slow_backend(latency_ms: u64) -> (Rc<Slow>, RedisRestBackend) {
        let clock = crate::primitives::clock::ManualClock::new(1_000_000);
        let slow = Rc::new(Slow {
            clock: clock.clone(),
            latency_ms,
            urls: Default::default(),
        });
        let options = RedisRestOptions {
            read_urls: vec!["http://r0".into(), "http://r1".into()],
            timeout_ms: 5_000,
            replica_check_ms: None,
            ..RedisRestOptions::new("http://leader")
        };
        let turn = Rc::new(Cell::new(0usize));
        let pick: Picker = Rc::new(move |n| {
            turn.set(turn.get() + 1);
            turn.get() % n
        });
        let config = BackendConfig::new("cache", "redis");
        let b = RedisRestBackend::new(&config, options, slow.clone(), pick, runtime(&clock));
        (slow, b)
    }

    #[test]
    fn reads_after_a_slow_write_still_go_to_the_leader() {
        // The write takes 1.9 s; a read 0.2 s after it returns is within the
        // 2 s window counted from the write's end, not its start.
        let (slow, b) = slow_backend(1_900);
        futures::executor::block_on(b.set("k", Value::from("v"), Ttl::Never, None)).unwrap();
        slow.clock.advance_ms(200);
        let _ = futures::executor::block_on(b.get("k", None));
        assert_eq!(slow.urls.borrow().last().map(String::as_str), Some("http://leader"));
    }

    #[test]
    fn a_redis_error_names_the_replica_that_answered() {
        let (slow, b) = slow_backend(0);
        for _ in 0..4 {
            let e = futures::executor::block_on(b.get("k", None)).unwrap_err().to_string();
            let asked = slow.urls.borrow().last().cloned().unwrap();
            assert!(asked.starts_with("http://r"), "{asked}");
            assert!(e.contains(&asked), "asked {asked}, error: {e}");
        }
    }

    /// How a scripted server behaves.
    #[derive(Clone, Copy)]
    enum Server {
        /// Answers GET with "bGVhZGVy" ("leader") or the replica's "cmVwbGljYQ==".
        Up,
        /// Connection refused.
        Refused,
        /// No answer within the timeout.
        Hangs,
        /// A Redis error reply.
        Loading,
        /// INFO says the link to the leader is down.
        LinkDown,
    }

    /// A transport over scripted servers, recording each request's URL and timeout.
    struct Scripted {
        servers: RefCell<HashMap<String, Server>>,
        asked: RefCell<Vec<(String, u64)>>,
    }

    #[async_trait(?Send)]
    impl HttpTransport for Scripted {
        async fn post(
            &self,
            url: &str,
            _: &[(&str, &str)],
            _: Vec<u8>,
            _: &[&str],
            timeout_ms: u64,
        ) -> std::result::Result<crate::transport::HttpReply, TransportError> {
            self.asked.borrow_mut().push((url.to_string(), timeout_ms));
            let base = url.trim_end_matches("/pipeline");
            let value = if base == "http://leader" {
                "bGVhZGVy"
            } else {
                "cmVwbGljYQ=="
            };
            let info = |link: &str| {
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("role:slave\r\nmaster_link_status:{link}\r\n"),
                )
            };
            let body = match self.servers.borrow()[base] {
                Server::Refused => return Err(TransportError::Connect("refused".into())),
                Server::Hangs => return Err(TransportError::Timeout { ms: timeout_ms }),
                Server::Loading => r#"{"error":"LOADING Redis is loading the dataset in memory"}"#.to_string(),
                Server::Up | Server::LinkDown if url.ends_with("/pipeline") => {
                    let link = if matches!(self.servers.borrow()[base], Server::Up) {
                        "up"
                    } else {
                        "down"
                    };
                    format!(r#"[{{"result":"{}"}},{{"result":"{value}"}}]"#, info(link))
                }
                Server::Up | Server::LinkDown => format!(r#"{{"result":"{value}"}}"#),
            };
            Ok(crate::transport::HttpReply::new(200, body))
        }
    }

    fn scripted(
        replica: Server,
        check_ms: Option<u64>,
    ) -> (Rc<Scripted>, crate::primitives::clock::ManualClock, RedisRestBackend) {
        let clock = crate::primitives::clock::ManualClock::new(1_000_000);
        let t = Rc::new(Scripted {
            servers: RefCell::new(HashMap::from([
                ("http://leader".to_string(), Server::Up),
                ("http://r0".to_string(), replica),
            ])),
            asked: Default::default(),
        });
        let options = RedisRestOptions {
            read_urls: vec!["http://r0".into()],
            serializer: crate::primitives::serializer::Serializer::Raw,
            replica_check_ms: check_ms,
            ..RedisRestOptions::new("http://leader")
        };
        let config = BackendConfig::new("cache", "redis");
        let b = RedisRestBackend::new(&config, options, t.clone(), Rc::new(|_| 0), runtime(&clock));
        (t, clock, b)
    }

    fn read(b: &RedisRestBackend) -> String {
        match futures::executor::block_on(b.get("k", None)).unwrap() {
            Some(Value::Bytes(v)) => String::from_utf8(v).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failing_replica_is_retried_on_the_leader_then_skipped_for_down_ms() {
        for failure in [Server::Refused, Server::Hangs, Server::Loading] {
            let (t, clock, b) = scripted(failure, None);
            assert_eq!(read(&b), "leader", "answered within the same call");
            assert_eq!(
                t.asked.borrow().as_slice(),
                [("http://r0".to_string(), 300), ("http://leader".to_string(), 2000)],
                "the replica's shorter timeout, then the leader's"
            );
            assert_eq!(read(&b), "leader");
            assert_eq!(t.asked.borrow().len(), 3, "skipped while down");
            assert_eq!(b.stats()["replicas"][0]["down"], json!("failed"));
            t.servers.borrow_mut().insert("http://r0".into(), Server::Up);
            clock.advance_ms(10_000);
            assert_eq!(read(&b), "replica", "tried again after replica_down_ms");
            assert_eq!(
                b.stats()["replicas"][0],
                json!({"url": "http://r0", "down": null, "failovers": 1})
            );
        }
    }

    #[test]
    fn a_replica_whose_link_is_down_is_not_believed() {
        let (t, clock, b) = scripted(Server::LinkDown, Some(1000));
        assert_eq!(read(&b), "leader");
        assert_eq!(t.asked.borrow()[0].0, "http://r0/pipeline", "INFO went with the read");
        assert_eq!(b.stats()["replicas"][0]["down"], json!("link_down"));
        t.servers.borrow_mut().insert("http://r0".into(), Server::Up);
        clock.advance_ms(10_000);
        assert_eq!(read(&b), "replica");
        assert_eq!(t.asked.borrow().last().unwrap().0, "http://r0/pipeline");
        assert_eq!(read(&b), "replica");
        assert_eq!(
            t.asked.borrow().last().unwrap().0,
            "http://r0",
            "checked within replica_check_ms"
        );
        clock.advance_ms(1000);
        assert_eq!(read(&b), "replica");
        assert_eq!(
            t.asked.borrow().last().unwrap().0,
            "http://r0/pipeline",
            "checked again"
        );
    }

    /// Answers every command with "v", recording each request's path and JSON body.
    #[derive(Default)]
    struct Counting {
        requests: RefCell<Vec<(String, Json)>>,
    }

    #[async_trait(?Send)]
    impl HttpTransport for Counting {
        async fn post(
            &self,
            url: &str,
            _: &[(&str, &str)],
            body: Vec<u8>,
            _: &[&str],
            _: u64,
        ) -> std::result::Result<crate::transport::HttpReply, TransportError> {
            let body: Json = serde_json::from_slice(&body).unwrap();
            let reply = match url.ends_with("/pipeline") {
                true => json!(body
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|_| json!({"result": "dg=="}))
                    .collect::<Vec<_>>()),
                false => json!({"result": "dg=="}),
            };
            self.requests.borrow_mut().push((url.to_string(), body));
            Ok(crate::transport::HttpReply::new(200, reply.to_string()))
        }
    }

    fn counting(auto_pipeline: bool) -> (Rc<Counting>, RedisRestBackend) {
        let t = Rc::new(Counting::default());
        let options = RedisRestOptions {
            serializer: crate::primitives::serializer::Serializer::Raw,
            auto_pipeline,
            ..RedisRestOptions::new("http://leader")
        };
        let clock = crate::primitives::clock::ManualClock::new(0);
        let b = RedisRestBackend::new(
            &BackendConfig::new("c", "redis"),
            options,
            t.clone(),
            Rc::new(|_| 0),
            runtime(&clock),
        );
        (t, b)
    }

    #[test]
    fn set_many_without_expiry_is_one_mset_and_binary_values_follow_as_scripts() {
        let (t, b) = counting(true);
        let mut items: Vec<(String, Value)> = (0..100)
            .map(|i| (format!("k{i}"), Value::from(i.to_string())))
            .collect();
        items.push(("k3".into(), Value::from("later")));
        futures::executor::block_on(b.set_many(items, Ttl::Never, None)).unwrap();
        {
            let requests = t.requests.borrow();
            assert_eq!(requests.len(), 1);
            let cmd = requests[0].1.as_array().unwrap();
            assert_eq!((cmd[0].clone(), cmd.len()), (json!("MSET"), 201), "100 keys, k3 once");
            assert!(
                !cmd.contains(&json!("3")) && cmd.contains(&json!("later")),
                "the last value of k3 wins"
            );
        }
        t.requests.borrow_mut().clear();
        let items = vec![
            ("a".to_string(), Value::from("x")),
            ("bin".to_string(), Value::Bytes(vec![0xff])),
        ];
        futures::executor::block_on(b.set_many(items, Ttl::Never, None)).unwrap();
        let requests = t.requests.borrow();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].0, "http://leader/pipeline");
        assert_eq!(requests[0].1[0], json!(["MSET", ":1:a", "x"]));
        assert_eq!(requests[0].1[1][0], json!("EVAL"));
        drop(requests);
        // With a ttl every value is its own SET ... PX, still one request.
        t.requests.borrow_mut().clear();
        let items = vec![("a".to_string(), Value::from("x")), ("b".to_string(), Value::from("y"))];
        futures::executor::block_on(b.set_many(items, Ttl::Seconds(5.0), None)).unwrap();
        let requests = t.requests.borrow();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].1[1], json!(["SET", ":1:b", "y", "PX", "5000"]));
    }

    #[test]
    fn mset_split_takes_binary_only_when_allowed_and_stops_at_its_size() {
        let w = |k: &str, v: &[u8]| (k.to_string(), v.to_vec());
        let (m, rest) = mset_split(vec![w("a", b"1"), w("b", &[0xff])], true);
        assert_eq!(m.unwrap()[4], Arg::Bytes(vec![0xff]));
        assert!(rest.is_empty());
        let (m, rest) = mset_split(vec![w("a", b"1"), w("b", &[0xff])], false);
        assert_eq!(m.unwrap().len(), 3);
        assert_eq!(rest, vec![w("b", &[0xff])]);
        let big = vec![b'x'; MSET_MAX_BYTES];
        let (m, rest) = mset_split(vec![w("a", &big), w("b", b"1"), w("a", b"2")], false);
        assert_eq!(
            m.unwrap(),
            vec!["MSET".into(), "b".into(), "1".into(), "a".into(), "2".into()]
        );
        assert!(rest.is_empty(), "the first a was replaced");
        let (m, rest) = mset_split(vec![w("a", &big), w("b", b"1")], false);
        assert_eq!(m.unwrap().len(), 3, "the big value alone");
        assert_eq!(rest, vec![w("b", b"1")]);
        assert_eq!(mset_split(vec![], false), (None, vec![]));
    }

    #[test]
    fn concurrent_gets_are_one_pipeline_request() {
        let (t, b) = counting(true);
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        let got = futures::executor::block_on(futures::future::join_all(keys.iter().map(|k| b.get(k, None))));
        assert!(got.iter().all(|v| v == &Ok(Some(Value::Bytes(b"v".to_vec())))));
        let requests = t.requests.borrow();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].0, "http://leader/pipeline");
        assert_eq!(requests[0].1[99], json!(["GET", ":1:k99"]));
        drop(requests);
        // One command alone is sent as itself; without auto_pipeline each is its own request.
        futures::executor::block_on(b.get("k", None)).unwrap();
        assert_eq!(
            t.requests.borrow()[1],
            ("http://leader".to_string(), json!(["GET", ":1:k"]))
        );
        let (t, b) = counting(false);
        futures::executor::block_on(futures::future::join_all(keys.iter().map(|k| b.get(k, None))));
        assert_eq!(t.requests.borrow().len(), 100);
    }

    #[test]
    fn set_many_is_one_request_whatever_the_bytes() {
        let (t, b) = counting(false);
        let items = vec![
            ("text".to_string(), Value::Bytes(b"plain".to_vec())),
            ("bin".to_string(), Value::Bytes(vec![0xff, 0x00, 0xfe])),
        ];
        let failed = futures::executor::block_on(b.set_many(items, Ttl::Seconds(5.0), None)).unwrap();
        assert!(failed.is_empty());
        let requests = t.requests.borrow();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].1[0], json!(["SET", ":1:text", "plain", "PX", "5000"]));
        let bin = &requests[0].1[1];
        assert_eq!((bin[0].as_str(), bin[3].as_str()), (Some("EVAL"), Some(":1:bin")));
        assert_eq!((bin[4].as_str(), bin[5].as_str()), (Some("5000"), Some("/wD+")));
    }

    #[test]
    fn url_errors_never_show_credentials() {
        for bad in [
            "rediss://default:s3cretPASS@eu1.example.io:6379",
            "https://user:s3cretPASS@example.io",
            "https://user:s3cret/PASS@example.io",
            "https://user:s3cret#PASS@example.io",
            "https://user:s3cret?PASS@example.io",
        ] {
            let e = check_url(bad, "cache.options.url").unwrap_err().to_string();
            assert!(!e.contains("s3cretPASS"), "{e}");
            assert!(e.contains("cache.options.url") && e.contains("***@"), "{e}");
        }
        assert!(check_url("https://example.io/path", "f").is_ok());
        assert_eq!(without_credentials("http://a@b/c"), "http://***@b/c");
        assert_eq!(without_credentials("not a url"), "not a url");
    }

    #[test]
    fn clear_keeps_to_its_own_versioned_keys() {
        assert!(is_versioned_key(b"1:k"));
        assert!(is_versioned_key(b"-3:k:with:colons"));
        assert!(is_versioned_key(b"12:"));
        assert!(!is_versioned_key(b"beta:1:k"), "another backend's prefix app:beta");
        assert!(!is_versioned_key(b"1"));
        assert!(!is_versioned_key(b":1:k"));
        assert!(!is_versioned_key(b"-:k"));
    }

    #[test]
    fn replies() {
        assert_eq!(
            decode_reply(&json!({"result": "T0s="})).unwrap(),
            Ok(Reply::Bytes(b"OK".to_vec()))
        );
        // Upstash's plain OK, sent unencoded whatever the encoding.
        assert_eq!(
            decode_reply(&json!({"result": "OK"})).unwrap(),
            Ok(Reply::Bytes(b"OK".to_vec()))
        );
        assert_eq!(decode_reply(&json!({"result": null})).unwrap(), Ok(Reply::Nil));
        assert_eq!(decode_reply(&json!({"result": 3})).unwrap(), Ok(Reply::Int(3)));
        assert_eq!(
            decode_reply(&json!({"result": ["MA==", ["YQ==", "Yg=="]]})).unwrap(),
            Ok(Reply::Array(vec![
                Reply::Bytes(b"0".to_vec()),
                Reply::Array(vec![Reply::Bytes(b"a".to_vec()), Reply::Bytes(b"b".to_vec())])
            ]))
        );
        assert_eq!(
            decode_reply(&json!({"error": "ERR wrong"})).unwrap(),
            Err("ERR wrong".to_string())
        );
        assert!(decode_reply(&json!({"huh": 1})).is_err());
        assert!(decode_reply(&json!({"result": "not base64!"})).is_err());
    }

    #[test]
    fn incr_errors_map() {
        assert!(matches!(
            incr_error("k", "ERR user_script:1: ERR value is not an integer or out of range"),
            Some(CacheError::NotAnInteger { .. })
        ));
        assert!(matches!(
            incr_error("k", "ERR increment or decrement would overflow"),
            Some(CacheError::Overflow { .. })
        ));
        assert!(incr_error("k", "ERR something else").is_none());
    }

    #[test]
    fn glob_escaping() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn options_from_config() {
        let mut c = BackendConfig::new("shared", "redis");
        assert!(RedisRestOptions::from_config(&c, &crate::backend::NoSecrets)
            .unwrap_err()
            .to_string()
            .contains("shared.options.url"));
        c.options.insert("url".into(), json!("ftp://x"));
        assert!(RedisRestOptions::from_config(&c, &crate::backend::NoSecrets).is_err());
        c.options.insert("url".into(), json!("http://127.0.0.1:1/"));
        c.options.insert("read_urls".into(), json!(["http://127.0.0.1:2", 5]));
        assert!(RedisRestOptions::from_config(&c, &crate::backend::NoSecrets)
            .unwrap_err()
            .to_string()
            .contains("read_urls[1]"));
        c.options.insert("read_urls".into(), json!(["http://127.0.0.1:2/"]));
        c.options.insert("token_secret".into(), json!("TOK"));
        let mut s = std::collections::BTreeMap::new();
        s.insert("TOK".to_string(), "t".to_string());
        let o = RedisRestOptions::from_config(&c, &s).unwrap();
        assert_eq!(
            (o.url.as_str(), o.read_urls[0].as_str(), o.token.as_deref()),
            ("http://127.0.0.1:1", "http://127.0.0.1:2", Some("t"))
        );
        assert_eq!(o.serializer, crate::primitives::serializer::Serializer::Framed);
        c.options.insert("serializer".into(), json!("pickle"));
        let o = RedisRestOptions::from_config(&c, &s).unwrap();
        assert_eq!(o.serializer, crate::primitives::serializer::Serializer::Pickle);
        c.options.insert("serializer".into(), json!("yaml"));
        let e = RedisRestOptions::from_config(&c, &s).unwrap_err().to_string();
        assert!(e.contains("shared.options.serializer") && e.contains("pickle"), "{e}");
    }
}
