// The Redis REST backend inside workerd, against real redis-server
// processes (a leader and a read replica) behind the Upstash protocol.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startOrigin, freePort } from "./helpers.mjs";
import { startRedis, startUpstashGateway, respClient } from "./servers.mjs";

const TOKEN = "redis-test-token";
let leader, replica, gwLeader, gwReplica, w, origin;

before(async () => {
  leader = await startRedis();
  replica = await startRedis({ replicaOf: leader.port });
  gwLeader = await startUpstashGateway(leader.port, TOKEN);
  gwReplica = await startUpstashGateway(replica.port, TOKEN);
  origin = await startOrigin();
  const caches = {
    default: { backend: "local" },
    shared: {
      backend: "redis",
      key_prefix: "edge",
      ttl: 60,
      options: { url: gwLeader.url, read_urls: [gwReplica.url, gwLeader.url], token_secret: "REDIS_TOKEN", read_your_writes_ms: 300 },
    },
  };
  caches.tiered = {
    backend: "tiered",
    key_prefix: "tier",
    options: {
      near: { backend: "local", options: { max_entries: 1000 } },
      far: { backend: "redis", options: { url: gwLeader.url, token_secret: "REDIS_TOKEN" } },
      near_ttl: 2,
    },
  };
  const routes = [{ path: "*", backend: "shared", ttl: 30 }];
  w = await startWorker({ CACHES: JSON.stringify(caches), ROUTES: JSON.stringify(routes), REDIS_TOKEN: TOKEN, ORIGIN: origin.url });
});

after(async () => {
  await w?.dispose();
  await gwLeader?.stop();
  await gwReplica?.stop();
  await replica?.stop();
  await leader?.stop();
  await origin?.close();
});

test("conformance suite: redis backend in workerd against real redis-server", { timeout: 120_000 }, async () => {
  const r = await w.admin("selftest?backend=shared", { method: "POST" });
  const body = await r.json();
  const failed = body.reports?.flatMap((x) => x.cases.filter((c) => !c.passed)) ?? body;
  assert.equal(body.failed, 0, JSON.stringify(failed));
  assert.ok(body.passed >= 19);
});

test("conformance suite: tiered (local near, redis far) in workerd", { timeout: 120_000 }, async () => {
  const r = await w.admin("selftest?backend=tiered", { method: "POST" });
  const body = await r.json();
  const failed = body.reports?.flatMap((x) => x.cases.filter((c) => !c.passed)) ?? body;
  assert.equal(body.failed, 0, JSON.stringify(failed));
  assert.ok(body.passed >= 19);
});

test("tiered: a read fills the near tier; stats show both tiers", async () => {
  let r = await w.admin("keys/tiered/t1", { method: "PUT", headers: { "content-type": "application/json" }, body: "1" });
  await r.text();
  for (let i = 0; i < 3; i++) await (await w.admin("keys/tiered/t1")).text();
  const s = (await (await w.admin("stats")).json()).backends.tiered;
  assert.equal(s.kind, "tiered");
  assert.ok(s.near.hits >= 3, JSON.stringify(s));
  assert.equal(s.far.kind, "redis");
});

test("values written through the Worker are the wire format in redis, keys are Ellar's", async () => {
  let r = await w.admin("keys/shared/user%3A1?ttl=100", { method: "PUT", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' });
  assert.equal(r.status, 200, await r.text());
  r = await w.admin("keys/shared/n", { method: "PUT", headers: { "content-type": "application/json" }, body: "41" });
  await r.text();
  const redis = respClient(leader.port);
  try {
    const raw = await redis.call(["GET", "edge:1:user:1"]);
    assert.equal(raw.toString("utf8"), '\x1eEC1j{"name":"Ada"}');
    assert.equal((await redis.call(["GET", "edge:1:n"])).toString(), "41");
    const ttl = await redis.call(["TTL", "edge:1:user:1"]);
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    // A value written by another client is read as bytes.
    await redis.call(["SET", "edge:1:foreign", "plain text"]);
  } finally {
    redis.close();
  }
  r = await w.admin("incr/shared/n", { method: "POST" });
  assert.deepEqual(await r.json(), { value: 42 });
  r = await w.admin("keys/shared/foreign");
  assert.equal(await r.text(), "plain text");
});

test("reads are spread over the read replicas", async () => {
  await new Promise((r) => setTimeout(r, 400)); // past read_your_writes_ms
  const before = gwReplica.requests();
  for (let i = 0; i < 20; i++) await (await w.admin("keys/shared/user%3A1")).text();
  assert.ok(gwReplica.requests() - before >= 3, "the replica served some reads");
});

test("response cache on redis: miss then hit, shared by two Worker instances", async () => {
  const site = "https://shop.example/page";
  const a = await w.dispatch(site);
  const bodyA = await a.text();
  assert.match(a.headers.get("cache-status"), /stored/);
  const b = await w.dispatch(site);
  assert.match(b.headers.get("cache-status"), /hit/);
  assert.equal(await b.text(), bodyA);
  assert.equal(origin.count("/page"), 1);
  const w2 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "local" }, shared: { backend: "redis", key_prefix: "edge", ttl: 60, options: { url: gwLeader.url, token_secret: "REDIS_TOKEN" } } }),
    ROUTES: JSON.stringify([{ path: "*", backend: "shared", ttl: 30 }]),
    REDIS_TOKEN: TOKEN,
    ORIGIN: origin.url,
  });
  try {
    const c = await w2.dispatch(site);
    assert.match(c.headers.get("cache-status"), /hit/, "a second Worker instance shares the entry");
    await c.text();
  } finally {
    await w2.dispose();
  }
});

test("backend down: the origin is served (fail open), errors counted", async () => {
  const dead = await freePort();
  const w3 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "redis", options: { url: `http://127.0.0.1:${dead}`, timeout_ms: 500 } } }),
    ORIGIN: origin.url,
  });
  try {
    const r = await fetch(w3.url("/down"));
    assert.equal(r.status, 200);
    assert.equal((await r.json()).path, "/down");
    assert.match(r.headers.get("cache-status"), /fwd=(bypass|miss)/);
    const s = await (await w3.admin("stats")).json();
    assert.ok(s.responses.store_errors >= 1);
    const k = await w3.admin("keys/default/x");
    assert.equal(k.status, 502);
    assert.match((await k.json()).message, /127\.0\.0\.1/);
  } finally {
    await w3.dispose();
  }
});

test("killed redis: the circuit breaker opens and requests go straight to the origin", { timeout: 60_000 }, async () => {
  const r = await startRedis();
  const gw = await startUpstashGateway(r.port, TOKEN);
  const w6 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "redis", key_prefix: "brk", options: { url: gw.url, token_secret: "REDIS_TOKEN", timeout_ms: 1000 } } }),
    REDIS_TOKEN: TOKEN,
    ORIGIN: origin.url,
  });
  try {
    const warm = await fetch(w6.url("/breaker"));
    await warm.text();
    await r.stop();
    const took = [];
    for (let i = 0; i < 8; i++) {
      const t0 = performance.now();
      const res = await fetch(w6.url(`/breaker?i=${i}`));
      assert.equal(res.status, 200);
      assert.equal((await res.json()).path, "/breaker");
      took.push(Math.round(performance.now() - t0));
    }
    const s = await (await w6.admin("stats")).json();
    assert.equal(s.breakers.default.state, "open", JSON.stringify(s.breakers));
    assert.ok(s.breakers.default.skipped >= 5, JSON.stringify(s.breakers));
    console.log(`# killed redis: ms per request ${took.join(", ")}`);
  } finally {
    await w6.dispose();
    await gw.stop();
  }
});

test("wrong token: a clear error", async () => {
  const w4 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "redis", options: { url: gwLeader.url, token_secret: "REDIS_TOKEN" } } }),
    REDIS_TOKEN: "wrong",
  });
  try {
    const r = await w4.admin("keys/default/x");
    assert.equal(r.status, 502);
    assert.match((await r.json()).message, /401.*token/);
  } finally {
    await w4.dispose();
  }
});

test("missing secret: startup names the field", async () => {
  const w5 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "redis", options: { url: gwLeader.url, token_secret: "NOPE" } } }),
  });
  try {
    const r = await fetch(w5.url("/x"));
    assert.equal(r.status, 500);
    assert.match(await r.text(), /default\.options\.token_secret: secret "NOPE" is not set/);
  } finally {
    await w5.dispose();
  }
});
