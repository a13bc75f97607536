// The npm package in JS Workers, in real workerd (Miniflare), in front of a
// counting origin (startOrigin): miss → hit, 100 concurrent cold requests →
// 1 origin request.
//  - e2e/fixtures/js-worker/worker.mjs imports the package's workerd entry
//    unbundled: Miniflare resolves the module graph (js/src/*.js as ES
//    modules, js/dist/edgecache_bg.wasm as CompiledWasm).
//  - js/examples/worker.ts (the README's Worker example: withCache, a Hono
//    app with edgecache/hono, a custom backend) is bundled by wrangler
//    (`wrangler deploy --dry-run --outdir`, its esbuild with the "workerd"
//    condition) from a project whose node_modules/edgecache is js/, then run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { ROOT, jsPackage, startOrigin } from "./helpers.mjs";
import { startMemcached } from "./servers.mjs";

const run = promisify(execFile);
let origin, project, mcs;
let newsFails = false;
const workers = [];

before(async () => {
  jsPackage();
  origin = await startOrigin({
    "/slow": (_req, n) => ({ body: JSON.stringify({ slow: n }), delay: 300 }),
    "/app-slow": (_req, n) => ({ body: JSON.stringify({ slow: n }), delay: 300 }),
    "/news/1": (_req, n) => (newsFails ? { status: 503, body: "down" } : { body: JSON.stringify({ news: n }) }),
  });
});

after(async () => {
  for (const mf of workers) await mf.dispose().catch(() => {});
  await origin?.close();
  for (const m of mcs ?? []) await m.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

async function start(options) {
  const mf = new Miniflare({
    modules: true,
    compatibilityDate: "2026-04-01",
    bindings: { ORIGIN: origin.url },
    ...options,
  });
  workers.push(mf);
  await mf.ready;
  return mf;
}

/** Miss → hit on `p`, then 100 concurrent requests for the cold `cold` → 1 origin request. */
async function missHitCollapse(mf, p, cold) {
  const a = await mf.dispatchFetch("http://site.test" + p);
  assert.equal(a.status, 200);
  assert.match(a.headers.get("cache-status"), /fwd=miss; detail=streamed/);
  const bodyA = await a.text();
  const b = await mf.dispatchFetch("http://site.test" + p);
  assert.match(b.headers.get("cache-status"), /^edgecache; hit/);
  assert.equal(await b.text(), bodyA);
  assert.equal(origin.count(new URL(p, "http://x").pathname), 1);

  const all = await Promise.all(
    Array.from({ length: 100 }, () => mf.dispatchFetch("http://site.test" + cold).then(async (r) => `${r.status} ${await r.text()}`)),
  );
  assert.equal(origin.count(cold), 1, "100 concurrent misses collapsed into one origin request");
  assert.deepEqual(new Set(all), new Set(['200 {"slow":1}']));
}

test("a JS Worker importing the workerd entry unbundled (e2e/fixtures/js-worker): withCache miss → hit, 100 cold → 1", { timeout: 60_000 }, async () => {
  const mf = await start({
    modulesRoot: ROOT,
    scriptPath: path.join(ROOT, "e2e", "fixtures", "js-worker", "worker.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
  });
  await missHitCollapse(mf, "/page?x=1", "/slow");
  const stats = await (await mf.dispatchFetch("http://site.test/_stats")).json();
  assert.equal(stats.kind, "local");
  assert.ok(stats.hits >= 1, JSON.stringify(stats));
});

test("a JS Worker: memcached over TCP (cloudflare:sockets' connect, passed by the workerd entry) passes the conformance suite", { timeout: 120_000 }, async () => {
  mcs = [await startMemcached(), await startMemcached()];
  const mf = await start({
    modulesRoot: ROOT,
    scriptPath: path.join(ROOT, "e2e", "fixtures", "js-worker", "worker.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    bindings: { ORIGIN: origin.url, MEMCACHED: mcs.map((m) => m.address).join(",") },
  });
  const r = await mf.dispatchFetch("http://site.test/_memcached_selftest");
  const report = await r.json();
  assert.equal(report.failed, 0, JSON.stringify(report.cases.filter((c) => !c.passed)));
  assert.ok(report.passed >= 20, JSON.stringify(report));
});

test("the Worker example (js/examples/worker.ts) bundled by wrangler: withCache, the Hono middleware, a custom backend", { timeout: 120_000 }, async () => {
  // An app project as a user has it: node_modules/edgecache (here js/ itself) and hono.
  project = mkdtempSync(path.join(tmpdir(), "edgecache-js-worker-"));
  mkdirSync(path.join(project, "node_modules"));
  symlinkSync(jsPackage(), path.join(project, "node_modules", "edgecache"));
  symlinkSync(path.join(ROOT, "node_modules", "hono"), path.join(project, "node_modules", "hono"));
  for (const f of ["worker.ts", "map-backend.js", "wrangler.toml"]) copyFileSync(path.join(ROOT, "js", "examples", f), path.join(project, f));
  const wrangler = path.join(ROOT, "node_modules", ".bin", "wrangler");
  try {
    await run(wrangler, ["deploy", "--dry-run", "--outdir", "out"], {
      cwd: project,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_API_TOKEN: "", CI: "1" },
    });
  } catch (e) {
    throw new Error(`wrangler could not bundle the example:\n${e.stdout}\n${e.stderr}`);
  }
  const out = readdirSync(path.join(project, "out"));
  const wasm = out.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `wrangler emits the package's wasm as a module: ${out}`);
  const mf = await start({
    // Module names are paths under modulesRoot (workerd refuses "..").
    modulesRoot: path.join(project, "out"),
    scriptPath: path.join(project, "out", "worker.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  });

  // Outside /app/: withCache in front of the origin.
  await missHitCollapse(mf, "/example/page?y=2", "/app-slow");

  // /app/items/:id: the Hono app, cached by the edgecache/hono middleware.
  const a = await mf.dispatchFetch("http://site.test/app/items/7");
  assert.equal(a.status, 200);
  assert.match(a.headers.get("cache-status"), /fwd=miss; detail=streamed/);
  assert.equal(a.headers.get("content-type"), "application/json");
  assert.deepEqual(await a.json(), { id: "7", renders: 1 });
  const b = await mf.dispatchFetch("http://site.test/app/items/7");
  assert.match(b.headers.get("cache-status"), /^edgecache; hit/);
  assert.deepEqual(await b.json(), { id: "7", renders: 1 });
  const all = await Promise.all(Array.from({ length: 100 }, () => mf.dispatchFetch("http://site.test/app/items/cold").then((r) => r.json())));
  assert.deepEqual(new Set(all.map((j) => JSON.stringify(j))), new Set(['{"id":"cold","renders":2}']), "100 concurrent misses rendered once");

  // /app/news/1: stale-while-revalidate in the Hono middleware (ttl 1 s): the
  // stale page at once, one refresh through app.fetch in ctx.waitUntil, then
  // fresh hits. The refresh outlives the response, so the test asks again
  // until the refreshed page is there (each answer meanwhile is the stale one).
  const news = async () => {
    const r = await mf.dispatchFetch("http://site.test/app/news/1");
    return { status: r.status, cache: r.headers.get("cache-status"), body: await r.json() };
  };
  assert.match((await news()).cache, /fwd=miss; detail=streamed/);
  await sleep(1100);
  const stale = await news();
  assert.match(stale.cache, /^edgecache; hit; .*stale-while-revalidate/);
  assert.deepEqual(stale.body, { news: 1 });
  let fresh;
  for (let i = 0; i < 100 && !fresh; i++) {
    const r = await news();
    if (/stale/.test(r.cache)) assert.deepEqual(r.body, { news: 1 });
    else fresh = r;
    if (!fresh) await sleep(50);
  }
  assert.ok(fresh, "the refreshed page within 5 s");
  assert.match(fresh.cache, /^edgecache; hit/);
  assert.deepEqual(fresh.body, { news: 2 });
  assert.equal(origin.count("/news/1"), 2, "exactly one refresh");
  // A failing refresh (the origin answers 503, the route 502): the stale page stays.
  newsFails = true;
  await sleep(1100);
  const s2 = await news();
  assert.match(s2.cache, /stale-while-revalidate/);
  assert.deepEqual(s2.body, { news: 2 });
  for (let i = 0; i < 100 && origin.count("/news/1") < 3; i++) await sleep(50);
  assert.equal(origin.count("/news/1"), 3, "the refresh asked the origin");
  const s3 = await news();
  assert.equal(s3.status, 200);
  assert.deepEqual(s3.body, { news: 2 }, "still the stale page, not the error");

  // /app/visits/:page: counters on the custom backend (js/examples/map-backend.js).
  for (let i = 1; i <= 3; i++) {
    const r = await mf.dispatchFetch("http://site.test/app/visits/home", { method: "POST" });
    assert.deepEqual(await r.json(), { visits: i });
  }
});
