// What every runtime entry shares, bound to its initialised wasm module:
// the error class, createCacheService, withCache (a fetch handler wrapper)
// and the Hono middleware. The caching logic itself is the Rust engine.

/** A cache failure; `code` is stable (`invalid_key`, `not_found`, `backend`, …). */
export class CacheError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "CacheError";
    this.code = code;
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A Request as the engine's plain request object. */
async function plainRequest(request) {
  const method = request.method.toUpperCase();
  const body = method === "GET" || method === "HEAD" ? undefined : new Uint8Array(await request.clone().arrayBuffer());
  return { method, url: request.url, headers: [...request.headers], body };
}

/** A Response as the engine's plain response object. */
async function plainResponse(response) {
  return { status: response.status, headers: [...response.headers], body: new Uint8Array(await response.arrayBuffer()) };
}

function toResponse(out) {
  return new Response(NULL_BODY.has(out.status) ? null : out.body, { status: out.status, headers: out.headers });
}

function policyOf(options) {
  const { ttl, keyPrefix, version, backend, makeKey, staleWhileRevalidate, staleIfError, originTtl, maxEntryBytes, lockTimeoutMs, sortQuery } =
    options;
  return { ttl, keyPrefix, version, backend, makeKey, staleWhileRevalidate, staleIfError, originTtl, maxEntryBytes, lockTimeoutMs, sortQuery };
}

export function bind(glue) {
  glue.setErrorClass(CacheError);
  const { CacheService, ResponseCache } = glue;

  /**
   * Named backends from the same JSON config as the Worker's `CACHES`
   * (`default` required); `options.secrets` holds the secrets the config
   * names, `options.backends` custom kinds (`kind: (config) => object`).
   */
  function createCacheService(config = { default: { backend: "local" } }, options = {}) {
    return new CacheService(config, options);
  }

  // The service of a wrapper: given, made by a function of env (once), or a local default.
  function serviceFor(options) {
    let made;
    return (env) => {
      if (made) return made;
      const s = options.service;
      made = typeof s === "function" ? s(env) : s ?? createCacheService(options.caches, options);
      return made;
    };
  }

  /**
   * Ellar's `@Cache` for a `fetch(request, env, ctx)` handler: answers from the
   * cache or by calling `handler`, with Vary, Cache-Status, collapsing of
   * concurrent misses, stale-while-revalidate (through `ctx.waitUntil`),
   * stale-if-error and fail-open. Bodies are buffered whole.
   */
  function withCache(handler, options = {}) {
    const service = serviceFor(options);
    const policy = policyOf(options);
    let engine;
    return async function cached(request, env, ctx) {
      engine ??= new ResponseCache(service(env));
      const origin = async (r) => {
        const init = { method: r.method, headers: r.headers };
        if (r.body && r.body.length && r.method !== "GET" && r.method !== "HEAD") init.body = r.body;
        return plainResponse(await handler(new Request(r.url, init), env, ctx));
      };
      const waitUntil = ctx && typeof ctx.waitUntil === "function" ? (p) => ctx.waitUntil(p) : undefined;
      return toResponse(await engine.handle(await plainRequest(request), policy, origin, waitUntil));
    };
  }

  /**
   * Hono middleware, in place of `hono/cache`: `app.get("/items/*", cache({ ttl: 60 }))`.
   * The route's handlers run as the origin on a miss. A stale-while-revalidate
   * refresh cannot re-enter Hono's chain after the response, so here stale
   * entries are served and refreshed by the next request after they expire.
   */
  function cache(options = {}) {
    const service = serviceFor(options);
    const policy = { ...policyOf(options), staleWhileRevalidate: 0 };
    let engine;
    return async function edgecacheMiddleware(c, next) {
      engine ??= new ResponseCache(service(c.env));
      let ran = false;
      const origin = async () => {
        if (ran) throw new Error("the Hono chain already ran for this request");
        ran = true;
        await next();
        return plainResponse(c.res.clone());
      };
      let waitUntil;
      try {
        const ctx = c.executionCtx;
        if (ctx && typeof ctx.waitUntil === "function") waitUntil = (p) => ctx.waitUntil(p);
      } catch {
        // No execution context (Node, tests).
      }
      const out = await engine.handle(await plainRequest(c.req.raw), policy, origin, waitUntil);
      c.res = undefined;
      c.res = toResponse(out);
    };
  }

  return { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest: glue.selftest };
}
