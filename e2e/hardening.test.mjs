// Issue 11: the release Worker in real workerd probed as an attacker would,
// in front of a real origin written to behave like common frameworks. Each
// test checks that the attack fails and that the cache survives it (a warm
// entry stays a hit: the isolate did not restart).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";

let origin, w;
const seen = []; // every request the origin got: {path, headers}
const counts = new Map();
let hang = false;

/** A raw HTTP request (fetch refuses some headers, such as Expect). */
function raw(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

before(async () => {
  origin = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    // Like Express (case-insensitive routing, `;params` and trailing dots
    // dropped by some frameworks) and like origins that honour
    // X-Original-URL (IIS, some Symfony/Laravel setups).
    let p = req.headers["x-original-url"] || url.pathname;
    p = decodeURIComponent(p).toLowerCase().replace(/;[^/]*/g, "").replace(/\.(?=\/|$)/g, "");
    seen.push({ path: url.pathname, headers: req.headers });
    counts.set(p, (counts.get(p) || 0) + 1);
    const n = counts.get(p);
    const json = (status, obj, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(obj));
    };
    if (p.endsWith("/hang")) {
      if (hang) return; // never answers
      return json(200, { n });
    }
    if (p.startsWith("/account/")) {
      // A private page personalised by the session cookie, without Vary or private.
      return json(200, { page: p, user: (req.headers.cookie || "anonymous").replace(/^session=/, ""), n });
    }
    if (p === "/echo") return json(200, { headers: req.headers, n });
    const st = p.match(/\/status\/(\d+)$/);
    if (st) {
      res.writeHead(Number(st[1]), { "content-type": "text/plain", "x-odd": "caf\u00e9\u00ff" });
      return res.end("body of an odd status");
    }
    if (p === "/status600") {
      res.writeHead(600, { "content-type": "text/plain" });
      return res.end("odd");
    }
    if (p === "/redirect-out") return json(302, { n }, { location: "https://evil.example/steal" });
    if (p === "/moved") return json(301, { n }, { location: "/new-home" });
    if (p === "/nocache") return json(200, { n }, { "cache-control": "no-cache" });
    return json(200, { path: p, n });
  });
  await new Promise((r) => origin.listen(0, "127.0.0.1", r));
  const routes = [
    { path: "/account/*", bypass: true },
    { path: "/api/*", bypass: true, origin_timeout_ms: 2000 },
    { path: "/static/*", ttl: 60, key_prefix: "static", cookies: "ignore" },
    { path: "/slow/*", ttl: 1, stale_if_error: 60, origin_timeout_ms: 300, key_prefix: "slow" },
    { path: "/sorted/*", ttl: 60, sort_query: true, key_prefix: "sorted" },
    { path: "*", ttl: 60, origin_timeout_ms: 2000 },
  ];
  w = await startWorker({ ORIGIN: `http://127.0.0.1:${origin.address().port}`, ROUTES: JSON.stringify(routes) });
});

after(async () => {
  await w?.dispose();
  await new Promise((r) => origin?.close(r));
});

const status = (r) => r.headers.get?.("cache-status") ?? r.headers["cache-status"];

/** Warms /static/canary; later tests check it is still a hit (no restart). */
async function canaryIsHit() {
  const r = await fetch(w.url("/static/canary"));
  await r.text();
  return /hit/.test(status(r));
}

test("1. Expect: 100-continue and out-of-range origin statuses neither crash nor wipe the cache", async () => {
  await canaryIsHit();
  assert.ok(await canaryIsHit());
  const e = await raw(w.url("/page-expect"), { headers: { expect: "100-continue" } });
  assert.equal(e.status, 200, e.body);
  assert.equal(seen.at(-1).headers.expect, undefined, "Expect is hop-by-hop: not forwarded");
  const odd = await fetch(w.url("/status600"));
  assert.equal(odd.status, 502);
  assert.match(await odd.text(), /status 600/);
  assert.ok(await canaryIsHit(), "the cache survived");
});

test("1b. any origin status, odd header bytes: an answer every time, the cache survives", { timeout: 120_000 }, async () => {
  await canaryIsHit();
  for (const code of [103, 199, 204, 205, 304, 418, 599, 600, 999]) {
    for (const prefix of ["/api", ""]) {
      const r = await raw(w.url(`${prefix}/status/${code}`));
      assert.ok(r.status >= 200 && r.status <= 599, `${prefix}/status/${code} -> ${r.status}`);
      if (code >= 200 && code <= 599) assert.equal(r.status, code, `${prefix}/status/${code}`);
      else assert.ok([502, 504].includes(r.status), `${prefix}/status/${code} -> ${r.status}`);
    }
  }
  assert.ok(await canaryIsHit(), "the cache survived");
});

test("2. redirects pass through, are not followed, and follow the normal storage rules", async () => {
  const r = await fetch(w.url("/redirect-out"), { redirect: "manual" });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get("location"), "https://evil.example/steal");
  await r.text();
  const m1 = await fetch(w.url("/moved"), { redirect: "manual" });
  await m1.text();
  const m2 = await fetch(w.url("/moved"), { redirect: "manual" });
  await m2.text();
  assert.equal(m2.status, 301);
  assert.equal(m2.headers.get("location"), "/new-home");
  assert.match(status(m2), /hit/, "a 301 is cacheable by default");
  const r2 = await fetch(w.url("/redirect-out"), { redirect: "manual" });
  await r2.text();
  assert.doesNotMatch(status(r2), /hit/, "a 302 is not cacheable without explicit freshness");
});

test("3. bypass rules err towards bypassing: case, dots, ;params, %3b, X-Original-URL, cookies", async () => {
  const alice = { cookie: "session=alice" };
  for (const p of ["/Account/profile", "/account./profile", "/account;foo/profile", "/account%3bfoo/profile", "/ACCOUNT/profile/."]) {
    const a = await fetch(w.url(p), { headers: alice });
    const body = await a.json();
    assert.match(status(a), /fwd=bypass/, `${p}: ${status(a)}`);
    const anon = await fetch(w.url(p));
    const anonBody = await anon.json();
    assert.equal(anonBody.user, "anonymous", `${p}: Alice's page went to an anonymous user`);
    assert.equal(body.user, "alice");
  }
  // X-Original-URL never reaches the origin, so a /static/ URL cannot fetch /account/.
  const x = await fetch(w.url("/static/x.css"), { headers: { ...alice, "x-original-url": "/account/profile" } });
  const xb = await x.json();
  assert.equal(xb.user, undefined, JSON.stringify(xb));
  assert.equal(seen.at(-1).headers["x-original-url"], undefined);
  // A request with a cookie on a route that does not opt in bypasses the cache.
  const c1 = await fetch(w.url("/plain-page"), { headers: alice });
  await c1.text();
  assert.equal(status(c1), "edgecache; fwd=bypass; detail=cookie");
  const auth = await fetch(w.url("/plain-page"), { headers: { authorization: "Bearer x" } });
  await auth.text();
  assert.equal(status(auth), "edgecache; fwd=bypass; detail=authorization");
  // On the opted-in route the cookie is ignored and not sent to the origin.
  const s1 = await fetch(w.url("/static/app.css"), { headers: alice });
  await s1.text();
  assert.equal(seen.at(-1).headers.cookie, undefined);
  const s2 = await fetch(w.url("/static/app.css"), { headers: { cookie: "session=bob" } });
  await s2.text();
  assert.match(status(s2), /hit/);
});

test("4. forwarding headers are stripped; client no-cache cannot overwrite a warm entry", async () => {
  const evil = {
    "x-forwarded-host": "evil.example",
    "x-forwarded-scheme": "nothttps",
    "x-original-url": "/admin",
    "x-rewrite-url": "/admin",
    "x-http-method-override": "DELETE",
    forwarded: "host=evil.example",
    "proxy-authorization": "Basic eDp5",
    "x-poison": "1",
    connection: "x-poison",
  };
  const r = await raw(w.url("/echo"), { headers: evil });
  const got = JSON.parse(r.body).headers;
  for (const h of Object.keys(evil)) assert.equal(got[h], undefined, `${h} reached the origin`);
  const warm = await (await fetch(w.url("/warm"))).json();
  const nc = await fetch(w.url("/warm"), { headers: { "cache-control": "no-cache", pragma: "no-cache" } });
  assert.match(status(nc), /hit/);
  assert.deepEqual(await nc.json(), warm);
});

test("6. a hanging origin: 504 after origin_timeout_ms, stale-if-error serves a stored answer", async () => {
  const first = await (await fetch(w.url("/slow/hang"))).json();
  await new Promise((r) => setTimeout(r, 1200));
  hang = true;
  try {
    const stale = await fetch(w.url("/slow/hang"));
    assert.equal(stale.status, 200);
    assert.deepEqual(await stale.json(), first);
    assert.match(status(stale), /fwd=stale; fwd-status=504; .*detail=stale-if-error/);
    const cold = await fetch(w.url("/slow/hang?cold=1"));
    assert.equal(cold.status, 504);
    assert.match(await cold.text(), /origin timeout/);
  } finally {
    hang = false;
  }
  const stats = await (await w.admin("stats")).json();
  assert.ok(stats.responses.origin_errors >= 2);
});

test("8a. unsafe methods invalidate the URL (RFC 9111 §4.4)", async () => {
  const a = await fetch(w.url("/doc"));
  await a.text();
  const b = await fetch(w.url("/doc"));
  await b.text();
  assert.match(status(b), /hit/);
  const post = await fetch(w.url("/doc"), { method: "POST", body: "x" });
  await post.text();
  const c = await fetch(w.url("/doc"));
  await c.text();
  assert.match(status(c), /fwd=miss/);
});

test("8b. origin no-cache is not served from the cache for the route ttl", async () => {
  for (let i = 0; i < 2; i++) {
    const r = await fetch(w.url("/nocache"));
    await r.text();
    assert.doesNotMatch(status(r), /hit/);
  }
});

test("8c. admin prefix variants never reach the origin, nor does the admin token", async () => {
  const before = seen.length;
  for (const p of ["/_edgecache", "/_EDGECACHE/stats", "/%5Fedgecache/stats", "/_edgecache/../_edgecache/stats"]) {
    const r = await fetch(w.url(p), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await r.text();
  }
  assert.equal(seen.length, before, JSON.stringify(seen.slice(before).map((s) => s.path)));
});

test("8d. config errors do not echo the offending value; an invalid ORIGIN is a config error", async () => {
  const w2 = await startWorker({ CACHES: JSON.stringify({ default: { backend: "local", ttl: "s3cr3t-value" } }) });
  try {
    const r = await fetch(w2.url("/x"));
    assert.equal(r.status, 500);
    const body = await r.text();
    assert.match(body, /default\.ttl/);
    assert.doesNotMatch(body, /s3cr3t-value/);
  } finally {
    await w2.dispose();
  }
  const w3 = await startWorker({ ORIGIN: "not a url" });
  try {
    const r = await fetch(w3.url("/x"));
    assert.equal(r.status, 500);
    assert.match(await r.text(), /ORIGIN/);
  } finally {
    await w3.dispose();
  }
});

test("8e. decr by i64::MIN, integers past 64 bits, repeated query parameters", async () => {
  const put = (k, body, ct) => w.admin(`keys/default/${k}`, { method: "PUT", headers: { "content-type": ct }, body });
  assert.equal((await put("neg", "-1", "application/json")).status, 200);
  const d = await w.admin("decr/default/neg?delta=-9223372036854775808", { method: "POST" });
  assert.equal(d.status, 200);
  assert.match(await d.text(), /"value":9223372036854775807/);
  assert.equal((await put("big", '{"n": 1180591620717411303424}', "application/json")).status, 200);
  assert.match(await (await w.admin("keys/default/big")).text(), /1180591620717411303424/);
  // With sort_query, parameters sort by name but repeated ones keep their
  // order: ?q=good&q=evil must not share ?q=evil&q=good's entry.
  const a = await (await fetch(w.url("/sorted/p?q=evil&q=good"))).json();
  const b = await fetch(w.url("/sorted/p?q=good&q=evil"));
  const bb = await b.json();
  assert.doesNotMatch(b.headers.get("cache-status"), /hit/);
  assert.notEqual(a.n, bb.n);
  const c = await fetch(w.url("/sorted/p?z=1&q=evil&q=good"));
  await c.text();
  const c2 = await fetch(w.url("/sorted/p?q=evil&z=1&q=good"));
  await c2.text();
  assert.match(c2.headers.get("cache-status"), /hit/, "other parameters still sort");
});

test("the cache survived every probe", async () => {
  assert.ok(await canaryIsHit());
});
