// Round trips of the Redis REST backend inside workerd, counted at the
// Upstash-protocol gateway in front of a real redis-server: automatic
// pipelining (100 concurrent gets = 1 request), get_many/set_many in one
// request, and the response cache's miss (one read + one write) and hit (one
// read), in the release Worker and through the npm package (beside the
// official @upstash/redis in the same Worker: e2e/fixtures/redis-peer).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, startWorker } from "./helpers.mjs";
import { startPeerWorker } from "./fixtures/redis-peer/start.mjs";
import { startRedis, startUpstashGateway } from "./servers.mjs";

const TOKEN = "pipelining-test-token";
let redis, gw, origin, peer, w;

before(async () => {
  redis = await startRedis();
  gw = await startUpstashGateway(redis.port, TOKEN);
  origin = await startOrigin();
  peer = await startPeerWorker({ REDIS_URL: gw.url, REDIS_TOKEN: TOKEN, ORIGIN: origin.url });
  const caches = {
    default: { backend: "local" },
    shared: { backend: "redis", key_prefix: "rc", ttl: 60, options: { url: gw.url, token_secret: "REDIS_TOKEN" } },
  };
  w = await startWorker({
    CACHES: JSON.stringify(caches),
    ROUTES: JSON.stringify([{ path: "*", backend: "shared", ttl: 30 }]),
    REDIS_TOKEN: TOKEN,
    ORIGIN: origin.url,
  });
});

after(async () => {
  await peer?.dispose();
  await w?.dispose();
  await gw?.stop();
  await redis?.stop();
  await origin?.close();
});

/** Runs `f`; returns its result and the gateway's requests meanwhile, per path kind. */
async function counted(f) {
  const before = gw.perPath();
  const result = await f();
  const delta = {};
  for (const [k, n] of Object.entries(gw.perPath())) if (n !== (before[k] ?? 0)) delta[k] = n - (before[k] ?? 0);
  return { result, delta };
}

const op = async (lib, name, iters = 1) => {
  const r = await peer.dispatchFetch(`http://peer.test/op?lib=${lib}&op=${name}&iters=${iters}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text);
};

test("npm package in workerd: set_many(100) and get_many(100) are one request each", async () => {
  let { result, delta } = await counted(() => op("edgecache", "set_many"));
  assert.deepEqual(result.check, []);
  assert.deepEqual(delta, { "/": 1 }, "one MSET: no value expires (ttl null)");
  ({ result, delta } = await counted(() => op("edgecache", "get_many")));
  assert.equal(result.check, 100);
  assert.deepEqual(delta, { "/": 1 }, "one MGET");
});

test("npm package in workerd: 100 concurrent gets are 1 request, as with @upstash/redis", async () => {
  for (const lib of ["edgecache", "upstash"]) {
    const { result, delta } = await counted(() => op(lib, "concurrent_gets", 3));
    assert.equal(result.check, 100, lib);
    assert.deepEqual(delta, { "/pipeline": 3 }, `${lib}: one request per round of 100`);
  }
});

test("release Worker: a response-cache miss is one read + one write, a hit one read", async () => {
  const miss = await counted(async () => {
    const r = await w.dispatch("https://shop.example/rt");
    assert.match(r.headers.get("cache-status"), /fwd=miss; stored/);
    return r.text();
  });
  const total = (d) => Object.values(d).reduce((a, b) => a + b, 0);
  assert.equal(total(miss.delta), 2, JSON.stringify(miss.delta));
  assert.equal(miss.delta["/pipeline"], 1, "the generation and the entry in one round trip");
  const hit = await counted(async () => {
    const r = await w.dispatch("https://shop.example/rt");
    assert.match(r.headers.get("cache-status"), /hit/);
    return r.text();
  });
  assert.equal(hit.result, miss.result);
  assert.equal(total(hit.delta), 1, JSON.stringify(hit.delta));
  // Past the generation's refresh interval: still one round trip.
  await new Promise((r) => setTimeout(r, 1100));
  const later = await counted(async () => (await w.dispatch("https://shop.example/rt")).text());
  assert.deepEqual(later.delta, { "/pipeline": 1 });
  assert.equal(origin.count("/rt"), 1);
});

test("npm package withCache on redis: miss → 2 requests, hit → 1", async () => {
  const miss = await counted(async () => {
    const r = await peer.dispatchFetch("http://peer.test/page/p1?lib=edgecache");
    assert.match(r.headers.get("cache-status"), /fwd=miss; detail=streamed/);
    return r.text();
  });
  assert.equal(Object.values(miss.delta).reduce((a, b) => a + b, 0), 2, JSON.stringify(miss.delta));
  const hit = await counted(async () => (await peer.dispatchFetch("http://peer.test/page/p1?lib=edgecache")).text());
  assert.equal(hit.result, miss.result);
  assert.equal(Object.values(hit.delta).reduce((a, b) => a + b, 0), 1, JSON.stringify(hit.delta));
});
