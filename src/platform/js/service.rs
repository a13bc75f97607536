//! `CacheService` for JavaScript: the Rust service behind a wasm-bindgen
//! class, Promises everywhere, options as one object (`{ ttl, version,
//! backend }`), built from the same JSON config as the Worker's `CACHES`.

use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use super::backend::JsBackend;
use super::convert::{backend_of, from_value, js_error, option, to_js_error, to_value, ttl_of, version_of};
use super::fetch::JsFetch;
use crate::backend::{BackendConfig, BackendRegistry, CacheBackend, CachesConfig, RemoteTransports, Secrets};
use crate::primitives::value::Value;
use crate::service::{CacheService, CacheView};

/// The kinds a JS host can configure: `local`, `tiered`, `redis` and the
/// memcached gateway over `fetch`, memcached over TCP where `options.connect`
/// (`cloudflare:sockets`) is given, and the custom kinds of `options.backends`.
pub fn js_registry(options: &JsValue) -> Result<BackendRegistry, JsValue> {
    let custom = option(options, "backends");
    let custom = &custom;
    #[cfg(feature = "memcached")]
    let stream: Option<Rc<dyn crate::transport::StreamTransport>> = option(options, "connect")
        .dyn_into::<Function>()
        .ok()
        .map(|f| Rc::new(super::socket::JsSockets::new(f)) as Rc<dyn crate::transport::StreamTransport>);
    #[cfg(not(feature = "memcached"))]
    let stream = None;
    let mut r = BackendRegistry::default().with_remote(RemoteTransports {
        http: Rc::new(JsFetch),
        stream,
        pick: super::super::promise::random_picker(),
        clock: Rc::new(super::JsRuntime),
        runtime: Rc::new(super::JsRuntime),
    });
    if custom.is_object() {
        for entry in Object::entries(custom.unchecked_ref()).iter() {
            let entry: Array = entry.unchecked_into();
            let kind = entry.get(0).as_string().unwrap_or_default();
            let factory: Function = entry.get(1).dyn_into().map_err(|_| {
                js_error(
                    "config",
                    &format!("backends.{kind} must be a function (config) => backend object"),
                )
            })?;
            r.register(&kind, move |c: &BackendConfig, _: &dyn Secrets, _: &BackendRegistry| {
                let described = Object::new();
                for (k, v) in [
                    ("name", JsValue::from_str(&c.name)),
                    ("keyPrefix", JsValue::from_str(&c.key_prefix)),
                    ("version", JsValue::from_f64(c.version as f64)),
                ] {
                    let _ = Reflect::set(&described, &k.into(), &v);
                }
                let options = serde_json::to_string(&c.options).expect("options serialize");
                let _ = Reflect::set(
                    &described,
                    &"options".into(),
                    &js_sys::JSON::parse(&options).unwrap_or(JsValue::NULL),
                );
                let object = factory.call1(&JsValue::NULL, &described).map_err(|e| {
                    crate::CacheError::config(
                        format!("{}.backend", c.name),
                        format!("the factory of kind {:?} threw: {e:?}", c.kind),
                    )
                })?;
                Ok(Rc::new(JsBackend::new(c, object)) as Rc<dyn CacheBackend>)
            });
        }
    }
    Ok(r)
}

/// Secrets passed by the caller (`{ secrets: { REDIS_TOKEN: "…" } }`), never read from globals.
fn secrets_of(options: &JsValue) -> BTreeMap<String, String> {
    let s = option(options, "secrets");
    let mut out = BTreeMap::new();
    if s.is_object() {
        for entry in Object::entries(s.unchecked_ref()).iter() {
            let entry: Array = entry.unchecked_into();
            if let (Some(k), Some(v)) = (entry.get(0).as_string(), entry.get(1).as_string()) {
                out.insert(k, v);
            }
        }
    }
    out
}

/// The config as JSON text: a string as it is, an object through `JSON.stringify`.
fn config_text(config: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = config.as_string() {
        return Ok(s);
    }
    js_sys::JSON::stringify(config)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| {
            js_error(
                "config",
                "the config must be a JSON object (or its text) of named backends",
            )
        })
}

/// Named cache backends, one of them `default`, with Ellar's methods.
#[wasm_bindgen(js_name = CacheService)]
pub struct JsCacheService {
    inner: Rc<CacheService>,
}

fn view<'a>(service: &'a CacheService, options: &JsValue) -> Result<CacheView<'a>, JsValue> {
    let view = service.using(&backend_of(options)).map_err(|e| to_js_error(&e))?;
    Ok(match version_of(options)? {
        Some(v) => view.version(v),
        None => view,
    })
}

/// A key argument: a string, else `invalid_key` (wasm-bindgen's own
/// `String` conversion does not check its argument in release builds, so a
/// number key would reach the wasm as garbage).
fn key_of(key: &JsValue) -> Result<String, JsValue> {
    key.as_string().ok_or_else(|| {
        js_error(
            "invalid_key",
            &format!(
                "keys are strings, got {}",
                key.js_typeof().as_string().unwrap_or_default()
            ),
        )
    })
}

fn keys_of(keys: &JsValue) -> Result<Vec<String>, JsValue> {
    let array: &Array = keys
        .dyn_ref()
        .ok_or_else(|| js_error("invalid_key", "keys must be an array of strings"))?;
    array
        .iter()
        .map(|k| {
            k.as_string()
                .ok_or_else(|| js_error("invalid_key", "keys must be strings"))
        })
        .collect()
}

#[wasm_bindgen(js_class = CacheService)]
impl JsCacheService {
    /// Builds every backend of `config` (the Worker's `CACHES` JSON, as an
    /// object or text); `options`: `{ secrets, backends }`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, options: JsValue) -> Result<JsCacheService, JsValue> {
        let parsed = CachesConfig::parse(&config_text(&config)?).map_err(|e| to_js_error(&e))?;
        let registry = js_registry(&options)?;
        let service =
            CacheService::from_parsed(&parsed, &secrets_of(&options), &registry).map_err(|e| to_js_error(&e))?;
        Ok(JsCacheService {
            inner: Rc::new(service),
        })
    }

    /// Backend names, sorted.
    pub fn backends(&self) -> Vec<String> {
        self.inner.names()
    }
}

impl JsCacheService {
    /// The Rust service (shared with a response cache).
    pub fn shared(&self) -> Rc<CacheService> {
        self.inner.clone()
    }
}

#[wasm_bindgen(js_class = CacheService)]
impl JsCacheService {
    /// Backend names (alias of `backends()` for symmetry with the Worker's admin API).
    #[wasm_bindgen(js_name = backendNames)]
    pub fn backend_names(&self) -> Vec<String> {
        self.inner.names()
    }

    /// The full key as stored (`{prefix}:{version}:{key}`).
    #[wasm_bindgen(js_name = makeKey)]
    pub fn make_key(&self, key: JsValue, options: JsValue) -> Result<String, JsValue> {
        view(&self.inner, &options)?
            .make_key(&key_of(&key)?)
            .map_err(|e| to_js_error(&e))
    }

    /// The value, or `undefined` on a miss.
    pub fn get(&self, key: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            let v = view(&s, &options)?.get(&key).await.map_err(|e| to_js_error(&e))?;
            Ok(v.map_or(JsValue::UNDEFINED, |v| from_value(&v)))
        })
    }

    /// Writes `value` for `ttl` (default the backend's; `null` = never).
    pub fn set(&self, key: JsValue, value: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            let value = to_value(&value)?;
            let ttl = ttl_of(&option(&options, "ttl"))?;
            view(&s, &options)?
                .set(&key, value, ttl)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Writes only if absent; true if it wrote.
    pub fn add(&self, key: JsValue, value: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            let value = to_value(&value)?;
            let ttl = ttl_of(&option(&options, "ttl"))?;
            let added = view(&s, &options)?
                .add(&key, value, ttl)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(added.into())
        })
    }

    /// True if the key existed.
    pub fn delete(&self, key: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            Ok(view(&s, &options)?
                .delete(&key)
                .await
                .map_err(|e| to_js_error(&e))?
                .into())
        })
    }

    /// Whether a live value is there.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(&self, key: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            Ok(view(&s, &options)?
                .has_key(&key)
                .await
                .map_err(|e| to_js_error(&e))?
                .into())
        })
    }

    /// Sets a new lifetime (`ttl` option); true if the key existed.
    pub fn touch(&self, key: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            let ttl = ttl_of(&option(&options, "ttl"))?;
            Ok(view(&s, &options)?
                .touch(&key, ttl)
                .await
                .map_err(|e| to_js_error(&e))?
                .into())
        })
    }

    /// Adds `delta` (default 1) to an integer; the new value (a bigint past 2^53).
    pub fn incr(&self, key: JsValue, delta: JsValue, options: JsValue) -> Promise {
        self.count(key, delta, options, false)
    }

    /// Subtracts `delta` (default 1).
    pub fn decr(&self, key: JsValue, delta: JsValue, options: JsValue) -> Promise {
        self.count(key, delta, options, true)
    }

    fn count(&self, key: JsValue, delta: JsValue, options: JsValue, down: bool) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            let delta = if delta.is_undefined() {
                1
            } else {
                to_value(&delta)?
                    .as_i64()
                    .ok_or_else(|| js_error("invalid_value", "delta must be an integer"))?
            };
            let v = view(&s, &options)?;
            let n = if down {
                v.decr(&key, delta).await
            } else {
                v.incr(&key, delta).await
            };
            Ok(from_value(&Value::from(n.map_err(|e| to_js_error(&e))?)))
        })
    }

    /// `{ key: value }` of the keys present.
    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&self, keys: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let keys = keys_of(&keys)?;
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let found = view(&s, &options)?.get_many(&refs).await.map_err(|e| to_js_error(&e))?;
            let out = Object::new();
            for k in &keys {
                if let Some(v) = found.get(k) {
                    let _ = Reflect::set(&out, &k.into(), &from_value(v));
                }
            }
            Ok(out.into())
        })
    }

    /// Writes every `{ key: value }`; returns the keys that could not be written.
    #[wasm_bindgen(js_name = setMany)]
    pub fn set_many(&self, items: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            if !items.is_object() {
                return Err(js_error("invalid_value", "setMany takes an object of key: value"));
            }
            let mut pairs = Vec::new();
            for entry in Object::entries(items.unchecked_ref()).iter() {
                let entry: Array = entry.unchecked_into();
                pairs.push((entry.get(0).as_string().unwrap_or_default(), to_value(&entry.get(1))?));
            }
            let ttl = ttl_of(&option(&options, "ttl"))?;
            let failed = view(&s, &options)?
                .set_many(pairs, ttl)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(failed.into_iter().map(JsValue::from).collect::<Array>().into())
        })
    }

    /// Deletes every key; returns how many existed.
    #[wasm_bindgen(js_name = deleteMany)]
    pub fn delete_many(&self, keys: JsValue, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let keys = keys_of(&keys)?;
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let n = view(&s, &options)?
                .delete_many(&refs)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(JsValue::from_f64(n as f64))
        })
    }

    /// Removes every key under the backend's prefix.
    pub fn clear(&self, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            view(&s, &options)?.clear().await.map_err(|e| to_js_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The value, or `loader()`'s (awaited) result, stored for `ttl`.
    #[wasm_bindgen(js_name = getOrSet)]
    pub fn get_or_set(&self, key: JsValue, loader: Function, options: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let key = key_of(&key)?;
            let v = view(&s, &options)?;
            if let Some(found) = v.get(&key).await.map_err(|e| to_js_error(&e))? {
                return Ok(from_value(&found));
            }
            let made = loader.call0(&JsValue::NULL)?;
            let made = match made.dyn_ref::<Promise>() {
                Some(p) => wasm_bindgen_futures::JsFuture::from(p.clone()).await?,
                None => made,
            };
            let ttl = ttl_of(&option(&options, "ttl"))?;
            v.set(&key, to_value(&made)?, ttl).await.map_err(|e| to_js_error(&e))?;
            Ok(made)
        })
    }

    /// A backend's counters (`{ kind, hits, … }`).
    pub fn stats(&self, backend: JsValue) -> Result<JsValue, JsValue> {
        // (A JsValue, not a String: wasm-bindgen does not check argument types.)
        let name = match backend.as_string() {
            Some(name) => name,
            None if backend.is_undefined() || backend.is_null() => "default".to_string(),
            None => return Err(js_error("unknown_backend", "the backend name must be a string")),
        };
        let b = self.inner.backend(&name).map_err(|e| to_js_error(&e))?;
        let mut m = b.stats();
        m.insert("kind".into(), b.kind().into());
        let text = serde_json::to_string(&m).expect("stats serialize");
        js_sys::JSON::parse(&text)
    }
}

/// Runs the conformance suite against backend `name` (its kind and
/// options, under a throwaway prefix), in real time. Returns the report.
#[cfg(feature = "testkit")]
#[wasm_bindgen]
pub fn selftest(name: JsValue, config: JsValue, options: JsValue) -> Promise {
    future_to_promise(async move {
        let name = name
            .as_string()
            .ok_or_else(|| js_error("unknown_backend", "the backend name must be a string"))?;
        let parsed = CachesConfig::parse(&config_text(&config)?).map_err(|e| to_js_error(&e))?;
        let registry = js_registry(&options)?;
        let secrets = secrets_of(&options);
        let make = |prefix: &str| -> Result<Rc<dyn CacheBackend>, JsValue> {
            let mut c = parsed
                .backends
                .get(&name)
                .cloned()
                .ok_or_else(|| js_error("unknown_backend", &format!("no backend {name:?} in the config")))?;
            c.key_prefix = prefix.to_string();
            registry.build(&c, &secrets).map_err(|e| to_js_error(&e))
        };
        let (b, sibling) = (make("edgecache-selftest")?, make("edgecache-selftest:sibling")?);
        let time = crate::testkit::RealTime(Rc::new(super::JsRuntime));
        let mut suite = crate::testkit::Suite::new(&*b, &time);
        suite.sibling = Some(&*sibling);
        if b.kind() == "memcached" {
            suite.ttl_slack_ms = 1000;
        }
        suite.unsigned_counters = option(&options, "unsignedCounters").as_bool() == Some(true);
        let report = suite.run().await;
        let cases: Array = report
            .cases
            .iter()
            .map(|c| {
                let o = Object::new();
                let _ = Reflect::set(&o, &"name".into(), &c.name.into());
                let _ = Reflect::set(&o, &"passed".into(), &c.passed.into());
                let _ = Reflect::set(&o, &"message".into(), &c.message.as_str().into());
                JsValue::from(o)
            })
            .collect();
        let out = Object::new();
        let _ = Reflect::set(&out, &"passed".into(), &JsValue::from_f64(report.passed() as f64));
        let _ = Reflect::set(&out, &"failed".into(), &JsValue::from_f64(report.failed() as f64));
        let _ = Reflect::set(&out, &"cases".into(), &cases);
        Ok(out.into())
    })
}
