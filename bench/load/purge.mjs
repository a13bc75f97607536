// Cost of the purge log on the hit path: requests/s of the release edgecache
// Worker in workerd (Miniflare's API) with no purge log, with the Durable
// Object log (empty), and with the log holding 1000 tag purges and 200 URL
// purges of other pages (so every hit is checked against real marks), all
// measured with wrk in the same run, interleaved over several rounds; the
// median of each is compared with the no-log Worker (the named peer).
//
//   bash scripts/build-worker.sh && node bench/load/purge.mjs [seconds=5] [connections=32] [rounds=3]
import { execFileSync } from "node:child_process";
import { Miniflare } from "miniflare";
import http from "node:http";
import path from "node:path";

import { root, workerOptions } from "./common.mjs";
const seconds = Number(process.argv[2] || 5);
const conns = Number(process.argv[3] || 32);
const rounds = Number(process.argv[4] || 3);
const TOKEN = "bench-token";

const origin = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=600", "cache-tag": "page hit" });
  res.end(JSON.stringify({ path: req.url }));
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const ORIGIN = `http://127.0.0.1:${origin.address().port}`;

async function start(log) {
  const mf = new Miniflare(
    workerOptions(
      path.join(root, "build/index.js"),
      { ORIGIN, ADMIN_TOKEN: TOKEN, ROUTES: JSON.stringify([{ path: "*", ttl: 600 }]) },
      { durableObjects: log ? { EDGECACHE_PURGE_LOG: "PurgeLogObject" } : {} },
    ),
  );
  const base = (await mf.ready).href.replace(/\/$/, "");
  return { mf, base };
}

async function purge(base, body) {
  const r = await fetch(`${base}/_edgecache/purge`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await r.json();
  if (r.status !== 200) throw new Error(JSON.stringify(json));
  return json;
}

function wrk(url) {
  const out = execFileSync("wrk", ["-t", "2", "-c", String(conns), "-d", `${seconds}s`, url], { encoding: "utf8" });
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${url}: ${non2xx[1]} non-2xx responses`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

const workers = [
  { name: "no purge log (peer)", ...(await start(false)) },
  { name: "Durable Object log, empty", ...(await start(true)) },
  { name: "Durable Object log, 1200 purges", ...(await start(true)) },
];
try {
  const full = workers[2];
  const tags = Array.from({ length: 1000 }, (_, i) => `tag-${i}`);
  const reply = await purge(full.base, { tag: tags });
  if (reply.reach !== "everywhere") throw new Error(JSON.stringify(reply));
  for (let i = 0; i < 200; i++) await purge(full.base, { url: `/other-${i}` });
  for (const w of workers) {
    w.runs = [];
    for (let i = 0; i < 3; i++) await (await fetch(`${w.base}/hit`)).text();
    const status = (await fetch(`${w.base}/hit`)).headers.get("cache-status");
    if (!/hit/.test(status)) throw new Error(`${w.name}: not a hit: ${status}`);
  }
  for (let r = 0; r < rounds; r++) for (const w of workers) w.runs.push(wrk(`${w.base}/hit`));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${new Date().toISOString()}; ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores; wrk -t2 -c${conns} -d${seconds}s, ${rounds} interleaved rounds`);
  console.log("| Worker | requests/s (median) | runs | vs no log |");
  console.log("|---|---:|---|---:|");
  const peer = median(workers[0].runs);
  for (const w of workers) {
    const m = median(w.runs);
    console.log(`| ${w.name} | ${m.toFixed(0)} | ${w.runs.map((x) => x.toFixed(0)).join(", ")} | ${(m / peer).toFixed(3)} |`);
  }
} finally {
  for (const w of workers) await w.mf.dispose();
  origin.close();
}
