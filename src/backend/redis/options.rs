//! The Redis REST backend's options, read from its config.

use serde_json::Value as Json;

use crate::backend::{BackendConfig, Secrets};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::serializer::Serializer;

/// Settings of a Redis REST backend.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisRestOptions {
    /// The leader's REST endpoint, where every write goes (no trailing `/`).
    pub url: String,
    /// Read replicas' endpoints; empty = reads go to the leader too.
    pub read_urls: Vec<String>,
    /// Bearer token, read from the Worker secret that `token_secret` names.
    pub token: Option<String>,
    /// Timeout of each HTTP request, in ms (default 2000).
    pub timeout_ms: u64,
    /// Largest encoded value written, in bytes (default 1 MiB).
    pub max_value_bytes: usize,
    /// For this many ms after this isolate's last write, reads go to the leader (default 2000).
    pub read_your_writes_ms: u64,
    /// How values are stored (default [`Serializer::Framed`]; `pickle` for
    /// Ellar/Django, `json` for `@upstash/redis`, `raw` for bytes).
    pub serializer: Serializer,
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
        ])?;
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
        Ok(RedisRestOptions {
            url: url.trim_end_matches('/').to_string(),
            read_urls,
            token: c.secret_option("token_secret", secrets)?,
            timeout_ms: c.usize_option("timeout_ms", 2000)? as u64,
            max_value_bytes: c.usize_option("max_value_bytes", 1 << 20)?,
            read_your_writes_ms: match c.options.get("read_your_writes_ms") {
                Some(Json::Number(n)) if n.is_u64() => n.as_u64().unwrap_or(0),
                None => 2000,
                Some(other) => {
                    return Err(CacheError::config(
                        format!("{}.options.read_your_writes_ms", c.name),
                        format!("must be an integer >= 0, got {other}"),
                    ))
                }
            },
            serializer,
        })
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
