#!/usr/bin/env bash
# Builds the npm package's wasm into js/dist: the crate for wasm32 with the
# `js` platform (and `testkit`, for the package's `selftest`), then
# wasm-bindgen (ES module glue, --target web: every entry initialises it
# its own way) and wasm-opt -O3. Built for speed, not size: the package
# has no size budget, and with the store at opt-level 3 it costs about
# 4 KB gzip over -Oz and opt-level "s". Only locally installed tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
# The store (LocalCache's policy runs on every write) is built for speed,
# not size, here: the Worker's size budget does not apply to the package.
cargo build --release --lib --target wasm32-unknown-unknown -p edgecache --features "${EDGECACHE_JS_FEATURES:-js,testkit,memcached}" \
  --config 'profile.release.package.edgecache-store.opt-level=3'
rm -rf js/dist
"$WASM_BINDGEN_BIN" --target web --out-dir js/dist --out-name edgecache \
  target/wasm32-unknown-unknown/release/edgecache.wasm
"$WASM_OPT_BIN" -O3 --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  js/dist/edgecache_bg.wasm -o js/dist/edgecache_bg.wasm
echo "js package wasm: $(stat -c %s js/dist/edgecache_bg.wasm) bytes raw, $(gzip -9c js/dist/edgecache_bg.wasm | wc -c) bytes gzip"
