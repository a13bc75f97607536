// The memcached backend inside workerd, against three real memcached
// processes: over Workers TCP sockets directly and through twemproxy, and
// through nginx with the memc module (the repo's gateway config).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startOrigin } from "./helpers.mjs";
import { startMemcached, startMemcGateway, startTwemproxy, memcachedCall } from "./servers.mjs";

const TOKEN = "memc-gateway-token";
let mcs, gw, proxy, w, origin;

before(async () => {
  mcs = [await startMemcached(), await startMemcached(), await startMemcached()];
  const servers = mcs.map((m) => m.address);
  gw = await startMemcGateway(servers, TOKEN);
  proxy = await startTwemproxy(servers);
  origin = await startOrigin();
  const caches = {
    default: { backend: "local" },
    tcp: { backend: "memcached", key_prefix: "edge", ttl: 60, options: { servers } },
    gateway: { backend: "memcached", key_prefix: "edge", ttl: 60, options: { servers, gateway_url: gw.url, token_secret: "MEMC_TOKEN" } },
    proxy: { backend: "memcached", options: { servers: [proxy.address] } },
    ring: { backend: "memcached", options: { servers, distribution: "rendezvous" } },
    pylibmc_ring: { backend: "memcached", options: { servers, distribution: "rendezvous" } },
  };
  const routes = [
    { path: "/gw/*", backend: "gateway", ttl: 30, key_prefix: "gw" },
    { path: "*", backend: "tcp", ttl: 30 },
  ];
  w = await startWorker({ CACHES: JSON.stringify(caches), ROUTES: JSON.stringify(routes), MEMC_TOKEN: TOKEN, ORIGIN: origin.url });
});

after(async () => {
  await w?.dispose();
  await gw?.stop();
  await proxy?.stop();
  for (const m of mcs ?? []) await m.stop();
  await origin?.close();
});

async function selftest(backend, query = "") {
  const r = await w.admin(`selftest?backend=${backend}${query}`, { method: "POST" });
  const body = await r.json();
  const failed = body.reports?.flatMap((x) => x.cases.filter((c) => !c.passed)) ?? body;
  assert.equal(body.failed, 0, JSON.stringify(failed));
  assert.ok(body.passed >= 20, JSON.stringify(body));
}

test("conformance suite: memcached over Workers TCP sockets, three servers", { timeout: 120_000 }, async () => {
  await selftest("tcp");
});

test("conformance suite: memcached through the nginx memc gateway", { timeout: 120_000 }, async () => {
  await selftest("gateway", "&unsigned_counters=true");
});

test("conformance suite: memcached through twemproxy", { timeout: 120_000 }, async () => {
  await selftest("proxy", "&unsigned_counters=true");
});

test("placement: keys twemproxy placed (ketama) are found by edgecache's own ketama_weighted ring", { timeout: 60_000 }, async () => {
  const n = 200;
  let req = "";
  for (let i = 0; i < n; i++) req += `set :1:k${i} 0 0 ${String(i).length}\r\n${i}\r\n`;
  const reply = await memcachedCall(proxy.port, req, (s) => (s.match(/STORED\r\n/g) || []).length === n);
  assert.equal((reply.toString().match(/STORED/g) || []).length, n);
  let found = 0;
  let foundByPylibmcRing = 0;
  for (let i = 0; i < n; i++) {
    const r = await w.admin(`keys/ring/k${i}`);
    if (r.status === 200) {
      assert.equal(await r.json(), i);
      found++;
    } else await r.text();
    const p = await w.admin(`keys/pylibmc_ring/k${i}`);
    if (p.status === 200) foundByPylibmcRing++;
    await p.text();
  }
  assert.equal(found, n, "every key twemproxy wrote is where ketama_weighted looks");
  // pylibmc's plain ketama (one_at_a_time, 100 points) is another ring.
  assert.ok(foundByPylibmcRing < n * 0.8, `pylibmc's ketama found ${foundByPylibmcRing} of ${n}`);
});

test("response cache on memcached (TCP): miss, then hit", async () => {
  const a = await w.dispatch("https://shop.example/mc-page");
  const body = await a.text();
  assert.match(a.headers.get("cache-status"), /stored/);
  const b = await w.dispatch("https://shop.example/mc-page");
  assert.match(b.headers.get("cache-status"), /hit/);
  assert.equal(await b.text(), body);
  assert.equal(origin.count("/mc-page"), 1);
});

test("response cache through the gateway: miss, hit, then fail-open when the gateway is down", { timeout: 60_000 }, async () => {
  const a = await w.dispatch("https://shop.example/gw/page");
  const body = await a.text();
  assert.match(a.headers.get("cache-status"), /stored/);
  const b = await w.dispatch("https://shop.example/gw/page");
  assert.match(b.headers.get("cache-status"), /hit/);
  assert.equal(await b.text(), body);
  assert.equal(origin.count("/gw/page"), 1);

  await gw.stop();
  for (let i = 0; i < 3; i++) {
    const r = await w.dispatch(`https://shop.example/gw/down?i=${i}`);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).path, "/gw/down");
  }
  const k = await w.admin("keys/gateway/x", { method: "PUT", headers: { "content-type": "application/json" }, body: "1" });
  assert.equal(k.status, 502);
  assert.match((await k.json()).message, /memcached \(gateway\)/);
});
