// Calls the types must refuse: e2e/js_package.test.mjs runs tsc on this
// file and expects exactly the errors marked `// TSnnnn` (line and code),
// and no others. Every call here would fail or misbehave at run time.
import { CacheError, LocalCache, createCacheService, selftest, withCache, type CustomBackend } from "edgecache";
import { cache } from "edgecache/hono";

const c = createCacheService();
await c.get(42); // TS2345 a number as key
await c.set("k", "v", { ttl: 60, tll: 5 }); // TS2353 an unknown option
await c.set("k", undefined); // TS2345 undefined is not cacheable (null is)
await c.set("k", () => 1); // TS2345 functions have no JSON form
await c.get("k", { ttl: 5 }); // TS2353 a read has no ttl
await c.incr("n", "1"); // TS2345 delta is a number or bigint
await c.getMany("a"); // TS2345 keys are an array
await c.clear({ version: 2 }); // TS2353 clear empties every version
const n: number = await c.incr("n"); // TS2322 past 2^53 it is a bigint
createCacheService({ shared: { backend: "local" } }); // TS2345 "default" is required
createCacheService({ default: { backend: "local", ttl: "5m" } }); // TS2322 ttl is seconds or null
createCacheService({ default: { backend: "redis" } }, { secrets: { TOKEN: 1 } }); // TS2322 secrets are strings
withCache(async () => new Response("x"), { ttl: 60, staleWhileRevalidte: 30 }); // TS2561 a typo
withCache(async () => "not a response"); // TS2322 the handler returns a Response
cache({ staleWhileRevalidate: 30 }); // TS2345 SWR needs the app (to run the route again)
await selftest("default", { default: { backend: "local" } }, { unsignedcounters: true }); // TS2561 misspelt option
new CacheError("boom", "timeout"); // TS2345 not a code of CacheError
const half: CustomBackend = { get: () => undefined, set: () => {} }; // TS2739 a custom backend needs every method
new LocalCache({ maxEntrys: 10 }); // TS2561 misspelt option
new LocalCache<string>().set("k", 5); // TS2345 the cache's value type
new LocalCache().set("k", undefined); // TS2345 undefined is not cacheable (null is)
const needsEnv = withCache(async (_request: Request, env: { ORIGIN: string }) => fetch(env.ORIGIN));
await needsEnv(new Request("https://example.test/")); // TS2554 this handler reads env
void n;
void half;
