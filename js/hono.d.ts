// Types of `edgecache/hono`: everything `edgecache` exports, and `cache`
// typed as Hono's own MiddlewareHandler (needs `hono` installed).
import type { Env, Input, MiddlewareHandler } from "hono";
import type { WithCacheOptions } from "./index.js";

export * from "./index.js";

/** What the middleware needs of the app: Hono's `app.fetch`. */
export interface HonoFetch<E extends Env = any> {
  fetch(request: Request, env?: E["Bindings"], executionCtx?: any): Response | Promise<Response>;
}

/**
 * The middleware's options: those of `withCache`, and `app`, the Hono app
 * whose `fetch` receives the request (the top-level one, mounted routes and
 * base path included). Hono runs a request's chain once, so a second call
 * to the origin (a stale-while-revalidate refresh after the response) sends
 * a new request through `app.fetch`, marked so that this middleware runs
 * the route instead of looking it up; the middleware before it in the chain
 * run again too. `staleWhileRevalidate` requires `app`.
 * `service` as a function gets `c.env` (the Worker's bindings).
 */
export type HonoCacheOptions<E extends Env = any> =
  | (Omit<WithCacheOptions<E["Bindings"]>, "staleWhileRevalidate"> & { staleWhileRevalidate?: 0; app?: HonoFetch<E> })
  | (WithCacheOptions<E["Bindings"]> & { app: HonoFetch<E> });

/**
 * Hono middleware in place of `hono/cache`:
 * `app.get("/items/*", cache({ ttl: 60 }))`. The route's handlers run as the
 * origin on a miss; hits are answered without them.
 */
export declare function cache<E extends Env = any, P extends string = string, I extends Input = {}>(
  options?: HonoCacheOptions<E>,
): MiddlewareHandler<E, P, I>;
