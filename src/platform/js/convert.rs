//! JS values and errors at the boundary: any JSON-serialisable value,
//! `Uint8Array`/`ArrayBuffer` as bytes, `bigint` for integers past 2^53;
//! [`CacheError`]s as instances of the package's `CacheError` class (an
//! `Error` subclass with a stable `code`).

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::primitives::error::CacheError;
use crate::primitives::ttl::Ttl;
use crate::primitives::value::Value;

thread_local! {
    /// The package's `CacheError` class (set by its JS entry); plain `Error` until then.
    static ERROR_CLASS: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Registers the class errors are made with (`class CacheError extends Error`).
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: js_sys::Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

/// A JS error with `code` (one of [`CacheError::kind`]'s names) and `message`.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let made = ERROR_CLASS.with(|c| {
        c.borrow().as_ref().and_then(|class| {
            js_sys::Reflect::construct(class, &js_sys::Array::of2(&message.into(), &code.into())).ok()
        })
    });
    let e = made.unwrap_or_else(|| js_sys::Error::new(message).into());
    let _ = js_sys::Reflect::set(&e, &"code".into(), &code.into());
    e
}

/// A [`CacheError`] as a JS error.
pub fn to_js_error(e: &CacheError) -> JsValue {
    js_error(e.kind(), &e.to_string())
}

/// A cacheable JS value as a [`Value`].
pub fn to_value(v: &JsValue) -> Result<Value, JsValue> {
    if v.is_undefined() {
        return Err(js_error(
            "invalid_value",
            "undefined is not a cacheable value (use null)",
        ));
    }
    if let Some(bytes) = v.dyn_ref::<Uint8Array>() {
        return Ok(Value::Bytes(bytes.to_vec()));
    }
    if let Some(buffer) = v.dyn_ref::<ArrayBuffer>() {
        return Ok(Value::Bytes(Uint8Array::new(buffer).to_vec()));
    }
    if v.is_bigint() {
        let text: String = js_sys::BigInt::from(v.clone())
            .to_string(10)
            .map(String::from)
            .unwrap_or_default();
        let n: serde_json::Number = text
            .parse()
            .map_err(|_| js_error("invalid_value", &format!("bigint {text} is not an integer")))?;
        return Ok(Value::Json(serde_json::Value::Number(n)));
    }
    let text = JSON::stringify(v).map_err(|_| {
        js_error(
            "invalid_value",
            "not JSON-serialisable (a bigint inside an object or array, or a cycle): store bigints at the top level or as strings",
        )
    })?;
    if text.is_undefined() || !text.is_string() {
        return Err(js_error(
            "invalid_value",
            "not a cacheable value (functions and symbols have no JSON form)",
        ));
    }
    let text: String = text.into();
    serde_json::from_str(&text)
        .map(Value::Json)
        .map_err(|e| js_error("invalid_value", &format!("not JSON: {e}")))
}

/// A [`Value`] as a JS value: bytes as a `Uint8Array`, an integer past
/// 2^53 as a `bigint`, other JSON as parsed.
pub fn from_value(v: &Value) -> JsValue {
    match v {
        Value::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        Value::Json(serde_json::Value::Number(n)) if is_big_integer(n) => {
            js_sys::BigInt::new(&JsValue::from_str(&n.to_string())).map_or(JsValue::NULL, JsValue::from)
        }
        Value::Json(j) => {
            let text = serde_json::to_string(j).expect("JSON values serialize");
            JSON::parse(&text).unwrap_or(JsValue::NULL)
        }
    }
}

/// An integer JS numbers cannot hold exactly (past ±2^53).
fn is_big_integer(n: &serde_json::Number) -> bool {
    const EXACT: u64 = 1 << 53;
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.unsigned_abs() > EXACT,
        (None, Some(_)) => true,
        // Arbitrary precision: integer text past 64 bits.
        (None, None) => !n.to_string().contains(['.', 'e', 'E']),
    }
}

/// A `ttl` option: `undefined` = the backend's default, `null` = never,
/// seconds otherwise.
pub fn ttl_of(v: &JsValue) -> Result<Ttl, JsValue> {
    if v.is_undefined() {
        return Ok(Ttl::Default);
    }
    if v.is_null() {
        return Ok(Ttl::Never);
    }
    match v.as_f64() {
        Some(s) if s.is_finite() => Ok(Ttl::Seconds(s)),
        _ => Err(js_error(
            "invalid_ttl",
            "ttl must be seconds, null (never expire) or left out (the backend's default)",
        )),
    }
}

/// One option of an options object (`undefined` when absent or no object).
pub fn option(options: &JsValue, name: &str) -> JsValue {
    if options.is_object() {
        js_sys::Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// The `version` option.
pub fn version_of(options: &JsValue) -> Result<Option<i64>, JsValue> {
    let v = option(options, "version");
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Some(f as i64)),
        _ => Err(js_error("invalid_version", "version must be an integer")),
    }
}

/// The `backend` option (default `"default"`).
pub fn backend_of(options: &JsValue) -> String {
    option(options, "backend")
        .as_string()
        .unwrap_or_else(|| "default".to_string())
}
