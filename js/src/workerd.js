// Cloudflare Workers (workerd): wrangler's bundler hands a .wasm import over
// as a compiled WebAssembly.Module; TCP sockets (memcached) come from
// cloudflare:sockets.
import { connect } from "cloudflare:sockets";
import wasmModule from "../dist/edgecache_bg.wasm";
import * as glue from "../dist/edgecache.js";
import { bind } from "./core.js";

const wasm = glue.initSync({ module: wasmModule });

export const { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest, LocalCache } = bind(glue, wasm, { connect });
