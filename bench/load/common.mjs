// What the load benchmarks share: a free loopback port, the Miniflare
// options of a module Worker with wasm, and bundling a Worker with esbuild
// (bare imports such as `hono` or `lru-cache`, as wrangler would).
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
