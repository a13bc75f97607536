#!/usr/bin/env bash
# Runs the Worker locally in workerd on http://127.0.0.1:8787/ with the
# local-memory default backend and the built-in demo origin. No account, no
# network. The admin API's token is "dev".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
# The dev build carries the admin API's self-test (the dashboard has a button).
export EDGECACHE_FEATURES="app,selftest,pickle,memcached"
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --var ADMIN_TOKEN:dev "$@"
