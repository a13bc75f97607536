//! The purge log in Redis, for users who already run one: a sorted set of
//! purges scored by their sequence, the last sequence, and a floor (the last
//! sequence compaction dropped). Each append and each sync is one EVAL, so
//! numbering and reading are atomic in Redis.

use std::rc::Rc;

use async_trait::async_trait;

use super::index::{SyncReply, DEFAULT_MAX_MARKS};
use super::log::PurgeLog;
use super::scope::{Mark, Purge, Scope};
use crate::backend::{CacheBackend, RedisRestBackend};
use crate::primitives::clock::Clock;
use crate::primitives::error::{CacheError, Result};

/// KEYS: head, purges, floor. ARGV: purge JSON, now (ms), max purges kept.
/// The sequence is above the last and at least `now`; past `max`, the
/// oldest quarter is dropped and the floor raised to the last one dropped.
const APPEND: &str = "local seq = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(ARGV[2])) \
local s = string.format('%d', seq) \
redis.call('SET', KEYS[1], s) \
redis.call('ZADD', KEYS[2], s, s .. ' ' .. ARGV[1]) \
local n = redis.call('ZCARD', KEYS[2]) \
local max = tonumber(ARGV[3]) \
if n > max then \
  local drop = n - math.floor(max * 3 / 4) \
  local last = redis.call('ZRANGE', KEYS[2], drop - 1, drop - 1, 'WITHSCORES') \
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, drop - 1) \
  if tonumber(last[2]) > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], last[2]) end \
end \
return s";

/// KEYS: head, purges, floor. ARGV: cursor. Returns {head, floor, purges after the cursor}.
const SINCE: &str = "local items = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf') \
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[3]) or '0', items}";

/// A [`PurgeLog`] in a `redis` backend (keys under its `key_prefix`).
pub struct RedisPurgeLog {
    redis: Rc<RedisRestBackend>,
    keys: Vec<String>,
    clock: Rc<dyn Clock>,
    max_purges: usize,
}

impl RedisPurgeLog {
    /// The log in `redis`, numbering on `clock`.
    pub fn new(redis: Rc<RedisRestBackend>, clock: Rc<dyn Clock>) -> Result<Self> {
        let keys = ["head", "purges", "floor"]
            .iter()
            .map(|k| redis.make_key(&format!("edgecache-purge-log:{k}"), None))
            .collect::<Result<Vec<_>>>()?;
        Ok(RedisPurgeLog {
            redis,
            keys,
            clock,
            max_purges: DEFAULT_MAX_MARKS,
        })
    }
}

fn corrupt(what: impl std::fmt::Display) -> CacheError {
    CacheError::Corrupt(format!("redis purge log: {what}"))
}

fn number(r: &crate::backend::RedisReply) -> Result<u64> {
    use crate::backend::RedisReply as Reply;
    match r {
        Reply::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt(format!("not a sequence: {:?}", String::from_utf8_lossy(b)))),
        Reply::Int(n) if *n >= 0 => Ok(*n as u64),
        other => Err(corrupt(format!("not a sequence: {other:?}"))),
    }
}

/// The SINCE script's reply as a [`SyncReply`]: one mark per purge (the
/// index merges repeats), and the floor as a hard purge of everything.
pub fn parse_since(reply: &crate::backend::RedisReply, cursor: u64) -> Result<SyncReply> {
    use crate::backend::RedisReply as Reply;
    let Reply::Array(parts) = reply else {
        return Err(corrupt(format!("sync replied {reply:?}")));
    };
    let [head, floor, Reply::Array(items)] = parts.as_slice() else {
        return Err(corrupt(format!("sync replied {reply:?}")));
    };
    let mut out = SyncReply {
        head: number(head)?,
        marks: Vec::new(),
    };
    let floor = number(floor)?;
    if floor > cursor {
        out.marks.push((
            Scope::All,
            Mark {
                hard: floor,
                ..Mark::default()
            },
        ));
    }
    for item in items {
        let Reply::Bytes(b) = item else {
            return Err(corrupt(format!("purge {item:?}")));
        };
        let text = std::str::from_utf8(b).map_err(|_| corrupt("a purge is not UTF-8"))?;
        let (seq, json) = text.split_once(' ').ok_or_else(|| corrupt(format!("purge {text:?}")))?;
        let seq: u64 = seq.parse().map_err(|_| corrupt(format!("purge {text:?}")))?;
        let purge: Purge =
            serde_json::from_slice(json.as_bytes()).map_err(|e| corrupt(format!("purge {text:?}: {e}")))?;
        let mark = Mark::of(purge.soft, seq);
        out.marks.push((purge.scope, mark));
    }
    Ok(out)
}

#[async_trait(?Send)]
impl PurgeLog for RedisPurgeLog {
    fn name(&self) -> &str {
        "redis"
    }

    async fn append(&self, purge: &Purge) -> Result<u64> {
        let json = serde_json::to_string(purge).map_err(corrupt)?;
        let args = [json, self.clock.now_ms().to_string(), self.max_purges.to_string()];
        number(&self.redis.eval(APPEND, &self.keys, &args).await?)
    }

    async fn since(&self, cursor: u64) -> Result<SyncReply> {
        let reply = self.redis.eval(SINCE, &self.keys, &[cursor.to_string()]).await?;
        parse_since(&reply, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RedisReply as Reply;

    fn b(s: &str) -> Reply {
        Reply::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn a_sync_reply_becomes_marks_with_the_floor_as_everything() {
        let reply = Reply::Array(vec![
            b("30"),
            b("12"),
            Reply::Array(vec![
                b(r#"20 {"scope":{"tag":"a"}}"#),
                b(r#"30 {"scope":{"url":"https://s.test/"},"soft":true}"#),
            ]),
        ]);
        let r = parse_since(&reply, 10).unwrap();
        assert_eq!(r.head, 30);
        assert_eq!(
            r.marks,
            vec![
                (
                    Scope::All,
                    Mark {
                        hard: 12,
                        ..Mark::default()
                    }
                ),
                (
                    Scope::Tag("a".into()),
                    Mark {
                        hard: 20,
                        ..Mark::default()
                    }
                ),
                (
                    Scope::Url("https://s.test/".into()),
                    Mark {
                        soft: 30,
                        ..Mark::default()
                    }
                ),
            ]
        );
        // A floor the isolate has already passed is not repeated.
        assert_eq!(parse_since(&reply, 12).unwrap().marks.len(), 2);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for bad in [
            Reply::Nil,
            Reply::Array(vec![b("x"), b("0"), Reply::Array(vec![])]),
            Reply::Array(vec![b("1"), b("0"), Reply::Array(vec![b("nospace")])]),
            Reply::Array(vec![b("1"), b("0"), Reply::Array(vec![b("5 {bad json")])]),
            Reply::Array(vec![b("1"), b("0")]),
        ] {
            assert!(matches!(parse_since(&bad, 0), Err(CacheError::Corrupt(_))), "{bad:?}");
        }
    }
}
