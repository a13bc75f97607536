#!/usr/bin/env bash
# Builds the release Worker (build/index.js + build/index_bg.wasm) with
# worker-build, using only locally installed tools. wrangler runs this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
worker-build --release . --features app
