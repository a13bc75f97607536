//! The deployable Worker: a caching reverse proxy in front of `ORIGIN` (or
//! the built-in demo origin) with route rules from `ROUTES`, and the admin
//! API. Only glue lives here; the logic is in the pure modules.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use worker::{event, Context, Env, Headers, Request, Response};

use crate::app::admin::{self, AdminContext, AdminRequest, ADMIN_PREFIX};
use crate::app::demo_origin;
use crate::app::routes::Routes;
use crate::backend::BackendRegistry;
use crate::backend::{CachesConfig, Secrets};
use crate::http::BypassReason;
use crate::platform::workers::{
    from_worker_request, handler_origin, spawner, to_worker_response, upstream_origin, worker_registry, CfCacheStore,
    WorkersRuntime,
};
use crate::primitives::clock::Clock;
use crate::primitives::ttl::Timeout;
use crate::response_cache::{BackendStore, ResponseStore};
use crate::response_cache::{Io, Origin, ResponseCache};
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
    let r = demo_origin::respond(&req.path(), WorkersRuntime.now_ms());
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.append(k, v)?;
    }
    Ok(Response::ok(r.body)?.with_status(r.status).with_headers(headers))
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
    let origin: Origin = match text_var(env, "ORIGIN") {
        Some(o) => upstream_origin(o.trim_end_matches('/').to_string()),
        None => handler_origin(demo_handler),
    };
    Ok(App {
        config,
        registry,
        secrets,
        service,
        responses: ResponseCache::new(stores, Rc::new(WorkersRuntime)),
        routes,
        origin,
        admin_token: EnvSecrets(env).secret("ADMIN_TOKEN").filter(|s| !s.is_empty()),
    })
}

/// The isolate's app, built on first use. A bad config is reported on every
/// request rather than half-working.
fn app(env: &Env) -> crate::Result<Rc<App>> {
    APP.with(|cell| {
        if let Some(a) = cell.borrow().as_ref() {
            return Ok(a.clone());
        }
        let a = Rc::new(build_app(env)?);
        *cell.borrow_mut() = Some(a.clone());
        Ok(a)
    })
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let app = match app(&env) {
        Ok(a) => a,
        Err(e) => return Response::error(format!("edgecache is misconfigured: {e}"), 500),
    };
    let path = req.path();
    if let Some(rest) = path.strip_prefix(ADMIN_PREFIX) {
        let rest = rest.to_string();
        return handle_admin(&app, req, &rest).await;
    }
    let plain = from_worker_request(&mut req).await?;
    let io = Io {
        origin: app.origin.clone(),
        spawn: spawner(Some(Rc::new(ctx))),
    };
    let response = match app.routes.find(&path) {
        Some(rule) if !rule.bypass => app.responses.handle(plain, &rule.policy, &io).await,
        Some(_) => app.responses.forward(plain, &io, BypassReason::Route).await,
        None => app.responses.forward(plain, &io, BypassReason::NoRoute).await,
    };
    to_worker_response(response)
}

async fn handle_admin(app: &App, mut req: Request, rest: &str) -> worker::Result<Response> {
    if let Some((content_type, body)) = admin::dashboard_asset(req.method().as_ref(), rest) {
        let headers = Headers::new();
        headers.set("content-type", content_type)?;
        for (k, v) in admin::DASHBOARD_HEADERS {
            headers.set(k, v)?;
        }
        return Ok(Response::ok(body)?.with_headers(headers));
    }
    let auth = req.headers().get("authorization")?;
    let reply =
        match admin::authorize(app.admin_token.as_deref(), auth.as_deref()) {
            Err(r) => r,
            Ok(()) => 'reply: {
                let url = req.url()?;
                let method = req.method().to_string();
                let content_type = req.headers().get("content-type")?;
                let declared = req.headers().get("content-length")?;
                if let Some(r) = admin::refuse_declared_body(declared.as_deref()) {
                    break 'reply r;
                }
                let body = match admin::checked_body(req.bytes().await.map_err(|e| e.to_string())) {
                    Ok(b) => b,
                    Err(r) => break 'reply r,
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
                    AdminRequest {
                        method: &method,
                        path: rest,
                        query: url.query(),
                        content_type: content_type.as_deref(),
                        authorization: auth.as_deref(),
                        body,
                        base_url: &base,
                    },
                )
                .await
            }
        };
    let headers = Headers::new();
    headers.set("content-type", reply.content_type)?;
    headers.set("cache-control", "no-store")?;
    headers.set("x-content-type-options", "nosniff")?;
    if let Some(k) = &reply.full_key {
        headers.set("x-edgecache-key", &admin::key_header_value(k))?;
    }
    Ok(Response::from_bytes(reply.body)?
        .with_status(reply.status)
        .with_headers(headers))
}
