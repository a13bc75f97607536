// Types of `edgecache/hono`: everything `edgecache` exports, and `cache`
// typed as Hono's own MiddlewareHandler (needs `hono` installed).
import type { Env, Input, MiddlewareHandler } from "hono";
import type { WithCacheOptions } from "./index.js";

export * from "./index.js";

/**
 * The middleware's options: those of `withCache` except
 * `staleWhileRevalidate` (a refresh cannot re-enter Hono's chain after the
 * response; stale entries are refreshed by the next request instead).
 * `service` as a function gets `c.env` (the Worker's bindings).
 */
export type HonoCacheOptions<E extends Env = any> = Omit<WithCacheOptions<E["Bindings"]>, "staleWhileRevalidate">;

/**
 * Hono middleware in place of `hono/cache`:
 * `app.get("/items/*", cache({ ttl: 60 }))`. The route's handlers run as the
 * origin on a miss; hits are answered without them.
 */
export declare function cache<E extends Env = any, P extends string = string, I extends Input = {}>(
  options?: HonoCacheOptions<E>,
): MiddlewareHandler<E, P, I>;
