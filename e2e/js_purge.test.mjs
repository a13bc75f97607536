// Invalidation through the npm package (js/, in Node): withCache's
// `purge`, cache tags, soft purges, and a purge log written in JS shared by
// two wrappers (two engines, each with its own local store, as two
// isolates would be), in front of a real HTTP origin that counts requests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { jsPackage, startOrigin } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SYNC_MS = 100;
let pkg, origin;

before(async () => {
  pkg = await import(pathToFileURL(path.join(jsPackage(), "src", "node.js")).href);
  const page = (tags) => (req, n) => ({ body: JSON.stringify({ n }), headers: { "surrogate-key": tags } });
  origin = await startOrigin({ "/p/a": page("t-a shared"), "/p/b": page("t-b shared"), "/s/a": page("t-s") });
});
after(() => origin?.close());

/** A shared log as an app would keep it (here in memory): one mark per scope. */
function memoryLog() {
  let head = 0;
  const marks = new Map();
  return {
    appended: 0,
    append(purge) {
      this.appended++;
      head = Math.max(head + 1, Date.now());
      const key = JSON.stringify(purge.scope);
      const m = marks.get(key) ?? { hard: 0, soft: 0 };
      m[purge.soft ? "soft" : "hard"] = head;
      marks.set(key, m);
      return head;
    },
    async since(cursor) {
      const out = [...marks].filter(([, m]) => Math.max(m.hard, m.soft) > cursor).map(([k, m]) => [JSON.parse(k), m]);
      return { head, marks: out };
    },
  };
}

const handler = async (req) => {
  const r = await fetch(origin.url + new URL(req.url).pathname);
  return new Response(await r.text(), { headers: r.headers });
};
const get = async (cached, p) => {
  const r = await cached(new Request("https://site.test" + p));
  return { n: (await r.json()).n, status: r.headers.get("cache-status"), key: r.headers.get("surrogate-key") };
};

test("a purge through one wrapper reaches another sharing the log, by URL, prefix, key prefix, tag and all", async () => {
  const log = memoryLog();
  const opts = { ttl: 60, keyPrefix: "p", purgeLog: log, purgeSyncMs: SYNC_MS };
  const [a, b] = [pkg.withCache(handler, opts), pkg.withCache(handler, opts)];
  for (const spec of [{ url: "https://site.test/p/a" }, { prefix: "https://site.test/p/" }, { keyPrefix: "p" }, { tag: "t-a" }, { all: true }]) {
    for (const w of [a, b]) {
      await get(w, "/p/a");
      assert.match((await get(w, "/p/a")).status, /hit/);
    }
    const old = (await get(b, "/p/a")).n;
    const before = origin.count("/p/a");
    const seq = await a.purge(spec);
    assert.ok(seq >= 1);
    await sleep(SYNC_MS + 20);
    const fresh = await get(b, "/p/a");
    assert.notEqual(fresh.n, old, JSON.stringify(spec));
    assert.equal(origin.count("/p/a"), before + 1, `${JSON.stringify(spec)}: one refetch in b`);
  }
  assert.equal(log.appended, 5);
});

test("tags are read from Surrogate-Key and stripped; without a log a purge stays in its wrapper", async () => {
  const [a, b] = [pkg.withCache(handler, { ttl: 60 }), pkg.withCache(handler, { ttl: 60 })];
  const first = await get(a, "/p/b");
  assert.equal(first.key, null, "stripped");
  await get(b, "/p/b");
  await a.purge({ tag: "t-b" });
  assert.match((await get(a, "/p/b")).status, /fwd=miss/);
  assert.match((await get(b, "/p/b")).status, /hit/, "b never hears of it");
  const exposed = pkg.withCache(handler, { ttl: 60, exposeTags: true });
  assert.equal((await get(exposed, "/p/b")).key, "t-b shared");
});

test("a soft purge serves stale once and refreshes once", async () => {
  const a = pkg.withCache(handler, { ttl: 60, staleWhileRevalidate: 30 });
  const pending = [];
  const ctx = { waitUntil: (p) => pending.push(p) };
  const req = () => a(new Request("https://site.test/s/a"), undefined, ctx);
  await req();
  const before = origin.count("/s/a");
  await a.purge({ tag: "t-s", soft: true });
  const stale = await req();
  assert.match(stale.headers.get("cache-status"), /stale-while-revalidate/);
  await Promise.all(pending);
  assert.equal(origin.count("/s/a"), before + 1);
  assert.match((await req()).headers.get("cache-status"), /^edgecache; hit/);
  assert.equal(origin.count("/s/a"), before + 1);
});

test("bad purges and bad logs are CacheErrors; a failing log does not stop the cache", async () => {
  const w = pkg.withCache(handler, { ttl: 60 });
  await assert.rejects(w.purge({ nothing: 1 }), (e) => e instanceof pkg.CacheError && e.code === "invalid_purge");
  const engine = new pkg.ResponseCache(pkg.createCacheService());
  assert.throws(() => engine.setPurgeLog({ append() {} }), (e) => e.code === "config" && /since/.test(e.message));
  const broken = pkg.withCache(handler, {
    ttl: 60,
    purgeSyncMs: SYNC_MS,
    purgeLog: {
      append: () => Promise.reject(new Error("log down")),
      since: () => Promise.reject(new Error("log down")),
    },
  });
  await get(broken, "/p/a");
  assert.match((await get(broken, "/p/a")).status, /hit/, "served from the cache despite the log");
  await assert.rejects(broken.purge({ all: true }), (e) => e.code === "backend" && /log down/.test(e.message));
});
