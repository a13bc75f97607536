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
import WebSocket from "ws";
import { freePort, root, workerOptions } from "./common.mjs";

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
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => /edgecache/.test(t.id + t.title + t.webSocketDebuggerUrl)) || targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  let id = 0;
  const pending = new Map();
  ws.on("message", (m) => {
    const msg = JSON.parse(m);
    if (msg.id && pending.has(msg.id)) pending.get(msg.id)(msg), pending.delete(msg.id);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const n = ++id;
      pending.set(n, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 50 });
  await call("Profiler.start");
  const out = execFileSync("wrk", ["-t", "2", "-c", String(conns), "-d", `${seconds}s`, url], { encoding: "utf8" });
  const { profile } = await call("Profiler.stop");
  ws.close();
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)[1];

  // Self time per node from the samples and their time deltas.
  const self = new Map();
  profile.samples.forEach((n, i) => self.set(n, (self.get(n) || 0) + (profile.timeDeltas[i] || 0)));
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
    const cf = byId.get(nodeId).callFrame;
    const f = `${cf.functionName || "(anonymous)"} ${cf.url ? path.basename(cf.url) : ""}`.trim();
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
