# Sourced by the other scripts: paths to the locally installed tools.
# worker-build would otherwise download wasm-bindgen, esbuild and wasm-opt,
# which fails offline.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
# Pinned tool versions; wasm-bindgen-cli must equal wasm-bindgen in Cargo.lock.
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_API_TOKEN="${CLOUDFLARE_API_TOKEN:-}"
