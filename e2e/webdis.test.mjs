// The Redis backend's Webdis dialect inside workerd, against Debian's webdis
// in front of a real redis-server: the conformance suite, binary values as
// redis sees them, wrong credentials, webdis down.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, freePort } from "./helpers.mjs";
import { startRedis, startWebdis, respClient } from "./servers.mjs";

const AUTH = "edge:webdis-s3cret";
let redis, webdis, w;

before(async () => {
  redis = await startRedis();
  webdis = await startWebdis(redis.port, AUTH);
  const caches = {
    default: { backend: "local" },
    wd: { backend: "redis", key_prefix: "wd", options: { url: webdis.url, dialect: "webdis", token_secret: "WEBDIS_AUTH" } },
  };
  w = await startWorker({ CACHES: JSON.stringify(caches), WEBDIS_AUTH: AUTH });
});

after(async () => {
  await w?.dispose();
  await webdis?.stop();
  await redis?.stop();
});

test("conformance suite: redis backend, webdis dialect, in workerd against webdis + redis-server", { timeout: 180_000 }, async () => {
  const r = await w.admin("selftest?backend=wd", { method: "POST" });
  const body = await r.json();
  const failed = body.reports?.flatMap((x) => x.cases.filter((c) => !c.passed)) ?? body;
  assert.equal(body.failed, 0, JSON.stringify(failed));
  assert.ok(body.passed >= 21, JSON.stringify(body));
});

test("webdis: binary values and odd keys reach redis byte for byte", async () => {
  const bytes = Buffer.from([0xff, 0x00, 0x2f, 0x2e, 0x25, 0x0d, 0x0a, 0x80]);
  let r = await w.admin("keys/wd/a%2Fb.html?ttl=never", { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: bytes });
  assert.equal(r.status, 200, await r.text());
  const c = respClient(redis.port);
  try {
    const raw = await c.call(["GET", "wd:1:a/b.html"]);
    assert.deepEqual(raw.subarray(raw.length - bytes.length), bytes);
  } finally {
    c.close();
  }
  r = await w.admin("keys/wd/a%2Fb.html");
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes);
});

test("webdis: wrong credentials are a clear error", async () => {
  const w2 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "redis", options: { url: webdis.url, dialect: "webdis", token_secret: "WEBDIS_AUTH" } } }),
    WEBDIS_AUTH: "edge:wrong",
  });
  try {
    const r = await w2.admin("keys/default/x");
    assert.equal(r.status, 502);
    assert.match((await r.json()).message, /HTTP 403: check the credentials/);
  } finally {
    await w2.dispose();
  }
});

test("webdis down: a clear error naming it, within the timeout", async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const w3 = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "redis", options: { url: dead, dialect: "webdis", timeout_ms: 1000 } } }),
  });
  try {
    const r = await w3.admin("keys/default/x");
    assert.equal(r.status, 502);
    assert.match((await r.json()).message, new RegExp(dead.replace(/[.]/g, "\\.")));
  } finally {
    await w3.dispose();
  }
});
