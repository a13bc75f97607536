//! Where the Worker's purge log lives and how often isolates sync with it
//! (`PURGE_LOG`, `PURGE_SYNC_MS`).

use crate::primitives::error::{CacheError, Result};
use crate::response_cache::DEFAULT_PURGE_SYNC_MS;

/// The Durable Object namespace binding of the log (wrangler.toml).
pub const DO_BINDING: &str = "EDGECACHE_PURGE_LOG";

/// The log a Worker uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogChoice {
    /// The [`DO_BINDING`] Durable Object (the default when bound).
    DurableObject,
    /// A list in this configured `redis` backend (`PURGE_LOG = "redis:<name>"`).
    Redis(String),
    /// None: a purge reaches only the isolate that received it.
    Isolate,
}

/// The purge settings of a Worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgeConfig {
    /// Where the log lives.
    pub log: LogChoice,
    /// How often an isolate syncs, at most.
    pub sync_ms: u64,
}

/// Reads `PURGE_LOG` (`durable-object`, `redis:<backend>`, `none`; unset =
/// the Durable Object when [`DO_BINDING`] is bound, else none) and
/// `PURGE_SYNC_MS` (default 1000, at least 10 and at most 60000: a longer
/// interval would leave purged pages up for minutes).
pub fn parse(log: Option<&str>, do_bound: bool, sync_ms: Option<&str>) -> Result<PurgeConfig> {
    let log = match log.map(str::trim) {
        None | Some("") if do_bound => LogChoice::DurableObject,
        None | Some("") | Some("none") => LogChoice::Isolate,
        Some("durable-object") if do_bound => LogChoice::DurableObject,
        Some("durable-object") => {
            return Err(CacheError::config(
                "PURGE_LOG",
                "\"durable-object\" needs a Durable Object binding named EDGECACHE_PURGE_LOG (class PurgeLogObject, see wrangler.toml)",
            ))
        }
        Some(s) => match s.strip_prefix("redis:") {
            Some(name) if !name.is_empty() => LogChoice::Redis(name.to_string()),
            _ => {
                return Err(CacheError::config(
                    "PURGE_LOG",
                    format!("must be \"durable-object\", \"redis:<backend name>\" or \"none\", got {s:?}"),
                ))
            }
        },
    };
    let sync_ms = match sync_ms.map(str::trim) {
        None | Some("") => DEFAULT_PURGE_SYNC_MS,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (10..=60_000).contains(&n) => n,
            _ => {
                return Err(CacheError::config(
                    "PURGE_SYNC_MS",
                    format!("must be a whole number of milliseconds from 10 to 60000, got {s:?}"),
                ))
            }
        },
    };
    Ok(PurgeConfig { log, sync_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_binding() {
        assert_eq!(
            parse(None, true, None).unwrap(),
            PurgeConfig {
                log: LogChoice::DurableObject,
                sync_ms: 1000
            }
        );
        assert_eq!(parse(None, false, None).unwrap().log, LogChoice::Isolate);
        assert_eq!(parse(Some("none"), true, None).unwrap().log, LogChoice::Isolate);
        assert_eq!(
            parse(Some("redis:shared"), true, Some("250")).unwrap(),
            PurgeConfig {
                log: LogChoice::Redis("shared".into()),
                sync_ms: 250
            }
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        for (log, bound, ms, field) in [
            (Some("durable-object"), false, None, "PURGE_LOG"),
            (Some("redis:"), true, None, "PURGE_LOG"),
            (Some("kv"), true, None, "PURGE_LOG"),
            (None, true, Some("0"), "PURGE_SYNC_MS"),
            (None, true, Some("1.5"), "PURGE_SYNC_MS"),
            (None, true, Some("600000"), "PURGE_SYNC_MS"),
        ] {
            match parse(log, bound, ms) {
                Err(CacheError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{log:?} {ms:?}: {other:?}"),
            }
        }
    }
}
