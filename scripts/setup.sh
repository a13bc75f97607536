#!/usr/bin/env bash
# Installs everything edgecache needs on a fresh machine, skipping what is
# already there: wasm target, worker-build, wasm-bindgen-cli, npm packages,
# the servers the tests run (Debian packages) and Ellar (for key checks).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
step() { printf '\n== setup: %s\n' "$*"; }
start=$(date +%s)

step "rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "present"
else
  rustup target add wasm32-unknown-unknown
fi

step "worker-build $WORKER_BUILD_VERSION"
if worker-build --version 2>/dev/null | grep -qw "$WORKER_BUILD_VERSION"; then
  echo "present"
else
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
locked=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3}' Cargo.lock)
if [ -n "$locked" ] && [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked but scripts/env.sh pins $WASM_BINDGEN_VERSION: make them equal" >&2
  exit 1
fi
if wasm-bindgen --version 2>/dev/null | grep -qw "$WASM_BINDGEN_VERSION"; then
  echo "present"
else
  # --locked fails for this version on the registry; a plain install works.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

step "npm packages (wrangler, miniflare, esbuild, binaryen, hono, playwright-core, typescript)"
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.edgecache-lock; then
  echo "present"
else
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.edgecache-lock
fi

step "servers for the tests (Debian packages)"
pkgs=(redis-server memcached webdis nutcracker nginx-light libnginx-mod-http-memc wrk chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "present"
else
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # The packages start system services; the tests start their own.
  for s in redis-server memcached webdis nutcracker nginx; do
    systemctl stop "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
  done
fi

step "Ellar, redis-py, pymemcache and pylibmc in .tools/venv (the references for keys, placement and value formats)"
if [ -x .tools/venv/bin/python ] && .tools/venv/bin/python -c 'import ellar.cache, redis, pymemcache, pylibmc' 2>/dev/null; then
  echo "present"
else
  [ -x .tools/venv/bin/python ] || python3 -m venv .tools/venv
  .tools/venv/bin/pip install -q ellar==0.9.5 redis==8.1.0 pymemcache==4.0.0 pylibmc==1.6.3
fi

echo
echo "== setup done in $(( $(date +%s) - start )) s"
