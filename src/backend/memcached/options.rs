//! The memcached backend's options, read from its config as Ellar's docs
//! show them (`servers` as a list or one string split on `,`/`;`), plus how
//! the Worker reaches the servers.

use serde_json::Value as Json;

use super::flags::ValueFormat;
use super::placement::Distribution;
use crate::backend::{BackendConfig, Secrets};
use crate::primitives::error::{CacheError, Result};

/// How the servers are reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// memcached's text protocol over a byte stream to each server (Workers
    /// TCP sockets; std TCP and Unix sockets natively), or to a proxy
    /// (twemproxy) listed as the only server.
    Tcp,
    /// HTTP to nginx with the memc module (`gateway/nginx-memc.conf`):
    /// server `i` is `{url}/{i}`.
    Gateway {
        /// The gateway's base URL, no trailing `/`.
        url: String,
        /// The shared secret sent as `x-edgecache-gateway-token`, read from
        /// the Worker secret that `token_secret` names.
        token: Option<String>,
    },
}

/// What `clear` does, since memcached cannot list a prefix's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClearMode {
    /// Bump this backend's generation (a counter in memcached): every key it
    /// makes afterwards is new, and the old ones age out. Other backends
    /// and other apps on the servers are untouched.
    Generation,
    /// `flush_all` on every server: empties them for everyone. Only when
    /// the servers belong to this backend alone.
    FlushAll,
}

/// Settings of a memcached backend.
#[derive(Clone, Debug, PartialEq)]
pub struct MemcachedOptions {
    /// Servers as configured (`host:port` or a socket path): placement
    /// hashes these exact strings, as the Python clients do.
    pub servers: Vec<String>,
    /// How keys are spread over them (default rendezvous, as pymemcache).
    pub distribution: Distribution,
    /// TCP or the HTTP gateway.
    pub reach: Reach,
    /// How values are stored (default framed).
    pub serializer: ValueFormat,
    /// Send `set`/`delete` without waiting for the reply (pymemcache's
    /// `default_noreply`): faster, but failures go unseen.
    pub default_noreply: bool,
    /// Connect timeout in ms (default 1000).
    pub connect_timeout_ms: u64,
    /// Timeout of each read or write (or gateway request) in ms (default 1000).
    pub timeout_ms: u64,
    /// After a server fails, calls skip it for this long (ms, default 10 000).
    pub dead_retry_ms: u64,
    /// Largest encoded value written (default 1 MiB less 1 KiB of item overhead).
    pub max_value_bytes: usize,
    /// Keys longer than 250 bytes are hashed instead of refused.
    pub hash_long_keys: bool,
    /// What `clear` does (default generation).
    pub clear: ClearMode,
}

const KNOWN: [&str; 12] = [
    "servers",
    "distribution",
    "gateway_url",
    "token_secret",
    "serializer",
    "default_noreply",
    "connect_timeout_ms",
    "timeout_ms",
    "dead_retry_ms",
    "max_value_bytes",
    "hash_long_keys",
    "clear",
];

impl MemcachedOptions {
    /// Options with the defaults for `servers`.
    pub fn new(servers: Vec<String>) -> Self {
        MemcachedOptions {
            servers,
            distribution: Distribution::Rendezvous,
            reach: Reach::Tcp,
            serializer: ValueFormat::default(),
            default_noreply: false,
            connect_timeout_ms: 1000,
            timeout_ms: 1000,
            dead_retry_ms: 10_000,
            max_value_bytes: (1 << 20) - 1024,
            hash_long_keys: false,
            clear: ClearMode::Generation,
        }
    }

    /// Reads and checks `c.options`, resolving `token_secret` through `secrets`.
    pub fn from_config(c: &BackendConfig, secrets: &dyn Secrets) -> Result<Self> {
        c.only_options(&KNOWN)?;
        let field = |o: &str| format!("{}.options.{o}", c.name);
        let servers = match c.options.get("servers") {
            Some(Json::String(s)) => split_servers(s),
            Some(Json::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(|s| s.trim().to_string())
                        .ok_or_else(|| CacheError::config(format!("{}[{i}]", field("servers")), "must be a string"))
                })
                .collect::<Result<Vec<_>>>()?,
            None => {
                return Err(CacheError::config(
                    field("servers"),
                    "required: e.g. [\"10.0.0.1:11211\", \"10.0.0.2:11211\"] or \"10.0.0.1:11211;10.0.0.2:11211\"",
                ))
            }
            Some(other) => {
                return Err(CacheError::config(
                    field("servers"),
                    format!("must be a list of \"host:port\" strings or one string, got {other}"),
                ))
            }
        };
        if servers.is_empty() {
            return Err(CacheError::config(field("servers"), "lists no server"));
        }
        for (i, s) in servers.iter().enumerate() {
            check_server(s).map_err(|m| CacheError::config(format!("{}[{i}]", field("servers")), m))?;
        }
        let mut o = MemcachedOptions::new(servers);
        if let Some(name) = c.str_option("distribution")? {
            o.distribution = Distribution::from_name(&name).ok_or_else(|| {
                CacheError::config(
                    field("distribution"),
                    format!("must be one of {}, got {name:?}", Distribution::NAMES.join(", ")),
                )
            })?;
        }
        if let Some(name) = c.str_option("serializer")? {
            o.serializer = ValueFormat::from_name(&name).ok_or_else(|| {
                CacheError::config(
                    field("serializer"),
                    format!("must be one of {}, got {name:?}", ValueFormat::NAMES.join(", ")),
                )
            })?;
        }
        if let Some(url) = c.str_option("gateway_url")? {
            crate::backend::redis::check_url(&url, &field("gateway_url"))?;
            o.reach = Reach::Gateway {
                url: url.trim_end_matches('/').to_string(),
                token: c.secret_option("token_secret", secrets)?,
            };
        } else if c.options.contains_key("token_secret") {
            return Err(CacheError::config(
                field("token_secret"),
                "only the HTTP gateway takes a token: set gateway_url too",
            ));
        }
        o.default_noreply = bool_option(c, "default_noreply", false)?;
        o.hash_long_keys = bool_option(c, "hash_long_keys", false)?;
        o.connect_timeout_ms = c.usize_option("connect_timeout_ms", 1000)? as u64;
        o.timeout_ms = c.usize_option("timeout_ms", 1000)? as u64;
        o.dead_retry_ms = c.usize_option("dead_retry_ms", 10_000)? as u64;
        o.max_value_bytes = c.usize_option("max_value_bytes", o.max_value_bytes)?;
        o.clear = match c.str_option("clear")?.as_deref() {
            None | Some("generation") => ClearMode::Generation,
            Some("flush_all") => ClearMode::FlushAll,
            Some(other) => {
                return Err(CacheError::config(
                    field("clear"),
                    format!("must be \"generation\" (default) or \"flush_all\" (empties whole servers), got {other:?}"),
                ))
            }
        };
        Ok(o)
    }
}

/// `"a:11211;b:11211"` or `"a:11211,b:11211"`, as Ellar/Django accept.
fn split_servers(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_server(s: &str) -> std::result::Result<(), String> {
    if s.starts_with('/') {
        return Ok(());
    }
    if s.starts_with("unix:") {
        return Err(format!(
            "{s:?}: give a Unix socket as its path (\"/var/run/memcached.sock\")"
        ));
    }
    let port = s.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>()));
    match port {
        Some((host, Ok(p))) if !host.is_empty() && p > 0 => Ok(()),
        _ => Err(format!("{s:?} is not \"host:port\" or a socket path")),
    }
}

fn bool_option(c: &BackendConfig, option: &str, default: bool) -> Result<bool> {
    match c.options.get(option) {
        None => Ok(default),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(CacheError::config(
            format!("{}.options.{option}", c.name),
            format!("must be true or false, got {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NoSecrets;
    use serde_json::json;

    fn parse(options: Json) -> Result<MemcachedOptions> {
        let mut c = BackendConfig::new("mc", "memcached");
        c.options = options.as_object().unwrap().clone();
        MemcachedOptions::from_config(&c, &NoSecrets)
    }

    fn err(options: Json) -> String {
        parse(options).unwrap_err().to_string()
    }

    #[test]
    fn servers_as_ellar_writes_them() {
        let o = parse(json!({"servers": "127.0.0.1:11211; localhost:11212,/var/run/memcached.sock"})).unwrap();
        assert_eq!(
            o.servers,
            ["127.0.0.1:11211", "localhost:11212", "/var/run/memcached.sock"]
        );
        assert_eq!(o.reach, Reach::Tcp);
        assert_eq!(o.clear, ClearMode::Generation);
        let o = parse(json!({"servers": ["a:1"], "default_noreply": true, "dead_retry_ms": 50})).unwrap();
        assert!(o.default_noreply);
        assert_eq!(o.dead_retry_ms, 50);
    }

    #[test]
    fn errors_name_the_option() {
        assert!(err(json!({})).contains("mc.options.servers: required"));
        assert!(err(json!({"servers": ""})).contains("lists no server"));
        assert!(err(json!({"servers": ["a"]})).contains("mc.options.servers[0]"));
        assert!(err(json!({"servers": ["unix:/x"]})).contains("as its path"));
        assert!(err(json!({"servers": "a:1", "distribution": "md5"})).contains("mc.options.distribution"));
        assert!(err(json!({"servers": "a:1", "serializer": "yaml"})).contains("mc.options.serializer"));
        assert!(err(json!({"servers": "a:1", "clear": "all"})).contains("flush_all"));
        assert!(err(json!({"servers": "a:1", "default_noreply": "yes"})).contains("true or false"));
        assert!(err(json!({"servers": "a:1", "token_secret": "T"})).contains("gateway_url"));
        assert!(err(json!({"servers": "a:1", "gateway_url": "ftp://x"})).contains("not an http(s) URL"));
        assert!(
            err(json!({"servers": "a:1", "gateway_url": "http://x", "token_secret": "T"}))
                .contains("secret \"T\" is not set")
        );
    }
}
