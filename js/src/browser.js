// Browsers (a plain <script type="module">) and other hosts with fetch:
// the wasm fetched next to this file.
import * as glue from "../dist/edgecache.js";
import { bind } from "./core.js";

const wasm = await glue.default({ module_or_path: new URL("../dist/edgecache_bg.wasm", import.meta.url) });

export const { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest, LocalCache } = bind(glue, wasm);
