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

/**
 * A Response as the engine's plain response object: the body as a stream
 * (`stream`) when `streaming`, else read whole (`body`).
 */
async function plainResponse(response, streaming) {
  const head = { status: response.status, headers: [...response.headers] };
  if (streaming && response.body && !NULL_BODY.has(response.status)) return { ...head, body: EMPTY, stream: response.body };
  return { ...head, body: new Uint8Array(await response.arrayBuffer()) };
}

const EMPTY = new Uint8Array(0);

function toResponse(out) {
  const body = NULL_BODY.has(out.status) ? null : (out.stream ?? out.body);
  return new Response(body, { status: out.status, headers: out.headers });
}

/**
 * The engine's tee (`ResponseCache.setBodyTee`): `source`'s chunks go on to
 * the returned stream as they arrive, and a copy is kept; the promise gives
 * the whole body after the last chunk, or null if it grew past `limit`
 * bytes or broke off (the client's stream then fails with the same error);
 * the stream ends when the engine calls `release` (after storing).
 * While the copy is kept the source is read as fast as it comes (so a body
 * is stored even if the client stops reading; at most `limit` bytes wait
 * for it); past `limit` the copy is dropped and the source is read only as
 * fast as the client reads.
 */
function teeBody(source, limit) {
  const reader = source.getReader();
  let copy = [];
  let size = 0;
  let whole;
  const done = new Promise((resolve) => (whole = resolve));
  let client;
  let wake;
  let gone = false;
  let release;
  const released = new Promise((resolve) => (release = resolve));
  const out = new ReadableStream({
    start(c) {
      client = c;
    },
    pull() {
      wake?.();
    },
    cancel(reason) {
      gone = true;
      wake?.();
      if (!copy) reader.cancel(reason).catch(() => {});
    },
  });
  const pump = async () => {
    try {
      for (;;) {
        if (!copy && !gone && client.desiredSize <= 0) await new Promise((r) => (wake = r));
        wake = undefined;
        if (!copy && gone) {
          await reader.cancel();
          return;
        }
        const { done: end, value } = await reader.read();
        if (end) break;
        const chunk = value instanceof Uint8Array ? value : new Uint8Array(value);
        if (copy) {
          size += chunk.byteLength;
          if (size > limit) {
            copy = null;
            whole(null);
          } else copy.push(chunk);
        }
        if (!gone) client.enqueue(chunk);
      }
      if (copy) {
        // The end waits for the engine's store, so that a client that has
        // read it all finds the entry stored.
        whole(concat(copy, size));
        copy = null;
        await released;
      }
      if (!gone) client.close();
    } catch (e) {
      if (!gone) client.error(e);
      whole(null);
    }
  };
  pump();
  return [out, done, () => release()];
}

function concat(chunks, size) {
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

/** A response cache over `service` whose origins may stream. */
function streamingEngine(ResponseCache, service) {
  const engine = new ResponseCache(service);
  engine.setBodyTee(teeBody);
  return engine;
}

/** The options of `withCache` and the Hono middleware that are the engine's `CachePolicy`. */
const POLICY_KEYS = [
  "ttl",
  "keyPrefix",
  "version",
  "backend",
  "makeKey",
  "staleWhileRevalidate",
  "staleIfError",
  "originTtl",
  "heuristicMax",
  "keep",
  "honorRequestDirectives",
  "maxEntryBytes",
  "lockTimeoutMs",
  "sortQuery",
  "tagHeaders",
  "exposeTags",
];

function policyOf(options) {
  return Object.fromEntries(POLICY_KEYS.map((k) => [k, options[k]]));
}

/**
 * A 32-bit hash of a key's text (two UTF-16 units per step), for the
 * policy in wasm: entry ids are reused, key texts are not (see
 * src/platform/js/local.rs). Used for keys too long for the store's key
 * buffer (shorter ones are hashed there, from their UTF-8). Each step is a
 * bijection of the state, so keys that differ in one pair of units never
 * collide; the store spreads it.
 */
function textHash(s) {
  const n = s.length;
  let h = n ^ 0x811c9dc5;
  let i = 0;
  for (; i + 1 < n; i += 2) h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), 0x9e3779b1);
  if (i < n) h = Math.imul(h ^ s.charCodeAt(i), 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

const ENCODER = new TextEncoder();

/** A value's size for `maxBytes` when no `sizeOf` is given: exact for strings and bytes, a flat 64 otherwise. */
function defaultSizeOf(value) {
  if (typeof value === "string") return 2 * value.length;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return value.byteLength;
  return 64;
}

/**
 * The API over an initialised wasm module; `host` holds what the runtime
 * adds (`connect` from `cloudflare:sockets` in workerd, for memcached over TCP).
 */
export function bind(glue, wasm, host = {}) {
  glue.setErrorClass(CacheError);
  const { KeyIn } = glue;

  /**
   * A synchronous in-memory cache for hot paths: lookups in a JS `Map`,
   * values held by reference (a hit returns the very object stored), and
   * what to keep decided by the `local` backend's W-TinyLFU policy in wasm,
   * fed with a log of hits (see src/platform/js/local.rs). Separate from a
   * CacheService's backends, which store serialised values so that every
   * backend behaves alike.
   */
  class LocalCache {
    #store;
    #map = new Map(); // key -> id
    #keys = []; // id -> key
    #values = []; // id -> value
    #expires = []; // id -> ms (Infinity = never)
    #free = [];
    #next = 0;
    // id -> 1 while the policy has the entry marked by a hit (or a hit of it
    // waits in the log): its hits change nothing there and are not logged.
    // The store hands back the ids whose marks it clears (#unmarks).
    #marks = new Uint8Array(64);
    // Views of the store's buffers in wasm memory (remade when it grows:
    // #views): the access log, dropped ids, unmarked ids, the key buffer.
    #log;
    #dropped;
    #unmarked;
    #ptrs;
    #keyBuf;
    #logSize;
    #droppedSize;
    #unmarkedSize;
    #keyBufSize;
    #n = 0;
    #ttlMs;
    #sizeOf;
    #hits = 0;
    #misses = 0;
    // Whether any entry was ever given a deadline: until then no read needs
    // the clock or the deadlines (see #now).
    #timed = false;
    // The key of the last `get` that missed, until the next `set`: it is
    // absent, so the `set` that usually follows need not look it up.
    #missed;

    /** `{ maxEntries = 100000, maxBytes = 32 MiB, ttl = 300 (seconds; null = never), sizeOf(value) }` */
    constructor({ maxEntries = 100_000, maxBytes = 32 << 20, ttl = 300, sizeOf = defaultSizeOf } = {}) {
      const store = (this.#store = new glue.LocalStore(maxEntries, maxBytes));
      this.#ptrs = [store.logBuffer(), store.droppedBuffer(), store.unmarkedBuffer(), store.keyBuffer()];
      [this.#logSize, this.#droppedSize, this.#unmarkedSize, this.#keyBufSize] = store.bufferSizes();
      this.#views();
      this.#ttlMs = ttlMs(ttl);
      this.#sizeOf = sizeOf;
    }

    /** The value, or `undefined`. */
    get(key) {
      const id = this.#map.get(key);
      if (id === undefined) {
        this.#misses++;
        this.#missed = key;
        return undefined;
      }
      if (this.#timed) {
        const e = this.#expires[id];
        if (e !== Infinity && e <= Date.now()) {
          this.#misses++;
          this.#drop(this.#store.remove(id, Date.now()));
          this.#missed = key;
          return undefined;
        }
      }
      this.#hits++;
      if (this.#marks[id] === 0) this.#logHit(id);
      return this.#values[id];
    }

    /** Whether a live value is there (not counted as a use). */
    has(key) {
      const id = this.#map.get(key);
      if (id === undefined) return false;
      if (!this.#timed) return true;
      const e = this.#expires[id];
      return e === Infinity || e > Date.now();
    }

    /** Stores `value` for `ttl` seconds (default the cache's; null = never); false if it can never fit. */
    set(key, value, options) {
      if (typeof key !== "string") throw new CacheError(`keys are strings, got ${typeof key}`, "invalid_key");
      if (value === undefined) throw new CacheError("undefined is not a cacheable value (use null)", "invalid_value");
      const ms = options === undefined || options.ttl === undefined ? this.#ttlMs : ttlMs(options.ttl);
      // A write after a `get` that missed this key skips the lookup.
      let id = key === this.#missed ? undefined : this.#map.get(key);
      this.#missed = undefined;
      const fresh = id === undefined;
      if (fresh) {
        id = this.#free.length ? this.#free.pop() : this.#next++;
        if (id >= this.#marks.length) this.#growMarks(id);
      }
      if (ms !== Infinity) this.#timed = true;
      const now = this.#now();
      // (The logged hits are replayed by the same call.)
      const logged = this.#n;
      this.#n = 0;
      // A new key's text hash is the store's string hash of its UTF-8,
      // written into wasm memory (on V8 `encodeInto` reads a concatenated
      // string faster than `charCodeAt` does); a key too long for the
      // buffer is hashed here.
      let named = KeyIn.Held;
      let encoded = 0;
      let hash = 0;
      if (fresh) {
        if (this.#keyBuf.length === 0) this.#views();
        const { read, written } = ENCODER.encodeInto(key, this.#keyBuf);
        if (read === key.length) {
          named = KeyIn.Buffer;
          encoded = written;
        } else {
          named = KeyIn.Hash;
          hash = textHash(key);
        }
      }
      const dropped = this.#store.set(id, named, encoded, hash, 2 * key.length + this.#sizeOf(value), now + ms, now, logged);
      if (dropped < 0) {
        if (fresh) this.#free.push(id);
        return false;
      }
      if (fresh) {
        this.#map.set(key, id);
        this.#keys[id] = key;
        this.#marks[id] = 0;
      }
      this.#values[id] = value;
      this.#expires[id] = now + ms;
      this.#drop(dropped);
      // A zero ttl: the store handed the id straight back.
      return this.#keys[id] === key;
    }

    /** Removes the key; true if it was live. */
    delete(key) {
      const id = this.#map.get(key);
      if (id === undefined) return false;
      const live = this.has(key);
      this.#drop(this.#store.remove(id, this.#now()));
      return live;
    }

    /** Removes everything. */
    clear() {
      this.#store.clear();
      this.#map.clear();
      this.#keys = [];
      this.#values = [];
      this.#expires = [];
      this.#free = [];
      this.#next = 0;
      this.#n = 0;
      this.#marks.fill(0);
    }

    /** Entries held. */
    get size() {
      return this.#map.size;
    }

    /** Hits, misses, inserts, evictions, … */
    stats() {
      return { hits: this.#hits, misses: this.#misses, ...this.#store.stats() };
    }

    // The time the store is passed: 0 until some entry has a deadline (only
    // deadlines read it), so untimed caches never read the clock.
    #now() {
      return this.#timed ? Date.now() : 0;
    }

    // Logs a hit of entry `id`, which the policy has not marked yet.
    #logHit(id) {
      this.#marks[id] = 1;
      if (this.#log.length === 0) this.#views();
      this.#log[this.#n++] = id;
      if (this.#n === this.#logSize) this.#flush();
    }

    // Replays the logged hits into the policy.
    #flush() {
      if (this.#n === 0) return;
      const n = this.#n;
      this.#n = 0;
      this.#drop(this.#store.record(n, this.#now()));
    }

    // (Re)makes the views of the store's buffers (wasm memory grew).
    #views() {
      const b = wasm.memory.buffer;
      this.#log = new Uint32Array(b, this.#ptrs[0], this.#logSize);
      this.#dropped = new Uint32Array(b, this.#ptrs[1], this.#droppedSize);
      this.#unmarked = new Uint32Array(b, this.#ptrs[2], this.#unmarkedSize);
      this.#keyBuf = new Uint8Array(b, this.#ptrs[3], this.#keyBufSize);
    }

    // Forgets the marks the store cleared during its last call (a count,
    // then the ids; all marks if there were too many to hand back).
    #unmarks() {
      if (this.#unmarked.length === 0) this.#views();
      const u = this.#unmarked;
      const n = u[0];
      if (n === 0) return;
      if (n === 0xffffffff) {
        this.#marks.fill(0);
        return;
      }
      for (let i = 1; i <= n; i++) this.#marks[u[i]] = 0;
    }

    #growMarks(id) {
      const marks = new Uint8Array(Math.max(2 * this.#marks.length, id + 1));
      marks.set(this.#marks);
      this.#marks = marks;
    }

    // What a store call that succeeded handed back: the marks it cleared,
    // then the entries it dropped (`n` ids in its buffer, maybe more), which
    // are forgotten. (A write that can never fit clears no mark: only its
    // replay of logged hits ran.)
    #drop(n) {
      this.#unmarks();
      while (n > 0) {
        if (this.#dropped.length === 0) this.#views();
        const ids = this.#dropped;
        for (let i = 0; i < n; i++) {
          const id = ids[i];
          this.#map.delete(this.#keys[id]);
          this.#keys[id] = undefined;
          this.#values[id] = undefined;
          this.#free.push(id);
        }
        n = n === this.#droppedSize ? this.#store.drain() : 0;
      }
    }
  }

  const { CacheService, ResponseCache } = glue;

  /**
   * Named backends from the same JSON config as the Worker's `CACHES`
   * (`default` required); `options.secrets` holds the secrets the config
   * names, `options.backends` custom kinds (`kind: (config) => object`).
   */
  function createCacheService(config = { default: { backend: "local" } }, options = {}) {
    return new CacheService(config, { ...host, ...options });
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
   * stale-if-error and fail-open. A GET's body streams to the client and is
   * stored after its last byte if it fits `maxEntryBytes`.
   */
  function withCache(handler, options = {}) {
    const service = serviceFor(options);
    const policy = policyOf(options);
    let engine;
    const engineFor = (env) => {
      if (!engine) {
        engine = streamingEngine(ResponseCache, service(env));
        if (options.purgeLog) engine.setPurgeLog(options.purgeLog, options.purgeSyncMs);
      }
      return engine;
    };
    async function cached(request, env, ctx) {
      engineFor(env);
      // The first answer to a GET streams to the client; HEAD's, and a
      // background refresh's (which no client reads), are read whole.
      let streaming = request.method.toUpperCase() === "GET";
      const origin = async (r) => {
        const init = { method: r.method, headers: r.headers };
        if (r.body && r.body.length && r.method !== "GET" && r.method !== "HEAD") init.body = r.body;
        const stream = streaming;
        streaming = false;
        return plainResponse(await handler(new Request(r.url, init), env, ctx), stream);
      };
      // The engine hands background work here before it starts.
      const waitUntil = (p) => {
        streaming = false;
        if (ctx && typeof ctx.waitUntil === "function") ctx.waitUntil(p);
      };
      return toResponse(await engine.handle(await plainRequest(request), policy, origin, waitUntil));
    }
    /** Invalidates `{ url | prefix | keyPrefix | tag | all, soft }` (through `purgeLog` when given). */
    cached.purge = (spec, env) => engineFor(env).purge(spec, policy);
    return cached;
  }

  /**
   * Hono middleware, in place of `hono/cache`: `app.get("/items/*", cache({ ttl: 60 }))`.
   * The route's handlers run as the origin on a miss. Hono's chain runs once
   * per request, so a later call to the origin (a stale-while-revalidate
   * refresh after the response, a refetch after a 304 for another
   * representation) sends a new request through `options.app.fetch`, marked
   * so that this middleware runs the route instead of looking it up.
   */
  function cache(options = {}) {
    const service = serviceFor(options);
    const policy = policyOf(options);
    const app = options.app;
    if (app !== undefined && typeof app?.fetch !== "function") {
      throw new CacheError("app must be the Hono app (an object with fetch(request, env, ctx))", "config");
    }
    if (policy.staleWhileRevalidate && !app) {
      throw new CacheError("staleWhileRevalidate in the Hono middleware needs `app` (the Hono app, to run the route again for the refresh)", "config");
    }
    // The requests this middleware sent through `app.fetch` as its origin:
    // objects only it holds, so a client cannot ask for a pass-through.
    const own = new WeakSet();
    let engine;
    return async function edgecacheMiddleware(c, next) {
      if (own.has(c.req.raw)) {
        await next();
        return;
      }
      engine ??= streamingEngine(ResponseCache, service(c.env));
      let ctx;
      try {
        ctx = c.executionCtx;
      } catch {
        // No execution context (Node, tests).
      }
      let chain = "unused";
      const streaming = c.req.raw.method.toUpperCase() === "GET";
      const origin = async (r) => {
        if (chain === "unused") {
          chain = "used";
          await next();
          // (c.res is replaced by the engine's answer below.)
          return plainResponse(c.res, streaming);
        }
        if (!app) throw new Error("the Hono chain already ran for this request (give the middleware `app` to run it again)");
        const again = new Request(r.url, { method: r.method, headers: r.headers });
        own.add(again);
        return plainResponse(await app.fetch(again, c.env, ctx), false);
      };
      // The engine hands background work here before it starts: from then
      // on, a call to the origin is a refresh, after this request's chain.
      const waitUntil = (p) => {
        if (chain === "unused") chain = "done";
        if (ctx && typeof ctx.waitUntil === "function") ctx.waitUntil(p);
      };
      let out;
      try {
        out = await engine.handle(await plainRequest(c.req.raw), policy, origin, waitUntil);
      } finally {
        // After the response the chain cannot run (Hono has finished it).
        chain = "done";
      }
      c.res = undefined;
      c.res = toResponse(out);
    };
  }

  return { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest: (name, config, options = {}) => glue.selftest(name, config, { ...host, ...options }), LocalCache };
}
