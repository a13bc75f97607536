//! Configuration as JSON, the analogue of Ellar's `CACHES` setting read by
//! `CacheModule.register_setup()`, e.g. a `CACHES` var in wrangler.toml:
//!
//! ```json
//! {"default": {"backend": "local", "ttl": 300, "key_prefix": "site", "version": 1,
//!              "options": {"max_entries": 10000}},
//!  "shared":  {"backend": "redis", "options": {"url": "https://…", "token_secret": "REDIS_TOKEN"}}}
//! ```
//!
//! Every field is checked; an error names the field (`shared.ttl`). Secrets
//! are referenced by the name of a Worker secret (`*_secret` options), never
//! inlined.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::primitives::error::{CacheError, Result};
use crate::primitives::ttl::Timeout;

/// Where secrets come from: the Worker's env, or a map in tests.
pub trait Secrets {
    /// The secret named `name`; `None` if it is not set.
    fn secret(&self, name: &str) -> Option<String>;
}

/// No secrets at all.
pub struct NoSecrets;

impl Secrets for NoSecrets {
    fn secret(&self, _: &str) -> Option<String> {
        None
    }
}

impl Secrets for BTreeMap<String, String> {
    fn secret(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// One named backend's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendConfig {
    /// The backend's name in the config (`default`, `shared`, …).
    pub name: String,
    /// Its kind: `local`, `redis`, `memcached` or a registered custom kind.
    pub kind: String,
    /// Default lifetime of entries (`ttl`; 300 s when absent, `null` = never expire).
    pub ttl: Timeout,
    /// Start of every full key (`prefix:version:key`); empty when absent.
    pub key_prefix: String,
    /// Default key version (1 when absent or 0, as in Ellar).
    pub version: i64,
    /// The kind-specific `options` object, checked by the backend that reads it.
    pub options: Map<String, Json>,
}

impl BackendConfig {
    /// A config with the defaults: ttl 300 s, empty prefix, version 1, no options.
    pub fn new(name: &str, kind: &str) -> Self {
        BackendConfig {
            name: name.to_string(),
            kind: kind.to_string(),
            ttl: Timeout::default(),
            key_prefix: String::new(),
            version: 1,
            options: Map::new(),
        }
    }

    fn field(&self, option: &str) -> String {
        format!("{}.options.{option}", self.name)
    }

    /// Fails on any option not in `known`.
    pub fn only_options(&self, known: &[&str]) -> Result<()> {
        for k in self.options.keys() {
            if !known.contains(&k.as_str()) {
                return Err(CacheError::config(
                    self.field(k),
                    format!(
                        "unknown option for a {} backend (known: {})",
                        self.kind,
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A positive integer option, or `default` when absent.
    pub fn usize_option(&self, option: &str, default: usize) -> Result<usize> {
        match self.options.get(option) {
            None => Ok(default),
            Some(v) => {
                // (try_from: on wasm32 a cast would wrap 2^32 to 0.)
                v.as_u64()
                    .filter(|&n| n > 0)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        CacheError::config(
                            self.field(option),
                            format!("must be a positive integer of at most {}, got {v}", usize::MAX),
                        )
                    })
            }
        }
    }

    /// A string option, if present.
    pub fn str_option(&self, option: &str) -> Result<Option<String>> {
        match self.options.get(option) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(CacheError::config(
                self.field(option),
                format!("must be a string, got {v}"),
            )),
        }
    }

    /// The value of the secret whose name the option `option` holds.
    pub fn secret_option(&self, option: &str, secrets: &dyn Secrets) -> Result<Option<String>> {
        let Some(name) = self.str_option(option)? else {
            return Ok(None);
        };
        secrets.secret(&name).map(Some).ok_or_else(|| {
            CacheError::config(
                self.field(option),
                format!(
                    "secret {name:?} is not set (set it with `wrangler secret put {name}`, or in .dev.vars locally)"
                ),
            )
        })
    }
}

/// All named backends; `default` is always present.
#[derive(Clone, Debug, PartialEq)]
pub struct CachesConfig {
    /// Backends by name.
    pub backends: BTreeMap<String, BackendConfig>,
}

const FIELDS: [&str; 5] = ["backend", "ttl", "key_prefix", "version", "options"];
/// Words that make an option name look like an inlined secret (any case,
/// anywhere in the name: `Token`, `api_token`, `PASSWORD`).
const INLINE_SECRETS: [&str; 5] = ["token", "password", "passwd", "secret", "auth"];

/// Refuses options that would inline a secret (names ending in `_secret`
/// name one instead), also inside nested option objects such as a tiered
/// backend's tiers.
fn refuse_inline_secrets(options: &Map<String, Json>, at: &str) -> Result<()> {
    for (k, v) in options {
        let lower = k.to_ascii_lowercase();
        let names_one = lower.ends_with("_secret");
        if !names_one && INLINE_SECRETS.iter().any(|w| lower.contains(w)) {
            return Err(CacheError::config(
                format!("{at}.{k}"),
                format!(
                    "secrets are never inlined in config; store it as a Worker secret and name it with \"{k}_secret\""
                ),
            ));
        }
        if let Json::Object(inner) = v {
            refuse_inline_secrets(inner, &format!("{at}.{k}"))?;
        }
    }
    Ok(())
}

impl CachesConfig {
    /// Only a local default backend (what the Worker runs with no `CACHES`).
    pub fn local_default() -> Self {
        let mut backends = BTreeMap::new();
        backends.insert("default".to_string(), BackendConfig::new("default", "local"));
        CachesConfig { backends }
    }

    /// Parses a `CACHES` JSON object; errors name the field, e.g. `shared.ttl`.
    pub fn parse(text: &str) -> Result<Self> {
        // from_slice, as everywhere in the crate: each of serde_json's
        // readers (str, slice) is a copy of its parser in the wasm.
        let root: Json = serde_json::from_slice(text.as_bytes())
            .map_err(|e| CacheError::config("CACHES", format!("not valid JSON: {e}")))?;
        let Json::Object(root) = root else {
            return Err(CacheError::config("CACHES", "must be a JSON object of named backends"));
        };
        if !root.contains_key("default") {
            let names: Vec<&str> = root.keys().map(String::as_str).collect();
            return Err(CacheError::config(
                "default",
                format!(
                    "a backend named \"default\" is required (found: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        let mut backends = BTreeMap::new();
        for (name, v) in &root {
            backends.insert(name.clone(), parse_backend(name, v)?);
        }
        Ok(CachesConfig { backends })
    }
}

/// Fails on the first key of `m` not in `known`, naming it with `path`.
pub(crate) fn reject_unknown_fields(
    m: &Map<String, Json>,
    known: &[&str],
    path: impl Fn(&str) -> String,
) -> Result<()> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(CacheError::config(
            path(k),
            format!("unknown field (known: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn parse_backend(name: &str, v: &Json) -> Result<BackendConfig> {
    if name.is_empty() {
        return Err(CacheError::config("CACHES", "a backend name is empty"));
    }
    let Json::Object(m) = v else {
        return Err(CacheError::config(name, format!("must be an object, got {v}")));
    };
    let f = |field: &str| format!("{name}.{field}");
    reject_unknown_fields(m, &FIELDS, f)?;
    let kind = match m.get("backend") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => {
            return Err(CacheError::config(
                f("backend"),
                format!("must be a backend kind such as \"local\", got {other}"),
            ))
        }
        None => {
            return Err(CacheError::config(
                f("backend"),
                "missing (e.g. \"local\", \"redis\", \"memcached\")",
            ))
        }
    };
    let ttl = match m.get("ttl") {
        None => Timeout::default(),
        Some(Json::Null) => Timeout::Never,
        Some(Json::Number(n)) => match n.as_f64() {
            Some(s) if s.is_finite() && s >= 0.0 => Timeout::Seconds(s),
            _ => {
                return Err(CacheError::config(
                    f("ttl"),
                    format!("must be seconds >= 0 or null (never expire), got {n}"),
                ))
            }
        },
        Some(other) => {
            return Err(CacheError::config(
                f("ttl"),
                format!("must be seconds >= 0 or null (never expire), got {other}"),
            ))
        }
    };
    let key_prefix = match m.get("key_prefix") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => {
            return Err(CacheError::config(
                f("key_prefix"),
                format!("must be a string, got {other}"),
            ))
        }
    };
    let version = match m.get("version") {
        None | Some(Json::Null) => 1,
        // Ellar: `version or 1`.
        Some(Json::Number(n)) if n.as_i64() == Some(0) => 1,
        Some(Json::Number(n)) if n.is_i64() => n.as_i64().unwrap_or(1),
        Some(other) => {
            return Err(CacheError::config(
                f("version"),
                format!("must be an integer, got {other}"),
            ))
        }
    };
    let options = match m.get("options") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(o)) => o.clone(),
        Some(other) => {
            return Err(CacheError::config(
                f("options"),
                format!("must be an object, got {other}"),
            ))
        }
    };
    refuse_inline_secrets(&options, &format!("{name}.options"))?;
    Ok(BackendConfig {
        name: name.to_string(),
        kind,
        ttl,
        key_prefix,
        version,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match CachesConfig::parse(text).unwrap_err() {
            CacheError::Config { field, message } => format!("{field}: {message}"),
            e => panic!("not a config error: {e}"),
        }
    }

    #[test]
    fn full_config() {
        let c = CachesConfig::parse(
            r#"{"default": {"backend": "local", "ttl": 1.5, "key_prefix": "site", "version": 3, "options": {"max_entries": 10}},
                "forever": {"backend": "local", "ttl": null},
                "plain": {"backend": "local"}}"#,
        )
        .unwrap();
        let d = &c.backends["default"];
        assert_eq!(
            (d.ttl, d.key_prefix.as_str(), d.version),
            (Timeout::Seconds(1.5), "site", 3)
        );
        assert_eq!(d.usize_option("max_entries", 1).unwrap(), 10);
        assert_eq!(c.backends["forever"].ttl, Timeout::Never);
        let p = &c.backends["plain"];
        assert_eq!(
            (p.ttl, p.key_prefix.as_str(), p.version),
            (Timeout::Seconds(300.0), "", 1)
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert!(err(r#"{"other": {"backend": "local"}}"#)
            .starts_with("default: a backend named \"default\" is required (found: other)"));
        assert!(err("[1]").starts_with("CACHES:"));
        assert!(err("{nope").starts_with("CACHES: not valid JSON"));
        assert!(err(r#"{"default": {"backend": "local", "ttl": -1}}"#).starts_with("default.ttl:"));
        assert!(err(r#"{"default": {"backend": "local", "ttl": "5"}}"#).starts_with("default.ttl:"));
        assert!(err(r#"{"default": {"backend": "local", "version": 1.5}}"#).starts_with("default.version:"));
        assert!(err(r#"{"default": {"backend": "local", "key_prefx": "a"}}"#)
            .starts_with("default.key_prefx: unknown field"));
        assert!(err(r#"{"default": {"ttl": 5}}"#).starts_with("default.backend: missing"));
        assert!(err(r#"{"default": {"backend": "local", "options": 3}}"#).starts_with("default.options:"));
        assert!(err(r#"{"default": {"backend": "redis", "options": {"token": "abc"}}}"#)
            .starts_with("default.options.token: secrets are never inlined"));
        for (json, field) in [
            (
                r#"{"default": {"backend": "x", "options": {"Api_Token": "abc"}}}"#,
                "default.options.Api_Token",
            ),
            (
                r#"{"default": {"backend": "x", "options": {"PASSWORD": "abc"}}}"#,
                "default.options.PASSWORD",
            ),
            (
                r#"{"default": {"backend": "tiered", "options": {"far": {"backend": "redis", "options": {"token": "t"}}}}}"#,
                "default.options.far.options.token",
            ),
        ] {
            assert!(err(json).starts_with(field), "{json}: {}", err(json));
        }
    }

    #[test]
    fn options_and_secrets() {
        let mut c = BackendConfig::new("shared", "redis");
        c.options.insert("token_secret".into(), "TOK".into());
        c.options.insert("n".into(), 0.into());
        let mut secrets = BTreeMap::new();
        assert!(c
            .secret_option("token_secret", &secrets)
            .unwrap_err()
            .to_string()
            .contains("shared.options.token_secret: secret \"TOK\" is not set"));
        secrets.insert("TOK".to_string(), "s3cret".to_string());
        assert_eq!(
            c.secret_option("token_secret", &secrets).unwrap().as_deref(),
            Some("s3cret")
        );
        assert!(c.usize_option("n", 1).is_err());
        assert!(c
            .only_options(&["token_secret"])
            .unwrap_err()
            .to_string()
            .contains("shared.options.n"));
    }
}
