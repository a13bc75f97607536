// The Redis REST backend (edgecache's npm package) beside the official
// @upstash/redis 1.39.0, both inside one workerd Worker
// (e2e/fixtures/redis-peer/worker.mjs), against the same Upstash-protocol
// gateway (e2e/servers.mjs) in front of one redis-server, in the same run:
//
//   node bench/redis/run.mjs [iters=200] [runs=5]
//
// Needs js/dist (`bash scripts/build-js.sh`). For each operation and client,
// one pass runs `iters` calls in a row inside the Worker (timed there: the
// Worker's clock moves at I/O) and the gateway counts the HTTP requests it
// received meanwhile. The first run warms up and is not counted; the table
// has the median time per call of `runs` runs, and the requests per call
// (the same every run). Operations: a single get and set (cycling over
// 100 keys), get_many and set_many of 100 keys (@upstash/redis: MGET and
// MSET), 100 concurrent gets (Promise.all), and a response-cache hit and
// miss on a page of the origin (edgecache: withCache; @upstash/redis: a get,
// and on a miss a fetch and a set with EX: what an app writes by hand).
import { startOrigin } from "../../e2e/helpers.mjs";
import { startPeerWorker } from "../../e2e/fixtures/redis-peer/start.mjs";
import { startRedis, startUpstashGateway } from "../../e2e/servers.mjs";

const iters = Number(process.argv[2] || 200);
const runs = Number(process.argv[3] || 5);
const TOKEN = "bench-redis-token";
const LIBS = ["edgecache", "upstash"];
const OPS = ["get", "set", "get_many", "set_many", "concurrent_gets"];

const redis = await startRedis();
const gw = await startUpstashGateway(redis.port, TOKEN);
const origin = await startOrigin();
const mf = await startPeerWorker({ REDIS_URL: gw.url, REDIS_TOKEN: TOKEN, ORIGIN: origin.url });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = new Map(); // "op|lib" -> { ms: [], requests }
const record = (op, lib, ms, requests) => {
  const k = `${op}|${lib}`;
  if (!results.has(k)) results.set(k, { ms: [], requests });
  results.get(k).ms.push(ms);
};

async function pass(lib, op) {
  const before = gw.requests();
  const r = await mf.dispatchFetch(`http://peer.test/op?lib=${lib}&op=${op}&iters=${iters}`);
  const body = await r.json();
  if (r.status !== 200) throw new Error(`${lib} ${op}: ${JSON.stringify(body)}`);
  return { ms: body.ms / iters, requests: (gw.requests() - before) / iters };
}

/** A page pass: `iters` misses (fresh paths), then `iters` hits on them. */
async function pages(lib, run) {
  const paths = Array.from({ length: iters }, (_, i) => `/page/${lib}-${run}-${i}?lib=${lib}`);
  const out = {};
  for (const kind of ["miss", "hit"]) {
    const before = gw.requests();
    const t0 = performance.now();
    for (const p of paths) {
      const r = await mf.dispatchFetch("http://peer.test" + p);
      await r.text();
      if (r.status !== 200) throw new Error(`${lib} page ${p}: ${r.status}`);
    }
    out[kind] = { ms: (performance.now() - t0) / iters, requests: (gw.requests() - before) / iters };
  }
  return out;
}

try {
  // Seed the keys both clients read.
  await mf.dispatchFetch("http://peer.test/op?lib=edgecache&op=set_many&iters=1");
  for (let run = 0; run <= runs; run++) {
    for (const op of OPS) {
      for (const lib of LIBS) {
        const r = await pass(lib, op);
        if (run > 0) record(op, lib, r.ms, r.requests);
      }
    }
    for (const lib of LIBS) {
      const r = await pages(lib, run);
      if (run > 0) {
        record("response cache miss", lib, r.miss.ms, r.miss.requests);
        record("response cache hit", lib, r.hit.ms, r.hit.requests);
      }
    }
  }
  const ops = [...OPS, "response cache miss", "response cache hit"];
  console.log(`\nmedian of ${runs} runs, ${iters} calls per pass; time per call in ms, HTTP requests per call at the gateway\n`);
  console.log("| operation | edgecache ms | @upstash/redis ms | edgecache ÷ @upstash/redis | requests, edgecache | requests, @upstash/redis |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const op of ops) {
    const e = results.get(`${op}|edgecache`);
    const u = results.get(`${op}|upstash`);
    const [me, mu] = [median(e.ms), median(u.ms)];
    console.log(`| ${op.replaceAll("_", " ")} | ${me.toFixed(3)} | ${mu.toFixed(3)} | ${(me / mu).toFixed(2)} | ${e.requests} | ${u.requests} |`);
  }
  console.log("\n(response cache: timed from Node around each request, so it includes Miniflare's dispatch)");
} finally {
  await mf.dispose();
  await gw.stop();
  await redis.stop();
  await origin.close();
}
