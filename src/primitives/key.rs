//! Cache keys: Ellar's default key function, custom key functions, and the
//! checks that keep a backend from silently storing a key it cannot hold.

use std::fmt;
use std::rc::Rc;

use crate::primitives::error::{CacheError, Result};

/// `(key, key_prefix, version) -> full key`, the shape of Ellar's and
/// Django's `KEY_FUNCTION`.
pub type KeyFunc = Rc<dyn Fn(&str, &str, i64) -> String>;

/// Ellar's default: `"%s:%s:%s" % (key_prefix, version, key)`, byte for byte,
/// so a Python origin and the edge share keys in one Redis or memcached.
pub fn default_key_func(key: &str, key_prefix: &str, version: i64) -> String {
    format!("{key_prefix}:{version}:{key}")
}

/// What keys a backend can store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRules {
    /// Longest full key in bytes, if bounded.
    pub max_len: Option<usize>,
    /// Reject bytes below 33 and 127 (memcached's text protocol splits on them).
    pub printable_only: bool,
}

impl KeyRules {
    /// Any non-empty key (local memory, Redis).
    pub const ANY: KeyRules = KeyRules {
        max_len: None,
        printable_only: false,
    };
    /// memcached: at most 250 bytes, no whitespace or control characters.
    pub const MEMCACHED: KeyRules = KeyRules {
        max_len: Some(250),
        printable_only: true,
    };

    /// Checks a full (prefixed, versioned) key.
    pub fn check(&self, full_key: &str, backend: &str) -> Result<()> {
        let bad = |reason: String| {
            Err(CacheError::InvalidKey {
                key: full_key.to_string(),
                reason,
            })
        };
        if full_key.is_empty() {
            return bad("the key is empty".into());
        }
        if let Some(max) = self.max_len {
            if full_key.len() > max {
                return bad(format!(
                    "{} bytes long; the {backend} backend accepts at most {max} bytes; hash long keys (e.g. a key function that uses a digest)",
                    full_key.len()
                ));
            }
        }
        if self.printable_only {
            if let Some(pos) = full_key.bytes().position(|b| b < 33 || b == 127) {
                return bad(format!(
                    "byte {pos} is whitespace or a control character, which the {backend} backend cannot store; percent-encode or hash such keys"
                ));
            }
        }
        Ok(())
    }
}

/// Makes and checks full keys for one backend: prefix, default version and
/// an optional custom key function.
#[derive(Clone)]
pub struct KeyMaker {
    /// The backend's `key_prefix`, passed to the key function.
    pub prefix: String,
    /// Version used when a call passes `None` or `Some(0)`.
    pub version: i64,
    /// Custom key function; `None` = Ellar's `prefix:version:key`.
    pub func: Option<KeyFunc>,
    /// What full keys the backend accepts.
    pub rules: KeyRules,
    /// Backend kind, for error messages.
    pub backend: &'static str,
}

impl fmt::Debug for KeyMaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaker")
            .field("prefix", &self.prefix)
            .field("version", &self.version)
            .field("custom_func", &self.func.is_some())
            .field("rules", &self.rules)
            .finish()
    }
}

/// A long key as a short one: its first `keep` bytes (cut at a char
/// boundary, for reading dumps) and 128 bits of its SHA-256, so keys that
/// callers choose (URLs) cannot be made to collide.
pub fn digest_key(key: &str, keep: usize) -> String {
    use sha2::Digest;
    let mut cut = keep.min(key.len());
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:sha256:{hex}", &key[..cut])
}

impl KeyRules {
    /// `key` in a form these rules accept, for keys that are the crate's own
    /// (response keys, which hold a space and can be long): bytes the rules
    /// forbid and `%` percent-encoded (so distinct keys stay distinct), then
    /// a digest if it is still longer than `room` bytes.
    pub fn fit<'a>(&self, key: &'a str, room: Option<usize>) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let mut k = Cow::Borrowed(key);
        if self.printable_only && key.bytes().any(|b| b < 33 || b == 127 || b == b'%') {
            let mut out = String::with_capacity(key.len() + 8);
            for c in key.chars() {
                match c {
                    '\0'..=' ' | '\u{7f}' | '%' => out.push_str(&format!("%{:02X}", c as u32)),
                    c => out.push(c),
                }
            }
            k = Cow::Owned(out);
        }
        match room {
            Some(room) if k.len() > room => Cow::Owned(digest_key(&k, room.saturating_sub(48))),
            _ => k,
        }
    }
}

impl KeyMaker {
    /// A key maker with Ellar's default key function.
    pub fn new(prefix: impl Into<String>, version: i64, rules: KeyRules, backend: &'static str) -> Self {
        KeyMaker {
            prefix: prefix.into(),
            version,
            func: None,
            rules,
            backend,
        }
    }

    /// The version a call uses. As in Ellar (`version or self._version`),
    /// `None` and `Some(0)` both mean the backend's version.
    pub fn version_of(&self, version: Option<i64>) -> i64 {
        match version {
            Some(v) if v != 0 => v,
            _ => self.version,
        }
    }

    /// The full key for `key` at `version`, checked against the backend's rules.
    pub fn make(&self, key: &str, version: Option<i64>) -> Result<String> {
        if key.is_empty() {
            return Err(CacheError::InvalidKey {
                key: String::new(),
                reason: "the key is empty".into(),
            });
        }
        let v = self.version_of(version);
        let full = match &self.func {
            Some(f) => f(key, &self.prefix, v),
            None => default_key_func(key, &self.prefix, v),
        };
        self.rules.check(&full, self.backend)?;
        Ok(full)
    }

    /// The start shared by every key of this backend's prefix (any version),
    /// used by `clear`. `None` when a custom key function makes it unknowable.
    pub fn clear_prefix(&self) -> Option<String> {
        if self.func.is_some() {
            None
        } else {
            Some(format!("{}:", self.prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_keys_are_printable_short_and_distinct() {
        let r = KeyRules::MEMCACHED;
        assert_eq!(r.fit("GET https://a/b%20c:view", None), "GET%20https://a/b%2520c:view");
        assert_eq!(r.fit("plain:key", None), "plain:key");
        assert_eq!(KeyRules::ANY.fit("a b%", None), "a b%");
        let long = format!("GET https://a/{}:view", "x".repeat(400));
        let fitted = r.fit(&long, Some(240));
        assert!(fitted.len() <= 240 && r.check(&fitted, "memcached").is_ok(), "{fitted}");
        assert_ne!(fitted, r.fit(&format!("{long}y"), Some(240)));
        assert!(digest_key("ключ", 3).starts_with("к:sha256:"));
    }

    #[test]
    fn ellar_default_format() {
        assert_eq!(default_key_func("k", "", 1), ":1:k");
        assert_eq!(default_key_func("user:7", "site", 3), "site:3:user:7");
        assert_eq!(default_key_func("ключ-🔑", "préfixe", -2), "préfixe:-2:ключ-🔑");
    }

    #[test]
    fn version_zero_means_default_as_in_ellar() {
        let m = KeyMaker::new("p", 5, KeyRules::ANY, "local");
        assert_eq!(m.make("k", None).unwrap(), "p:5:k");
        assert_eq!(m.make("k", Some(0)).unwrap(), "p:5:k");
        assert_eq!(m.make("k", Some(2)).unwrap(), "p:2:k");
    }

    #[test]
    fn custom_key_func_replaces_default() {
        let mut m = KeyMaker::new("p", 1, KeyRules::ANY, "local");
        m.func = Some(Rc::new(|k: &str, p: &str, v: i64| {
            format!("{p}/{v}/{}", k.to_uppercase())
        }));
        assert_eq!(m.make("ab", Some(4)).unwrap(), "p/4/AB");
        assert_eq!(m.clear_prefix(), None);
    }

    #[test]
    fn memcached_rules() {
        let m = KeyMaker::new("", 1, KeyRules::MEMCACHED, "memcached");
        assert!(m.make("ok-key", None).is_ok());
        let e = m.make("has space", None).unwrap_err();
        assert!(e.to_string().contains("whitespace"), "{e}");
        assert!(m.make("tab\tkey", None).is_err());
        assert!(m.make("del\u{7f}", None).is_err());
        assert!(m.make(&"x".repeat(247), None).is_ok()); // ":1:" + 247 = 250
        let e = m.make(&"x".repeat(248), None).unwrap_err();
        assert!(e.to_string().contains("251 bytes"), "{e}");
        assert!(m.make("", None).is_err());
        // Unicode is fine for memcached (bytes >= 0x80).
        assert!(m.make("ключ", None).is_ok());
    }
}
