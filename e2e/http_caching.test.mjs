// RFC 9111 behaviour of the deployed proxy in real workerd, in front of a
// real HTTP origin that counts its requests (and its 304s): validation,
// conditional requests, ranges, Age, CDN-Cache-Control, statuses,
// invalidation and request directives.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startOrigin } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let origin, w;
const notModified = new Map();
const seen = new Map();
const BODY = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(48 + (i % 43))).join("");

/** An origin route answering 304 when the request's validator matches. */
function validating(headers, { etag, lastModified }) {
  return (req, n) => {
    const p = new URL(req.url, "http://x").pathname;
    seen.set(p, { ...req.headers });
    const match =
      (etag && req.headers["if-none-match"] === etag) ||
      (!req.headers["if-none-match"] && lastModified && req.headers["if-modified-since"] === lastModified);
    const v = { ...headers, ...(etag ? { etag } : {}), ...(lastModified ? { "last-modified": lastModified } : {}) };
    if (match) {
      notModified.set(p, (notModified.get(p) || 0) + 1);
      return { status: 304, headers: { ...v, "x-revalidated": String(n) } };
    }
    return { body: JSON.stringify({ n }), headers: v };
  };
}

before(async () => {
  const lm = new Date(Date.now() - 3_600_000).toUTCString();
  origin = await startOrigin({
    "/etag": validating({ "cache-control": "max-age=1" }, { etag: '"v1"' }),
    "/lm": validating({ "cache-control": "max-age=1" }, { lastModified: lm }),
    "/no-cache": validating({ "cache-control": "no-cache" }, { etag: 'W/"nc"' }),
    "/fresh": validating({ "cache-control": "max-age=600" }, { etag: '"f1"', lastModified: lm }),
    "/bytes": (req) => {
      seen.set("/bytes", { ...req.headers });
      return { body: BODY, headers: { "content-type": "text/plain", "cache-control": "max-age=600", etag: '"b"' } };
    },
    "/aged": (req, n) => ({ body: JSON.stringify({ n }), headers: { "cache-control": "max-age=600", age: "30" } }),
    "/too-old": (req, n) => ({ body: JSON.stringify({ n }), headers: { "cache-control": "max-age=60", age: "7200, 0" } }),
    "/cdn": (req, n) => ({
      body: JSON.stringify({ n }),
      headers: { "cache-control": "no-store", "cdn-cache-control": "max-age=60", "cloudflare-cdn-cache-control": "max-age=30" },
    }),
    "/cdn-no-store": (req, n) => ({
      body: JSON.stringify({ n }),
      headers: { "cache-control": "max-age=60", "cdn-cache-control": "no-store" },
    }),
    "/s404": (req, n) => ({ status: 404, body: JSON.stringify({ n }) }),
    "/s500": (req, n) => ({ status: 500, body: JSON.stringify({ n }), headers: { "cache-control": "max-age=60" } }),
    "/s302": (req, n) => ({ status: 302, body: "", headers: { location: "/elsewhere" } }),
    "/inv": (req, n) => ({ body: JSON.stringify({ n, method: req.method }), headers: { "cache-control": "max-age=600" } }),
    "/conn": (req, n) => ({
      body: JSON.stringify({ n }),
      headers: { "cache-control": "max-age=600", connection: "x-hop", "x-hop": "secret", "x-kept": "1" },
    }),
    "/asctime": (req, n) => {
      const t = new Date(Date.now() + 600_000);
      const [wd, mon] = [t.toUTCString().slice(0, 3), t.toUTCString().slice(8, 11)];
      const pad = (x) => String(x).padStart(2, "0");
      const asctime = `${wd} ${mon} ${String(t.getUTCDate()).padStart(2, " ")} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} ${t.getUTCFullYear()}`;
      return { body: JSON.stringify({ n }), headers: { expires: asctime } };
    },
  });
  const routes = [
    { path: "/directives/*", ttl: 60, key_prefix: "dir", honor_request_directives: true },
    { path: "/ellar/*", ttl: 60, key_prefix: "ellar", origin_ttl: false },
    { path: "*", ttl: 0, key_prefix: "site" },
  ];
  w = await startWorker({ ORIGIN: origin.url, ROUTES: JSON.stringify(routes) });
});
after(async () => {
  await w?.dispose();
  await origin?.close();
});

const get = async (p, headers = {}) => {
  const r = await fetch(w.url(p), { headers });
  const body = await r.text();
  return { status: r.status, headers: r.headers, body, cs: r.headers.get("cache-status") || "" };
};

test("RFC 9111 §4.3: a stale entry is revalidated with its ETag; a 304 updates it and its body is served", async () => {
  const a = await get("/etag");
  assert.match(a.cs, /fwd=miss; stored/);
  await sleep(1200);
  const b = await get("/etag");
  assert.equal(b.status, 200);
  assert.equal(b.body, a.body, "the stored body, not a new one");
  assert.match(b.cs, /fwd=stale; fwd-status=304; stored/);
  assert.equal(b.headers.get("x-revalidated"), "2", "the 304's header fields replace the stored ones (§3.2)");
  assert.equal(seen.get("/etag")["if-none-match"], '"v1"');
  const c = await get("/etag");
  assert.match(c.cs, /hit/);
  assert.equal(c.headers.get("x-revalidated"), "2");
  assert.equal(origin.count("/etag"), 2);
  assert.equal(notModified.get("/etag"), 1);
});

test("RFC 9111 §4.3.1: Last-Modified alone revalidates with If-Modified-Since", async () => {
  const a = await get("/lm");
  await sleep(1200);
  const b = await get("/lm");
  assert.equal(b.body, a.body);
  assert.match(b.cs, /fwd-status=304/);
  assert.equal(notModified.get("/lm"), 1);
  assert.ok(seen.get("/lm")["if-modified-since"]);
});

test("RFC 9111 §5.2.2.4: a no-cache response is stored and revalidated on every use", async () => {
  const first = await get("/no-cache");
  for (let i = 0; i < 3; i++) {
    const r = await get("/no-cache");
    assert.equal(r.body, first.body);
    assert.match(r.cs, /fwd-status=304/);
  }
  assert.equal(origin.count("/no-cache"), 4);
  assert.equal(notModified.get("/no-cache"), 3);
});

test("RFC 9111 §4.3.2: a client's If-None-Match / If-Modified-Since get a 304 from a fresh entry", async () => {
  const a = await get("/fresh");
  assert.equal(a.status, 200);
  const inm = await get("/fresh", { "if-none-match": 'W/"other", "f1"' });
  assert.equal(inm.status, 304);
  assert.equal(inm.headers.get("etag"), '"f1"');
  assert.match(inm.cs, /hit/);
  const ims = await get("/fresh", { "if-modified-since": new Date().toUTCString() });
  assert.equal(ims.status, 304);
  const other = await get("/fresh", { "if-none-match": '"nope"' });
  assert.equal(other.status, 200);
  assert.equal(other.body, a.body);
  assert.equal(origin.count("/fresh"), 1, "the origin saw one unconditional request");
  assert.equal(seen.get("/fresh")["if-none-match"], undefined);
});

test("RFC 9110 §14: ranges are served from the stored complete response", async () => {
  const one = await get("/bytes", { range: "bytes=10-19" });
  assert.equal(one.status, 206);
  assert.equal(one.body, BODY.slice(10, 20));
  assert.equal(one.headers.get("content-range"), "bytes 10-19/1000");
  assert.equal(seen.get("/bytes").range, undefined, "the origin was asked for the whole response");
  const suffix = await get("/bytes", { range: "bytes=-5" });
  assert.equal(suffix.body, BODY.slice(995));
  // (Ranges nearer than 80 bytes are merged into one part.)
  const multi = await get("/bytes", { range: "bytes=0-1, 500-501" });
  assert.equal(multi.status, 206);
  const boundary = multi.headers.get("content-type").match(/boundary=(.+)$/)[1];
  assert.ok(multi.body.includes(`--${boundary}`) && multi.body.includes("bytes 500-501/1000"));
  const bad = await get("/bytes", { range: "bytes=5000-6000" });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get("content-range"), "bytes */1000");
  const ifRange = await get("/bytes", { range: "bytes=0-4", "if-range": '"changed"' });
  assert.equal(ifRange.status, 200, "If-Range with another validator: the whole response");
  assert.equal(ifRange.body, BODY);
  assert.equal(origin.count("/bytes"), 1);
});

test("RFC 9111 §5.1, §4.2.3: Age is passed through and grows; an answer older than its lifetime is not reused", async () => {
  const a = await get("/aged");
  assert.ok(Number(a.headers.get("age")) >= 30, `miss Age ${a.headers.get("age")}`);
  const b = await get("/aged");
  assert.match(b.cs, /hit/);
  assert.ok(Number(b.headers.get("age")) >= 30, `hit Age ${b.headers.get("age")}`);
  await get("/too-old");
  const c = await get("/too-old");
  assert.doesNotMatch(c.cs, /hit/);
  assert.equal(origin.count("/too-old"), 2);
});

test("RFC 9213: (Cloudflare-)CDN-Cache-Control takes precedence for this cache", async () => {
  const a = await get("/cdn");
  assert.match(a.cs, /stored/);
  // The field for this CDN alone stops here; CDN-Cache-Control goes on to
  // any CDN downstream (Cloudflare's behaviour).
  assert.equal(a.headers.get("cloudflare-cdn-cache-control"), null);
  assert.equal(a.headers.get("cdn-cache-control"), "max-age=60");
  const hit = await get("/cdn");
  assert.match(hit.cs, /hit; ttl=(29|30)/, "Cloudflare-CDN-Cache-Control wins over CDN-Cache-Control");
  assert.equal(a.headers.get("cache-control"), "no-store", "Cache-Control still reaches the browser");
  await get("/cdn-no-store");
  assert.doesNotMatch((await get("/cdn-no-store")).cs, /hit/);
  assert.equal(origin.count("/cdn"), 1);
  assert.equal(origin.count("/cdn-no-store"), 2);
});

test("RFC 9111 §3: explicit freshness stores any final status; without it only the heuristic ones (and route ttl 0 keeps none)", async () => {
  for (let i = 0; i < 2; i++) await get("/s500");
  assert.equal(origin.count("/s500"), 1, "a 500 with max-age=60 is stored");
  for (let i = 0; i < 2; i++) await get("/s302");
  assert.equal(origin.count("/s302"), 2, "a 302 without freshness is not");
  for (let i = 0; i < 2; i++) await get("/s404");
  assert.equal(origin.count("/s404"), 2, "a 404 without freshness on a ttl-0 route is not");
});

test("RFC 9111 §4.4: a successful POST invalidates the stored URL", async () => {
  await get("/inv");
  assert.match((await get("/inv")).cs, /hit/);
  const post = await fetch(w.url("/inv"), { method: "POST", body: "x" });
  await post.text();
  const after = await get("/inv");
  assert.doesNotMatch(after.cs, /hit/);
  assert.equal(JSON.parse(after.body).method, "GET");
});

test("RFC 9110 §7.6.1: headers named by Connection are neither stored nor served", async () => {
  const a = await get("/conn");
  assert.equal(a.headers.get("x-hop"), null);
  const b = await get("/conn");
  assert.match(b.cs, /hit/);
  assert.equal(b.headers.get("x-hop"), null);
  assert.equal(b.headers.get("x-kept"), "1");
});

test("RFC 9110 §5.6.7: an asctime Expires is read", async () => {
  await get("/asctime");
  assert.match((await get("/asctime")).cs, /hit/);
  assert.equal(origin.count("/asctime"), 1);
});

test("RFC 9111 §5.2.1: only-if-cached answers 504 without the origin; max-age/min-fresh on routes that honour them", async () => {
  const none = await get("/nothing-here", { "cache-control": "only-if-cached" });
  assert.equal(none.status, 504);
  assert.equal(origin.count("/nothing-here"), 0);
  await get("/directives/x");
  assert.match((await get("/directives/x", { "cache-control": "only-if-cached" })).cs, /hit/);
  await sleep(1100);
  // Older than the client accepts: refetched (the route honours it)...
  assert.doesNotMatch((await get("/directives/x", { "cache-control": "max-age=0" })).cs, /hit/);
  assert.match((await get("/directives/x", { "cache-control": "min-fresh=1" })).cs, /hit/);
  assert.doesNotMatch((await get("/directives/x", { "cache-control": "min-fresh=3600" })).cs, /hit/);
  // ...but not where the route does not.
  await get("/ellar/x");
  await sleep(1100);
  assert.match((await get("/ellar/x", { "cache-control": "max-age=0" })).cs, /hit/);
});
