// Rewrites worker-build's bundle (built unminified) so the Worker's default
// export is a plain `{ fetch }` object instead of a Proxy around a
// `WorkerEntrypoint` class, then minifies it.
//
// Why: workerd constructs a class entry point once per request; through
// worker-build's Proxy (panic recovery) that construction and the per-call
// method Proxy were a fifth of a cache hit's CPU time (bench/README.md,
// "Where a hit's time goes"). The object keeps the same recovery: the wasm
// instance is reset before a call after a trap (`checkReinitialize`), and a
// trap thrown by a call marks it (`handleMaybeCritical`), as the Proxy did.
//
//   node scripts/worker-entry.mjs build/index.js
//
// The entry also answers plain GETs from ready answers the engine offered
// (src/platform/workers/hit_slots.js, put in here; the engine's side is
// src/response_cache/hit_slots.rs) before calling into wasm.
//
// It fails, naming the missing piece, if worker-build's output changes shape.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { transformSync } = await import(path.join(root, "node_modules/esbuild/lib/main.js"));

const file = process.argv[2] || path.join(root, "build/index.js");
let code = readFileSync(file, "utf8");
const need = [
  "function checkReinitialize()",
  "function handleMaybeCritical(e)",
  "\nfunction fetch(",
  "var shim_default = new Proxy(Entrypoint, classProxyHooks);",
  "  shim_default as default\n",
  "\nfunction hit_slot(",
  "\nfunction hit_slot_offer(",
  "\nfunction hit_slot_drop(",
];
for (const n of need) {
  if (!code.includes(n)) throw new Error(`${file}: worker-build output changed, not found: ${JSON.stringify(n)}`);
}
const slotsJs = readFileSync(path.join(root, "src/platform/workers/hit_slots.js"), "utf8");
const entry = `var shim_default = new Proxy(Entrypoint, classProxyHooks);
var edgecache_slots = (${slotsJs.trim()})({ hit: hit_slot, offer: hit_slot_offer, drop: hit_slot_drop });
var edgecache_entry = {
  fetch(request, env, ctx) {
    checkReinitialize();
    try {
      const ready = edgecache_slots.answer(request);
      if (ready !== undefined) return ready;
      const r = fetch(request, env, ctx);
      if (!(r instanceof Promise)) edgecache_slots.take();
      return r;
    } catch (e) {
      edgecache_slots.clear();
      handleMaybeCritical(e);
      throw e;
    }
  }
};`;
code = code.replace(need[3], entry).replace(need[4], "  edgecache_entry as default\n");
const out = transformSync(code, { minify: true, format: "esm", target: "es2022", loader: "js" });
writeFileSync(file, out.code);
console.log(`${path.relative(root, file)}: default export is a plain { fetch } object (${out.code.length} bytes)`);
