// Shared helpers for the end-to-end tests: run the release Worker in real
// workerd (through Miniflare's API), and real servers on 127.0.0.1.
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { chromium } from "playwright-core";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ADMIN_TOKEN = "test-token";

/** Starts the built Worker (build/index.js) in workerd on a free port. */
export async function startWorker(bindings = {}) {
  const script = path.join(ROOT, "build", "index.js");
  if (!existsSync(script)) {
    throw new Error("build/index.js is missing: run `bash scripts/build-worker.sh` (the test command does)");
  }
  const mf = new Miniflare({
    modules: true,
    scriptPath: script,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-01",
    host: "127.0.0.1",
    port: 0,
    bindings: { ADMIN_TOKEN, ...bindings },
  });
  const url = await mf.ready;
  const base = url.href.replace(/\/$/, "");
  return {
    base,
    url: (p) => base + p,
    admin: (p, init = {}) =>
      fetch(base + "/_edgecache/" + p, {
        ...init,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers || {}) },
      }),
    /** Sends a request with any URL (e.g. another host) straight to the Worker. */
    dispatch: (u, init) => mf.dispatchFetch(u, init),
    dispose: () => mf.dispose(),
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A real HTTP origin on 127.0.0.1 that counts its requests. `routes` maps a
 * path to (req, n) => ({status, headers, body}).
 */
export async function startOrigin(routes = {}) {
  const counts = new Map();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    const n = (counts.get(p) || 0) + 1;
    counts.set(p, n);
    const route = routes[p];
    const r = route ? route(req, n) : { body: JSON.stringify({ path: p, n }) };
    const send = () => {
      res.writeHead(r.status || 200, { "content-type": "application/json", ...(r.headers || {}) });
      res.end(r.body ?? "");
    };
    if (r.delay) setTimeout(send, r.delay);
    else send();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    count: (p) => counts.get(p) || 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Runs a Python snippet with the Ellar installed by scripts/setup.sh; resolves
 * to its stdout. Asynchronous, so the test's own servers (origins, gateways)
 * in this Node process keep answering while Python runs.
 */
export function ellarPython(code, input) {
  const py = path.join(ROOT, ".tools", "venv", "bin", "python");
  return new Promise((resolve, reject) => {
    const child = spawn(py, ["-c", code], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (status) => (status === 0 ? resolve(out) : reject(new Error(`python exited ${status}: ${err}`))));
    child.stdin.end(input ?? "");
  });
}

/** Spawns a long-running command; kill() stops its whole process group. */
export function spawnGroup(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  return {
    child,
    output: () => output,
    kill: () => {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
    },
  };
}

/** The npm package's folder (js/), after `bash scripts/build-js.sh` built its wasm. */
export function jsPackage() {
  const dir = path.join(ROOT, "js");
  if (!existsSync(path.join(dir, "dist", "edgecache_bg.wasm")) || !existsSync(path.join(dir, "dist", "edgecache.js"))) {
    throw new Error("js/dist is missing: run `bash scripts/build-js.sh` (the test command does)");
  }
  return dir;
}

// ---- the interop tests' side of edgecache (e2e/interop*.test.mjs) ----

/** What a Worker's backend holds for `key`, through the admin API: `{json: text}` or `{bytes: hex}`. */
export async function adminGet(w, backend, key) {
  const r = await w.admin(`keys/${backend}/${encodeURIComponent(key)}`);
  if (r.status !== 200) return { error: `HTTP ${r.status}: ${await r.text()}` };
  if ((r.headers.get("content-type") || "").startsWith("application/json")) return { json: await r.text() };
  return { bytes: Buffer.from(await r.arrayBuffer()).toString("hex") };
}

/** Writes `{json}` or `{bytes: hex}` for `key` (never expiring) through the admin API. */
export async function adminPut(w, backend, key, { json, bytes }) {
  const init =
    json !== undefined
      ? { method: "PUT", body: json, headers: { "content-type": "application/json" } }
      : { method: "PUT", body: Buffer.from(bytes, "hex"), headers: { "content-type": "application/octet-stream" } };
  const r = await w.admin(`keys/${backend}/${encodeURIComponent(key)}?ttl=never`, init);
  assert.ok(r.status < 300, `PUT ${key}: HTTP ${r.status} ${await r.text()}`);
}

/** Same JSON value (numbers compared by their text, so big ints are exact)? */
export function sameJson(a, b) {
  const norm = (t) => JSON.stringify(JSON.parse(t.replace(/(?<![\w."])(-?\d{16,})(?![\w.])/g, '"#$1"')), (k, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
  );
  return norm(a) === norm(b);
}

/** Prints the interop table (client × value × direction) a test built. */
export function printInteropTable(file, rows) {
  if (!rows.length) return;
  const lines = [
    "| client | value | client writes, edgecache reads | edgecache writes, client reads |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.client} | ${r.value} | ${r.toEdge} | ${r.fromEdge} |`),
  ];
  console.log(`\nInterop table (${file}):\n` + lines.join("\n") + "\n");
}

/**
 * Headless Chromium (Debian's) with a fresh profile and no background
 * connections (this machine has no internet); `close()` also removes the profile.
 */
export async function launchChromium() {
  const profile = mkdtempSync(path.join(tmpdir(), "edgecache-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
