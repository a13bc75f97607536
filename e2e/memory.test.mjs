// Issue 11, finding 5: bodies that the cache does not keep stream through
// the Worker both ways, so workerd's memory stays bounded whatever their
// size. A real origin sends 1 GiB and receives 300 MiB through a bypass
// route; workerd's resident memory is read from /proc before and at its peak.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { startWorker } from "./helpers.mjs";

const MiB = 1 << 20;
const DOWNLOAD = 1024 * MiB;
const UPLOAD = 300 * MiB;
let origin, w, workerd;

/** workerd processes started by this test process (Miniflare's children). */
function workerdPids() {
  const out = execFileSync("ps", ["-eo", "pid,ppid,comm"], { encoding: "utf8" });
  const rows = out.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
  const mine = new Set([String(process.pid)]);
  // Descendants of this process, breadth first.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of rows) if (mine.has(ppid) && !mine.has(pid)) (mine.add(pid), (grew = true));
  }
  return rows.filter(([pid, , comm]) => mine.has(pid) && comm.includes("workerd")).map(([pid]) => pid);
}

function memory(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
  return { rss: kb("VmRSS") * 1024, peak: kb("VmHWM") * 1024 };
}

before(async () => {
  origin = http.createServer((req, res) => {
    if (req.url.includes("/big/download") || req.url.includes("/big/chunked")) {
      // /big/chunked: no Content-Length (chunked), so only reading tells the size.
      const length = req.url.includes("/big/chunked") ? {} : { "content-length": String(DOWNLOAD) };
      res.writeHead(200, { "content-type": "application/octet-stream", ...length });
      const chunk = Buffer.alloc(MiB, 7);
      let sent = 0;
      const pump = () => {
        while (sent < DOWNLOAD) {
          sent += MiB;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        res.end();
      };
      return pump();
    }
    if (req.url.startsWith("/big/upload")) {
      let bytes = 0;
      req.on("data", (c) => (bytes += c.length));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ bytes }));
      });
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("small");
  });
  await new Promise((r) => origin.listen(0, "127.0.0.1", r));
  const before = new Set(workerdPids());
  w = await startWorker({
    ORIGIN: `http://127.0.0.1:${origin.address().port}`,
    ROUTES: JSON.stringify([{ path: "/big/*", bypass: true }, { path: "*", ttl: 60 }]),
  });
  workerd = workerdPids().filter((p) => !before.has(p));
  assert.ok(workerd.length >= 1, "found the workerd process");
});

after(async () => {
  await w?.dispose();
  await new Promise((r) => origin?.close(r));
});

const total = () => workerd.map(memory).reduce((a, m) => ({ rss: a.rss + m.rss, peak: a.peak + m.peak }), { rss: 0, peak: 0 });

test("1 GiB origin bodies (bypass and caching routes, with and without Content-Length) and a 300 MiB upload stream through with bounded memory", { timeout: 300_000 }, async () => {
  // Warm the isolate (and its cache) first so the baseline includes it.
  await (await fetch(w.url("/warm"))).text();
  const base = total();
  // Through a bypass rule, and through a caching rule (a body larger than
  // any route stores streams through, not stored).
  for (const p of ["/big/download", "/cached/big/download", "/cached/big/chunked"]) {
    const r = await fetch(w.url(p));
    assert.equal(r.status, 200);
    let got = 0;
    for await (const c of r.body) got += c.length;
    assert.equal(got, DOWNLOAD, p);
    if (p.startsWith("/cached")) assert.equal(r.headers.get("cache-status"), "edgecache; fwd=miss; detail=too-large");
  }
  async function* chunks() {
    const c = Buffer.alloc(MiB, 9);
    for (let i = 0; i < UPLOAD / MiB; i++) yield c;
  }
  const up = await fetch(w.url("/big/upload"), { method: "POST", body: chunks(), duplex: "half" });
  assert.equal(up.status, 200);
  assert.deepEqual(await up.json(), { bytes: UPLOAD });
  const after = total();
  const grew = after.peak - base.rss;
  console.log(
    `# workerd resident memory: ${(base.rss / MiB).toFixed(0)} MiB before, peak ${(after.peak / MiB).toFixed(0)} MiB (+${(grew / MiB).toFixed(0)} MiB) for 3 x 1024 MiB down and 300 MiB up`,
  );
  assert.ok(grew < 128 * MiB, `workerd grew by ${(grew / MiB).toFixed(0)} MiB`);
  // The cache survived (the isolate did not restart): a warm entry is a hit.
  const hit = await fetch(w.url("/warm"));
  await hit.text();
  assert.match(hit.headers.get("cache-status"), /hit/);
});
