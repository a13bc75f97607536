// The test gateway that stands in for Upstash (servers.mjs
// startUpstashGateway), checked by software this project did not write: the
// official @upstash/redis client (auto-pipelining, pipeline, multi().exec())
// and the request forms Upstash documents (query-string arguments, ?_token=),
// against a real redis-server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { startRedis, startUpstashGateway, respClient } from "./servers.mjs";

const TOKEN = "gateway-test-token";
let redis, gw, client;

before(async () => {
  redis = await startRedis();
  gw = await startUpstashGateway(redis.port, TOKEN);
  client = new Redis({ url: gw.url, token: TOKEN });
});

after(async () => {
  await gw?.stop();
  await redis?.stop();
});

/** Requests the gateway counted while `f` ran, per path kind. */
async function counted(f) {
  const before = gw.perPath();
  const result = await f();
  const after = gw.perPath();
  const delta = {};
  for (const [k, n] of Object.entries(after)) if (n !== (before[k] ?? 0)) delta[k] = n - (before[k] ?? 0);
  return { result, delta };
}

test("@upstash/redis: single commands, JSON values, a missing key", async () => {
  assert.equal(await client.set("g:a", { n: 1 }), "OK");
  assert.deepEqual(await client.get("g:a"), { n: 1 });
  assert.equal(await client.get("g:missing"), null);
  assert.equal(await client.incr("g:n"), 1);
  await assert.rejects(client.incr("g:a"), /not an integer/);
});

test("@upstash/redis auto-pipelining: 100 concurrent gets are 1 /pipeline request", async () => {
  const keys = Array.from({ length: 100 }, (_, i) => `g:k${i}`);
  await client.mset(Object.fromEntries(keys.map((k, i) => [k, i])));
  const { result, delta } = await counted(() => Promise.all(keys.map((k) => client.get(k))));
  assert.deepEqual(result, keys.map((_, i) => i));
  assert.deepEqual(delta, { "/pipeline": 1 });
});

test("@upstash/redis pipeline(): results in order, an error per command", async () => {
  await client.set("g:text", "abc");
  const { result, delta } = await counted(() => client.pipeline().set("g:p", 5).incr("g:p").get("g:p").exec());
  assert.deepEqual(result, ["OK", 6, 6]);
  assert.deepEqual(delta, { "/pipeline": 1 });
  const kept = await client.pipeline().incr("g:text").get("g:text").exec({ keepErrors: true });
  assert.match(kept[0].error, /not an integer/);
  assert.equal(kept[1].result, "abc");
});

test("@upstash/redis multi().exec(): one /multi-exec request, atomic on the server", async () => {
  const r = respClient(redis.port);
  try {
    await r.call(["CONFIG", "RESETSTAT"]);
    const { result, delta } = await counted(() => client.multi().set("g:m", 1).incr("g:m").incrby("g:m", 10).get("g:m").exec());
    assert.deepEqual(result, ["OK", 2, 12, 12]);
    assert.deepEqual(delta, { "/multi-exec": 1 });
    const stats = String(await r.call(["INFO", "commandstats"]));
    assert.match(stats, /cmdstat_multi:calls=1,/);
    assert.match(stats, /cmdstat_exec:calls=1,/);
    // A command that fails inside the transaction fails alone; the others run.
    const kept = await client.multi().set("g:t", "x").incr("g:t").get("g:t").exec({ keepErrors: true });
    assert.equal(kept[0].result, "OK");
    assert.match(kept[1].error, /not an integer/);
    assert.equal(kept[2].result, "x");
  } finally {
    r.close();
  }
});

test("a discarded transaction is one error", async () => {
  const res = await fetch(gw.url + "/multi-exec", {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify([["SET", "g:d", "1"], ["GET"]]),
  });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /EXECABORT/);
});

test("query-string arguments after a POSTed value, and ?_token=", async () => {
  let res = await fetch(`${gw.url}/set/g:q?EX=100&_token=${TOKEN}`, { method: "POST", body: "a value/with?odd=chars" });
  assert.deepEqual(await res.json(), { result: "OK" });
  res = await fetch(`${gw.url}/set/g:q/other?NX&_token=${TOKEN}`, { method: "POST" });
  assert.deepEqual(await res.json(), { result: null }, "NX as a bare query parameter");
  res = await fetch(`${gw.url}/get/g:q?_token=${TOKEN}`);
  assert.deepEqual(await res.json(), { result: "a value/with?odd=chars" });
  const r = respClient(redis.port);
  try {
    const ttl = Number(await r.call(["TTL", "g:q"]));
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  } finally {
    r.close();
  }
  res = await fetch(`${gw.url}/get/g:q?_token=wrong`);
  assert.equal(res.status, 401);
  res = await fetch(`${gw.url}/get/g:q`, { method: "DELETE", headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 405);
});
