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
//! leader, and a `set` is visible to the next `get`. The HTTP transport is a
//! trait so this module holds no platform code: `platform::workers` provides `fetch`.
//!
//! Options: `url` (required), `read_urls` (list), `token_secret` (name of
//! the Worker secret holding the bearer token), `timeout_ms` (default 2000),
//! `max_value_bytes` (default 1 MiB), `read_your_writes_ms` (default 2000),
//! `serializer` (`framed`, the default; `pickle`, `json` or `raw`: see
//! [`crate::primitives::serializer`]).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use async_trait::async_trait;
use serde_json::{json, Value as Json};

use crate::backend::BackendConfig;
use crate::backend::{BackendStats, CacheBackend};
use crate::primitives::clock::Clock;
use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::{KeyMaker, KeyRules};
use crate::primitives::ttl::{Expiry, Timeout, Ttl};
use crate::primitives::value::Value;
use crate::transport::HttpTransport;

mod options;
mod protocol;

#[cfg(any(test, feature = "memcached"))]
pub(crate) use options::check_url;
#[cfg(test)]
use options::without_credentials;
pub use options::RedisRestOptions;
pub use protocol::{decode_reply, encode_command, glob_escape, value_arg, Arg, Reply};

/// Picks an index in `0..n` (random in production, fixed in tests).
pub type Picker = Rc<dyn Fn(usize) -> usize>;

/// The value and its remaining lifetime in one round trip.
const GET_WITH_PTTL: &str = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";

/// INCRBY only when the key exists. The new value is read back with GET:
/// Lua numbers are doubles, which would round values near i64::MAX.
const INCR_IF_EXISTS: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) \
     return redis.call('GET', KEYS[1]) end return false";
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
    clock: Rc<dyn Clock>,
    /// When this isolate last wrote, for read-your-writes.
    last_write_ms: Cell<Option<u64>>,
}

impl RedisRestBackend {
    /// A backend over `transport`; `pick` chooses read replicas, `clock` times read-your-writes.
    pub fn new(
        config: &BackendConfig,
        options: RedisRestOptions,
        transport: Rc<dyn HttpTransport>,
        pick: Picker,
        clock: Rc<dyn Clock>,
    ) -> Self {
        RedisRestBackend {
            keys: KeyMaker::new(config.key_prefix.clone(), config.version, KeyRules::ANY, "redis"),
            timeout: config.ttl,
            options,
            transport,
            pick,
            name: config.name.clone(),
            clock,
            last_write_ms: Cell::new(None),
        }
    }

    fn fail(&self, url: &str, message: impl std::fmt::Display) -> CacheError {
        CacheError::backend(format!("redis ({})", self.name), format!("{url}: {message}"))
    }

    fn read_url(&self) -> &str {
        let recent_write = self
            .last_write_ms
            .get()
            .is_some_and(|t| self.clock.now_ms().saturating_sub(t) < self.options.read_your_writes_ms);
        match self.options.read_urls.len() {
            0 => &self.options.url,
            _ if recent_write => &self.options.url,
            n => &self.options.read_urls[(self.pick)(n).min(n - 1)],
        }
    }

    async fn send(&self, base: &str, path: &str, body: Vec<u8>) -> Result<Json> {
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
            .post(&url, &headers, body, self.options.timeout_ms)
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

    /// A write's `send`: reads go to the leader from the write's start
    /// until `read_your_writes_ms` after its end (or failure), so the
    /// window covers the replicas' lag after it, not the round trip.
    async fn send_write(&self, base: &str, path: &str, body: Vec<u8>) -> Result<Json> {
        self.last_write_ms.set(Some(self.clock.now_ms()));
        let reply = self.send(base, path, body).await;
        self.last_write_ms.set(Some(self.clock.now_ms()));
        reply
    }

    /// Runs one command on `base`; a Redis error reply comes back as
    /// `Ok(Err(message))`.
    async fn raw(&self, base: &str, read: bool, args: &[Arg]) -> Result<std::result::Result<Reply, String>> {
        let enc = encode_command(args);
        let reply = match read {
            true => self.send(base, &enc.path, enc.body).await,
            false => self.send_write(base, &enc.path, enc.body).await,
        };
        decode_reply(&reply?)
    }

    async fn command(&self, read: bool, args: &[Arg]) -> Result<Reply> {
        let url = if read {
            self.read_url().to_string()
        } else {
            self.options.url.clone()
        };
        self.raw(&url, read, args)
            .await?
            .map_err(|e| self.fail(&url, format!("Redis error: {e}")))
    }

    async fn pipeline(&self, commands: Vec<Vec<Arg>>) -> Result<Vec<std::result::Result<Reply, String>>> {
        let body: Vec<Vec<String>> = commands
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|a| match a {
                        Arg::Text(s) => s,
                        Arg::Bytes(_) => unreachable!("binary values are not pipelined"),
                    })
                    .collect()
            })
            .collect();
        let url = self.options.url.clone();
        let reply = self
            .send_write(&url, "/pipeline", serde_json::to_vec(&body).expect("strings serialize"))
            .await?;
        let items = reply
            .as_array()
            .ok_or_else(|| self.fail(&url, format!("pipeline reply is not a list: {reply}")))?;
        items.iter().map(decode_reply).collect()
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
            let reply = self
                .command(
                    false,
                    &[
                        "SCAN".into(),
                        cursor.clone().into(),
                        "MATCH".into(),
                        pattern.into(),
                        "COUNT".into(),
                        "500".into(),
                    ],
                )
                .await?;
            let Reply::Array(parts) = reply else {
                return Err(CacheError::Corrupt("SCAN reply is not a list".into()));
            };
            let (next, keys) = match parts.as_slice() {
                [Reply::Bytes(c), Reply::Array(k)] => (String::from_utf8_lossy(c).into_owned(), k.clone()),
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
        let reply = self
            .command(true, &["EVAL".into(), GET_WITH_PTTL.into(), "1".into(), full.into()])
            .await?;
        match reply {
            Reply::Array(items) => match items.as_slice() {
                [Reply::Bytes(b), Reply::Int(ms), ..] => Ok(Some((
                    self.options.serializer.decode(b)?,
                    (*ms >= 0).then(|| *ms as f64 / 1000.0),
                ))),
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
        match self.raw(&self.options.url, false, &args).await? {
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
        let mut args = vec![Arg::from("MGET")];
        for k in keys {
            args.push(self.make_key(k, version)?.into());
        }
        let Reply::Array(items) = self.command(true, &args).await? else {
            return Err(CacheError::Corrupt("MGET reply is not a list".into()));
        };
        let mut out = HashMap::new();
        for (k, item) in keys.iter().zip(items) {
            if let Reply::Bytes(b) = item {
                out.insert(k.to_string(), self.options.serializer.decode(&b)?);
            }
        }
        Ok(out)
    }

    async fn set_many(&self, items: Vec<(String, Value)>, ttl: Ttl, version: Option<i64>) -> Result<Vec<String>> {
        let expiry = ttl.or(self.timeout).expiry(0)?;
        let mut failed = Vec::new();
        let mut commands = Vec::new();
        let mut binary = Vec::new();
        for (k, v) in items {
            let full = self.make_key(&k, version)?;
            if expiry == Expiry::Now {
                commands.push(vec![Arg::from("DEL"), full.into()]);
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
            let args = Self::set_args(&full, bytes, Self::px(expiry, 0), false);
            if args.iter().any(|a| matches!(a, Arg::Bytes(_))) {
                binary.push((k, args));
            } else {
                commands.push(args);
            }
        }
        if !commands.is_empty() {
            for r in self.pipeline(commands).await? {
                if let Err(e) = r {
                    return Err(self.fail(&self.options.url, format!("Redis error: {e}")));
                }
            }
        }
        for (_, args) in binary {
            self.command(false, &args).await?;
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
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;

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

    fn slow_backend(latency_ms: u64) -> (Rc<Slow>, RedisRestBackend) {
        let clock = crate::primitives::clock::ManualClock::new(1_000_000);
        let slow = Rc::new(Slow {
            clock: clock.clone(),
            latency_ms,
            urls: Default::default(),
        });
        let options = RedisRestOptions {
            url: "http://leader".into(),
            read_urls: vec!["http://r0".into(), "http://r1".into()],
            token: None,
            timeout_ms: 5_000,
            max_value_bytes: 1 << 20,
            read_your_writes_ms: 2_000,
            serializer: Default::default(),
        };
        let turn = Rc::new(Cell::new(0usize));
        let pick: Picker = Rc::new(move |n| {
            turn.set(turn.get() + 1);
            turn.get() % n
        });
        let config = BackendConfig::new("cache", "redis");
        let b = RedisRestBackend::new(&config, options, slow.clone(), pick, Rc::new(clock));
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
