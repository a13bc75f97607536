#!/usr/bin/env bash
# Where the deployed Worker's wasm bytes are (issue 18's size limit): builds
# the deploy build (EDGECACHE_FEATURES, default "app") with its function
# names kept, then prints twiggy's largest items, its monomorphization
# report, and the sums by crate and by edgecache module
# (bench/size/breakdown.mjs). The sizes it prints for the deployed file are
# those of the stripped wasm (what scripts/build-worker.sh ships).
#
#   bash bench/size.sh            # [rows=40]
#
# Installs twiggy into .tools/ when missing (cargo install, a few minutes
# once). Leaves build/ holding the named build: run scripts/build-worker.sh
# again before deploying or testing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$ROOT"
TWIGGY_VERSION=0.8.0
rows=${1:-40}
twiggy="$ROOT/.tools/bin/twiggy"
if ! "$twiggy" --version 2>/dev/null | grep -q " $TWIGGY_VERSION"; then
  echo "== installing twiggy $TWIGGY_VERSION into .tools/"
  cargo install --locked --root "$ROOT/.tools" "twiggy@$TWIGGY_VERSION"
fi

features=${EDGECACHE_FEATURES:-app}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== building (features: $features, names kept)"
if ! EDGECACHE_FEATURES=$features EDGECACHE_WASM_NAMES=1 bash scripts/build-worker.sh >"$out/build.log" 2>&1; then
  cat "$out/build.log" >&2
  exit 1
fi
cp build/index_bg.wasm "$out/named.wasm"
cp build/index_bg.wasm "$out/shipped.wasm"
node scripts/wasm-sections.mjs "$out/shipped.wasm" >/dev/null

echo "== features: $features"
bash scripts/wasm-size.sh "wasm as shipped (no names)" "$out/shipped.wasm"
echo
echo "== largest items (twiggy top; the \"function names\" row is not shipped)"
"$twiggy" top -n "$rows" "$out/named.wasm"
echo
echo "== generic functions instantiated more than once (twiggy monos)"
"$twiggy" monos -m 20 -n 25 "$out/named.wasm" | grep -v '^ *┊'
echo
echo "== by crate and by edgecache module"
"$twiggy" top -n 1000000 --format json "$out/named.wasm" >"$out/top.json"
node bench/size/breakdown.mjs "$out/top.json" 25
