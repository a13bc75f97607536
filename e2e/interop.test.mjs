// Values shared with other clients through a real redis-server (issue 17):
// - Ellar 0.9.5's RedisCacheBackend (redis-py, pickle) against a redis backend
//   configured with `serializer: "pickle"` and the same key_prefix/version;
// - @upstash/redis (default settings) through the Upstash REST gateway against
//   a redis backend with `serializer: "json"`.
// Each value is written by one side and read by the other, both ways; the
// Worker side goes through the admin API. The interop table is printed at the end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { startWorker, ellarPython, adminGet, adminPut, sameJson, printInteropTable } from "./helpers.mjs";
import { startRedis, startUpstashGateway } from "./servers.mjs";

const TOKEN = "interop-token";
const PREFIX = "interop";
const VERSION = 3;
let redis, gw, w;
const rows = []; // { client, value, toEdge, fromEdge }

before(async () => {
  redis = await startRedis();
  gw = await startUpstashGateway(redis.port, TOKEN);
  const caches = {
    default: { backend: "local" },
    pickled: {
      backend: "redis",
      key_prefix: PREFIX,
      version: VERSION,
      ttl: null,
      options: { url: gw.url, token_secret: "REDIS_TOKEN", serializer: "pickle" },
    },
    upstash: {
      backend: "redis",
      key_prefix: "up",
      version: 1,
      ttl: null,
      options: { url: gw.url, token_secret: "REDIS_TOKEN", serializer: "json" },
    },
  };
  w = await startWorker({ CACHES: JSON.stringify(caches), REDIS_TOKEN: TOKEN });
});

after(async () => {
  await w?.dispose();
  await gw?.stop();
  await redis?.stop();
  printInteropTable("e2e/interop.test.mjs", rows);
});

const edgeGet = (backend, key) => adminGet(w, backend, key);
const edgePut = (backend, key, value) => adminPut(w, backend, key, value);

// ---- Ellar (pickle) ----

// name -> Python literal written by Ellar, and what edgecache must read
// ({json} or {bytes: hex}); `back` is what Ellar must read after edgecache
// writes `edge` (when it differs from the Python value: tuples come back as lists).
const ELLAR_CASES = [
  { name: "int", py: "42", edge: { json: "42" } },
  { name: "int (negative)", py: "-7", edge: { json: "-7" } },
  { name: "int (2**70)", py: "2**70", edge: { json: "1180591620717411303424" } },
  { name: "str (ASCII)", py: "'hello'", edge: { json: '"hello"' } },
  { name: "str (unicode)", py: "'héllo ✓ 键 🔑'", edge: { json: '"héllo ✓ 键 🔑"' } },
  { name: "str (numeric text)", py: "'42'", edge: { json: '"42"' } },
  { name: "str (empty)", py: "''", edge: { json: '""' } },
  { name: "bytes", py: "b'\\x00\\x01\\xff edge'", edge: { bytes: "0001ff2065646765" } },
  { name: "float", py: "1.5", edge: { json: "1.5" } },
  { name: "float (1.0)", py: "1.0", edge: { json: "1.0" } },
  { name: "None", py: "None", edge: { json: "null" } },
  { name: "bool", py: "True", edge: { json: "true" } },
  { name: "list", py: "[1, 'a', None, 2.5]", edge: { json: '[1,"a",null,2.5]' } },
  { name: "tuple", py: "(1, 'a')", edge: { json: '[1,"a"]' }, back: "[1, 'a']" },
  { name: "dict", py: "{'a': 1, 'b': 'x'}", edge: { json: '{"a":1,"b":"x"}' } },
  {
    name: "nested",
    py: "{'users': [{'id': 1, 'tags': ['a', 'b'], 'score': 9.5, 'active': True}], 'meta': {'n': None, 'empty': []}}",
    edge: { json: '{"users":[{"id":1,"tags":["a","b"],"score":9.5,"active":true}],"meta":{"n":null,"empty":[]}}' },
  },
];

// Runs `ops` with Ellar's RedisCacheBackend; prints one JSON result per case.
const ELLAR = `
import asyncio, json, pickle, sys
from ellar.cache.backends.redis import RedisCacheBackend
req = json.load(sys.stdin)
b = RedisCacheBackend(servers=[f"redis://127.0.0.1:{req['port']}/0"], key_prefix=req["prefix"], version=req["version"], ttl=3600)

async def main():
    out = {}
    for c in req["cases"]:
        key = "e2e:" + c["name"]
        if req["op"] == "write":
            value = eval(c["py"], {})
            try:
                await b.set_async("from-ellar:" + c["name"], value)
                out[c["name"]] = {"ok": True}
            except Exception as e:
                # What Django's RedisSerializer writes instead (bools pickled).
                raw = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
                await b._get_client(write=True).set(b.make_key("from-ellar:" + c["name"]), raw)
                out[c["name"]] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        else:
            want = eval(c.get("back") or c["py"], {})
            got = await b.get_async("from-edge:" + c["name"])
            out[c["name"]] = {"equal": got == want and type(got) is type(want), "got": repr(got), "type": type(got).__name__}
    print(json.dumps(out))

asyncio.run(main())
`;

async function ellar(op) {
  const input = JSON.stringify({ port: redis.port, prefix: PREFIX, version: VERSION, op, cases: ELLAR_CASES });
  return JSON.parse(await ellarPython(ELLAR, input));
}

test("Ellar's RedisCacheBackend and edgecache (pickle) read each other's values", { timeout: 120_000 }, async () => {
  // Ellar writes, edgecache reads.
  const written = await ellar("write");
  const toEdge = {};
  for (const c of ELLAR_CASES) {
    const got = await edgeGet("pickled", "from-ellar:" + c.name);
    const ok = c.edge.json !== undefined ? got.json !== undefined && sameJson(got.json, c.edge.json) : got.bytes === c.edge.bytes;
    assert.ok(ok, `${c.name}: edgecache read ${JSON.stringify(got)}, want ${JSON.stringify(c.edge)}`);
    const w = written[c.name];
    toEdge[c.name] = w.ok
      ? "✓" + (c.back ? " (as a list)" : "")
      : `✓ as Django writes it; Ellar's own set raises ${w.error.split(":")[0]}`;
  }
  // Ellar 0.9.5 hands bools to redis-py unpickled (isinstance(True, int)), which refuses them.
  assert.equal(written.bool.ok, false);
  assert.match(written.bool.error, /DataError/);
  for (const [name, r] of Object.entries(written)) if (name !== "bool") assert.ok(r.ok, `${name}: ${r.error}`);

  // edgecache writes, Ellar reads.
  for (const c of ELLAR_CASES) await edgePut("pickled", "from-edge:" + c.name, c.edge);
  const read = await ellar("read");
  for (const c of ELLAR_CASES) {
    const r = read[c.name];
    assert.ok(r.equal, `${c.name}: Ellar read ${r.got} (${r.type}), want ${c.back || c.py}`);
    rows.push({
      client: "Ellar 0.9.5 RedisCacheBackend (pickle)",
      value: c.name,
      toEdge: toEdge[c.name],
      fromEdge: "✓" + (c.back ? " (a list)" : ""),
    });
  }
});

test("pickle: a class instance Python wrote is an error naming its type, not a value", async () => {
  const code = `
import asyncio, datetime, json, sys
from ellar.cache.backends.redis import RedisCacheBackend
req = json.load(sys.stdin)
class Point:
    def __init__(self): self.x = 1
b = RedisCacheBackend(servers=[f"redis://127.0.0.1:{req['port']}/0"], key_prefix=req["prefix"], version=req["version"])
async def main():
    await b.set_async("point", Point())
    await b.set_async("date", datetime.date(2026, 12, 1))
    await b.set_async("set", {1, 2})
asyncio.run(main())
`;
  await ellarPython(code, JSON.stringify({ port: redis.port, prefix: PREFIX, version: VERSION }));
  for (const [key, name] of [["point", "__main__.Point"], ["date", "datetime.date"], ["set", "a set"]]) {
    const r = await w.admin(`keys/pickled/${key}`);
    const body = await r.text();
    assert.ok(r.status >= 400, `${key}: HTTP ${r.status} ${body}`);
    assert.ok(body.includes(name), `${key}: ${body}`);
  }
  rows.push({ client: "Ellar 0.9.5 RedisCacheBackend (pickle)", value: "class instance, date, set", toEdge: "error naming the type (never built)", fromEdge: "—" });
});

test("conformance suite on redis with serializer pickle and json", { timeout: 120_000 }, async () => {
  for (const backend of ["pickled", "upstash"]) {
    const r = await w.admin(`selftest?backend=${backend}`, { method: "POST" });
    const body = await r.json();
    const failed = body.reports?.flatMap((x) => x.cases.filter((c) => !c.passed)) ?? body;
    assert.equal(body.failed, 0, `${backend}: ${JSON.stringify(failed)}`);
  }
});

// ---- @upstash/redis (json) ----

// `js` is what @upstash/redis writes and reads; `edge` what edgecache reads
// from it ({json}); `back` what @upstash/redis reads after edgecache writes `edge`.
const UPSTASH_CASES = [
  { name: "int", js: 42, edge: { json: "42" } },
  { name: "int (negative)", js: -7, edge: { json: "-7" } },
  { name: "str (ASCII)", js: "hello", edge: { json: '"hello"' } },
  { name: "str (unicode)", js: "héllo ✓ 键 🔑", edge: { json: '"héllo ✓ 键 🔑"' } },
  // @upstash/redis writes the string "42" as 42 and reads it back as the number itself.
  { name: "str (numeric text)", js: "42", edge: { json: "42" }, note: "read as the int 42, as @upstash/redis itself reads it back: it writes the string as 42" },
  { name: "float", js: 1.5, edge: { json: "1.5" } },
  { name: "null", js: null, edge: { json: "null" } },
  { name: "bool", js: true, edge: { json: "true" } },
  { name: "list", js: [1, "a", null, 2.5], edge: { json: '[1,"a",null,2.5]' } },
  { name: "dict", js: { a: 1, b: "x" }, edge: { json: '{"a":1,"b":"x"}' } },
  {
    name: "nested",
    js: { users: [{ id: 1, tags: ["a", "b"], score: 9.5, active: true }], meta: { n: null, empty: [] } },
    edge: { json: '{"users":[{"id":1,"tags":["a","b"],"score":9.5,"active":true}],"meta":{"n":null,"empty":[]}}' },
  },
];

test("@upstash/redis and edgecache (json) read each other's values", { timeout: 120_000 }, async () => {
  const client = new Redis({ url: gw.url, token: TOKEN });
  for (const c of UPSTASH_CASES) {
    // @upstash/redis writes, edgecache reads.
    await client.set(`up:1:from-upstash:${c.name}`, c.js);
    const got = await edgeGet("upstash", `from-upstash:${c.name}`);
    assert.ok(got.json !== undefined && sameJson(got.json, c.edge.json), `${c.name}: edgecache read ${JSON.stringify(got)}`);
    // edgecache writes, @upstash/redis reads.
    await edgePut("upstash", `from-edge:${c.name}`, { json: JSON.stringify(c.js) });
    const back = await client.get(`up:1:from-edge:${c.name}`);
    assert.deepEqual(back, c.js, `${c.name}: @upstash/redis read ${JSON.stringify(back)}`);
    rows.push({
      client: "@upstash/redis 1.39.0 (json)",
      value: c.name,
      toEdge: "✓" + (c.note ? ` (${c.note})` : ""),
      fromEdge: "✓",
    });
  }
  // Bytes: edgecache keeps them in its own frame (JSON has no bytes);
  // @upstash/redis has no bytes type to compare with.
  await edgePut("upstash", "bytes", { bytes: "00ff41" });
  assert.deepEqual(await edgeGet("upstash", "bytes"), { bytes: "00ff41" });
  rows.push({ client: "@upstash/redis 1.39.0 (json)", value: "bytes", toEdge: "— (no bytes type)", fromEdge: "— (edgecache round-trips them in its frame)" });
});
