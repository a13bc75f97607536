// The peer a JS developer would write first: a proxy to ORIGIN keeping each
// GET response (body bytes, status, header pairs) in a Map in the isolate,
// for the response's max-age.
const kept = new Map();

export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const key = u.pathname + u.search;
    const e = kept.get(key);
    if (e && e.until > Date.now()) return new Response(e.body, { status: e.status, headers: e.headers });
    const r = await fetch(env.ORIGIN + key);
    const body = await r.arrayBuffer();
    const headers = [...r.headers];
    const age = /max-age=(\d+)/.exec(r.headers.get("cache-control") || "");
    if (req.method === "GET" && r.status === 200 && age) {
      kept.set(key, { body, status: r.status, headers, until: Date.now() + Number(age[1]) * 1000 });
    }
    return new Response(body, { status: r.status, headers });
  },
};
