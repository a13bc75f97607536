#!/usr/bin/env bash
# Builds edgecache's store and quick_cache into one wasm module and times them
# inside V8 (Node). Usage: bash bench/wasm-speed.sh [ops] [runs]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --target wasm32-unknown-unknown \
  --manifest-path bench/wasm/Cargo.toml --target-dir target/bench-wasm
node bench/wasm/speed.mjs target/bench-wasm/wasm32-unknown-unknown/release/edgecache_bench_wasm.wasm "$@"
