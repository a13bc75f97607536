#!/usr/bin/env bash
# Prints a wasm file's size, raw and `gzip -9` (the measure of issue 18), and
# fails with a clear message when a limit is given and the gzip size is over
# it.
#   bash scripts/wasm-size.sh LABEL FILE [GZIP_LIMIT_BYTES]
set -euo pipefail
label=$1 file=$2 limit=${3:-}
raw=$(stat -c %s "$file")
gz=$(gzip -9c "$file" | wc -c)
if [ -z "$limit" ]; then
  echo "$label: $raw bytes raw, $gz bytes gzip"
  exit 0
fi
echo "$label: $raw bytes raw, $gz bytes gzip (limit $limit)"
if [ "$gz" -gt "$limit" ]; then
  echo "FAIL: $label is $gz bytes gzip, $((gz - limit)) over the limit of $limit (issue 18);" \
    "bench/size.sh lists where the bytes are (bench/README.md, \"Wasm size\")" >&2
  exit 1
fi
