//! A custom backend written in JS: an object with async methods on full
//! keys (prefix and version already applied, as Ellar's backends see them)
//! behind the same [`CacheBackend`] trait, registered by kind name.
//!
//! ```js
//! { get(key) -> value | undefined,           set(key, value, ttlSeconds | null),
//!   add(key, value, ttlSeconds | null) -> bool, delete(key) -> bool,
//!   touch(key, ttlSeconds | null) -> bool,     incr(key, delta) -> number,
//!   clear() }                                  // every method may return a promise
//! ```
//!
//! TTLs of zero or less never reach it (they are deletes); `incr` throws a
//! `CacheError` with code `not_found`, `not_an_integer` or `overflow` as the
//! trait requires (other throws become `backend` errors).

use async_trait::async_trait;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::convert::{from_value, to_value};
use crate::backend::{BackendConfig, CacheBackend};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::{KeyMaker, KeyRules};
use crate::primitives::ttl::{Expiry, Timeout, Ttl};
use crate::primitives::value::Value;

/// A backend implemented by a JS object.
pub struct JsBackend {
    object: JsValue,
    keys: KeyMaker,
    timeout: Timeout,
    kind: String,
}

impl JsBackend {
    /// Wraps `object` for the backend `config` describes.
    pub fn new(config: &BackendConfig, object: JsValue) -> Self {
        JsBackend {
            object,
            keys: KeyMaker::new(config.key_prefix.clone(), config.version, KeyRules::ANY, "custom"),
            timeout: config.ttl,
            kind: config.kind.clone(),
        }
    }

    fn fail(&self, message: String) -> CacheError {
        CacheError::backend(format!("{} (JS)", self.kind), message)
    }

    /// Calls `method` and awaits its result; a thrown `CacheError` with a
    /// known code keeps its meaning.
    async fn call(&self, method: &str, key: &str, args: &[JsValue]) -> Result<JsValue> {
        let f: Function = Reflect::get(&self.object, &method.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| self.fail(format!("the backend object has no {method}() method")))?;
        let all: js_sys::Array = std::iter::once(JsValue::from_str(key))
            .chain(args.iter().cloned())
            .collect();
        let result = f.apply(&self.object, &all).map_err(|e| self.thrown(key, &e))?;
        match result.dyn_ref::<Promise>() {
            Some(p) => JsFuture::from(p.clone()).await.map_err(|e| self.thrown(key, &e)),
            None => Ok(result),
        }
    }

    fn thrown(&self, key: &str, e: &JsValue) -> CacheError {
        let code = Reflect::get(e, &"code".into()).ok().and_then(|c| c.as_string());
        let message = Reflect::get(e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        let key = key.to_string();
        match code.as_deref() {
            Some("not_found") => CacheError::NotFound { key },
            Some("not_an_integer") => CacheError::NotAnInteger { key },
            Some("overflow") => CacheError::Overflow { key },
            _ => self.fail(message),
        }
    }

    fn seconds(&self, ttl: Ttl) -> Result<Option<JsValue>> {
        Ok(match ttl.or(self.timeout).expiry(0)? {
            Expiry::Now => None,
            Expiry::Never => Some(JsValue::NULL),
            Expiry::At(ms) => Some(JsValue::from_f64(ms as f64 / 1000.0)),
        })
    }

    fn boolean(&self, method: &str, v: JsValue) -> Result<bool> {
        v.as_bool()
            .ok_or_else(|| self.fail(format!("{method}() must return true or false, got {v:?}")))
    }
}

#[async_trait(?Send)]
impl CacheBackend for JsBackend {
    fn kind(&self) -> &str {
        &self.kind
    }

    fn key_maker(&self) -> &KeyMaker {
        &self.keys
    }

    fn default_timeout(&self) -> Timeout {
        self.timeout
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
        let full = self.make_key(key, version)?;
        let v = self.call("get", &full, &[]).await?;
        if v.is_undefined() {
            return Ok(None);
        }
        to_value(&v).map(Some).map_err(|e| self.thrown(key, &e))
    }

    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
        let full = self.make_key(key, version)?;
        match self.seconds(ttl)? {
            None => {
                self.call("delete", &full, &[]).await?;
            }
            Some(s) => {
                self.call("set", &full, &[from_value(&value), s]).await?;
            }
        }
        Ok(())
    }

    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        match self.seconds(ttl)? {
            // Django's add with a zero TTL: "written and gone at once" if absent.
            None => Ok(!self.has_key(key, version).await?),
            Some(s) => {
                let added = self.call("add", &full, &[from_value(&value), s]).await?;
                self.boolean("add", added)
            }
        }
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let deleted = self.call("delete", &full, &[]).await?;
        self.boolean("delete", deleted)
    }

    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        match self.seconds(ttl)? {
            None => {
                let deleted = self.call("delete", &full, &[]).await?;
                self.boolean("delete", deleted)
            }
            Some(s) => {
                let touched = self.call("touch", &full, &[s]).await?;
                self.boolean("touch", touched)
            }
        }
    }

    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        let full = self.make_key(key, version)?;
        let arg = if delta.unsigned_abs() > (1 << 53) {
            js_sys::BigInt::from(delta).into()
        } else {
            JsValue::from_f64(delta as f64)
        };
        let n = self.call("incr", &full, &[arg]).await?;
        match to_value(&n).ok().and_then(|v| v.as_i64()) {
            Some(n) => Ok(n),
            None => Err(self.fail(format!("incr() must return an integer, got {n:?}"))),
        }
    }

    async fn clear(&self) -> Result<()> {
        let f: Function = Reflect::get(&self.object, &"clear".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| self.fail("the backend object has no clear() method".into()))?;
        let result = f.call0(&self.object).map_err(|e| self.thrown("", &e))?;
        if let Some(p) = result.dyn_ref::<Promise>() {
            JsFuture::from(p.clone()).await.map_err(|e| self.thrown("", &e))?;
        }
        Ok(())
    }
}
