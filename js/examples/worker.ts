// A Cloudflare Worker in TypeScript with edgecache, bundled by wrangler
// (js/examples/wrangler.toml): withCache in front of an origin, a Hono app
// cached by the edgecache/hono middleware, and a custom backend written in
// JS. e2e/js_worker.test.mjs bundles it with wrangler and runs it in
// workerd; e2e/js_package.test.mjs type-checks it (tsc --noEmit) against
// the packed package.
import { Hono, type ExecutionContext } from "hono";
import { cache } from "edgecache/hono";
import { CacheError, createCacheService, withCache, type CacheService, type WaitUntilContext } from "edgecache";
import { MapBackend } from "./map-backend.js";

interface Env {
  /** The site to cache, e.g. "https://example.com". */
  ORIGIN: string;
}

// One service per isolate: the same JSON as the Worker's CACHES, with a
// custom kind `mymap` registered by name.
let service: CacheService | undefined;
function services(): CacheService {
  service ??= createCacheService(
    {
      default: { backend: "local", ttl: 60, options: { max_entries: 10000 } },
      counters: { backend: "mymap", key_prefix: "app", ttl: null },
    },
    { backends: { mymap: (config) => new MapBackend(config) } },
  );
  return service;
}

// Everything outside /app/: the origin, through the response cache
// (stale-while-revalidate refreshes run in ctx.waitUntil).
const proxy = withCache<Env, WaitUntilContext>(
  async (request, env) => {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search);
  },
  { ttl: 60, staleWhileRevalidate: 30, service: services },
);

// /app/: a Hono app; its item pages are cached by the middleware.
let renders = 0;
const app = new Hono<{ Bindings: Env }>().basePath("/app");
app.get("/items/:id", cache({ ttl: 60, keyPrefix: "items", service: services }), (c) => {
  renders++;
  return c.json({ id: c.req.param("id"), renders });
});
// /app/news/:id: the origin's page, fresh for 1 s, then served stale for 30 s
// while one refresh runs through app.fetch in ctx.waitUntil; if the origin
// fails, the old page is served for 300 s more.
app.get(
  "/news/:id",
  cache({ ttl: 1, staleWhileRevalidate: 30, staleIfError: 300, keyPrefix: "news", service: services, app }),
  async (c) => {
    const r = await fetch(c.env.ORIGIN + "/news/" + c.req.param("id"));
    if (!r.ok) return c.text(`origin answered ${r.status}`, 502);
    return c.json(await r.json());
  },
);
app.post("/visits/:page", async (c) => {
  const counters = services();
  const key = "visits:" + c.req.param("page");
  try {
    return c.json({ visits: Number(await counters.incr(key, 1, { backend: "counters" })) });
  } catch (e) {
    if (!(e instanceof CacheError) || e.code !== "not_found") throw e;
    await counters.add(key, 1, { backend: "counters" });
    return c.json({ visits: 1 });
  }
});

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/app/")) return app.fetch(request, env, ctx);
    return proxy(request, env, ctx);
  },
};
