#!/usr/bin/env bash
# Runs every test: formatting and lints (native and wasm32), the native unit
# tests, then the release Worker in real workerd (node's test runner).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
step() { printf '\n== test: %s\n' "$*"; }

step "module graph: no cycles, layers point down"
python3 scripts/check-layers.py

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, all targets, all features) -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo clippy (wasm32: the core with no features, and the Worker app) -D warnings"
cargo clippy -p edgecache --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p edgecache --target wasm32-unknown-unknown --features app -- -D warnings
cargo clippy -p edgecache --target wasm32-unknown-unknown --features selftest,pickle,memcached -- -D warnings
cargo clippy -p edgecache --target wasm32-unknown-unknown --features js --tests -- -D warnings
cargo clippy -p edgecache --target wasm32-unknown-unknown --features js,testkit -- -D warnings

step "cargo doc (all features) -D warnings: no broken links"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features -p edgecache -p edgecache-store

step "cargo test (native, all features; doctests include the README's examples)"
cargo test --workspace --all-features

step "the js platform's runtime in Node (wasm-bindgen-test-runner)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p edgecache --target wasm32-unknown-unknown --features js --test js_runtime

step "build the release Worker as deployed (features: app)"
EDGECACHE_FEATURES=app bash scripts/build-worker.sh
wasm=build/index_bg.wasm
# The deployed wasm must stay within 384 KB gzip (issue 18): over it, this fails.
bash scripts/wasm-size.sh "worker wasm (deploy)" "$wasm" 393216

step "build the release Worker for the tests (features: app, selftest, pickle, memcached)"
EDGECACHE_FEATURES=app,selftest,pickle,memcached bash scripts/build-worker.sh
bash scripts/wasm-size.sh "worker wasm (test)" "$wasm"

step "build the npm package (js/dist: features js, testkit, memcached)"
bash scripts/build-js.sh

step "end-to-end tests in workerd, Node and Chromium (node --test)"
node --test --test-concurrency=1 e2e/
