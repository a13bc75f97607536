// Cloudflare Workers (workerd): wrangler's bundler hands a .wasm import over
// as a compiled WebAssembly.Module; TCP sockets (memcached) come from
// cloudflare:sockets.
import { connect } from "cloudflare:sockets";
import wasmModule from "../dist/edgecache_bg.wasm";
import * as glue from "../dist/edgecache.js";
import { bind } from "./core.js";

const wasm = glue.initSync({ module: wasmModule });

export const { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest, LocalCache } = bind(glue, wasm, { connect });

// wasm-bindgen's future queue schedules every wake of a Rust future (4 per
// Redis call) with `queueMicrotask` when the global has one, else with a
// resolved promise's `then`; both run the queue as a microtask. workerd's
// queueMicrotask costs about 3.5 µs a call against 0.15 µs for `then`
// (bench/redis/microtask.mjs), and it showed in bench/redis: so the queue,
// made once on first use, is made here with queueMicrotask out of sight.
{
  const queueMicrotask = globalThis.queueMicrotask;
  try {
    globalThis.queueMicrotask = undefined;
    createCacheService({ default: { backend: "local" } })
      .get("k")
      .catch(() => {});
  } finally {
    globalThis.queueMicrotask = queueMicrotask;
  }
}
