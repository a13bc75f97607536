// Streaming through the npm package's response cache, in real workerd
// (Miniflare; e2e/fixtures/js-stream/worker.mjs: withCache and the Hono
// middleware, bodies stored up to 100 000 bytes) in front of a real HTTP
// origin that counts its requests and holds bodies half-sent until the test
// lets them go on:
//  - a miss reaches the client while the origin still holds the rest of the
//    body (asked uncompressed: see IDENTITY), and once it has been read to
//    the end the next request is a hit;
//  - an origin that dies mid-body: the client's read fails (seen inside the
//    Worker), nothing is stored;
//  - a body past the limit passes whole and is not stored (without
//    Content-Length: found while streaming; with it: known at once);
//  - 20 concurrent cold requests for a streamed body: one origin request.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT, jsPackage } from "./helpers.mjs";

const FIRST = "first chunk\n";
const REST = "the rest\n";
const BIG = 200_000;
let origin, mf;

/**
 * The origin: /<any>/slow/<id> sends FIRST, then REST when released;
 * /<any>/dies/<id> sends FIRST, then breaks the connection when released;
 * /<any>/big/<id> sends BIG bytes chunked, /<any>/bigcl/<id> with Content-Length.
 */
async function startGatedOrigin() {
  const counts = new Map();
  const held = new Map(); // path -> release()
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    counts.set(p, (counts.get(p) || 0) + 1);
    const kind = p.split("/")[2];
    if (kind === "slow" || kind === "dies") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(FIRST);
      held.set(p, () => {
        held.delete(p);
        if (kind === "slow") res.end(REST);
        else res.socket.destroy();
      });
    } else if (kind === "big" || kind === "bigcl") {
      res.writeHead(200, { "content-type": "application/octet-stream", ...(kind === "bigcl" ? { "content-length": String(BIG) } : {}) });
      for (let i = 0; i < BIG / 10_000; i++) res.write(Buffer.alloc(10_000, 97 + (i % 26)));
      res.end();
    } else if (kind === "cold") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(FIRST);
      setTimeout(() => res.end(REST), 300);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    count: (p) => counts.get(p) || 0,
    holding: (p) => held.has(p),
    release: (p) => held.get(p)(),
    close: () => {
      for (const release of held.values()) release();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

before(async () => {
  jsPackage();
  origin = await startGatedOrigin();
  mf = new Miniflare({
    modules: true,
    compatibilityDate: "2026-04-01",
    modulesRoot: ROOT,
    scriptPath: path.join(ROOT, "e2e", "fixtures", "js-stream", "worker.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    bindings: { ORIGIN: origin.url },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose().catch(() => {});
  await origin?.close();
});

// Uncompressed: workerd gzips a text answer for a client that accepts it,
// and the compressor holds small chunks back until the end.
const IDENTITY = { headers: { "accept-encoding": "identity" } };

/** `promise`, or a failure naming `what` if it has not settled within 10 s (a bound, not a measurement). */
function within(promise, what) {
  let timer;
  const bound = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within 10 s`)), 10_000)));
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** Reads from `reader` until the text so far is at least `n` characters long. */
async function readAtLeast(reader, n, sofar = "") {
  const dec = new TextDecoder();
  while (sofar.length < n) {
    const { done, value } = await reader.read();
    if (done) break;
    sofar += dec.decode(value, { stream: true });
  }
  return sofar;
}

/** Resolves once `check()` is true (polled every 20 ms). */
async function until(check) {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

async function readAll(reader, sofar = "") {
  return readAtLeast(reader, Infinity, sofar);
}

for (const base of ["/plain", "/hono"]) {
  const who = base === "/hono" ? "the Hono middleware" : "withCache";

  test(`${who}: a miss streams to the client while the origin holds the rest; read to the end, the next request is a hit`, { timeout: 60_000 }, async () => {
    const p = `${base}/slow/1`;
    const r = await within(mf.dispatchFetch("http://site.test" + p, IDENTITY), "the response head");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("cache-status"), /^edgecache; fwd=miss; detail=streamed$/);
    const reader = r.body.getReader();
    const first = await within(readAtLeast(reader, FIRST.length), "the first chunk");
    assert.equal(first, FIRST);
    assert.ok(origin.holding(p), "the client has the first chunk while the origin still holds the rest");
    origin.release(p);
    assert.equal(await within(readAll(reader, first), "the rest"), FIRST + REST);

    const again = await mf.dispatchFetch("http://site.test" + p, IDENTITY);
    assert.match(again.headers.get("cache-status"), /^edgecache; hit/);
    assert.equal(await again.text(), FIRST + REST);
    assert.equal(origin.count(p), 1);
  });

  test(`${who}: an origin that dies mid-body fails the client's read and stores nothing`, { timeout: 60_000 }, async () => {
    const p = `${base}/dies/1`;
    // Read inside the Worker (the fixture's /_probe/): workerd's local proxy
    // ends a broken body as if it were complete.
    const seen = mf.dispatchFetch(`http://site.test/_probe${p}`).then((r) => r.json());
    await within(until(() => origin.holding(p)), "the origin's first chunk");
    origin.release(p);
    const out = await within(seen, "the probe");
    assert.equal(out.status, 200);
    assert.match(out.cache, /fwd=miss; detail=streamed/);
    assert.equal(out.body, FIRST);
    assert.ok(out.error, "the client's read fails: an error, not a short body");

    const seen2 = mf.dispatchFetch(`http://site.test/_probe${p}`).then((r) => r.json());
    await within(until(() => origin.holding(p)), "the origin asked again");
    assert.equal(origin.count(p), 2, "no truncated entry was stored");
    origin.release(p);
    assert.match((await within(seen2, "the probe")).cache, /fwd=miss/);
  });

  test(`${who}: a body past maxEntryBytes passes whole and is not stored`, { timeout: 60_000 }, async () => {
    for (const kind of ["big", "bigcl"]) {
      const p = `${base}/${kind}/1`;
      for (let i = 1; i <= 2; i++) {
        const r = await mf.dispatchFetch("http://site.test" + p, IDENTITY);
        assert.equal(r.status, 200);
        // Without Content-Length the size is found while streaming; with it, at once.
        assert.match(r.headers.get("cache-status"), kind === "big" ? /fwd=miss; detail=streamed/ : /fwd=miss; detail=too-large/);
        const body = new Uint8Array(await r.arrayBuffer());
        assert.equal(body.length, BIG);
        assert.equal(body[0], 97);
        assert.equal(body[BIG - 1], 97 + ((BIG / 10_000 - 1) % 26));
        assert.equal(origin.count(p), i, `${kind}: request ${i} went to the origin`);
      }
    }
  });

  test(`${who}: 20 concurrent cold requests for a streamed body, one origin request, every client the whole body`, { timeout: 60_000 }, async () => {
    const p = `${base}/cold/1`;
    const all = await Promise.all(Array.from({ length: 20 }, () => mf.dispatchFetch("http://site.test" + p, IDENTITY).then((r) => r.text())));
    assert.deepEqual(new Set(all), new Set([FIRST + REST]));
    assert.equal(origin.count(p), 1);
    const again = await mf.dispatchFetch("http://site.test" + p, IDENTITY);
    assert.match(again.headers.get("cache-status"), /^edgecache; hit/);
    await again.text();
  });
}
