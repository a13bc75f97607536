// The same proxy as ../jsmap with npm's lru-cache (bounded, per-entry TTL)
// instead of a bare Map.
import { LRUCache } from "lru-cache";

const kept = new LRUCache({ max: 10_000 });

export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const key = u.pathname + u.search;
    const e = kept.get(key);
    if (e) return new Response(e.body, { status: e.status, headers: e.headers });
    const r = await fetch(env.ORIGIN + key);
    const body = await r.arrayBuffer();
    const headers = [...r.headers];
    const age = /max-age=(\d+)/.exec(r.headers.get("cache-control") || "");
    if (req.method === "GET" && r.status === 200 && age) {
      kept.set(key, { body, status: r.status, headers }, { ttl: Number(age[1]) * 1000 });
    }
    return new Response(body, { status: r.status, headers });
  },
};
