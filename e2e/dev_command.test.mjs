// The README's dev command itself: `bash scripts/dev.sh` (wrangler dev in
// workerd, local-memory default backend, demo origin) answers a miss and
// then a hit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOT, freePort, spawnGroup } from "./helpers.mjs";

test("dev command serves a miss, then a hit", { timeout: 480_000 }, async () => {
  const port = await freePort();
  const inspector = await freePort();
  const dev = spawnGroup("bash", ["scripts/dev.sh", "--inspector-port", String(inspector)], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
  });
  try {
    // Generous: wrangler builds the release wasm first (minutes on a busy 2-core machine).
    const deadline = Date.now() + 420_000;
    while (!/Ready on/.test(dev.output())) {
      if (Date.now() > deadline) throw new Error("wrangler dev did not start:\n" + dev.output());
      if (dev.child.exitCode !== null) throw new Error("wrangler dev exited:\n" + dev.output());
      await new Promise((r) => setTimeout(r, 250));
    }
    const url = `http://127.0.0.1:${port}/dev-check`;
    const a = await fetch(url);
    const bodyA = await a.text();
    assert.match(a.headers.get("cache-status"), /fwd=miss; stored/);
    const b = await fetch(url);
    assert.match(b.headers.get("cache-status"), /^edgecache; hit/);
    assert.equal(await b.text(), bodyA);
    const admin = await fetch(`http://127.0.0.1:${port}/_edgecache/stats`, { headers: { authorization: "Bearer dev" } });
    assert.equal((await admin.json()).backends.default.hits, 1);
  } finally {
    dev.kill();
  }
});
