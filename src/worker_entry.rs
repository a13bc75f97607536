//! The deployable Worker: a caching reverse proxy in front of `ORIGIN` (or
//! the built-in demo origin), and the admin API. Only the glue between
//! workers-rs types and the pure modules lives here.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{event, Context, Env, Fetch, Headers, Method, Request, RequestInit, Response};

use crate::admin::{self, AdminRequest, ADMIN_PREFIX};
use crate::clock::{Clock, SystemClock};
use crate::config::{CachesConfig, Secrets};
use crate::demo_origin;
use crate::http_entry::CachedResponse;
use crate::http_policy::{self, NOT_STORED};
use crate::service::{BackendRegistry, CacheService};
use crate::ttl::{Timeout, Ttl};
use crate::value::Value;

/// What one isolate keeps between requests.
struct App {
    service: CacheService,
    origin: Option<String>,
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
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.is_empty())
}

fn build_app(env: &Env) -> crate::Result<App> {
    let config = match text_var(env, "CACHES") {
        Some(json) => CachesConfig::parse(&json)?,
        None => CachesConfig::local_default(),
    };
    let service =
        CacheService::from_parsed(&config, &EnvSecrets(env), &BackendRegistry::default())?;
    Ok(App {
        service,
        origin: text_var(env, "ORIGIN").map(|o| o.trim_end_matches('/').to_string()),
        admin_token: EnvSecrets(env)
            .secret("ADMIN_TOKEN")
            .filter(|s| !s.is_empty()),
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
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let app = match app(&env) {
        Ok(a) => a,
        Err(e) => return Response::error(format!("edgecache is misconfigured: {e}"), 500),
    };
    let path = req.path();
    if let Some(rest) = path.strip_prefix(ADMIN_PREFIX) {
        let rest = rest.to_string();
        return handle_admin(&app, req, &rest).await;
    }
    proxy(&app, req).await
}

async fn handle_admin(app: &App, mut req: Request, rest: &str) -> worker::Result<Response> {
    let auth = req.headers().get("authorization")?;
    let reply = match admin::authorize(app.admin_token.as_deref(), auth.as_deref()) {
        Err(r) => r,
        Ok(()) => {
            let url = req.url()?;
            let method = req.method().to_string();
            let content_type = req.headers().get("content-type")?;
            let body = req.bytes().await.unwrap_or_default();
            admin::handle(
                &app.service,
                AdminRequest {
                    method: &method,
                    path: rest,
                    query: url.query(),
                    content_type: content_type.as_deref(),
                    authorization: auth.as_deref(),
                    body,
                },
            )
            .await
        }
    };
    let headers = Headers::new();
    headers.set("content-type", reply.content_type)?;
    headers.set("cache-control", "no-store")?;
    if let Some(k) = &reply.full_key {
        headers.set(
            "x-edgecache-key",
            &percent_encoding::utf8_percent_encode(k, percent_encoding::CONTROLS).to_string(),
        )?;
    }
    Ok(Response::from_bytes(reply.body)?
        .with_status(reply.status)
        .with_headers(headers))
}

/// The cache key of a request: method class and full URL.
fn request_key(url: &worker::Url) -> String {
    format!("GET {url}")
}

async fn proxy(app: &App, req: Request) -> worker::Result<Response> {
    let method = req.method().to_string();
    let url = req.url()?;
    if !http_policy::method_is_cacheable(&method) {
        return forward(app, &req, &url, "method").await;
    }
    let clock = SystemClock;
    let key = request_key(&url);
    // Fail open: a backend error is a miss.
    let cached = match app.service.get(&key, None, None).await {
        Ok(Some(Value::Bytes(raw))) => CachedResponse::decode(&raw).ok(),
        _ => None,
    };
    if let Some(entry) = cached {
        let now = clock.now_ms();
        let headers = Headers::new();
        for (k, v) in &entry.headers {
            headers.append(k, v)?;
        }
        headers.set("age", &entry.age_secs(now).to_string())?;
        headers.set(
            "cache-status",
            &http_policy::cache_status_hit(entry.ttl_left_secs(now)),
        )?;
        let body = if method.eq_ignore_ascii_case("HEAD") {
            Vec::new()
        } else {
            entry.body
        };
        return Ok(Response::from_bytes(body)?
            .with_status(entry.status)
            .with_headers(headers));
    }

    let (status, headers, body) = fetch_origin(app, &req, &url).await?;
    let cc = headers
        .iter()
        .find(|(k, _)| k == "cache-control")
        .map(|(_, v)| v.as_str());
    let has_cookie = headers.iter().any(|(k, _)| k == "set-cookie");
    let refusal = if method.eq_ignore_ascii_case("HEAD") {
        Some("head")
    } else {
        http_policy::refuse_to_store(status, cc, has_cookie)
    };
    let mut stored = false;
    if refusal.is_none() {
        let backend = app.service.backend(None).ok();
        let fresh_for_ms = match backend.map(|b| b.default_timeout()) {
            Some(Timeout::Seconds(s)) => Some((s * 1000.0) as u64),
            _ => None,
        };
        let entry = CachedResponse {
            status,
            headers: headers
                .iter()
                .filter(|(k, _)| !NOT_STORED.contains(&k.as_str()))
                .cloned()
                .collect(),
            stored_at_ms: clock.now_ms(),
            fresh_for_ms,
            body: body.clone(),
        };
        stored = app
            .service
            .set(&key, Value::Bytes(entry.encode()), Ttl::Default, None, None)
            .await
            .is_ok();
    }
    let out = Headers::new();
    for (k, v) in &headers {
        out.append(k, v)?;
    }
    out.set(
        "cache-status",
        &http_policy::cache_status_forward("miss", stored, refusal),
    )?;
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(out))
}

/// Sends the request on without caching.
async fn forward(
    app: &App,
    req: &Request,
    url: &worker::Url,
    why: &str,
) -> worker::Result<Response> {
    let (status, headers, body) = fetch_origin(app, req, url).await?;
    let out = Headers::new();
    for (k, v) in &headers {
        out.append(k, v)?;
    }
    out.set(
        "cache-status",
        &http_policy::cache_status_forward("bypass", false, Some(why)),
    )?;
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(out))
}

/// Status, headers (lower-case names) and body from the origin.
async fn fetch_origin(
    app: &App,
    req: &Request,
    url: &worker::Url,
) -> worker::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let Some(origin) = &app.origin else {
        let r = demo_origin::respond(url.path(), SystemClock.now_ms());
        let headers = r
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        return Ok((r.status, headers, r.body.into_bytes()));
    };
    let target = match url.query() {
        Some(q) => format!("{origin}{}?{q}", url.path()),
        None => format!("{origin}{}", url.path()),
    };
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        if k != "host" {
            headers.append(&k, &v)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(if req.method() == Method::Head {
        Method::Head
    } else {
        req.method()
    })
    .with_headers(headers);
    let mut resp = match Fetch::Request(Request::new_with_init(&target, &init)?)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return Ok((
                502,
                vec![("content-type".into(), "text/plain".into())],
                format!("origin unreachable: {e}").into_bytes(),
            ))
        }
    };
    let status = resp.status_code();
    let headers: Vec<(String, String)> = resp.headers().entries().collect();
    let body = resp.bytes().await.unwrap_or_default();
    Ok((status, headers, body))
}
