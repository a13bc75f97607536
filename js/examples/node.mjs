// edgecache in Node: named backends from a CACHES-style config (one of
// them a custom backend written in JS), values of every kind, errors with
// codes, withCache in front of a fetch-style handler, and LocalCache for
// synchronous hot paths.
// e2e/js_node.test.mjs runs this file and checks what it prints.
import { createCacheService, withCache, CacheError, LocalCache } from "edgecache";
import { MapBackend } from "./map-backend.js";

const cache = createCacheService(
  {
    default: { backend: "local", key_prefix: "site", ttl: 300 },
    sessions: { backend: "local", ttl: null }, // never expire
    custom: { backend: "mymap", key_prefix: "app" },
  },
  { backends: { mymap: (config) => new MapBackend(config) } },
);

await cache.set("user:7", { name: "Ada", langs: ["en", "fr"] }, { ttl: 60 });
console.log("user:7 =", JSON.stringify(await cache.get("user:7"))); // {"langs":["en","fr"],"name":"Ada"} (keys come back sorted)
console.log("missing =", await cache.get("missing")); // undefined
console.log("stored as", cache.makeKey("user:7")); // site:1:user:7

await cache.set("blob", new Uint8Array([0, 1, 255]));
console.log("blob =", await cache.get("blob")); // Uint8Array(3) [ 0, 1, 255 ]

await cache.set("big", 2n ** 60n);
console.log("big + 1 =", await cache.incr("big")); // 1152921504606846977n (a bigint past 2^53)

await cache.set("visits", 0, { backend: "custom" });
await cache.incr("visits", 5, { backend: "custom" });
console.log("visits =", await cache.get("visits", { backend: "custom" })); // 5

await cache.set("token", "abc", { backend: "sessions", version: 2 });
console.log("token v1, v2 =", await cache.get("token", { backend: "sessions" }), await cache.get("token", { backend: "sessions", version: 2 })); // undefined abc

try {
  await cache.incr("nope");
} catch (e) {
  if (!(e instanceof CacheError)) throw e;
  console.log("incr nope:", e.code); // not_found
}

let calls = 0;
const handler = withCache(
  async (request) => {
    calls++;
    return new Response(`hello ${new URL(request.url).pathname}`, { headers: { "content-type": "text/plain" } });
  },
  { ttl: 60, service: cache },
);
for (let i = 0; i < 2; i++) {
  const r = await handler(new Request("https://example.test/page"));
  console.log(r.status, r.headers.get("cache-status"), await r.text()); // 200 edgecache; fwd=miss; detail=streamed hello /page, then 200 edgecache; hit; ttl=59 hello /page
}
console.log("handler calls:", calls); // 1

// LocalCache: synchronous, values by reference (no serialisation).
const hot = new LocalCache({ maxEntries: 10_000, ttl: 60 });
const config = { theme: "dark" };
hot.set("config", config);
console.log("same object:", hot.get("config") === config, "size:", hot.size); // same object: true size: 1
