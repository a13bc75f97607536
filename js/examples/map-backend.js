// @ts-check
// A custom backend written in JS: entries in a Map (in real use, a client
// of some store). It implements the whole custom-backend interface and
// passes the conformance suite (e2e/js_node.test.mjs runs it through
// `selftest`); js/examples/worker.ts and node.mjs register it by kind name:
//
//   createCacheService({ default: { backend: "mymap" } },
//                      { backends: { mymap: (config) => new MapBackend(config) } })
//
// Keys arrive whole ("prefix:version:key"); several backends may share one
// Map (pass it as `store`), so clear() removes only the keys of this one's
// prefix (of every version), not those of a longer prefix ("prefix:other").
import { CacheError } from "edgecache";
/** @import { CacheValue, CustomBackend, CustomBackendConfig } from "edgecache" */

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

/** @typedef {{ value: CacheValue, expires: number }} Entry */

/** Seconds from now (null = never) as a deadline in ms. */
function deadline(/** @type {number | null} */ ttl) {
  return ttl === null ? Infinity : Date.now() + ttl * 1000;
}

/** @implements {CustomBackend} */
export class MapBackend {
  /**
   * @param {CustomBackendConfig} config
   * @param {Map<string, Entry>} [store]
   */
  constructor(config, store = new Map()) {
    this.store = store;
    this.prefix = config.keyPrefix + ":";
  }

  /** The live entry of `key`, dropping it if expired. */
  #live(/** @type {string} */ key) {
    const e = this.store.get(key);
    if (e && e.expires <= Date.now()) {
      this.store.delete(key);
      return undefined;
    }
    return e;
  }

  /** @param {string} key */
  async get(key) {
    return this.#live(key)?.value;
  }

  /** @param {string} key @param {CacheValue} value @param {number | null} ttl */
  async set(key, value, ttl) {
    this.store.set(key, { value, expires: deadline(ttl) });
  }

  /** @param {string} key @param {CacheValue} value @param {number | null} ttl */
  async add(key, value, ttl) {
    if (this.#live(key)) return false;
    this.store.set(key, { value, expires: deadline(ttl) });
    return true;
  }

  /** @param {string} key */
  async delete(key) {
    const had = this.#live(key) !== undefined;
    this.store.delete(key);
    return had;
  }

  /** @param {string} key @param {number | null} ttl */
  async touch(key, ttl) {
    const e = this.#live(key);
    if (!e) return false;
    e.expires = deadline(ttl);
    return true;
  }

  /** @param {string} key @param {number | bigint} delta */
  async incr(key, delta) {
    const e = this.#live(key);
    if (!e) throw new CacheError(`key ${key} not found`, "not_found");
    const v = e.value;
    let n;
    if (typeof v === "bigint") n = v;
    else if (typeof v === "number" && Number.isInteger(v)) n = BigInt(v);
    else throw new CacheError(`the value of ${key} is not an integer`, "not_an_integer");
    const sum = n + BigInt(delta);
    if (sum > I64_MAX || sum < I64_MIN) throw new CacheError(`incr of ${key} overflows 64 bits`, "overflow");
    // Numbers while exact, bigints past 2^53 (as the package hands them out).
    e.value = Number.isSafeInteger(Number(sum)) ? Number(sum) : sum;
    return e.value;
  }

  async clear() {
    for (const key of this.store.keys()) {
      if (key.startsWith(this.prefix) && /^-?\d+:/.test(key.slice(this.prefix.length))) this.store.delete(key);
    }
  }
}
