// The release Worker in real workerd: response caching on the demo origin
// and on a real origin, and the admin API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startOrigin } from "./helpers.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.dispose();
});

test("demo origin: miss, then hit with Cache-Status and Age", async () => {
  const a = await fetch(w.url("/hello"));
  const bodyA = await a.text();
  assert.equal(a.status, 200);
  assert.match(a.headers.get("cache-status"), /^edgecache; fwd=miss; stored/);
  const b = await fetch(w.url("/hello"));
  assert.equal(await b.text(), bodyA, "a hit repeats the stored body");
  assert.match(b.headers.get("cache-status"), /^edgecache; hit; ttl=\d+/);
  assert.match(b.headers.get("age"), /^\d+$/);
});

test("private and Set-Cookie responses are not stored", async () => {
  for (const p of ["/private", "/cookie"]) {
    const a = await fetch(w.url(p));
    await a.text();
    assert.match(a.headers.get("cache-status"), /fwd=miss; detail=(private|set-cookie)/);
    const b = await fetch(w.url(p));
    await b.text();
    assert.match(b.headers.get("cache-status"), /fwd=miss/, `${p} must not be served from cache`);
  }
});

test("query strings are distinct cache keys", async () => {
  const a = await (await fetch(w.url("/q?x=1"))).text();
  await new Promise((r) => setTimeout(r, 5));
  const b = await fetch(w.url("/q?x=2"));
  assert.match(b.headers.get("cache-status"), /fwd=miss/);
  assert.notEqual(await b.text(), a);
});

test("conformance suite passes inside workerd", async () => {
  const r = await w.admin("selftest", { method: "POST" });
  const body = await r.json();
  assert.equal(body.failed, 0, JSON.stringify(body.reports.flatMap((x) => x.cases.filter((c) => !c.passed))));
  assert.ok(body.passed >= 50, `only ${body.passed} cases ran`);
  assert.equal(r.status, 200);
});

test("admin API: auth is required", async () => {
  const none = await fetch(w.url("/_edgecache/stats"));
  assert.equal(none.status, 401);
  const wrong = await fetch(w.url("/_edgecache/stats"), { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  await none.text();
  await wrong.text();
});

test("admin API: set, get, incr, decr, touch, delete, stats", async () => {
  let r = await w.admin("keys/default/counter?ttl=60", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: "41",
  });
  assert.equal(r.status, 200, await r.text());
  r = await w.admin("incr/default/counter", { method: "POST" });
  assert.deepEqual(await r.json(), { value: 42 });
  r = await w.admin("decr/default/counter?delta=2", { method: "POST" });
  assert.deepEqual(await r.json(), { value: 40 });
  r = await w.admin("keys/default/counter");
  assert.equal(await r.text(), "40");
  assert.equal(r.headers.get("x-edgecache-key"), ":1:counter");
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  r = await w.admin("touch/default/counter?ttl=never", { method: "POST" });
  assert.deepEqual(await r.json(), { touched: true });
  r = await w.admin("keys/default/bytes%20key", {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: new Uint8Array([0, 255, 7]),
  });
  assert.equal(r.status, 200, await r.text());
  r = await w.admin("keys/default/bytes%20key");
  assert.equal(r.headers.get("content-type"), "application/octet-stream");
  assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [0, 255, 7]);
  r = await w.admin("keys/default/counter", { method: "DELETE" });
  assert.deepEqual(await r.json(), { deleted: true });
  r = await w.admin("keys/default/counter");
  assert.equal(r.status, 404);
  await r.text();
  r = await w.admin("incr/default/counter", { method: "POST" });
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error, "not_found");
  r = await w.admin("stats");
  const stats = await r.json();
  assert.equal(stats.backends.default.kind, "local");
  assert.ok(stats.backends.default.hits >= 1);
});

test("admin API: clear errors for bad input", async () => {
  let r = await w.admin("keys/nope/k");
  assert.equal(r.status, 404);
  assert.match((await r.json()).message, /configured backends: default/);
  r = await w.admin("keys/default/k?ttl=soon", { method: "PUT", body: "1", headers: { "content-type": "application/json" } });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, "invalid_ttl");
  r = await w.admin("keys/default/k", { method: "PUT", body: "{nope", headers: { "content-type": "application/json" } });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, "bad_request");
  r = await w.admin("keys/default/k?ttl=5", { method: "PUT", body: "1", headers: { "content-type": "application/json" } });
  await r.text();
  r = await w.admin("incr/default/k?delta=x", { method: "POST" });
  assert.equal(r.status, 400);
  await r.text();
});

test("configured CACHES: two backends, prefixes, versions", async () => {
  const caches = JSON.stringify({
    default: { backend: "local", ttl: 300, key_prefix: "site", version: 2 },
    sessions: { backend: "local", ttl: null, key_prefix: "sess", options: { max_entries: 100 } },
  });
  const w2 = await startWorker({ CACHES: caches });
  try {
    let r = await w2.admin("key/default/user%3A7");
    assert.deepEqual(await r.json(), { key: "site:2:user:7" });
    r = await w2.admin("key/sessions/abc?version=5");
    assert.deepEqual(await r.json(), { key: "sess:5:abc" });
    r = await w2.admin("keys/sessions/abc", { method: "PUT", body: "\"s\"", headers: { "content-type": "application/json" } });
    await r.text();
    r = await w2.admin("keys/default/abc");
    assert.equal(r.status, 404, "backends are separate");
    await r.text();
    r = await w2.admin("stats");
    assert.deepEqual((await r.json()).names, ["default", "sessions"]);
  } finally {
    await w2.dispose();
  }
});

test("malformed CACHES fails every request with the field named", async () => {
  const w3 = await startWorker({ CACHES: JSON.stringify({ default: { backend: "local", ttl: "soon" } }) });
  try {
    const r = await fetch(w3.url("/hello"));
    assert.equal(r.status, 500);
    assert.match(await r.text(), /default\.ttl/);
  } finally {
    await w3.dispose();
  }
  const w4 = await startWorker({ CACHES: JSON.stringify({ main: { backend: "local" } }) });
  try {
    const r = await fetch(w4.url("/hello"));
    assert.equal(r.status, 500);
    assert.match(await r.text(), /"default" is required/);
  } finally {
    await w4.dispose();
  }
});

test("admin API is closed when no ADMIN_TOKEN is configured", async () => {
  const w5 = await startWorker({ ADMIN_TOKEN: "" });
  try {
    const r = await fetch(w5.url("/_edgecache/stats"), { headers: { authorization: "Bearer " } });
    assert.equal(r.status, 403);
    assert.match((await r.json()).message, /ADMIN_TOKEN/);
  } finally {
    await w5.dispose();
  }
});

test("real origin: one origin request for a miss then a hit; POST passes through", async () => {
  const origin = await startOrigin({
    "/api/item": (req, n) => ({ body: JSON.stringify({ n }), headers: { "cache-control": "public, max-age=60" } }),
    "/api/post": (req, n) => ({ body: JSON.stringify({ method: req.method, n }) }),
  });
  const w6 = await startWorker({ ORIGIN: origin.url });
  try {
    const a = await (await fetch(w6.url("/api/item"))).json();
    const b = await fetch(w6.url("/api/item"));
    assert.deepEqual(await b.json(), a);
    assert.match(b.headers.get("cache-status"), /hit/);
    assert.equal(origin.count("/api/item"), 1);
    const p = await fetch(w6.url("/api/post"), { method: "POST", body: "x" });
    assert.equal((await p.json()).method, "POST");
    assert.match(p.headers.get("cache-status"), /fwd=bypass/);
  } finally {
    await w6.dispose();
    await origin.close();
  }
});
