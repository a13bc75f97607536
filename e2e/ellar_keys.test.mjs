// Keys made by edgecache (inside the Worker, in workerd) equal the keys the
// real Ellar package makes for the same prefix, version and key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ellarPython } from "./helpers.mjs";

const CASES = [
  { prefix: "", version: 1, key: "plain" },
  { prefix: "site", version: 1, key: "user:42" },
  { prefix: "site", version: 7, key: "with space and / slash" },
  { prefix: "préfixe", version: 3, key: "ключ-键-🔑" },
  { prefix: "p", version: 1, key: "v0-means-default", callVersion: 0 },
  { prefix: "p", version: 2, key: "explicit", callVersion: 9 },
  { prefix: "neg", version: -4, key: "x" },
];

const ELLAR = `
import json, sys
from ellar.cache.backends.local_cache import LocalMemCacheBackend
out = []
for c in json.load(sys.stdin):
    b = LocalMemCacheBackend(key_prefix=c["prefix"], version=c["version"])
    out.append(b.make_key(c["key"], c.get("callVersion")))
print(json.dumps(out))
`;

test("edgecache keys equal Ellar's", async () => {
  const expected = JSON.parse(await ellarPython(ELLAR, JSON.stringify(CASES)));
  assert.equal(expected.length, CASES.length);
  for (const [i, c] of CASES.entries()) {
    const caches = JSON.stringify({ default: { backend: "local", key_prefix: c.prefix, version: c.version } });
    const w = await startWorker({ CACHES: caches });
    try {
      const q = c.callVersion === undefined ? "" : `?version=${c.callVersion}`;
      const r = await w.admin(`key/default/${encodeURIComponent(c.key)}${q}`);
      const { key } = await r.json();
      assert.equal(key, expected[i], `case ${JSON.stringify(c)}`);
    } finally {
      await w.dispose();
    }
  }
});
