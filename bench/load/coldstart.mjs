// Cold start: time from starting workerd (Miniflare's API) to the first
// answered request, for edgecache and the peers of run.mjs, and each
// Worker's script size; then the wasm module's size (raw, gzip -9) and its
// (Node 20's V8 cannot compile it: it uses wasm exception handling, so its
// compile and instantiation are timed inside workerd's start → ready.)
// EDGECACHE_BASELINE=path/to/build/index.js adds an earlier build.
//
//   node bench/load/coldstart.mjs [runs=5]
//
// The first request is a miss for every caching Worker (the origin answers
// at once), so it times startup plus one origin round trip; the static
// Worker answers without one.
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { bundle, root, workerOptions } from "./common.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const runs = Number(process.argv[2] || 5);

const origin = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=60" });
  res.end(JSON.stringify({ path: req.url }));
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const vars = { ORIGIN: `http://127.0.0.1:${origin.address().port}` };

const wasm = path.join(root, "build/index_bg.wasm");
const workers = [
  ["static Worker", path.join(here, "static/worker.js"), []],
  ["JS Map in the isolate", path.join(here, "jsmap/worker.js"), []],
  ["JS lru-cache in the isolate", bundle(path.join(here, "lrucache/worker.js"), { minify: true }), []],
  ["Hono cache middleware (JS)", bundle(path.join(here, "hono/worker.js"), { minify: true }), []],
  ["edgecache (Rust/wasm)", path.join(root, "build/index.js"), [wasm]],
];
if (process.env.EDGECACHE_BASELINE) {
  const base = path.resolve(process.env.EDGECACHE_BASELINE);
  workers.push(["edgecache baseline (EDGECACHE_BASELINE)", base, [path.join(path.dirname(base), "index_bg.wasm")]]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${new Date().toISOString()}; ${runs} runs each; ${execFileSync("uptime", { encoding: "utf8" }).trim()}`);
console.log("\n| Worker | script bytes (gzip -9) | start → ready, ms (median) | start → first answer, ms (median) | worst first answer, ms |");
console.log("|---|---:|---:|---:|---:|");
try {
  for (const [name, script, extra] of workers) {
    const files = [script, ...extra];
    const gz = files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    const ready = [];
    const first = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const mf = new Miniflare(workerOptions(script, vars));
      try {
        const url = await mf.ready;
        ready.push(performance.now() - t0);
        const r = await fetch(new URL("/first", url));
        await r.text();
        if (r.status !== 200) throw new Error(`${name}: first request answered ${r.status}`);
        first.push(performance.now() - t0);
      } finally {
        await mf.dispose();
      }
    }
    console.log(`| ${name} | ${gz.toLocaleString("en")} | ${median(ready).toFixed(0)} | ${median(first).toFixed(0)} | ${Math.max(...first).toFixed(0)} |`);
  }
} finally {
  origin.close();
}

const bytes = readFileSync(wasm);
console.log(`\nbuild/index_bg.wasm: ${statSync(wasm).size.toLocaleString("en")} bytes, ${gzipSync(bytes, { level: 9 }).length.toLocaleString("en")} gzip -9`);
