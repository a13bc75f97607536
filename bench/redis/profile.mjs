// Where a Redis call's time goes inside workerd: a V8 CPU profile (the
// inspector, through Miniflare's `inspectorPort`) of the peer Worker
// (e2e/fixtures/redis-peer/worker.mjs) while it runs one operation for each
// client, as bench/redis/run.mjs does; prints the busy (non-idle) CPU time
// per call of each, by layer and the top functions by self time.
//
//   node bench/redis/profile.mjs [op=get] [iters=2000]
//
// For wasm function names, build js/dist without stripping names (skip
// wasm-opt's --strip-debug in scripts/build-js.sh).
import { freePort, startOrigin } from "../../e2e/helpers.mjs";
import { startPeerWorker } from "../../e2e/fixtures/redis-peer/start.mjs";
import { startRedis, startUpstashGateway } from "../../e2e/servers.mjs";
import { functionLabel, profilerSession, selfTimes } from "../load/common.mjs";

const op = process.argv[2] || "get";
const iters = Number(process.argv[3] || 2000);
const TOKEN = "bench-redis-token";

const redis = await startRedis();
const gw = await startUpstashGateway(redis.port, TOKEN);
const origin = await startOrigin();
const inspectorPort = await freePort();
const mf = await startPeerWorker({ REDIS_URL: gw.url, REDIS_TOKEN: TOKEN, ORIGIN: origin.url }, { inspectorPort });

try {
  await mf.dispatchFetch("http://peer.test/op?lib=edgecache&op=set_many&iters=1");
  const { call, close } = await profilerSession(inspectorPort);
  for (const lib of ["edgecache", "upstash"]) {
    await mf.dispatchFetch(`http://peer.test/op?lib=${lib}&op=${op}&iters=200`); // warm up
    await call("Profiler.start");
    const t0 = performance.now();
    const r = await (await mf.dispatchFetch(`http://peer.test/op?lib=${lib}&op=${op}&iters=${iters}`)).json();
    const wall = performance.now() - t0;
    const { profile } = await call("Profiler.stop");
    const self = selfTimes(profile);
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const fns = new Map();
    let idle = 0;
    let total = 0;
    for (const [nodeId, us] of self) {
      const cf = byId.get(nodeId).callFrame;
      total += us;
      if (cf.functionName === "(idle)") idle += us;
      const f = functionLabel(cf);
      fns.set(f, (fns.get(f) || 0) + us);
    }
    const busy = total - idle;
    console.log(`\n${lib} ${op}: ${(wall / iters).toFixed(3)} ms/call wall (driver), ${(r.ms / iters).toFixed(3)} ms/call in the Worker; busy CPU ${(busy / 1000 / iters).toFixed(3)} ms/call of ${(total / 1000 / iters).toFixed(3)} sampled`);
    console.log("| function (self time) | µs/call |\n|---|---:|");
    for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).filter(([f]) => f !== "(idle)").slice(0, 25)) {
      console.log(`| ${f.replace(/\|/g, "\\|")} | ${(us / iters).toFixed(1)} |`);
    }
  }
  close();
} finally {
  await mf.dispose();
  await gw.stop?.();
  await redis.stop();
  await origin.stop?.();
}
