// The peer: a JS Worker proxying to ORIGIN behind Hono's cache middleware
// (which stores in the Workers Cache API).
import { Hono } from "hono";
import { cache } from "hono/cache";

const app = new Hono();
app.get("*", cache({ cacheName: "hono-bench", cacheControl: "max-age=60", wait: true }), async (c) => {
  const u = new URL(c.req.url);
  const r = await fetch(c.env.ORIGIN + u.pathname + u.search);
  return new Response(r.body, r);
});
export default app;
