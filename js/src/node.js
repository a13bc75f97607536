// Node: the wasm read from the package folder, compiled synchronously.
import { readFileSync } from "node:fs";
import * as glue from "../dist/edgecache.js";
import { bind } from "./core.js";

const wasm = glue.initSync({ module: readFileSync(new URL("../dist/edgecache_bg.wasm", import.meta.url)) });

export const { CacheError, CacheService, ResponseCache, createCacheService, withCache, cache, selftest, LocalCache } = bind(glue, wasm);
