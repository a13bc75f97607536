#!/usr/bin/env bash
# Builds the release Worker (build/index.js + build/index_bg.wasm) with
# worker-build, using only locally installed tools. wrangler runs this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
# EDGECACHE_FEATURES: "app" for a deploy; the dev and test commands add
# "selftest" (the admin API's conformance suite).
# Built unminified so scripts/worker-entry.mjs can replace the default export
# (a Proxy around a class, constructed per request) with a plain object; it
# minifies the result.
NO_MINIFY=1 worker-build --release . --features "${EDGECACHE_FEATURES:-app}"
node scripts/worker-entry.mjs build/index.js
# worker-build keeps the wasm's function-name section (it passes --debuginfo
# to wasm-opt): 46 KB gzip that only names functions in panics' stack
# traces. Dropped unless EDGECACHE_WASM_NAMES=1 (bench/size.sh keeps it).
if [ "${EDGECACHE_WASM_NAMES:-}" != 1 ]; then
  node scripts/wasm-sections.mjs build/index_bg.wasm
fi
