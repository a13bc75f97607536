// Load benchmark: requests/s on the cache-hit path of edgecache, of a
// static-response Worker (the ceiling), of two JS Workers keeping responses
// in the isolate (a bare `Map`, and npm's `lru-cache`) and of a JS Worker
// using Hono's cache middleware, measured with wrk in the same run, twice: each Worker in
// `wrangler dev` (whose Node proxy sits in front of workerd), and each in
// workerd directly through Miniflare's API. Then origin requests when 100
// requests for one cold key arrive at once (stampede), for edgecache and Hono.
//
//   node bench/load/run.mjs [seconds=10] [connections=32]
//
// EDGECACHE_BASELINE=path/to/build/index.js adds that build of edgecache
// (e.g. an earlier commit's) to the workerd-direct table, for before/after
// figures from one run. BENCH_DIRECT_ONLY=1 measures workerd direct only
// (no `wrangler dev` table, no stampede). BENCH_ROUNDS=N repeats the
// measurement N times in rotated order and prints medians and each round's
// ratios.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { Miniflare } from "miniflare";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundle, freePort, root, workerOptions } from "./common.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] || 10);
const conns = Number(process.argv[3] || 32);

// The origin: counts requests per path, answers after 50 ms like a real backend.
const counts = new Map();
const origin = http.createServer((req, res) => {
  const p = new URL(req.url, "http://x").pathname;
  counts.set(p, (counts.get(p) || 0) + 1);
  setTimeout(() => {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=60" });
    res.end(JSON.stringify({ path: p, n: counts.get(p) }));
  }, 50);
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const originUrl = `http://127.0.0.1:${origin.address().port}`;

const procs = [];
async function wranglerDev(name, dir, vars) {
  const port = await freePort();
  const inspector = await freePort();
  // A fresh state directory: no cache entries left from an earlier run.
  const state = mkdtempSync(path.join(tmpdir(), "bench-wrangler-"));
  const args = ["dev", "--config", path.join(dir, "wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", state];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const p = spawn(path.join(root, "node_modules/.bin/wrangler"), args, { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  procs.push(p);
  const t0 = Date.now();
  while (!/Ready on/.test(out)) {
    if (Date.now() - t0 > 120_000 || p.exitCode !== null) throw new Error(`${name} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { name, base: `http://127.0.0.1:${port}` };
}

/** This process's workerd children (Miniflare starts one per instance). */
function workerdPids() {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        return / \(workerd\) /.test(stat) && Number(stat.split(") ")[1].split(" ")[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** CPU time (user + system) of a process so far, in µs (Linux clock ticks of 10 ms). */
function cpuMicros(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

const minis = [];
/** The same Worker in workerd directly (Miniflare's API, no dev proxy). */
async function miniflare(name, dir, vars, script) {
  let scriptPath = script || path.join(dir, "worker.js");
  // Bundle the bare `hono` / `lru-cache` imports, as wrangler would.
  if (dir.endsWith("hono") || dir.endsWith("lrucache")) scriptPath = bundle(scriptPath);
  if (dir.endsWith("edgecache") && !script) scriptPath = path.join(root, "build/index.js");
  const mf = new Miniflare(workerOptions(scriptPath, vars));
  const before = new Set(workerdPids());
  minis.push(mf);
  const url = await mf.ready;
  const pid = workerdPids().find((p) => !before.has(p));
  return { name, base: url.href.replace(/\/$/, ""), pid };
}

function wrk(url, pid) {
  const cpu0 = pid ? cpuMicros(pid) : 0;
  const out = execFileSync("wrk", ["-t", "2", "-c", String(conns), "-d", `${seconds}s`, "--latency", url], { encoding: "utf8" });
  const cpu = pid ? cpuMicros(pid) - cpu0 : NaN;
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return { rps, p50, p99, errors: non2xx ? Number(non2xx[1]) : 0, cpuPerReq: cpu / requests };
}

/** One wrk run per Worker, in `workers`' order. */
async function round(workers) {
  const results = [];
  for (const w of workers) {
    const url = `${w.base}/hit`;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(url);
      await r.text();
    }
    results.push({ ...w, ...wrk(url, w.pid) });
  }
  return results;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * BENCH_ROUNDS rounds (default 1), each Worker once per round, the order
 * rotated from round to round so none always runs first or last; with more
 * than one round the table has medians and a line per round gives the
 * ratios that round measured (the worst one is what to judge by).
 */
async function measure(title, workers) {
  const rounds = Number(process.env.BENCH_ROUNDS || 1);
  const byName = new Map(workers.map((w) => [w.name, []]));
  const perRound = [];
  for (let i = 0; i < rounds; i++) {
    const order = workers.map((_, j) => workers[(j + i) % workers.length]);
    const rs = await round(order);
    for (const r of rs) byName.get(r.name).push(r);
    perRound.push(new Map(rs.map((r) => [r.name, r])));
  }
  const pick = (name, f) => median(byName.get(name).map(f));
  const results = workers.map((w) => ({
    name: w.name,
    rps: pick(w.name, (r) => r.rps),
    cpuPerReq: pick(w.name, (r) => r.cpuPerReq),
    p50: rounds === 1 ? byName.get(w.name)[0].p50 : "–",
    p99: byName.get(w.name).map((r) => r.p99).join(" / "),
    errors: byName.get(w.name).reduce((a, r) => a + r.errors, 0),
  }));
  const ceiling = results[0].rps;
  const what = rounds === 1 ? "" : ` (median of ${rounds} rounds; p99 of each round)`;
  console.log(`\n${title}: hit path, wrk -t2 -c${conns} -d${seconds}s${what}`);
  const jsMap = results.find((r) => r.name.startsWith("JS Map"));
  // workerd's CPU time per request (user + system, all its threads, the
  // HTTP server included): steadier than requests/s when other work shares
  // the cores, as it counts only what this Worker's process spent.
  console.log("| Worker | requests/s | vs static | vs JS Map | p50 | p99 | non-2xx | workerd CPU µs/request |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const cpu = Number.isFinite(r.cpuPerReq) ? r.cpuPerReq.toFixed(0) : "–";
    console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${(r.rps / ceiling).toFixed(2)} | ${(r.rps / jsMap.rps).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.errors} | ${cpu} |`);
  }
  const ec = results.find((r) => r.name.startsWith("edgecache"));
  const hono = results.find((r) => r.name.startsWith("Hono"));
  console.log(`\nedgecache / Hono on the hit path: ${(ec.rps / hono.rps).toFixed(2)}x`);
  console.log(`edgecache p99 ${ec.p99}, static p99 ${results[0].p99}`);
  if (rounds > 1) {
    console.log("\n| round | edgecache / static (req/s) | edgecache / JS Map (req/s) | JS Map / edgecache (CPU µs) | p99 edgecache / static |");
    console.log("|---:|---:|---:|---:|---:|");
    perRound.forEach((m, i) => {
      const e = m.get(ec.name), st = m.get(results[0].name), jm = m.get(jsMap.name);
      console.log(`| ${i + 1} | ${(e.rps / st.rps).toFixed(2)} | ${(e.rps / jm.rps).toFixed(2)} | ${(jm.cpuPerReq / e.cpuPerReq).toFixed(2)} | ${e.p99} / ${st.p99} |`);
    });
  }
}

const specs = [
  ["static Worker (ceiling)", path.join(here, "static"), {}],
  ["edgecache (Rust/wasm)", path.join(here, "edgecache"), { ORIGIN: originUrl }],
  ["JS Map in the isolate", path.join(here, "jsmap"), { ORIGIN: originUrl }],
  ["JS lru-cache in the isolate", path.join(here, "lrucache"), { ORIGIN: originUrl }],
  ["Hono cache middleware (JS)", path.join(here, "hono"), { ORIGIN: originUrl }],
];
console.log(`${new Date().toISOString()}; ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores; node ${process.version}; ${execFileSync("uptime", { encoding: "utf8" }).trim()}`);
try {
  const direct = [];
  const directSpecs = [...specs];
  if (process.env.EDGECACHE_BASELINE) {
    directSpecs.splice(2, 0, ["edgecache baseline (EDGECACHE_BASELINE)", path.join(here, "edgecache"), { ORIGIN: originUrl }, path.resolve(process.env.EDGECACHE_BASELINE)]);
  }
  for (const [n, d, v, script] of directSpecs) direct.push(await miniflare(n, d, v, script));
  await measure("workerd direct (Miniflare API)", direct);
  for (const mf of minis.splice(0)) await mf.dispose();
  if (!process.env.BENCH_DIRECT_ONLY) {
    const workers = [];
    for (const [n, d, v] of specs) workers.push(await wranglerDev(n, d, v));
    await measure("wrangler dev", workers);
    console.log("\nStampede: 100 concurrent requests for one cold key (origin answers in 50 ms)");
    console.log("| Worker | origin requests | responses 200 |");
    console.log("|---|---:|---:|");
    for (const w of workers.slice(1)) {
      const p = `/stampede-${w.name.split(" ")[0]}-${Date.now()}`;
      const rs = await Promise.all(Array.from({ length: 100 }, () => fetch(w.base + p).then(async (r) => (await r.text(), r.status))));
      console.log(`| ${w.name} | ${counts.get(p) || 0} | ${rs.filter((s) => s === 200).length} |`);
    }
  }
} finally {
  for (const mf of minis) await mf.dispose();
  for (const p of procs) {
    try {
      process.kill(-p.pid, "SIGTERM");
    } catch {}
  }
  origin.close();
}
