// The memcached backend inside workerd, through the admin API and the
// response cache, beside the `local` backend in the same Worker, a plain JS
// Worker talking to memcached over connect() (the platform's own cost) and
// pymemcache (bench/memcached/pymemcache_peer.py, natively, no HTTP) on the
// same memcached in the same run:
//
//   node bench/memcached/run.mjs [seconds=3] [runs=5]
//
// Starts one memcached, nginx with the memc module in front of it (the
// repo's gateway config), an origin and the release Worker (build/index.js,
// from `bash scripts/build-worker.sh`) in workerd through Miniflare, with
// three backends: `tcp` (Workers TCP sockets), `gateway` (HTTP to nginx) and
// `local`, and bench/memcached/plain-worker.js in a second workerd. Each pass is `wrk -t1 -c1` (one request at a time on one
// keep-alive connection) for `seconds`, cycling through the keys with
// bench/memcached/keys.lua; every answer must have the expected status. A
// first run of 1 s passes warms up and is not counted; the tables have the
// median of `runs` runs, each followed by one pass of pymemcache (20000
// calls per operation). memcached's own counters (`stats`), read before and
// after each pass, give what a request cost the server: keys read, items
// written and connections opened.
//
// The admin API has no batch route, so get_many/set_many are not measured
// here (`cargo run --release -p edgecache-bench --bin memcached` measures
// them natively, over the same protocol code).
import { execFileSync } from "node:child_process";
import { Miniflare } from "miniflare";
import path from "node:path";
import { ADMIN_TOKEN, ROOT, startOrigin, startWorker } from "../../e2e/helpers.mjs";
import { memcachedCall, startMemcached, startMemcGateway } from "../../e2e/servers.mjs";

const seconds = Number(process.argv[2] || 3);
const runs = Number(process.argv[3] || 5);
const PEER_OPS = 20000;
const KEYS = 10000;
const VALUE_BYTES = 100;
const PAGES = 100;
const TOKEN = "bench-gateway-token";
// Targets: the Worker's three backends, and a plain JS Worker doing one
// connect() + command + close per request (bench/memcached/plain-worker.js).
const edgecache = ["tcp", "gateway", "local"];
const targets = [...edgecache, "plain"];

// Each operation on target `t`: the path before the key number, and what
// every answer must be (null: not measured there).
const operations = {
  // The floor: a request that reaches the Worker's code but no backend (the
  // admin route answering the full key as stored).
  "request, no backend call": (t) =>
    t === "plain" ? { path: "/floor/", status: 200 } : { path: `/_edgecache/key/${t}/item%3A`, status: 200 },
  "get (hit)": (t) => ({ path: t === "plain" ? "/get/%3A1%3Aitem%3A" : `/_edgecache/keys/${t}/item%3A`, status: 200 }),
  "get (miss)": (t) => ({ path: t === "plain" ? "/get/%3A1%3Aabsent%3A" : `/_edgecache/keys/${t}/absent%3A`, status: 404 }),
  set: (t) => ({
    path: t === "plain" ? "/set/%3A1%3Aitem%3A" : `/_edgecache/keys/${t}/item%3A`,
    suffix: t === "plain" ? "" : "?ttl=never",
    method: "PUT",
    bytes: VALUE_BYTES,
    status: 200,
  }),
  // A page the response cache holds: one backend get, no origin request.
  "response cache hit": (t) => (t === "plain" ? null : { path: `/${t}/page-`, count: PAGES, status: 200, public: true }),
};

function wrk(base, op, secs) {
  const headers = op.public ? [] : ["-H", `authorization: Bearer ${ADMIN_TOKEN}`];
  if (op.bytes) headers.push("-H", "content-type: application/octet-stream");
  const lua = path.join(ROOT, "bench/memcached/keys.lua");
  const args = ["-t1", "-c1", `-d${secs}s`, ...headers, "-s", lua, base + op.path, "--"];
  args.push(op.method || "GET", String(op.count || KEYS), String(op.bytes || 0), op.suffix || "");
  const out = execFileSync("wrk", args, { encoding: "utf8" });
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] || 0);
  const expected = op.status === 200 ? 0 : requests;
  if (non2xx !== expected || /Socket errors/.test(out)) throw new Error(`${op.path}: ${non2xx} of ${requests} answers not ${op.status}\n${out}`);
  return { requests, rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]) };
}

async function memcachedStats(port) {
  const text = (await memcachedCall(port, "stats\r\n", (s) => s.endsWith("END\r\n"))).toString();
  return Object.fromEntries([...text.matchAll(/^STAT (\S+) (\S+)\r$/gm)].map((m) => [m[1], Number(m[2])]));
}

const PEER_OPERATIONS = ["get (hit)", "get (miss)", "set", "set, noreply", "get_many(100)", "set_many(100)"];

/** One pass of pymemcache per operation in `names`: its version and a figure per operation. */
function pymemcache(port, names, count) {
  const py = path.join(ROOT, ".tools/venv/bin/python");
  // ":1:": the keys as the backends store them (no key_prefix, version 1).
  const args = [path.join(ROOT, "bench/memcached/pymemcache_peer.py"), String(port), String(PEER_OPS), ":1:"];
  if (count) args.push("--count");
  const out = execFileSync(py, args, { encoding: "utf8", input: names.map((n) => n + "\n").join("") });
  const lines = out.trim().split("\n");
  return Object.fromEntries(lines.map((l) => l.split("\t")).map(([k, v]) => [k, k === "pymemcache" ? v : Number(v)]));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let mc, gw, origin, w, plain;
try {
  mc = await startMemcached();
  gw = await startMemcGateway([mc.address], TOKEN);
  origin = await startOrigin();
  const servers = [mc.address];
  const caches = {
    default: { backend: "local" },
    local: { backend: "local" },
    tcp: { backend: "memcached", options: { servers, serializer: "pymemcache" } },
    gateway: { backend: "memcached", options: { servers, serializer: "pymemcache", gateway_url: gw.url, token_secret: "MEMC_TOKEN" } },
  };
  const routes = edgecache.map((b) => ({ path: `/${b}/*`, backend: b, ttl: 3600 }));
  w = await startWorker({ CACHES: JSON.stringify(caches), ROUTES: JSON.stringify(routes), MEMC_TOKEN: TOKEN, ORIGIN: origin.url });
  const script = path.join(ROOT, "bench/memcached/plain-worker.js");
  plain = new Miniflare({ modules: true, scriptPath: script, modulesRoot: path.dirname(script), compatibilityDate: "2026-04-01", host: "127.0.0.1", port: 0, bindings: { MC: mc.address } });
  const base = { plain: (await plain.ready).href.replace(/\/$/, "") };
  for (const b of edgecache) base[b] = w.base;

  // Every key present: pymemcache writes them all (the memcached backends
  // and the plain Worker read the same items), the admin API those of
  // `local`, eight requests at a time.
  const peerRoundTrips = pymemcache(mc.port, PEER_OPERATIONS, true);
  let next = 0;
  const put = async () => {
    for (let i = next++; i < KEYS; i = next++) {
      const init = { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: Buffer.alloc(VALUE_BYTES, i) };
      const r = await w.admin(`keys/local/item%3A${i}?ttl=never`, init);
      if (r.status !== 200) throw new Error(`preload item:${i}: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, put));
  // Every page cached (a page's first request is a miss that stores it).
  for (const b of edgecache) {
    for (let i = 0; i < PAGES; i++) {
      for (let tries = 0; ; tries++) {
        const r = await fetch(w.url(`/${b}/page-${i}`));
        await r.arrayBuffer();
        const status = r.headers.get("cache-status") || "";
        if (status.startsWith("edgecache; hit")) break;
        if (tries > 50) throw new Error(`/${b}/page-${i} is not cached: ${status}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
  const originRequests = () => Array.from({ length: PAGES }, (_, i) => edgecache.map((b) => origin.count(`/${b}/page-${i}`))).flat().reduce((a, c) => a + c, 0);
  const originBefore = originRequests();

  const rates = {}; // `${target}|${operation}` -> requests/s per run
  const perRequest = {}; // `${target}|${operation}` -> memcached's counters per request, last run
  const peer = {}; // operation -> pymemcache calls/s per run
  for (let run = -1; run < runs; run++) {
    for (const [name, make] of Object.entries(operations)) {
      for (const t of targets) {
        const op = make(t);
        if (!op) continue;
        const before = await memcachedStats(mc.port);
        const { requests, rate } = wrk(base[t], op, run < 0 ? 1 : seconds);
        const after = await memcachedStats(mc.port);
        if (run < 0) continue;
        (rates[`${t}|${name}`] ??= []).push(rate);
        const d = (k) => (after[k] - before[k]) / requests;
        // The second `stats` connection is one of those counted.
        perRequest[`${t}|${name}`] = { gets: d("cmd_get"), sets: d("cmd_set"), connections: (after.total_connections - before.total_connections - 1) / requests };
      }
    }
    if (run < 0) continue;
    const shared = Object.keys(operations).filter((n) => PEER_OPERATIONS.includes(n));
    for (const [k, v] of Object.entries(pymemcache(mc.port, shared, false))) (peer[k] ??= []).push(v);
  }
  if (originRequests() !== originBefore) throw new Error(`${originRequests() - originBefore} response cache hits went to the origin`);

  const rate = (t, name) => rates[`${t}|${name}`] && median(rates[`${t}|${name}`]);
  const f = (x) => (x === undefined ? "–" : x.toFixed(0));
  const ratio = (a, b) => (a === undefined || b === undefined ? "–" : (a / b).toFixed(3));
  const memcachedVersion = execFileSync("memcached", ["-V"], { encoding: "utf8" }).trim();
  console.log(`${new Date().toISOString()}; ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores; node ${process.version}; ${memcachedVersion}; pymemcache ${peer.pymemcache[0]}`);
  console.log(`\nrequests/s through workerd (wrk -t1 -c1 -d${seconds}s), median of ${runs} runs; pymemcache: calls/s natively, no HTTP (${PEER_OPS} calls per pass), same memcached, same runs`);
  console.log("| operation | edgecache, memcached over TCP | edgecache, memcached via nginx gateway | edgecache, local | plain JS Worker, connect() per request | pymemcache (native) | TCP ÷ plain JS | TCP ÷ pymemcache |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const name of Object.keys(operations)) {
    const [t, g, l, j] = targets.map((x) => rate(x, name));
    const p = peer[name] && median(peer[name]);
    console.log(`| ${name} | ${f(t)} | ${f(g)} | ${f(l)} | ${f(j)} | ${f(p)} | ${ratio(t, j)} | ${ratio(t, p)} |`);
  }
  const floor = "request, no backend call";
  console.log(`\nµs per request above the same target's floor (1e6/rate − 1e6/floor, medians)`);
  console.log(`| operation | ${targets.join(" | ")} |`);
  console.log(`|---|${targets.map(() => "---:").join("|")}|`);
  for (const name of Object.keys(operations).slice(1)) {
    const us = (t) => (rate(t, name) === undefined ? "–" : (1e6 / rate(t, name) - 1e6 / rate(t, floor)).toFixed(0));
    console.log(`| ${name} | ${targets.map(us).join(" | ")} |`);
  }
  console.log(`\nmemcached's counters per request (last run): keys read (cmd_get), items written (cmd_set), connections opened`);
  console.log("| operation | target | keys read | items written | connections opened |");
  console.log("|---|---|---:|---:|---:|");
  for (const name of Object.keys(operations).slice(1)) {
    for (const t of targets.filter((x) => x !== "local" && perRequest[`${x}|${name}`])) {
      const c = perRequest[`${t}|${name}`];
      console.log(`| ${name} | ${t} | ${c.gets.toFixed(3)} | ${c.sets.toFixed(3)} | ${c.connections.toFixed(3)} |`);
    }
  }
  const end = await memcachedStats(mc.port);
  console.log(`\nmemcached at the end: ${end.curr_connections} connections open (the stats one included), ${end.total_connections} opened in all`);
  const rt = Object.entries(peerRoundTrips).filter(([k]) => k !== "pymemcache");
  console.log(`pymemcache round trips per call: ${rt.map(([k, v]) => `${k} ${v}`).join(", ")}`);
} finally {
  await plain?.dispose();
  await w?.dispose();
  await gw?.stop();
  await mc?.stop();
  await origin?.close();
}
