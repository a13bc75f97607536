// Types of the `edgecache` package (every runtime entry exports the same
// API: Node, workerd / wrangler, browsers). Hand-written to match
// src/platform/js/ (the wasm-bindgen classes) and js/src/core.js; the
// package's tests run `tsc` on js/examples/ against them.

// ---------------------------------------------------------------- values

/** A value of JSON. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What can be stored: anything `JSON.stringify` turns into JSON (objects,
 * arrays, strings, numbers, booleans, `null`), `Uint8Array` or
 * `ArrayBuffer` as bytes, and a top-level `bigint` for integers past 2^53.
 * Not `undefined` (use `null`), functions or symbols; a `bigint` inside an
 * object or array is refused (`invalid_value`).
 */
export type CacheInput = string | number | boolean | null | bigint | Uint8Array | ArrayBuffer | object;

/**
 * What a read gives back: JSON as parsed, bytes as a `Uint8Array` (also
 * when an `ArrayBuffer` was stored), an integer past 2^53 as a `bigint`.
 */
export type CacheValue = JsonValue | Uint8Array | bigint;

/** `V`, unless it is a function (functions have no JSON form). */
export type NotFunction<V> = V extends (...args: never[]) => unknown ? never : V;

// ---------------------------------------------------------------- errors

/**
 * The stable `code` of a {@link CacheError}: the kinds of the Rust
 * `CacheError` plus the JS boundary's own checks.
 */
export type CacheErrorCode =
  | "invalid_key"
  | "value_too_large"
  | "invalid_ttl"
  | "not_found"
  | "not_an_integer"
  | "overflow"
  | "unknown_backend"
  | "config"
  | "corrupt"
  | "backend"
  | "unsupported"
  | "invalid_value"
  | "invalid_version"
  | "invalid_request";

/** Every failure of the package: an `Error` with a stable `code`. */
export declare class CacheError extends Error {
  constructor(message: string, code: CacheErrorCode);
  readonly name: "CacheError";
  readonly code: CacheErrorCode;
}

// ---------------------------------------------------------------- config

/** Backend kinds built in (custom kinds are registered through `backends`). */
export type BuiltinBackendKind = "local" | "tiered" | "redis" | "memcached";

/**
 * One named backend, the same JSON as an entry of the Worker's `CACHES`.
 * Secrets are never inlined: options ending in `_secret` (e.g.
 * `token_secret`) name an entry of {@link ServiceOptions.secrets}.
 */
export interface BackendConfig {
  /** `local`, `tiered`, `redis`, `memcached` (HTTP gateway only from JS) or a custom kind. */
  backend: BuiltinBackendKind | (string & {});
  /** Default lifetime in seconds (300 when absent; `null` = never expire). */
  ttl?: number | null;
  /** Start of every stored key (`prefix:version:key`). */
  key_prefix?: string;
  /** Default key version (1 when absent). */
  version?: number;
  /** The kind's own options (e.g. redis `{ url, token_secret }`). */
  options?: { [option: string]: JsonValue };
}

/** Named backends; `default` is required. */
export interface CachesConfig {
  default: BackendConfig;
  [name: string]: BackendConfig;
}

/** What a custom backend's factory is given: the backend's config entry. */
export interface CustomBackendConfig {
  /** The backend's name in the config. */
  name: string;
  /** Its `key_prefix` ("" when absent); the keys it sees already start with it. */
  keyPrefix: string;
  /** Its default version. */
  version: number;
  /** Its `options` object ({} when absent). */
  options: { [option: string]: JsonValue };
}

/** A value or a Promise of it (a real `Promise`; other thenables are not awaited). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A backend written in JS. Keys are full keys (`prefix:version:key`, as
 * Ellar's backends see them); `ttl` is seconds from now (fractions
 * allowed) or `null` for never; a zero or negative TTL never reaches the
 * object (it becomes a `delete`). Values arrive as {@link CacheValue}s and
 * may be returned as they were stored.
 *
 * `incr` must throw a {@link CacheError} (or any error with a `code`) of
 * code `not_found`, `not_an_integer` or `overflow` (past the 64-bit signed
 * range) as the case may be; any other throw becomes a `backend` error.
 * `clear` removes every key under the backend's `keyPrefix`.
 */
export interface CustomBackend {
  /** The value, or `undefined` when missing or expired. */
  get(key: string): MaybePromise<CacheValue | undefined>;
  set(key: string, value: CacheValue, ttl: number | null): MaybePromise<unknown>;
  /** Writes only when absent (or expired); whether it wrote. */
  add(key: string, value: CacheValue, ttl: number | null): MaybePromise<boolean>;
  /** Whether a live key was removed. */
  delete(key: string): MaybePromise<boolean>;
  /** Sets a new lifetime; whether a live key was there. */
  touch(key: string, ttl: number | null): MaybePromise<boolean>;
  /** Adds `delta` (a `bigint` past 2^53) and returns the new integer (a `bigint` past 2^53). */
  incr(key: string, delta: number | bigint): MaybePromise<number | bigint>;
  clear(): MaybePromise<unknown>;
}

/** Makes a custom backend from its config entry (called once per backend built). */
export type CustomBackendFactory = (config: CustomBackendConfig) => CustomBackend;

/** The second argument of `createCacheService` / `new CacheService`. */
export interface ServiceOptions {
  /** Secrets the config names (`token_secret: "REDIS_TOKEN"` → `{ REDIS_TOKEN: "…" }`); never read from globals. */
  secrets?: { [name: string]: string };
  /** Custom backend kinds: `{ mykind: (config) => backendObject }`, used as `{ backend: "mykind" }`. */
  backends?: { [kind: string]: CustomBackendFactory };
  /**
   * Opens a TCP socket (the signature of `connect` from `cloudflare:sockets`), for memcached
   * over TCP. The workerd entry passes it already; Node and browsers have none.
   */
  connect?: (address: { hostname: string; port: number }) => unknown;
}

// ---------------------------------------------------------------- the service

/** Which backend and key version a call uses. */
export interface KeyOptions {
  /** Version of the key (default: the backend's). */
  version?: number;
  /** A backend name of the config (default `"default"`). */
  backend?: string;
}

/** `KeyOptions` plus the lifetime of what is written. */
export interface CacheOptions extends KeyOptions {
  /** Seconds (fractions allowed; 0 or less deletes), `null` = never expire; absent = the backend's `ttl`. */
  ttl?: number | null;
}

/** Which backend `clear` empties (every version under its prefix). */
export interface ClearOptions {
  backend?: string;
}

/** A backend's counters (`kind` plus backend-specific numbers such as `hits`, `misses`, `entries`). */
export interface BackendStats {
  kind: string;
  [counter: string]: JsonValue;
}

/**
 * Named cache backends, one of them `default`, with Ellar's methods.
 * The cache operations return Promises (a miss is `undefined`); `makeKey`,
 * `backends` and `stats` answer at once.
 */
export declare class CacheService {
  constructor(config: CachesConfig | string, options?: ServiceOptions);
  /** The value, or `undefined` on a miss. */
  get<T = CacheValue>(key: string, options?: KeyOptions): Promise<T | undefined>;
  /** Writes `value` for `ttl` seconds (default the backend's; `null` = never). */
  set<V extends CacheInput>(key: string, value: NotFunction<V>, options?: CacheOptions): Promise<void>;
  /** Writes only if absent; whether it wrote. */
  add<V extends CacheInput>(key: string, value: NotFunction<V>, options?: CacheOptions): Promise<boolean>;
  /** Whether the key existed. */
  delete(key: string, options?: KeyOptions): Promise<boolean>;
  /** Whether a live value is there. */
  hasKey(key: string, options?: KeyOptions): Promise<boolean>;
  /** Sets a new lifetime (`ttl`); whether the key existed. */
  touch(key: string, options?: CacheOptions): Promise<boolean>;
  /** Adds `delta` (default 1) to an integer; the new value (a `bigint` past 2^53). */
  incr(key: string, delta?: number | bigint, options?: KeyOptions): Promise<number | bigint>;
  /** Subtracts `delta` (default 1); the new value (a `bigint` past 2^53). */
  decr(key: string, delta?: number | bigint, options?: KeyOptions): Promise<number | bigint>;
  /** `{ key: value }` of the keys present. */
  getMany<T = CacheValue>(keys: readonly string[], options?: KeyOptions): Promise<{ [key: string]: T }>;
  /** Writes every `{ key: value }`; resolves to the keys that could not be written. */
  setMany(items: { readonly [key: string]: CacheInput }, options?: CacheOptions): Promise<string[]>;
  /** Deletes every key; resolves to how many existed. */
  deleteMany(keys: readonly string[], options?: KeyOptions): Promise<number>;
  /** Removes every key under the backend's prefix (all versions). */
  clear(options?: ClearOptions): Promise<void>;
  /** The value, or `loader()`'s (awaited) result, stored for `ttl`. */
  getOrSet<V extends CacheInput>(key: string, loader: () => MaybePromise<NotFunction<V>>, options?: CacheOptions): Promise<V>;
  /** The full key as stored (`prefix:version:key`). */
  makeKey(key: string, options?: KeyOptions): string;
  /** Backend names, sorted. */
  backends(): string[];
  /** Backend names (the same as `backends()`). */
  backendNames(): string[];
  /** A backend's counters (default `"default"`). */
  stats(backend?: string): BackendStats;
  /** Frees the wasm side (the service is unusable afterwards). */
  free(): void;
}

/**
 * Named backends from the same JSON config as the Worker's `CACHES`
 * (default: one `local` backend named `default`).
 */
export declare function createCacheService(config?: CachesConfig | string, options?: ServiceOptions): CacheService;

// ---------------------------------------------------------------- the response cache

/** A request as the engine sees it (header names lower-case). */
export interface PlainRequest {
  method: string;
  url: string;
  headers: [name: string, value: string][];
  body?: Uint8Array;
}

/** A response as the engine sees it: a whole `body`, or a `stream` (then `body` is empty). */
export interface PlainResponse {
  status: number;
  headers: [name: string, value: string][];
  body: Uint8Array;
  /** The body as a stream: passed on (and, with `setBodyTee`, stored after its last byte). */
  stream?: ReadableStream<Uint8Array>;
}

/** How responses are cached (the Rust `CachePolicy`). */
export interface ResponsePolicy {
  /** Freshness lifetime in seconds (default the backend's `ttl`; `null` = never expire). */
  ttl?: number | null;
  /** Part of every response key (default ""). */
  keyPrefix?: string;
  /** Key version passed to the backend (default the backend's); bump it to drop every cached response at once. */
  version?: number;
  /** The backend the responses go to (default `"default"`). */
  backend?: string;
  /** Replaces the default key of a request. */
  makeKey?: (request: PlainRequest, prefix: string) => string;
  /** Seconds a stale response is served while it is refreshed in the background (default 0). */
  staleWhileRevalidate?: number;
  /** Seconds a stale response may be served when the origin fails (default 0). */
  staleIfError?: number;
  /**
   * RFC 9111 mode: the origin's `s-maxage` / `max-age` / `Expires` (and stale directives) decide, then
   * heuristic freshness from `Last-Modified`, then `ttl` (default false: Ellar's mode, `ttl` wins).
   */
  originTtl?: boolean;
  /** Cap of heuristic freshness in seconds, with `originTtl` (default 86400; 0 = none). */
  heuristicMax?: number;
  /** Seconds a stale response with an `ETag`/`Last-Modified` is kept to be revalidated with a 304 (default 600). */
  keep?: number;
  /** Honour a request's `max-age`, `min-fresh`, `max-stale` (default false; `only-if-cached` always is). */
  honorRequestDirectives?: boolean;
  /** Largest body stored (default 4 MiB); larger responses are served but not stored. */
  maxEntryBytes?: number;
  /** How long a collapsed request waits for the one in flight, in ms (default 5000). */
  lockTimeoutMs?: number;
  /** Sort query parameters in the default key (default false). */
  sortQuery?: boolean;
  /** Response headers read for cache tags (default ["cache-tag", "surrogate-key"]). */
  tagHeaders?: string[];
  /** Keep the tag headers in responses to clients (default false: stripped). */
  exposeTags?: boolean;
}

/** What a purge invalidates; `soft` marks stale (served under stale-while-revalidate/stale-if-error while one request refreshes) instead of gone. */
export type PurgeSpec = ({ url: string } | { prefix: string } | { keyPrefix: string } | { tag: string } | { all: true }) & { soft?: boolean };

/** One purge as a log stores it. */
export interface PurgeRecord {
  scope: "all" | { url: string } | { url_prefix: string } | { key_prefix: string } | { tag: string };
  soft: boolean;
}

/**
 * A purge log shared by isolates (e.g. backed by a Durable Object): `append`
 * numbers a purge (above every earlier one and at least `Date.now()`), `since`
 * returns `{ head, marks: [[scope, { hard, soft }]] }`: for each scope, the
 * sequence of its last hard and soft purge, for every scope whose last purge is after `cursor`.
 */
export interface PurgeLog {
  append(purge: PurgeRecord): MaybePromise<number>;
  since(cursor: number): MaybePromise<{ head: number; marks: [PurgeRecord["scope"], { hard?: number; soft?: number }][] }>;
}

/** Counters of a response cache. */
export interface ResponseCacheStats {
  [counter: string]: JsonValue;
}

/** The Rust response cache engine over a service's backends (what `withCache` drives). */
export declare class ResponseCache {
  constructor(service: CacheService);
  /**
   * Answers `request` from the cache or through `origin(request)`.
   * `waitUntil` keeps background refreshes (stale-while-revalidate) alive.
   */
  handle(
    request: PlainRequest,
    policy: ResponsePolicy,
    origin: (request: PlainRequest) => MaybePromise<PlainResponse>,
    waitUntil?: (promise: Promise<unknown>) => void,
  ): Promise<PlainResponse>;
  stats(): ResponseCacheStats;
  /**
   * Stores streamed bodies: `tee(stream, limit)` returns the stream to send
   * in place of `stream`, a promise of the whole body (`null` past `limit`
   * bytes or broken off), and `release`, which the engine calls once the
   * body is stored (or will not be). `withCache` sets the package's own.
   */
  setBodyTee(
    tee: (stream: ReadableStream<Uint8Array>, limit: number) => [ReadableStream<Uint8Array>, Promise<Uint8Array | null>, () => void],
  ): void;
  /** Shares invalidation through `log`, syncing at most every `syncMs` (default 1000) before a lookup. */
  setPurgeLog(log: PurgeLog, syncMs?: number): void;
  /** Invalidates entries cached with `policy`; resolves to the purge's sequence. Without a log it reaches this instance only. */
  purge(spec: PurgeSpec, policy?: ResponsePolicy): Promise<number>;
  free(): void;
}

/** What `ctx` must offer for stale-while-revalidate (a Workers `ExecutionContext` does). */
export interface WaitUntilContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** Where the cached responses are stored: a service, one made from `env`, or one made from `caches`. */
export interface ServiceChoice<Env> extends ServiceOptions {
  /** The service to use, or a function making it from `env` (called once). */
  service?: CacheService | ((env: Env) => CacheService);
  /** Without `service`: the config of the service made for this wrapper (default: one local backend). */
  caches?: CachesConfig | string;
}

/** `withCache`'s options: the response policy and where it stores. */
export interface WithCacheOptions<Env = unknown> extends ResponsePolicy, ServiceChoice<Env> {
  /** Share purges between isolates through this log (default: none, a purge reaches this wrapper only). */
  purgeLog?: PurgeLog;
  /** How often to sync with `purgeLog`, in ms (default 1000). */
  purgeSyncMs?: number;
}

/** A `fetch(request, env, ctx)` handler. */
export type FetchHandler<Env = unknown, Ctx = unknown> = (request: Request, env: Env, ctx: Ctx) => MaybePromise<Response>;

/** `env` and `ctx` of a wrapped handler: each optional where its type allows `undefined` (e.g. in Node). */
export type CachedHandlerArgs<Env, Ctx> = undefined extends Env
  ? undefined extends Ctx
    ? [env?: Env, ctx?: Ctx]
    : [env: Env, ctx: Ctx]
  : undefined extends Ctx
    ? [env: Env, ctx?: Ctx]
    : [env: Env, ctx: Ctx];

/** What `withCache` returns: the handler, cached, with `purge`. */
export type CachedHandler<Env = unknown, Ctx = WaitUntilContext | undefined> = ((request: Request, ...args: CachedHandlerArgs<Env, Ctx>) => Promise<Response>) & {
  /** Invalidates entries of this wrapper (everywhere its `purgeLog` reaches); resolves to the purge's sequence. */
  purge(spec: PurgeSpec, env?: Env): Promise<number>;
};

/**
 * Wraps a `fetch(request, env, ctx)` handler with the response cache: Vary,
 * `Cache-Status`, collapsing of concurrent misses, stale-while-revalidate
 * (through `ctx.waitUntil`), stale-if-error and fail-open. A GET's body
 * streams to the client and is stored after its last byte if it fits
 * `maxEntryBytes`. The handler gets a new `Request` built from the original
 * (method, URL, headers, body).
 */
export declare function withCache<Env = unknown, Ctx extends WaitUntilContext | undefined = WaitUntilContext | undefined>(
  handler: FetchHandler<Env, Ctx>,
  options?: WithCacheOptions<Env>,
): CachedHandler<Env, Ctx>;

// ---------------------------------------------------------------- LocalCache

/** `LocalCache`'s options. */
export interface LocalCacheOptions<V> {
  /** Most entries held (default 100000). */
  maxEntries?: number;
  /** Most bytes held: `sizeOf(value)` plus 2 per key character (default 32 MiB). */
  maxBytes?: number;
  /** Default lifetime in seconds (default 300; `null` = never expire). */
  ttl?: number | null;
  /** A value's size for `maxBytes` (default: exact for strings and bytes, 64 otherwise). */
  sizeOf?: (value: V) => number;
}

/** `LocalCache`'s counters. */
export interface LocalCacheStats {
  hits: number;
  misses: number;
  inserts: number;
  updates: number;
  evictions: number;
  expirations: number;
  entries: number;
  bytes: number;
}

/**
 * A synchronous in-memory cache for hot paths: values held by reference (a
 * hit returns the very object stored; any value but `undefined`), what to
 * keep decided by the `local` backend's W-TinyLFU policy. Separate from a
 * `CacheService`'s backends.
 */
export declare class LocalCache<V extends {} | null = {} | null> {
  constructor(options?: LocalCacheOptions<V>);
  /** The value, or `undefined`. */
  get(key: string): V | undefined;
  /** Whether a live value is there (not counted as a use). */
  has(key: string): boolean;
  /** Stores `value` for `ttl` seconds (default the cache's; `null` = never); false if it can never fit. */
  set(key: string, value: V, options?: { ttl?: number | null }): boolean;
  /** Removes the key; whether it was live. */
  delete(key: string): boolean;
  /** Removes everything. */
  clear(): void;
  /** Entries held. */
  readonly size: number;
  stats(): LocalCacheStats;
}

// ---------------------------------------------------------------- self-test

/** One conformance case. */
export interface SelftestCase {
  name: string;
  passed: boolean;
  /** Why it failed ("" when it passed). */
  message: string;
}

/** The conformance suite's report. */
export interface SelftestReport {
  passed: number;
  failed: number;
  cases: SelftestCase[];
}

/** `selftest`'s options: those of the service, and whether counters are unsigned (memcached gateways). */
export interface SelftestOptions extends ServiceOptions {
  unsignedCounters?: boolean;
}

/**
 * Runs the Rust conformance suite against backend `name` of `config` (its
 * kind and options, under a throwaway key prefix), in real time (a few
 * seconds). Writes and clears keys under that prefix.
 */
export declare function selftest(name: string, config: CachesConfig | string, options?: SelftestOptions): Promise<SelftestReport>;

// ---------------------------------------------------------------- Hono

/**
 * The Hono middleware; typed with Hono's `MiddlewareHandler` by
 * `edgecache/hono`. Here (no dependency on hono) only its shape.
 */
export declare function cache(
  options?:
    | (Omit<WithCacheOptions<any>, "staleWhileRevalidate"> & { staleWhileRevalidate?: 0; app?: { fetch(request: Request, env?: any, executionCtx?: any): Response | Promise<Response> } })
    | (WithCacheOptions<any> & { app: { fetch(request: Request, env?: any, executionCtx?: any): Response | Promise<Response> } }),
): (c: any, next: () => Promise<void>) => Promise<void>;
