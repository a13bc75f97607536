// The purge log in real workerd: two Workers (two isolates) running the
// release build, sharing one Durable Object (the log), or one real
// redis-server behind the Upstash REST protocol, in front of one real HTTP
// origin that counts its requests. A purge sent to one Worker must reach the
// other within PURGE_SYNC_MS; without the log it must not.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT, ADMIN_TOKEN, startOrigin, freePort } from "./helpers.mjs";
import { startRedis, startUpstashGateway, respClient } from "./servers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SYNC_MS = 300;
const SITE = "http://site.test";
const REDIS_TOKEN = "purge-redis-token";

let origin, redis, gateway, deadPort;
before(async () => {
  deadPort = await freePort();
  redis = await startRedis();
  gateway = await startUpstashGateway(redis.port, REDIS_TOKEN);
  const page = (tags) => (req, n) => ({ body: JSON.stringify({ n }), headers: { "cache-tag": tags } });
  origin = await startOrigin({
    "/shop/item": page("product-7, shop"),
    "/shop/other": page("product-8 shop"),
    "/blog/post": page("post-1"),
    "/swr/item": page("product-9"),
  });
});
after(async () => {
  await origin?.close();
  await gateway?.stop();
  await redis?.stop();
});

/**
 * Two Workers, "a" and "b", from build/index.js. `log`: "durable-object"
 * (both bind the PurgeLogObject class of "a" as EDGECACHE_PURGE_LOG),
 * "redis" (PURGE_LOG = redis:shared, a redis backend of CACHES; the
 * entries stay in each isolate's local store) or "none".
 */
async function startPair({ log }) {
  const routes = [
    { path: "/swr/*", ttl: 60, stale_while_revalidate: 30, key_prefix: "swr" },
    { path: "/blog/*", ttl: 60, key_prefix: "blog" },
    { path: "*", ttl: 60, key_prefix: "shop" },
  ];
  const bindings = { ADMIN_TOKEN, ORIGIN: origin.url, ROUTES: JSON.stringify(routes), PURGE_SYNC_MS: String(SYNC_MS) };
  const prefix = "purge" + Math.random().toString(36).slice(2, 8);
  if (log === "redis" || log === "dead-redis") {
    const url = log === "redis" ? gateway.url : `http://127.0.0.1:${deadPort}`;
    Object.assign(bindings, {
      CACHES: JSON.stringify({
        default: { backend: "local" },
        shared: { backend: "redis", key_prefix: prefix, options: { url, token_secret: "REDIS_TOKEN", timeout_ms: 500 } },
      }),
      REDIS_TOKEN,
      PURGE_LOG: "redis:shared",
    });
  }
  const worker = (name, durableObjects) => ({
    name,
    modules: true,
    scriptPath: path.join(ROOT, "build", "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-01",
    bindings,
    durableObjects,
  });
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers:
      log === "durable-object"
      ? [
          worker("a", { EDGECACHE_PURGE_LOG: "PurgeLogObject" }),
          worker("b", { EDGECACHE_PURGE_LOG: { className: "PurgeLogObject", scriptName: "a" } }),
        ]
      : [worker("a", {}), worker("b", {})],
  });
  await mf.ready;
  const fetcher = async (name) => {
    const w = await mf.getWorker(name);
    const get = async (p) => {
      const r = await w.fetch(SITE + p);
      const body = await r.json();
      return { n: body.n, status: r.headers.get("cache-status"), tag: r.headers.get("cache-tag") };
    };
    const purgeRaw = (body) =>
      w.fetch(SITE + "/_edgecache/purge", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const purge = async (body) => {
      const r = await purgeRaw(body);
      const json = await r.json();
      assert.equal(r.status, 200, JSON.stringify(json));
      return json;
    };
    const stats = async () => {
      const r = await w.fetch(SITE + "/_edgecache/stats", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return (await r.json()).responses;
    };
    return { get, purge, purgeRaw, stats };
  };
  return { a: await fetcher("a"), b: await fetcher("b"), prefix, dispose: () => mf.dispose() };
}

/** Caches `p` in both Workers and checks the second request of each is a hit. */
async function warm(pair, p) {
  for (const w of [pair.a, pair.b]) {
    await w.get(p);
    const again = await w.get(p);
    assert.match(again.status, /hit/, `${p} is cached`);
  }
}

for (const log of ["durable-object", "redis"]) {
test(`${log}: a purge sent to one Worker reaches the other within PURGE_SYNC_MS (URL, prefix, key prefix, tag, everything)`, async () => {
  const pair = await startPair({ log });
  try {
    const cases = [
      [{ url: "/shop/item" }, "/shop/item", "/shop/other"],
      [{ prefix: "/shop/" }, "/shop/other", "/blog/post"],
      [{ key_prefix: "blog" }, "/blog/post", "/shop/item"],
      [{ tag: "product-7" }, "/shop/item", "/shop/other"],
      [{ all: true }, "/blog/post", null],
    ];
    for (const [purge, hit, spared] of cases) {
      await warm(pair, hit);
      if (spared) await warm(pair, spared);
      const before = origin.count(hit);
      const old = (await pair.b.get(hit)).n;
      const reply = await pair.a.purge(purge);
      assert.equal(reply.reach, "everywhere", JSON.stringify(reply));
      assert.equal(reply.log, log);
      assert.equal(reply.sync_ms, SYNC_MS);
      // Past the interval, b's next request syncs before its lookup.
      await sleep(SYNC_MS + 50);
      const fresh = await pair.b.get(hit);
      assert.notEqual(fresh.n, old, `${JSON.stringify(purge)}: b still served the purged page`);
      assert.match(fresh.status, /fwd=miss/);
      assert.equal(origin.count(hit), before + 1, `${JSON.stringify(purge)}: b fetched it once`);
      assert.match((await pair.b.get(hit)).status, /hit/, "and keeps the new page");
      if (spared) assert.match((await pair.b.get(spared)).status, /hit/, `${JSON.stringify(purge)} spared ${spared}`);
    }
    const stats = await pair.b.stats();
    assert.ok(stats.purge_syncs >= cases.length, JSON.stringify(stats));
    assert.equal(stats.purge_sync_errors, 0);
    if (log === "redis") {
      // What redis-server itself holds: one purge per case, numbered.
      const c = respClient(redis.port);
      try {
        const purges = (await c.call(["ZRANGE", `${pair.prefix}:1:edgecache-purge-log:purges`, "0", "-1"])).map(String);
        assert.equal(purges.length, cases.length, purges.join("\n"));
        assert.match(purges[3], /^\d+ \{"scope":\{"tag":"product-7"\},"soft":false\}$/);
        const head = String(await c.call(["GET", `${pair.prefix}:1:edgecache-purge-log:head`]));
        assert.equal(head, purges[4].split(" ")[0]);
      } finally {
        c.close();
      }
    }
  } finally {
    await pair.dispose();
  }
});

test(`${log}: tags are stripped from responses to clients`, async () => {
  const pair = await startPair({ log });
  try {
    const r = await pair.a.get("/shop/item");
    assert.equal(r.tag, null);
  } finally {
    await pair.dispose();
  }
});

test(`${log}: a soft purge serves the stale page once and refreshes it once, in the other Worker`, async () => {
  const pair = await startPair({ log });
  try {
    await warm(pair, "/swr/item");
    const old = (await pair.b.get("/swr/item")).n;
    const before = origin.count("/swr/item");
    const reply = await pair.a.purge({ tag: "product-9", soft: true });
    assert.equal(reply.soft, true);
    await sleep(SYNC_MS + 50);
    const stale = await pair.b.get("/swr/item");
    assert.equal(stale.n, old, "served stale");
    assert.match(stale.status, /stale-while-revalidate/);
    // The refresh runs after the response (waitUntil): wait for it at the origin.
    for (let i = 0; i < 100 && origin.count("/swr/item") === before; i++) await sleep(20);
    assert.equal(origin.count("/swr/item"), before + 1, "one refresh");
    // The origin has answered; the store follows in the same background
    // task. Until it lands the stale page is still served, and its status
    // ("hit; ttl=-N; detail=stale-while-revalidate") also starts with
    // "hit": wait for a fresh hit, not just any hit.
    const fresh = (s) => /^edgecache; hit; ttl=\d+$/.test(s ?? "");
    let next = await pair.b.get("/swr/item");
    for (let i = 0; i < 100 && !fresh(next.status); i++) {
      await sleep(20);
      next = await pair.b.get("/swr/item");
    }
    assert.ok(fresh(next.status), next.status);
    assert.notEqual(next.n, old, "the refreshed page");
    assert.equal(origin.count("/swr/item"), before + 1, "refreshed once");
  } finally {
    await pair.dispose();
  }
});

}

test("without the log a purge reaches only the Worker that received it, and says so", async () => {
  const pair = await startPair({ log: "none" });
  try {
    await warm(pair, "/shop/item");
    const old = (await pair.b.get("/shop/item")).n;
    const reply = await pair.a.purge({ url: "/shop/item" });
    assert.equal(reply.reach, "isolate");
    assert.equal(reply.log, "none");
    assert.match((await pair.a.get("/shop/item")).status, /fwd=miss/);
    await sleep(SYNC_MS * 3);
    const b = await pair.b.get("/shop/item");
    assert.equal(b.n, old, "the other isolate never hears of it");
    assert.match(b.status, /hit/);
  } finally {
    await pair.dispose();
  }
});

test("redis log down: pages are still served, syncs are counted as errors, a purge answers 502 naming the log", async () => {
  const pair = await startPair({ log: "dead-redis" });
  try {
    await pair.b.get("/shop/item");
    assert.match((await pair.b.get("/shop/item")).status, /hit/, "the cache keeps serving");
    const stats = await pair.b.stats();
    assert.ok(stats.purge_sync_errors >= 1, JSON.stringify(stats));
    const w = pair.a;
    const r = await w.purgeRaw({ tag: "product-7" });
    assert.equal(r.status, 502);
    const body = await r.json();
    assert.equal(body.error, "backend");
    assert.match(body.message, /redis \(shared\)/);
  } finally {
    await pair.dispose();
  }
});
