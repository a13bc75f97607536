//! A purge log written in JS (`{ append(purge), since(cursor) }`), so a JS
//! app can share invalidation between isolates through whatever it has (a
//! Durable Object stub, a database), and the response cache's `purge`.

use async_trait::async_trait;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::primitives::error::{CacheError, Result};
use crate::response_cache::purge_log::{Purge, PurgeLog, SyncReply};

/// A [`PurgeLog`] over a JS object with `append(purge) => seq` and
/// `since(cursor) => { head, marks }` (either may return a promise).
pub struct JsPurgeLog {
    object: JsValue,
}

impl JsPurgeLog {
    /// Checks `object` has both methods.
    pub fn new(object: JsValue) -> std::result::Result<Self, String> {
        for m in ["append", "since"] {
            if !Reflect::get(&object, &m.into()).is_ok_and(|f| f.is_function()) {
                return Err(format!("a purge log needs an {m}() method"));
            }
        }
        Ok(JsPurgeLog { object })
    }

    async fn call(&self, method: &str, arg: JsValue) -> Result<JsValue> {
        let fail = |e: JsValue| {
            let m = Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| format!("{e:?}"));
            CacheError::backend("purge log (js)", format!("{method}: {m}"))
        };
        let f: Function = Reflect::get(&self.object, &method.into())
            .map_err(fail)?
            .dyn_into()
            .map_err(fail)?;
        let r = f.call1(&self.object, &arg).map_err(fail)?;
        match r.dyn_ref::<Promise>() {
            Some(p) => JsFuture::from(p.clone()).await.map_err(fail),
            None => Ok(r),
        }
    }
}

fn bad(what: impl std::fmt::Display) -> CacheError {
    CacheError::backend("purge log (js)", what.to_string())
}

#[async_trait(?Send)]
impl PurgeLog for JsPurgeLog {
    fn name(&self) -> &str {
        "js"
    }

    async fn append(&self, purge: &Purge) -> Result<u64> {
        let json = serde_json::to_string(purge).map_err(bad)?;
        let arg = js_sys::JSON::parse(&json).map_err(|_| bad("purge does not parse"))?;
        let seq = self.call("append", arg).await?;
        match seq.as_f64() {
            Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(n as u64),
            _ => Err(bad(format!(
                "append() must return a positive whole number, got {seq:?}"
            ))),
        }
    }

    async fn since(&self, cursor: u64) -> Result<SyncReply> {
        let r = self.call("since", JsValue::from_f64(cursor as f64)).await?;
        let text = js_sys::JSON::stringify(&r)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| bad("since() returned something that is not JSON"))?;
        serde_json::from_str(&text).map_err(|e| bad(format!("since() must return {{head, marks}}: {e}")))
    }
}
