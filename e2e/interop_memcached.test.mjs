// Values shared with Python through real memcached servers (issues 16, 17):
// Ellar 0.9.5's PyMemcacheCacheBackend (pymemcache HashClient: rendezvous
// placement, pickle_serde flags) and PyLibMCCacheBackend (pylibmc: modula
// placement, pylibmc flags) write and read the same three servers as the
// Worker's memcached backends configured with `serializer`/`distribution`
// to match. Each value is written by one side and read by the other, both
// ways, so placement and value format are checked together. The interop
// table is printed at the end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ellarPython, adminGet, adminPut, sameJson, printInteropTable } from "./helpers.mjs";
import { startMemcached } from "./servers.mjs";

const PREFIX = "interop";
const VERSION = 3;
let mcs, servers, w;
const rows = [];

before(async () => {
  mcs = [await startMemcached(), await startMemcached(), await startMemcached()];
  servers = mcs.map((m) => m.address);
  const backend = (serializer, distribution) => ({
    backend: "memcached",
    key_prefix: PREFIX,
    version: VERSION,
    ttl: null,
    options: { servers, serializer, distribution },
  });
  const caches = {
    default: { backend: "local" },
    pymemcache: backend("pymemcache", "rendezvous"),
    pylibmc: backend("pylibmc", "modula"),
  };
  w = await startWorker({ CACHES: JSON.stringify(caches) });
});

after(async () => {
  await w?.dispose();
  for (const m of mcs ?? []) await m.stop();
  printInteropTable("e2e/interop_memcached.test.mjs", rows);
});

const edgeGet = (backend, key) => adminGet(w, backend, key);
const edgePut = (backend, key, value) => adminPut(w, backend, key, value);

// `py`: the value Python writes; `edge`: what edgecache must read; `back`:
// what Python must read after edgecache writes `edge` (default `py`);
// `pylibmc`: overrides for pylibmc, which stores bools as the ints 1/0.
const CASES = [
  { name: "int", py: "42", edge: { json: "42" } },
  { name: "int (negative)", py: "-7", edge: { json: "-7" } },
  { name: "int (2**70)", py: "2**70", edge: { json: "1180591620717411303424" } },
  { name: "str (ASCII)", py: "'hello'", edge: { json: '"hello"' } },
  { name: "str (unicode)", py: "'héllo ✓ 键 🔑'", edge: { json: '"héllo ✓ 键 🔑"' } },
  { name: "str (numeric text)", py: "'42'", edge: { json: '"42"' } },
  { name: "bytes", py: "b'\\x00\\x01\\xff edge'", edge: { bytes: "0001ff2065646765" } },
  { name: "float", py: "1.5", edge: { json: "1.5" } },
  { name: "None", py: "None", edge: { json: "null" } },
  {
    name: "bool",
    py: "True",
    edge: { json: "true" },
    pylibmc: { edge: { json: "1" }, note: "read as 1: pylibmc stores True as the int 1 and reads it back as 1 itself" },
  },
  { name: "list", py: "[1, 'a', None, 2.5]", edge: { json: '[1,"a",null,2.5]' } },
  { name: "tuple", py: "(1, 'a')", edge: { json: '[1,"a"]' }, back: "[1, 'a']" },
  { name: "dict", py: "{'a': 1, 'b': 'x'}", edge: { json: '{"a":1,"b":"x"}' } },
  {
    name: "nested",
    py: "{'users': [{'id': 1, 'tags': ['a', 'b'], 'score': 9.5, 'active': True}], 'meta': {'n': None, 'empty': []}}",
    edge: { json: '{"users":[{"id":1,"tags":["a","b"],"score":9.5,"active":true}],"meta":{"n":null,"empty":[]}}' },
  },
];

const PY = `
import asyncio, json, sys
from ellar.cache.backends.pymem_cache import PyMemcacheCacheBackend
from ellar.cache.backends.pylib_cache import PyLibMCCacheBackend
req = json.load(sys.stdin)
cls = {"pymemcache": PyMemcacheCacheBackend, "pylibmc": PyLibMCCacheBackend}[req["client"]]
b = cls(servers=req["servers"], key_prefix=req["prefix"], version=req["version"], ttl=3600)

async def main():
    out = {}
    for c in req["cases"]:
        if req["op"] == "write":
            await b.set_async("from-py:" + c["key"], eval(c["py"], {}))
            out[c["name"]] = {"ok": True}
        else:
            want = eval(c.get("back") or c["py"], {})
            got = await b.get_async("from-edge:" + c["key"])
            out[c["name"]] = {"equal": got == want and type(got) is type(want), "got": repr(got), "type": type(got).__name__}
    print(json.dumps(out))

asyncio.run(main())
`;

// memcached keys hold no whitespace: "int (negative)" -> "int_negative".
const key = (name) => name.replace(/\W+/g, "_").replace(/_$/, "");
for (const c of CASES) c.key = key(c.name);

async function python(client, op) {
  return JSON.parse(await ellarPython(PY, JSON.stringify({ client, servers, prefix: PREFIX, version: VERSION, op, cases: CASES })));
}

for (const [client, label] of [
  ["pymemcache", "Ellar 0.9.5 PyMemcacheCacheBackend (pymemcache 4.0.0)"],
  ["pylibmc", "Ellar 0.9.5 PyLibMCCacheBackend (pylibmc 1.6.3)"],
]) {
  test(`${label} and edgecache (serializer ${client}) read each other's values on three servers`, { timeout: 120_000 }, async () => {
    await python(client, "write");
    const notes = {};
    for (const c of CASES) {
      const want = (client === "pylibmc" && c.pylibmc?.edge) || c.edge;
      const got = await edgeGet(client, "from-py:" + c.key);
      const ok = want.json !== undefined ? got.json !== undefined && sameJson(got.json, want.json) : got.bytes === want.bytes;
      assert.ok(ok, `${client} ${c.name}: edgecache read ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      notes[c.name] = (client === "pylibmc" && c.pylibmc?.note) || (c.back ? "as a list" : "");
    }
    for (const c of CASES) await edgePut(client, "from-edge:" + c.key, c.edge);
    const read = await python(client, "read");
    for (const c of CASES) {
      const r = read[c.name];
      assert.ok(r.equal, `${client} ${c.name}: Python read ${r.got} (${r.type}), want ${c.back || c.py}`);
      rows.push({
        client: label,
        value: c.name,
        toEdge: "✓" + (notes[c.name] ? ` (${notes[c.name]})` : ""),
        fromEdge: "✓" + (c.back ? " (a list)" : ""),
      });
    }
  });
}
