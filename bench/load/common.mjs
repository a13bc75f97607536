// What the load benchmarks share: a free loopback port, the Miniflare
// options of a module Worker with wasm, and bundling a Worker with esbuild
// (bare imports such as `hono` or `lru-cache`, as wrangler would), and a V8
// profiler session with a Worker in workerd (bench/load and bench/redis).
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A free TCP port on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Miniflare options for the module Worker `scriptPath` (its wasm beside it) on a free loopback port. */
export const workerOptions = (scriptPath, bindings, more = {}) => ({
  modules: true,
  scriptPath,
  modulesRoot: path.dirname(scriptPath),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate: "2026-04-01",
  host: "127.0.0.1",
  port: 0,
  bindings,
  ...more,
});

/** `entry` bundled by esbuild into a temporary folder; returns the bundle's path. */
export function bundle(entry, { minify = false } = {}) {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "bench-worker-")), "worker.js");
  const args = [entry, "--bundle", "--format=esm", `--outfile=${out}`, ...(minify ? ["--minify"] : [])];
  execFileSync(path.join(root, "node_modules/.bin/esbuild"), args, { stdio: "ignore" });
  return out;
}

/**
 * A V8 inspector session with a Worker running in workerd (Miniflare's
 * `inspectorPort`), its profiler enabled at one sample per 50 µs; `pick`
 * chooses the target among the inspector's list. `call(method, params)`
 * sends one command and resolves to its result.
 */
export async function profilerSession(inspectorPort, pick = (targets) => targets[0]) {
  const { default: WebSocket } = await import("ws");
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const ws = new WebSocket(pick(targets).webSocketDebuggerUrl);
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
  return { call, close: () => ws.close() };
}

/** Self time (µs) per node of a V8 CPU profile, from its samples and their time deltas. */
export function selfTimes(profile) {
  const self = new Map();
  profile.samples.forEach((n, i) => self.set(n, (self.get(n) || 0) + (profile.timeDeltas[i] || 0)));
  return self;
}

/** A profile node's function as the tables print it: its name and its file. */
export const functionLabel = (callFrame) =>
  `${callFrame.functionName || "(anonymous)"} ${callFrame.url ? path.basename(callFrame.url) : ""}`.trim();
