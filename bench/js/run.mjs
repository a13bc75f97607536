// LocalCache (the npm package's synchronous hot-path cache) against
// lru-cache@11 and a plain Map, in one V8 run: "get; on a miss, set" with
// 40-byte string keys under Zipf and on the real traces of ../shared/traces
// (when that folder is there), ns per operation and hit ratio.
//
//   bash scripts/build-js.sh && node bench/js/run.mjs [ops=2000000] [runs=5]
//
// Keys are drawn by seeded Zipf over a universe of 1,000,000 keys, with the
// rank relabelled through a seeded permutation (so key text does not follow
// popularity); the bounded caches get the same capacity in entries. Each
// figure is the median of `runs` timed passes (interleaved: one pass of
// each cache per round) after a warm-up pass; the worst of the runs is
// printed too. The Map is unbounded (no eviction): a
// floor on cost and a ceiling on hit ratio, not a cache.
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { LRUCache } from "lru-cache";
import { LocalCache } from "../../js/src/node.js";

const OPS = Number(process.argv[2] ?? 2_000_000);
const RUNS = Number(process.argv[3] ?? 5);
const UNIVERSE = 1_000_000;

function rng(seed) {
  let s = BigInt(seed) | 1n;
  return () => {
    s ^= s << 13n; s &= (1n << 64n) - 1n;
    s ^= s >> 7n;
    s ^= s << 17n; s &= (1n << 64n) - 1n;
    return Number(s >> 11n) / 2 ** 53;
  };
}

/** Zipf ranks by inverse CDF over a precomputed table. */
function zipfTrace(n, universe, s, seed) {
  const cdf = new Float64Array(universe);
  let sum = 0;
  for (let i = 0; i < universe; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  const r = rng(seed);
  const perm = new Uint32Array(universe).map((_, i) => i);
  for (let i = universe - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const x = r() * sum;
    let lo = 0, hi = universe - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1; else hi = mid;
    }
    out[k] = perm[lo];
  }
  return out;
}

// 40-byte keys: "user:profile:v2:" + 24 digits.
const KEYS = Array.from({ length: UNIVERSE }, (_, i) => "user:profile:v2:" + String(i * 7919).padStart(24, "0"));
const VALUE = { name: "Ada", plan: "pro", n: 42 };

// Each peer is a constructor; each gets a timing loop of its own (compiled
// from the same source), so every loop calls one cache class directly and V8
// optimises it for that class alone, as in an application that uses one
// cache. (One shared loop would be polymorphic: it measured lru-cache up to
// 30 % slower and moved the ratios with the order and number of peers.)
const peers = {
  "edgecache LocalCache": (capacity) => new LocalCache({ maxEntries: capacity, maxBytes: 1 << 30, ttl: null }),
  "lru-cache@11": (capacity) => new LRUCache({ max: capacity }),
  "Map (unbounded)": () => new Map(),
};

const LOOP = `
  const c = make(capacity);
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < trace.length; i++) {
    const k = KEYS[trace[i]];
    if (c.get(k) !== undefined) hits++;
    else c.set(k, VALUE);
  }
  const ns = Number(process.hrtime.bigint() - t0) / trace.length;
  return { ns, hit: hits / trace.length };
`;
const passes = Object.fromEntries(
  Object.keys(peers).map((name) => [name, new Function("make", "capacity", "trace", "KEYS", "VALUE", "process", LOOP)]),
);
const pass = (name, capacity, trace, keys) => passes[name](peers[name], capacity, trace, keys, VALUE, process);

const rows = [];
// [name, zipf s, seed, universe, capacity]: a cache-resident working set
// and one far larger than the CPU caches.
const WORKLOADS = [
  ["zipf 0.99, 100k keys, 10k entries", 0.99, 42, 100_000, 10_000],
  ["zipf 0.99, 1M keys, 100k entries", 0.99, 43, 1_000_000, 100_000],
  ["zipf 0.8, 1M keys, 100k entries", 0.8, 7, 1_000_000, 100_000],
];
/**
 * A real trace from ../shared/traces (gzip of little-endian u64 keys; see
 * its README), at most `OPS` requests, as indexes into 40-byte key strings
 * made from the u64s; null when the folder is absent.
 */
function realTrace(file) {
  const at = new URL(`../../../shared/traces/${file}`, import.meta.url);
  if (!existsSync(at)) return null;
  const raw = new Uint8Array(gunzipSync(readFileSync(at))); // (a copy: 8-byte aligned)
  const words = new BigUint64Array(raw.buffer, 0, Math.min(OPS, raw.length >> 3));
  const index = new Map();
  const keys = [];
  const trace = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    let k = index.get(words[i]);
    if (k === undefined) {
      k = keys.length;
      index.set(words[i], k);
      keys.push("user:profile:v2:" + String(words[i]).padStart(24, "0"));
    }
    trace[i] = k;
  }
  return { trace, keys };
}

// Real traces, replayed the same way at the capacities of their README's
// reference hit ratios; workloads nothing here was tuned on.
const REAL = [
  ["web07 (web shop pages), 1000 entries", "web07.u64.gz", 1000],
  ["OLTP (database buffer), 1000 entries", "OLTP.u64.gz", 1000],
  ["orm-busy (ORM lookups, recency-heavy), 1000 entries", "orm-busy.u64.gz", 1000],
  ["loop, 512 entries", "loop.u64.gz", 512],
];

const loads = [
  ...WORKLOADS.map(([workload, s, seed, universe, capacity]) => () => ({ workload, capacity, trace: zipfTrace(OPS, universe, s, seed), keys: KEYS })),
  ...REAL.map(([workload, file, capacity]) => () => {
    const t = realTrace(file);
    return t && { workload, capacity, ...t };
  }),
];
for (const load of loads) {
  const w = load();
  if (!w) continue;
  const { workload, capacity, trace, keys } = w;
  const runs = Object.fromEntries(Object.keys(peers).map((name) => [name, []]));
  for (const name of Object.keys(peers)) pass(name, capacity, trace.subarray(0, Math.min(trace.length, 200_000)), keys); // warm-up
  // Rounds interleave the caches (one pass of each per round), so a drift
  // in the machine's speed during the run reaches every cache alike.
  for (let r = 0; r < RUNS; r++) for (const name of Object.keys(peers)) runs[name].push(pass(name, capacity, trace, keys));
  for (const [name, got] of Object.entries(runs)) {
    const ns = got.map((x) => x.ns).sort((a, b) => a - b);
    rows.push({ workload, name, median: ns[Math.floor(ns.length / 2)], worst: ns[ns.length - 1], hit: got[0].hit });
  }
}

console.log(`\n${OPS} ops per run, ${RUNS} runs, 40-byte keys; Node ${process.version}\n`);
console.log("| workload | cache | ns/op (median) | ns/op (worst run) | vs lru-cache (median) | hit ratio |");
console.log("|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  const lru = rows.find((x) => x.workload === r.workload && x.name === "lru-cache@11");
  console.log(`| ${r.workload} | ${r.name} | ${r.median.toFixed(0)} | ${r.worst.toFixed(0)} | ${(r.median / lru.median).toFixed(2)}x | ${(100 * r.hit).toFixed(2)} % |`);
}
