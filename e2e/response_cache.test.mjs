// The response cache in real workerd, in front of a real HTTP origin on
// 127.0.0.1 that counts its requests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startOrigin } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let origin, w;
let failing = false;

before(async () => {
  origin = await startOrigin({
    "/vary": (req, n) => ({
      body: JSON.stringify({ lang: req.headers["accept-language"] || null, n }),
      headers: { vary: "Accept-Language" },
    }),
    "/private": (req, n) => ({ body: JSON.stringify({ n }), headers: { "cache-control": "private" } }),
    "/cookie": (req, n) => ({ body: JSON.stringify({ n }), headers: { "set-cookie": "s=1; Path=/" } }),
    "/auth/plain": (req, n) => ({ body: JSON.stringify({ n }) }),
    "/auth/public": (req, n) => ({ body: JSON.stringify({ n }), headers: { "cache-control": "public, max-age=60" } }),
    "/slow": (req, n) => ({ body: JSON.stringify({ n }), delay: 300 }),
    "/swr/item": (req, n) => ({ body: JSON.stringify({ n }) }),
    "/sie/item": (req, n) => (failing ? { status: 503, body: "down" } : { body: JSON.stringify({ n }) }),
    "/api/live": (req, n) => ({ body: JSON.stringify({ n }) }),
  });
  const routes = [
    { path: "/api/*", bypass: true },
    { path: "/swr/*", ttl: 1, stale_while_revalidate: 30, key_prefix: "swr" },
    { path: "/sie/*", ttl: 1, stale_if_error: 60, key_prefix: "sie" },
    { path: "/edge/*", backend: "cf-cache", ttl: 60, key_prefix: "edge" },
    { path: "/auth/*", ttl: 60, key_prefix: "site", authorization: "rfc9111" },
    { path: "*", ttl: 60, key_prefix: "site" },
  ];
  w = await startWorker({ ORIGIN: origin.url, ROUTES: JSON.stringify(routes) });
});
after(async () => {
  await w?.dispose();
  await origin?.close();
});

test("Vary: each Accept-Language gets its own entry", async () => {
  const get = (lang) => fetch(w.url("/vary"), { headers: { "accept-language": lang } });
  const fr = await (await get("fr")).json();
  const de = await (await get("de")).json();
  assert.equal(fr.lang, "fr");
  assert.equal(de.lang, "de");
  const fr2 = await get("fr");
  assert.match(fr2.headers.get("cache-status"), /hit/);
  assert.deepEqual(await fr2.json(), fr);
  const de2 = await get("de");
  assert.deepEqual(await de2.json(), de);
  assert.equal(origin.count("/vary"), 2);
});

test("private and Set-Cookie responses are never stored", async () => {
  for (const p of ["/private", "/cookie"]) {
    for (let i = 0; i < 2; i++) {
      const r = await fetch(w.url(p));
      await r.text();
      assert.match(r.headers.get("cache-status"), /fwd=miss; detail=(private|set-cookie)/);
    }
    assert.equal(origin.count(p), 2, `${p} reached the origin every time`);
  }
});

test("Authorization: stored only when the response is explicitly public", async () => {
  const auth = { authorization: "Bearer user-1" };
  for (let i = 0; i < 2; i++) await (await fetch(w.url("/auth/plain"), { headers: auth })).text();
  assert.equal(origin.count("/auth/plain"), 2);
  for (let i = 0; i < 2; i++) await (await fetch(w.url("/auth/public"), { headers: auth })).text();
  assert.equal(origin.count("/auth/public"), 1);
});

test("100 concurrent requests for one cold key make exactly 1 origin request", async () => {
  const rs = await Promise.all(Array.from({ length: 100 }, () => fetch(w.url("/slow"))));
  const bodies = await Promise.all(rs.map((r) => r.text()));
  assert.equal(origin.count("/slow"), 1);
  assert.equal(new Set(bodies).size, 1);
  const collapsed = rs.filter((r) => /collapsed/.test(r.headers.get("cache-status"))).length;
  assert.ok(collapsed >= 90, `only ${collapsed} requests were collapsed`);
});

test("stale-while-revalidate serves stale once, then fresh", async () => {
  const first = await (await fetch(w.url("/swr/item"))).json();
  await sleep(1300);
  const stale = await fetch(w.url("/swr/item"));
  assert.deepEqual(await stale.json(), first);
  assert.match(stale.headers.get("cache-status"), /hit; ttl=-\d+; detail=stale-while-revalidate/);
  for (let i = 0; i < 50 && origin.count("/swr/item") < 2; i++) await sleep(20);
  assert.equal(origin.count("/swr/item"), 2, "one background refresh");
  const fresh = await fetch(w.url("/swr/item"));
  const body = await fresh.json();
  assert.equal(body.n, 2);
  assert.match(fresh.headers.get("cache-status"), /^edgecache; hit; ttl=\d+$/);
});

test("origin down: stale-if-error serves the stored response", async () => {
  const first = await (await fetch(w.url("/sie/item"))).json();
  await sleep(1300);
  failing = true;
  try {
    const r = await fetch(w.url("/sie/item"));
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), first);
    assert.match(r.headers.get("cache-status"), /fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error/);
  } finally {
    failing = false;
  }
});

test("origin unreachable on a miss: 502 with the reason", async () => {
  const w2 = await startWorker({ ORIGIN: "http://127.0.0.1:9" });
  try {
    const r = await fetch(w2.url("/nothing"));
    assert.equal(r.status, 502);
    assert.match(await r.text(), /origin unreachable/);
  } finally {
    await w2.dispose();
  }
});

test("bypass routes always reach the origin", async () => {
  for (let i = 0; i < 2; i++) {
    const r = await fetch(w.url("/api/live"));
    await r.text();
    assert.equal(r.headers.get("cache-status"), "edgecache; fwd=bypass; detail=route");
  }
  assert.equal(origin.count("/api/live"), 2);
});

test("the Cache API as a store", async () => {
  const a = await fetch(w.url("/edge/page"));
  const bodyA = await a.text();
  assert.match(a.headers.get("cache-status"), /stored/);
  const b = await fetch(w.url("/edge/page"));
  assert.match(b.headers.get("cache-status"), /hit/);
  assert.equal(await b.text(), bodyA);
  assert.equal(origin.count("/edge/page"), 1);
});

test("invalidation: by URL, by prefix, by key prefix (generation bump)", async () => {
  const hit = async (p) => {
    const r = await fetch(w.url(p));
    await r.text();
    return /hit/.test(r.headers.get("cache-status"));
  };
  for (const p of ["/docs/a", "/docs/b", "/other"]) await hit(p);
  assert.ok(await hit("/docs/a"));
  const purge = async (body) => {
    const r = await w.admin("purge", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.equal(r.status, 200);
    return r.json();
  };
  assert.equal((await purge({ url: "/docs/a" })).purged, true);
  assert.equal(await hit("/docs/a"), false);
  assert.ok((await purge({ prefix: "/docs/" })).purged >= 2);
  assert.equal(await hit("/docs/b"), false);
  assert.ok(await hit("/other"));
  const bumped = await purge({ key_prefix: "site" });
  assert.deepEqual(bumped.generation, [1]);
  assert.equal(await hit("/other"), false);
  assert.ok(await hit("/other"));
  const stats = await (await w.admin("stats")).json();
  assert.ok(stats.responses.hits > 0 && stats.responses.collapsed >= 90);
});

test("bad ROUTES fails with the field named", async () => {
  const w3 = await startWorker({ ROUTES: JSON.stringify([{ path: "*", backend: "nope" }]) });
  try {
    const r = await fetch(w3.url("/x"));
    assert.equal(r.status, 500);
    assert.match(await r.text(), /ROUTES\[0\]\.backend: unknown backend "nope"/);
  } finally {
    await w3.dispose();
  }
});
