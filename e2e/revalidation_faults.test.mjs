// Faults during revalidation (RFC 9111 §4.3), in real workerd in front of a
// real HTTP origin on 127.0.0.1 that, when told to, answers the conditional
// request of a stale entry badly: it resets the connection, sends bytes that
// are not HTTP, sends a new body that breaks off, or answers 304 for another
// representation. The client gets
// a clear error (or the stale entry within stale-if-error), and the stored
// entry survives to be revalidated once the origin answers properly again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startWorker } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv, w;
let mode = "ok";
let full = 0; // 200 answers sent
const conditional = [];

before(async () => {
  srv = http.createServer((req, res) => {
    const inm = req.headers["if-none-match"];
    if (inm) {
      conditional.push(inm);
      if (mode === "reset") return req.socket.destroy();
      if (mode === "garbage") return req.socket.end("HTTP/1.1 nonsense\r\n\0\0\0 not a header\r\n\r\n");
      if (mode === "truncated") {
        // A new representation whose body dies a few bytes in.
        res.writeHead(200, { etag: '"cut"', "cache-control": "max-age=60", "content-length": "1000" });
        res.write('{"partial": ');
        return setTimeout(() => req.socket.destroy(), 20);
      }
      if (mode === "other") {
        res.writeHead(304, { etag: '"other"', "cache-control": "max-age=1" });
        return res.end();
      }
      if (inm === '"v1"') {
        res.writeHead(304, { etag: '"v1"', "cache-control": "max-age=1" });
        return res.end();
      }
    }
    full++;
    // The first full answer is "v1"; later ones (after a 304 for another
    // representation) are new.
    const etag = full === 1 ? '"v1"' : `"v${full}"`;
    res.writeHead(200, { etag, "cache-control": "max-age=1", "content-type": "application/json" });
    res.end(JSON.stringify({ full, etag }));
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const routes = [
    { path: "/sie/*", key_prefix: "sie", stale_if_error: 60 },
    { path: "*", key_prefix: "site" },
  ];
  w = await startWorker({ ORIGIN: `http://127.0.0.1:${srv.address().port}`, ROUTES: JSON.stringify(routes) });
});
after(async () => {
  await w?.dispose();
  await new Promise((r) => srv?.close(r));
});

const get = async (p) => {
  const r = await fetch(w.url(p));
  const body = await r.text();
  return { status: r.status, body, cs: r.headers.get("cache-status") || "" };
};

test("a reset, garbage or a body cut short answering a revalidation: an error, and the entry survives to revalidate later", async () => {
  const first = await get("/page");
  assert.match(first.cs, /fwd=miss; stored/);
  for (const fault of ["reset", "garbage", "truncated"]) {
    await sleep(1100);
    mode = fault;
    // A body cut short is read whole before anything is sent (it is
    // small enough to store), so it fails like the others.
    const bad = await get("/page");
    assert.equal(bad.status, 502, `${fault}: ${bad.body}`);
    assert.match(bad.cs, /^edgecache; fwd=stale; detail=origin-error$/, fault);
    assert.match(bad.body, /origin/i, `${fault}: the error says where it failed`);
    mode = "ok";
    const good = await get("/page");
    assert.equal(good.status, 200);
    assert.equal(good.body, first.body, `${fault}: the stored body, revalidated by a 304`);
    assert.match(good.cs, /fwd=stale; fwd-status=304; stored/);
  }
  assert.equal(full, 1, "no full refetch: every good revalidation was a 304");
  assert.deepEqual(conditional, ['"v1"', '"v1"', '"v1"', '"v1"', '"v1"', '"v1"']);
});

test("within stale-if-error the stale entry stands in for a broken revalidation", async () => {
  const first = await get("/sie/page");
  await sleep(1100);
  mode = "reset";
  const stale = await get("/sie/page");
  mode = "ok";
  assert.equal(stale.status, 200);
  assert.equal(stale.body, first.body);
  assert.match(stale.cs, /fwd=stale; fwd-status=502;.*detail=stale-if-error/);
});

test("a 304 for another representation is not applied: the whole response is fetched and stored", async () => {
  const before = full;
  await get("/other");
  await sleep(1100);
  mode = "other";
  const r = await get("/other");
  mode = "ok";
  assert.equal(r.status, 200);
  assert.equal(full, before + 2, "the first answer and one unconditional refetch");
  assert.equal(JSON.parse(r.body).full, full, "the refetched body, not the stored one");
  const next = await get("/other");
  assert.match(next.cs, /hit/);
  assert.equal(next.body, r.body);
});
