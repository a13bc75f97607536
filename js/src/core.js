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

/** Seconds (null = never) as ms to add to now (Infinity = never). */
function ttlMs(ttl) {
  if (ttl === null) return Infinity;
  if (typeof ttl !== "number" || !Number.isFinite(ttl)) throw new CacheError("ttl must be seconds or null (never)", "invalid_ttl");
  return Math.ceil(ttl * 1000);
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

const encoder = new TextEncoder();

/** A value's size for `maxBytes` when no `sizeOf` is given: exact for strings and bytes, a flat 64 otherwise. */
function defaultSizeOf(value) {
  if (typeof value === "string") return 2 * value.length;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return value.byteLength;
  return 64;
}

export function bind(glue, wasm) {
  glue.setErrorClass(CacheError);

  /**
   * A synchronous in-memory cache for hot paths (the `local` backend's
   * W-TinyLFU store keeps keys and policy; the values stay in a JS array),
   * holding JS values by reference: a hit returns the very object stored. Separate from a CacheService's backends, which
   * store serialised values so that every backend behaves alike.
   */
  // The values of every LocalCache, by the slot the store gives each entry.
  const values = [];

  class LocalCache {
    #store;
    #ptr;
    #cap;
    #view;
    #ttlMs;
    #sizeOf;

    /** `{ maxEntries = 100000, maxBytes = 32 MiB, ttl = 300 (seconds; null = never), sizeOf }` */
    constructor({ maxEntries = 100_000, maxBytes = 32 << 20, ttl = 300, sizeOf = defaultSizeOf } = {}) {
      this.#store = new glue.LocalStore(maxEntries, maxBytes);
      this.#ptr = this.#store.keyBuffer();
      this.#cap = this.#store.keyBufferSize();
      this.#view = new Uint8Array(wasm.memory.buffer, this.#ptr, this.#cap);
      this.#ttlMs = ttlMs(ttl);
      this.#sizeOf = sizeOf;
    }

    // Writes `key` into the store's buffer; its length in bytes.
    #key(key) {
      if (typeof key !== "string") throw new CacheError(`keys are strings, got ${typeof key}`, "invalid_key");
      let view = this.#view;
      if (view.byteLength === 0) view = this.#view = new Uint8Array(wasm.memory.buffer, this.#ptr, this.#cap);
      const n = key.length;
      let i = 0;
      if (n <= this.#cap) {
        for (; i < n; i++) {
          const c = key.charCodeAt(i);
          if (c > 0x7f) break;
          view[i] = c;
        }
        if (i === n) return n;
      }
      const { read, written } = encoder.encodeInto(key.slice(i), view.subarray(i));
      if (i + read !== n) throw new CacheError(`key longer than ${this.#cap} bytes`, "invalid_key");
      return i + written;
    }

    /** The value, or `undefined`. */
    get(key) {
      const slot = this.#store.get(this.#key(key), Date.now());
      return slot < 0 ? undefined : values[slot];
    }

    /** Whether a live value is there (not counted as a use). */
    has(key) {
      return this.#store.has(this.#key(key), Date.now());
    }

    /** Stores `value` for `ttl` seconds (default the cache's; null = never); false if it can never fit. */
    set(key, value, options) {
      if (value === undefined) throw new CacheError("undefined is not a cacheable value (use null)", "invalid_value");
      const ms = options === undefined || options.ttl === undefined ? this.#ttlMs : ttlMs(options.ttl);
      const now = Date.now();
      const slot = this.#store.set(this.#key(key), this.#sizeOf(value), now + ms, now);
      if (slot < 0) return false;
      values[slot] = value;
      return true;
    }

    /** Removes the key; true if it was live. */
    delete(key) {
      const slot = this.#store.delete(this.#key(key), Date.now());
      if (slot < 0) return false;
      values[slot] = undefined;
      return true;
    }

    /** Removes everything. */
    clear() {
      this.#store.clear();
    }

    /** Entries held. */
    get size() {
      return this.#store.size;
    }

    /** Hits, misses, inserts, evictions, … */
    stats() {
      return this.#store.stats();
    }
  }

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

  return { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest: glue.selftest, LocalCache };
}
