//! The deployable Worker: a caching reverse proxy in front of `ORIGIN` (or
//! the built-in demo origin) with route rules from `ROUTES`, and the admin
//! API. Only glue lives here; the logic is in the pure modules.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{console_error, event, web_sys, Context, Env, Method, Request, Response};

use crate::app::admin::{self, AdminContext, AdminReply, AdminRequest, ADMIN_PREFIX};
use crate::app::demo_origin;
use crate::app::purge_config::{self, LogChoice};
use crate::app::routes::{lenient_path, RouteRule, Routes};
use crate::backend::BackendRegistry;
use crate::backend::{CachesConfig, Secrets};
use crate::http::{strip_client_overrides, BypassReason, HttpRequest, HttpResponse};
use crate::platform::workers::{
    from_worker_request, handler_origin, offer_to_js, path_of, plain_get, random_picker, settle, spawner,
    stream_to_origin, to_web_response, to_worker_response, upstream_origin, worker_registry, CfCacheStore,
    DurableObjectLog, FetchTransport, WorkersRuntime,
};
use crate::primitives::clock::Clock;
use crate::primitives::ttl::Timeout;
use crate::response_cache::purge_log::{PurgeLog, RedisPurgeLog};
use crate::response_cache::{BackendStore, ResponseStore};
use crate::response_cache::{CachePolicy, Io, Origin, ResponseCache};
use crate::service::CacheService;

/// Reserved store name for the Workers Cache API.
const CF_CACHE: &str = "cf-cache";

/// What one isolate keeps between requests.
struct App {
    config: CachesConfig,
    registry: BackendRegistry,
    secrets: BTreeMap<String, String>,
    service: CacheService,
    responses: ResponseCache,
    routes: Routes,
    origin: Origin,
    /// `ORIGIN`, when set: requests the cache does not keep stream to it.
    origin_base: Option<String>,
    admin_token: Option<String>,
}

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

struct EnvSecrets<'a>(&'a Env);

impl Secrets for EnvSecrets<'_> {
    fn secret(&self, name: &str) -> Option<String> {
        self.0
            .secret(name)
            .map(|s| s.to_string())
            .or_else(|_| self.0.var(name).map(|v| v.to_string()))
            .ok()
    }
}

fn text_var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).filter(|s| !s.is_empty())
}

/// The demo origin as an ordinary workers-rs handler, so every miss in
/// the dev setup also exercises the handler path of `@Cache`
/// (`workers::handler_origin`).
async fn demo_handler(req: Request) -> worker::Result<Response> {
    to_worker_response(demo_origin::respond(&req.path(), WorkersRuntime.now_ms()))
}

fn build_app(env: &Env) -> crate::Result<App> {
    let config = match text_var(env, "CACHES") {
        Some(json) => CachesConfig::parse(&json)?,
        None => CachesConfig::local_default(),
    };
    if config.backends.contains_key(CF_CACHE) {
        return Err(crate::CacheError::config(
            CF_CACHE,
            "this name is reserved for the Workers Cache API",
        ));
    }
    let registry = worker_registry();
    let service = CacheService::from_parsed(&config, &EnvSecrets(env), &registry)?;
    // Secrets named by the config, kept to rebuild backends for selftests.
    let mut secrets = BTreeMap::new();
    for c in config.backends.values() {
        for v in c
            .options
            .iter()
            .filter(|(k, _)| k.ends_with("_secret"))
            .filter_map(|(_, v)| v.as_str())
        {
            if let Some(s) = EnvSecrets(env).secret(v) {
                secrets.insert(v.to_string(), s);
            }
        }
    }
    let routes = match text_var(env, "ROUTES") {
        Some(json) => Routes::parse(&json)?,
        None => Routes::default(),
    };
    let mut stores: BTreeMap<String, Rc<dyn ResponseStore>> = BTreeMap::new();
    for name in service.names() {
        let backend = service.backend(&name)?.clone();
        stores.insert(name.clone(), Rc::new(BackendStore { name, backend }));
    }
    stores.insert(
        CF_CACHE.into(),
        Rc::new(CfCacheStore {
            timeout: Timeout::default(),
        }),
    );
    for (i, rule) in routes.rules.iter().enumerate() {
        if let Some(b) = &rule.policy.backend {
            if !stores.contains_key(b) {
                return Err(crate::CacheError::config(
                    format!("ROUTES[{i}].backend"),
                    format!(
                        "unknown backend {b:?} (known: {})",
                        stores.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    let origin_base = text_var(env, "ORIGIN").map(|o| checked_origin(&o)).transpose()?;
    let origin: Origin = match &origin_base {
        // Bodies larger than any route may store stream through unbuffered.
        Some(base) => upstream_origin(
            base.clone(),
            routes.rules.iter().map(|r| r.policy.max_entry_bytes).max().unwrap_or(0),
        ),
        None => handler_origin(demo_handler),
    };
    let responses = ResponseCache::new(stores, Rc::new(WorkersRuntime));
    // Hits on the local store are offered to the entry's ready answers
    // (`hit_slots.js`); the nonce tells this instance's slots from those of
    // one a trap replaced.
    responses.enable_hit_slots((worker::js_sys::Math::random() * f64::from(u32::MAX)) as u32);
    share_purges(env, &responses, &config)?;
    Ok(App {
        config,
        registry,
        secrets,
        service,
        responses,
        routes,
        origin,
        origin_base,
        admin_token: EnvSecrets(env).secret("ADMIN_TOKEN").filter(|s| !s.is_empty()),
    })
}

/// Connects the response cache to the purge log `PURGE_LOG` names (see
/// `purge_config`), syncing every `PURGE_SYNC_MS`.
fn share_purges(env: &Env, responses: &ResponseCache, config: &CachesConfig) -> crate::Result<()> {
    let namespace = env.durable_object(purge_config::DO_BINDING).ok();
    let purge = purge_config::parse(
        text_var(env, "PURGE_LOG").as_deref(),
        namespace.is_some(),
        text_var(env, "PURGE_SYNC_MS").as_deref(),
    )?;
    let log: Rc<dyn PurgeLog> = match (purge.log, namespace) {
        (LogChoice::DurableObject, Some(ns)) => Rc::new(DurableObjectLog::new(ns)),
        (LogChoice::Redis(name), _) => {
            let c = match config.backends.get(&name) {
                Some(c) if c.kind == "redis" => c,
                _ => {
                    return Err(crate::CacheError::config(
                        "PURGE_LOG",
                        format!("redis:{name}: CACHES has no backend {name:?} of kind \"redis\""),
                    ))
                }
            };
            let options = crate::backend::RedisRestOptions::from_config(c, &EnvSecrets(env))?;
            let redis = crate::backend::RedisRestBackend::new(
                c,
                options,
                Rc::new(FetchTransport),
                random_picker(),
                Rc::new(WorkersRuntime),
            );
            Rc::new(RedisPurgeLog::new(Rc::new(redis), Rc::new(WorkersRuntime))?)
        }
        _ => return Ok(()),
    };
    responses.set_purge_log(log, purge.sync_ms);
    Ok(())
}

/// A request the cache does not keep, streamed both ways to the upstream
/// origin (nothing buffered); a successful unsafe request still
/// invalidates the URL on a caching route (RFC 9111 §4.4).
async fn stream_through(app: &App, req: &Request, rule: Option<&RouteRule>, base: &str) -> worker::Result<Response> {
    let why = match rule {
        Some(r) if r.bypass => BypassReason::Route,
        Some(_) => BypassReason::Method,
        None => BypassReason::NoRoute,
    };
    let default_policy = CachePolicy::default();
    let policy = rule.map_or(&default_policy, |r| &r.policy);
    let keep = rule.map_or(&[][..], |r| &r.forward_headers);
    let status = format!("edgecache; fwd=bypass; detail={}", why.as_str());
    match stream_to_origin(
        base,
        req,
        keep,
        policy.origin_timeout_ms,
        &[("cache-status", status.clone())],
    )
    .await
    {
        Ok(resp) => {
            app.responses.count_forwarded(false);
            let unsafe_write = why == BypassReason::Method && !matches!(req.method(), Method::Options);
            if unsafe_write && resp.status_code() < 400 {
                let headers = ["location", "content-location"]
                    .iter()
                    .filter_map(|h| resp.headers().get(h).ok().flatten().map(|v| (h.to_string(), v)))
                    .collect();
                let written = HttpResponse {
                    status: resp.status_code(),
                    headers,
                    body: Vec::new(),
                    stream: None,
                };
                app.responses
                    .invalidate_after_write(req.url()?.as_ref(), &written, policy)
                    .await;
            }
            Ok(resp)
        }
        Err(e) => {
            app.responses.count_forwarded(true);
            let mut r = HttpResponse::text(e.status(), &e.to_string());
            r.set_header("cache-status", status);
            to_worker_response(r)
        }
    }
}

/// `ORIGIN` as a base URL (no trailing slash), or why it cannot be one.
fn checked_origin(raw: &str) -> crate::Result<String> {
    match url::Url::parse(raw.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none() => {
            Ok(raw.trim().trim_end_matches('/').to_string())
        }
        _ => Err(crate::CacheError::config(
            "ORIGIN",
            "must be an http(s) URL without a query, such as https://example.com",
        )),
    }
}

/// The isolate's app, built on first use. A bad config is reported on every
/// request rather than half-working.
fn app(env: &Env) -> crate::Result<Rc<App>> {
    if let Some(a) = built_app() {
        return Ok(a);
    }
    let a = Rc::new(build_app(env)?);
    APP.with(|cell| *cell.borrow_mut() = Some(a.clone()));
    Ok(a)
}

/// The isolate's app if a request has built it: the ready-answer calls
/// (`hit_slot*`) come without an `Env` and need none before then.
fn built_app() -> Option<Rc<App>> {
    APP.with(|cell| cell.borrow().clone())
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The ready answer the last request offered (see
/// `src/response_cache/hit_slots.rs`), for the entry to keep; `undefined`
/// when there is none.
#[wasm_bindgen]
pub fn hit_slot_offer() -> JsValue {
    let offer = built_app().and_then(|a| a.responses.take_hit_offer());
    offer.map_or(JsValue::UNDEFINED, offer_to_js)
}

/// Whether the entry may answer from slot `id` now (counted as a hit); on
/// false it drops the slot.
#[wasm_bindgen]
pub fn hit_slot(id: u32, nonce: u32, now_ms: f64) -> bool {
    built_app().is_some_and(|a| a.responses.slot_hit(id, nonce, now_ms as u64))
}

/// The entry dropped slot `id` (its own bound).
#[wasm_bindgen]
pub fn hit_slot_drop(id: u32) {
    if let Some(a) = built_app() {
        a.responses.drop_hit_slot(id);
    }
}

/// The Worker's `fetch` handler: a hit is answered synchronously, without a
/// `Promise` or a queued task ([`settle`]); anything that waits returns a
/// `Promise`.
#[wasm_bindgen(js_name = fetch)]
pub fn fetch_export(raw: web_sys::Request, env: Env, ctx: worker::worker_sys::Context) -> JsValue {
    settle(fetch(raw, env, Context::new(ctx)))
}

/// The proxy. The hit path reads the platform's request directly (URL and
/// method once, then the headers as one array) and returns the platform's
/// `Response`: no workers-rs `Request` is built for it (which would read the
/// URL, method and `cf` object again). Admin and streamed requests, which
/// use workers-rs' API, wrap the request then.
async fn fetch(raw: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let app = match app(&env) {
        Ok(a) => a,
        Err(e) => {
            // The field is named to every visitor; the value (which may be
            // a mis-placed secret) only in the Worker's log.
            console_error!("edgecache is misconfigured: {e}");
            let what = match &e {
                // "…, got <value>" is cut: the value may be a mis-placed secret.
                crate::CacheError::Config { field, message } => {
                    format!("{field}: {}", message.split(", got ").next().unwrap_or_default())
                }
                other => other.kind().to_string(),
            };
            return Response::error(
                format!("edgecache is misconfigured: {what} (the Worker's log has the value: wrangler tail)"),
                500,
            )
            .map(Into::into);
        }
    };
    let url = raw.url();
    let path = path_of(&url);
    if let Some(rest) = path.strip_prefix(ADMIN_PREFIX) {
        let rest = rest.to_string();
        return handle_admin(&app, Request::from(raw), &rest).await.map(Into::into);
    }
    // Any other spelling of the admin prefix (`/_EDGECACHE/`, `/%5Fedgecache/`,
    // no slash) is not proxied: the origin would get the admin token.
    let admin_like = |p: &str| p == "/_edgecache" || p.starts_with("/_edgecache/");
    // Only a path with escapes, dots, `;`, `\\`, `//` or capitals needs the
    // lenient form to be told apart from the admin prefix.
    let odd = path
        .bytes()
        .any(|c| matches!(c, b'%' | b'.' | b';' | b'\\' | b'A'..=b'Z'))
        || path.contains("//");
    if admin_like(path) || (odd && admin_like(&lenient_path(path))) {
        let reply = AdminReply::error(
            404,
            "no_route",
            format!("admin routes are under {ADMIN_PREFIX}, spelled exactly so"),
        );
        return to_web_response(reply.into_http());
    }
    let rule = app.routes.find(path);
    let method = raw.method();
    let get_or_head = matches!(method.as_str(), "GET" | "HEAD");
    let cached = rule.is_some_and(|r| !r.bypass) && get_or_head;
    if let (false, Some(base)) = (cached, &app.origin_base) {
        return stream_through(&app, &Request::from(raw), rule, base)
            .await
            .map(Into::into);
    }
    let mut plain = if get_or_head {
        plain_get(method, url, &raw)
    } else {
        from_worker_request(&mut Request::from(raw)).await?
    };
    strip_client_overrides(&mut plain.headers, rule.map_or(&[][..], |r| &r.forward_headers));
    let io = Io {
        origin: app.origin.clone(),
        spawn: spawner(Some(Rc::new(ctx))),
    };
    let response = match rule {
        Some(rule) if !rule.bypass => app.responses.handle(plain, &rule.policy, &io).await,
        Some(rule) => {
            app.responses
                .forward(plain, &rule.policy, &io, BypassReason::Route)
                .await
        }
        None => {
            let policy = CachePolicy::default();
            app.responses.forward(plain, &policy, &io, BypassReason::NoRoute).await
        }
    };
    to_web_response(response)
}

async fn handle_admin(app: &App, mut req: Request, rest: &str) -> worker::Result<Response> {
    // The admin API may write to a backend behind the engine's back: ready
    // answers end before and after (a hit in between may offer one again).
    let writes = !matches!(req.method(), Method::Get | Method::Head);
    if writes {
        app.responses.forget_hit_slots();
    }
    if let Some(page) = admin::dashboard_asset(req.method().as_ref(), rest) {
        return to_worker_response(page);
    }
    let auth = req.headers().get("authorization")?;
    let reply =
        match admin::authorize(app.admin_token.as_deref(), auth.as_deref()) {
            Err(r) => r,
            Ok(()) => 'reply: {
                let url = req.url()?;
                let declared = req.headers().get("content-length")?;
                if let Some(r) = admin::refuse_declared_body(declared.as_deref()) {
                    break 'reply r;
                }
                let body = match admin::checked_body(req.bytes().await.map_err(|e| e.to_string())) {
                    Ok(b) => b,
                    Err(r) => break 'reply r,
                };
                let mut http = HttpRequest {
                    method: req.method().to_string(),
                    url: url.to_string(),
                    headers: req.headers().entries().collect(),
                    body,
                };
                let base = url.origin().ascii_serialization();
                let make =
                    |name: &str, prefix: &str| -> crate::Result<Rc<dyn crate::CacheBackend>> {
                        let mut c = app.config.backends.get(name).cloned().ok_or_else(|| {
                            crate::CacheError::UnknownBackend {
                                name: name.to_string(),
                                known: app.service.names(),
                            }
                        })?;
                        c.key_prefix = prefix.to_string();
                        app.registry.build(&c, &app.secrets)
                    };
                admin::handle(
                    &AdminContext {
                        service: &app.service,
                        responses: Some((&app.responses, &app.routes)),
                        selftest: Some((&make, Rc::new(WorkersRuntime))),
                    },
                    AdminRequest::from_http(&mut http, rest, &base),
                )
                .await
            }
        };
    if writes {
        app.responses.forget_hit_slots();
    }
    admin_response(reply)
}

/// An admin reply as a response.
fn admin_response(reply: AdminReply) -> worker::Result<Response> {
    to_worker_response(reply.into_http())
}
