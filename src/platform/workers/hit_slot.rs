//! A ready answer ([`HitOffer`]) as the plain object the Worker's entry
//! (`src/platform/workers/hit_slots.js`) keeps: built once per slot, so each
//! later hit is one `new Response(body, {status, headers})` in JS.

use wasm_bindgen::JsValue;
use worker::js_sys::{Array, Object, Reflect, Uint8Array};

use crate::response_cache::HitOffer;

/// `{id, nonce, url, status, headers: [[name, value]…], body: ArrayBuffer |
/// null, storedAt, freshUntil (-1: never stale), until}`.
pub fn offer_to_js(o: HitOffer) -> JsValue {
    let obj = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&obj, &JsValue::from_str(k), &v);
    };
    let headers = Array::new_with_length(o.headers.len() as u32);
    for (i, (k, v)) in o.headers.iter().enumerate() {
        headers.set(
            i as u32,
            Array::of2(&JsValue::from_str(k), &JsValue::from_str(v)).into(),
        );
    }
    // 204, 205 and 304 answers must not carry a body (`Response` throws).
    let body = match (matches!(o.status, 204 | 205 | 304), o.body.is_empty()) {
        (false, false) => Uint8Array::from(&o.body[..]).buffer().into(),
        _ => JsValue::NULL,
    };
    set("id", o.id.into());
    set("nonce", o.nonce.into());
    set("url", JsValue::from_str(&o.url));
    set("status", o.status.into());
    set("headers", headers.into());
    set("body", body);
    set("storedAt", (o.stored_at_ms as f64).into());
    set("freshUntil", o.fresh_until_ms.map_or(-1.0, |t| t as f64).into());
    set("until", (o.until_ms as f64).into());
    obj.into()
}
