// Ready answers (src/response_cache/hit_slots.rs, src/platform/workers/
// hit_slots.js) in real workerd in front of a real, counting HTTP origin:
// after one hit through the engine, plain GETs of the URL are answered by
// the Worker's entry. They must be the engine's answer, only for plain
// requests, and end with every change the engine sees.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startOrigin } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let origin, w;

before(async () => {
  const page = (req, n) => ({
    body: JSON.stringify({ n }),
    headers: { "x-kind": "page", etag: `"v${n}"`, "cache-control": "max-age=60" },
  });
  origin = await startOrigin({ "/page": page, "/other": page, "/short/page": page, "/gone": page });
  const routes = [
    { path: "/short/*", ttl: 1, origin_ttl: false, key_prefix: "short" },
    { path: "*", ttl: 60, key_prefix: "site" },
  ];
  w = await startWorker({ ORIGIN: origin.url, ROUTES: JSON.stringify(routes) });
});
after(async () => {
  await w?.dispose();
  await origin?.close();
});

const readyHits = async () => (await (await w.admin("stats")).json()).responses.ready_hits;

async function get(p, init) {
  const r = await fetch(w.url(p), init);
  const body = await r.text();
  return { status: r.status, headers: Object.fromEntries(r.headers), body };
}

/** Miss, then a hit through the engine (which offers the ready answer). */
async function warm(p) {
  await get(p);
  const hit = await get(p);
  assert.match(hit.headers["cache-status"], /^edgecache; hit; ttl=\d+$/);
  return hit;
}

test("a ready answer is the engine's answer, counted as a hit", async () => {
  const engine = await warm("/page");
  const before = await readyHits();
  const ready = await get("/page");
  assert.equal(await readyHits(), before + 1, "answered from the ready answer");
  assert.equal(ready.status, engine.status);
  assert.equal(ready.body, engine.body);
  const strip = (h) => {
    const { age, "cache-status": cs, date, ...rest } = h;
    return rest;
  };
  assert.deepEqual(strip(ready.headers), strip(engine.headers));
  assert.match(ready.headers["cache-status"], /^edgecache; hit; ttl=(59|60)$/);
  assert.ok(Number(ready.headers.age) >= Number(engine.headers.age) && Number(ready.headers.age) <= 1);
  assert.equal(origin.count("/page"), 1);
  const stats = (await (await w.admin("stats")).json()).responses;
  assert.ok(stats.hits >= stats.ready_hits + 1, JSON.stringify(stats));
  // A slot lasts at most the key generation's trust window (1 s): past it,
  // one hit goes through the engine, which offers the entry again.
  await sleep(1100);
  await get("/page");
  const again = await readyHits();
  await get("/page");
  assert.equal(await readyHits(), again + 1, "offered again after the window");
  assert.equal(origin.count("/page"), 1);
});

test("requests that are not plain GETs are the engine's", async () => {
  await warm("/other");
  const before = await readyHits();
  const etag = (await get("/other")).headers.etag;
  const after1 = await readyHits();
  assert.equal(after1, before + 1);
  const cases = [
    [{ headers: { "if-none-match": etag } }, (r) => assert.equal(r.status, 304)],
    [{ headers: { range: "bytes=0-3" } }, (r) => assert.equal(r.status, 206)],
    [{ headers: { cookie: "s=1" } }, (r) => assert.match(r.headers["cache-status"], /fwd=bypass; detail=cookie/)],
    [{ headers: { authorization: "Bearer x" } }, (r) => assert.match(r.headers["cache-status"], /detail=authorization/)],
    [{ headers: { "cache-control": "only-if-cached" } }, (r) => assert.equal(r.status, 200)],
    [{ method: "HEAD" }, (r) => assert.equal(r.body, "")],
  ];
  for (const [init, check] of cases) {
    const r = await get("/other", init);
    check(r);
  }
  assert.equal(await readyHits(), after1, "none of them answered by the entry");
});

test("a purge, an unsafe request, an admin write and the end of freshness end it", async () => {
  const purge = (body) =>
    w.admin("purge", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await warm("/gone");
  let n = origin.count("/gone");
  const purged = await purge({ url: "/gone" });
  assert.equal(purged.status, 200, await purged.text());
  const afterPurge = await get("/gone");
  assert.match(afterPurge.headers["cache-status"], /fwd=miss/);
  assert.equal(origin.count("/gone"), n + 1);

  await warm("/gone");
  n = origin.count("/gone");
  const post = await fetch(w.url("/gone"), { method: "POST", body: "x" });
  await post.text();
  assert.equal(origin.count("/gone"), n + 1, "the POST went to the origin");
  assert.match((await get("/gone")).headers["cache-status"], /fwd=miss/, "RFC 9111 §4.4");

  await warm("/gone");
  const cleared = await w.admin("clear/default", { method: "POST" });
  assert.equal(cleared.status, 200, await cleared.text());
  n = origin.count("/gone");
  await get("/gone");
  assert.equal(origin.count("/gone"), n + 1, "cleared by the admin API");

  await warm("/short/page");
  const before = await readyHits();
  assert.equal((await get("/short/page")).headers["cache-status"].startsWith("edgecache; hit"), true);
  assert.equal(await readyHits(), before + 1);
  n = origin.count("/short/page");
  await sleep(1100);
  const late = await get("/short/page");
  assert.match(late.headers["cache-status"], /fwd=(miss|stale)/, "not answered past its freshness");
  assert.equal(origin.count("/short/page"), n + 1);
});
