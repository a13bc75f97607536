//! The Redis REST backend's options, read from its config.

use serde_json::Value as Json;

use crate::backend::{BackendConfig, Secrets};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::serializer::Serializer;

/// Which HTTP front of Redis the backend talks to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// Upstash's REST protocol (JSON commands, `/pipeline`, bearer token).
    #[default]
    Upstash,
    /// Webdis (URL-form commands, RESP replies via `.raw`, HTTP Basic
    /// auth, no pipelining).
    Webdis,
}

/// Settings of a Redis REST backend.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisRestOptions {
    /// The leader's REST endpoint, where every write goes (no trailing `/`).
    pub url: String,
    /// Read replicas' endpoints; empty = reads go to the leader too.
    pub read_urls: Vec<String>,
    /// Bearer token (Upstash) or `user:password` (Webdis, HTTP Basic),
    /// read from the Worker secret that `token_secret` names.
    pub token: Option<String>,
    /// The server's protocol (`dialect`: `upstash`, the default, or `webdis`).
    pub dialect: Dialect,
    /// Timeout of each HTTP request, in ms (default 2000).
    pub timeout_ms: u64,
    /// Largest encoded value written, in bytes (default 1 MiB).
    pub max_value_bytes: usize,
    /// For this many ms after this isolate's last write, reads go to the leader (default 2000).
    pub read_your_writes_ms: u64,
    /// How values are stored (default [`Serializer::Framed`]; `pickle` for
    /// Ellar/Django, `json` for `@upstash/redis`, `raw` for bytes).
    pub serializer: Serializer,
    /// Timeout of a read on a replica, in ms (default 300, at most
    /// `timeout_ms`): a replica is chosen for being near, so one that takes
    /// longer is treated as failed and the read goes to the leader.
    pub replica_timeout_ms: u64,
    /// How long a failed replica is skipped, in ms (default 10000).
    pub replica_down_ms: u64,
    /// How often each replica's `master_link_status` is checked, in ms,
    /// with a read it serves (default 1000; `None`: never).
    pub replica_check_ms: Option<u64>,
    /// Send the commands issued in the same tick as one `/pipeline`
    /// request (default true).
    pub auto_pipeline: bool,
}

impl RedisRestOptions {
    /// Options for a leader at `url` and nothing else set (the defaults).
    pub fn new(url: impl Into<String>) -> Self {
        RedisRestOptions {
            url: url.into(),
            read_urls: Vec::new(),
            token: None,
            dialect: Dialect::Upstash,
            timeout_ms: 2000,
            max_value_bytes: 1 << 20,
            read_your_writes_ms: 2000,
            serializer: Serializer::default(),
            replica_timeout_ms: 300,
            replica_down_ms: 10_000,
            replica_check_ms: Some(1000),
            auto_pipeline: true,
        }
    }
}

impl RedisRestOptions {
    /// Reads and checks `c.options`, resolving `token_secret` through `secrets`.
    pub fn from_config(c: &BackendConfig, secrets: &dyn Secrets) -> Result<Self> {
        c.only_options(&[
            "url",
            "read_urls",
            "token_secret",
            "timeout_ms",
            "max_value_bytes",
            "read_your_writes_ms",
            "serializer",
            "replica_timeout_ms",
            "replica_down_ms",
            "replica_check_ms",
            "auto_pipeline",
            "dialect",
        ])?;
        let dialect = match c.str_option("dialect")?.as_deref() {
            None | Some("upstash") => Dialect::Upstash,
            Some("webdis") => Dialect::Webdis,
            Some(other) => {
                return Err(CacheError::config(
                    format!("{}.options.dialect", c.name),
                    format!("must be \"upstash\" or \"webdis\", got {other:?}"),
                ))
            }
        };
        let serializer = match c.str_option("serializer")? {
            None => Serializer::default(),
            Some(name) => Serializer::from_name(&name).ok_or_else(|| {
                CacheError::config(
                    format!("{}.options.serializer", c.name),
                    format!("must be one of {}", Serializer::NAMES.join(", ")),
                )
            })?,
        };
        #[cfg(not(feature = "pickle"))]
        if serializer == Serializer::Pickle {
            return Err(CacheError::config(
                format!("{}.options.serializer", c.name),
                "this build has no pickle serializer: build with the pickle feature (EDGECACHE_FEATURES=app,pickle)",
            ));
        }
        let url = c.str_option("url")?.ok_or_else(|| {
            CacheError::config(
                format!("{}.options.url", c.name),
                "required: the REST endpoint, e.g. https://…upstash.io",
            )
        })?;
        check_url(&url, &format!("{}.options.url", c.name))?;
        let read_urls = match c.options.get("read_urls") {
            None => Vec::new(),
            Some(Json::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let field = format!("{}.options.read_urls[{i}]", c.name);
                    let u = v
                        .as_str()
                        .ok_or_else(|| CacheError::config(&field, "must be a URL string"))?;
                    check_url(u, &field)?;
                    Ok(u.trim_end_matches('/').to_string())
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(CacheError::config(
                    format!("{}.options.read_urls", c.name),
                    format!("must be a list of URLs, got {other}"),
                ))
            }
        };
        let timeout_ms = c.usize_option("timeout_ms", 2000)? as u64;
        let replica_timeout_ms = c.usize_option("replica_timeout_ms", 300)? as u64;
        if replica_timeout_ms > timeout_ms {
            return Err(CacheError::config(
                format!("{}.options.replica_timeout_ms", c.name),
                format!("must be at most timeout_ms ({timeout_ms}): a replica is there to be faster than the leader"),
            ));
        }
        Ok(RedisRestOptions {
            url: url.trim_end_matches('/').to_string(),
            read_urls,
            token: c.secret_option("token_secret", secrets)?,
            dialect,
            timeout_ms,
            max_value_bytes: c.usize_option("max_value_bytes", 1 << 20)?,
            read_your_writes_ms: whole_ms(c, "read_your_writes_ms", 2000)?,
            serializer,
            replica_timeout_ms,
            replica_down_ms: c.usize_option("replica_down_ms", 10_000)? as u64,
            replica_check_ms: match whole_ms(c, "replica_check_ms", 1000)? {
                0 => None,
                ms => Some(ms),
            },
            // Webdis has no pipeline endpoint.
            auto_pipeline: match c.options.get("auto_pipeline") {
                _ if dialect == Dialect::Webdis => false,
                None => true,
                Some(Json::Bool(b)) => *b,
                Some(other) => {
                    return Err(CacheError::config(
                        format!("{}.options.auto_pipeline", c.name),
                        format!("must be true or false, got {other}"),
                    ))
                }
            },
        })
    }
}

/// An option holding an integer >= 0 (ms), `default` when absent.
fn whole_ms(c: &BackendConfig, option: &str, default: u64) -> Result<u64> {
    match c.options.get(option) {
        Some(Json::Number(n)) if n.is_u64() => Ok(n.as_u64().unwrap_or(0)),
        None => Ok(default),
        Some(other) => Err(CacheError::config(
            format!("{}.options.{option}", c.name),
            format!("must be an integer >= 0, got {other}"),
        )),
    }
}

pub(crate) fn check_url(u: &str, field: &str) -> Result<()> {
    match url::Url::parse(u) {
        Ok(p) if p.username() != "" || p.password().is_some() => Err(CacheError::config(
            field,
            format!(
                "{:?} carries credentials; give the URL without them and the token by name in token_secret",
                without_credentials(u)
            ),
        )),
        Ok(p) if p.scheme() == "http" || p.scheme() == "https" => Ok(()),
        _ => Err(CacheError::config(
            field,
            format!("{:?} is not an http(s) URL", without_credentials(u)),
        )),
    }
}

/// `u` with everything up to its last `@` masked, for error messages (a
/// password may hold `/`, `?` or `#`; masking a path's `@` too is harmless).
pub(crate) fn without_credentials(u: &str) -> String {
    let start = u.find("://").map_or(0, |i| i + 3);
    match u[start..].rfind('@') {
        Some(at) => format!("{}***{}", &u[..start], &u[start + at..]),
        None => u.to_string(),
    }
}
