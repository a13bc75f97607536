// Where a hit's time goes: a CPU profile of workerd (the V8 inspector, through
// Miniflare's `inspectorPort`) while wrk loads one cached URL, summed by
// function (self time) and by layer (the wasm module, its JS glue, workerd's
// built-ins reached from them, idle).
//
//   node bench/load/profile.mjs [script=build/index.js] [seconds=5] [connections=32]
//
// For wasm function names, profile a build whose name section wasm-opt did
// not strip: `worker-build --release --no-opt -d build-prof . --features app`.
import { execFileSync } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { Miniflare } from "miniflare";
import { freePort, functionLabel, profilerSession, root, selfTimes, workerOptions } from "./common.mjs";

const script = path.resolve(process.argv[2] || path.join(root, "build/index.js"));
const seconds = Number(process.argv[3] || 5);
const conns = Number(process.argv[4] || 32);

const origin = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=600" });
  res.end(JSON.stringify({ path: req.url, n: 1 }));
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));

const inspectorPort = await freePort();
const mf = new Miniflare(
  workerOptions(script, { ORIGIN: `http://127.0.0.1:${origin.address().port}` }, { name: "edgecache", inspectorPort }),
);
try {
  const base = (await mf.ready).href.replace(/\/$/, "");
  const url = `${base}/hit`;
  for (let i = 0; i < 3; i++) await (await fetch(url)).text();
  const { call, close } = await profilerSession(
    inspectorPort,
    (targets) => targets.find((t) => /edgecache/.test(t.id + t.title + t.webSocketDebuggerUrl)) || targets[0],
  );
  await call("Profiler.start");
  const out = execFileSync("wrk", ["-t", "2", "-c", String(conns), "-d", `${seconds}s`, url], { encoding: "utf8" });
  const { profile } = await call("Profiler.stop");
  close();
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)[1];

  const self = selfTimes(profile);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const layerOf = (cf) => {
    if (cf.url.startsWith("wasm://")) return "wasm (Rust)";
    if (cf.url) return "JS glue (wasm-bindgen, workers-rs shim)";
    return null;
  };
  // A built-in (no url) is charged to the nearest caller with a url.
  const layer = (nodeId) => {
    let n = byId.get(nodeId);
    const name = n.callFrame.functionName;
    if (["(idle)", "(program)", "(garbage collector)", "(root)"].includes(name)) return name;
    const own = n.callFrame.url ? null : `workerd built-in: ${name || "(anonymous)"}`;
    for (let id = nodeId; id !== undefined; id = parent.get(id)) {
      const l = layerOf(byId.get(id).callFrame);
      if (l) return own ? `built-ins called from ${l}` : l;
    }
    return own || "(other)";
  };
  const layers = new Map();
  const fns = new Map();
  for (const [nodeId, us] of self) {
    const l = layer(nodeId);
    layers.set(l, (layers.get(l) || 0) + us);
    const f = functionLabel(byId.get(nodeId).callFrame);
    fns.set(f, (fns.get(f) || 0) + us);
  }
  const busy = total - (layers.get("(idle)") || 0);
  const pct = (us, of) => ((100 * us) / of).toFixed(1);
  console.log(`${path.relative(root, script)}: ${rps} req/s under the profiler (wrk -t2 -c${conns} -d${seconds}s); ${(total / 1e6).toFixed(2)} s sampled`);
  console.log("\n| layer | % of busy time |\n|---|---:|");
  for (const [l, us] of [...layers].sort((a, b) => b[1] - a[1])) if (l !== "(idle)") console.log(`| ${l} | ${pct(us, busy)} |`);
  console.log(`\nidle: ${pct(layers.get("(idle)") || 0, total)} % of the sampled time`);
  console.log("\n| function (self time) | % of busy time |\n|---|---:|");
  for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).filter(([f]) => !f.startsWith("(idle)")).slice(0, 30)) {
    console.log(`| ${f.replace(/\|/g, "\\|")} | ${pct(us, busy)} |`);
  }
} finally {
  await mf.dispose();
  origin.close();
}
