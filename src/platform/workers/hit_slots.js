// Ready answers for the deployed Worker's entry (scripts/worker-entry.mjs
// puts this function into worker-build's bundle and calls it with the
// wasm exports). The engine offers a fresh entry of the local store once
// (src/response_cache/hit_slots.rs); later plain GETs of the same URL are
// answered here with one `new Response`, after one numbers-only call that
// asks the engine whether the slot still holds and counts the hit.
//
// A request is plain when it carries nothing the engine would read besides
// the URL: no credentials (they may bypass the cache), no conditions or
// range (answered as 304/412/206), no request directives. Anything else
// goes to the engine. (`Connection` may name headers the engine then
// drops: that only makes the engine more willing to answer, never less,
// so it needs no check here.)
(wasm) => {
  const MAX_SLOTS = 1024;
  const MAX_BYTES = 8 << 20;
  // Lower-case, as a Headers iterator yields names.
  const NOT_PLAIN = new Set([
    "authorization",
    "cookie",
    "cache-control",
    "pragma",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "range",
  ]);
  const slots = new Map();
  let bytes = 0;

  function forget(url, slot, tell) {
    slots.delete(url);
    bytes -= slot.body === null ? 0 : slot.body.byteLength;
    if (tell) wasm.drop(slot.id);
  }

  return {
    /** The ready answer to `request`, or undefined (the engine answers). */
    answer(request) {
      if (slots.size === 0 || request.method !== "GET") return undefined;
      const url = request.url;
      const slot = slots.get(url);
      if (slot === undefined) return undefined;
      // One pass over the names: cheaper than a `has` per name (a call into
      // workerd each).
      for (const name of request.headers.keys()) if (NOT_PLAIN.has(name)) return undefined;
      const now = Date.now();
      if (now >= slot.until) {
        forget(url, slot, true);
        return undefined;
      }
      if (!wasm.hit(slot.id, slot.nonce, now)) {
        forget(url, slot, false);
        return undefined;
      }
      // `age` and the `ttl` of `cache-status` change once a second: the
      // headers are built then, and copied by each Response meanwhile.
      const age = Math.floor((now - slot.storedAt) / 1000);
      const ttl = slot.freshUntil < 0 ? -1 : Math.floor((slot.freshUntil - now) / 1000);
      let ready = slot.ready;
      if (ready === undefined || ready.age !== age || ready.ttl !== ttl) {
        const headers = new Headers(slot.headers);
        headers.set("age", String(age));
        headers.set("cache-status", ttl < 0 ? "edgecache; hit" : `edgecache; hit; ttl=${ttl}`);
        ready = slot.ready = { age, ttl, headers };
      }
      return new Response(slot.body, { status: slot.status, headers: ready.headers });
    },
    /** Keeps what the engine offered during the last call, if anything. */
    take() {
      const offer = wasm.offer();
      if (offer === undefined) return;
      const old = slots.get(offer.url);
      if (old !== undefined) forget(offer.url, old, true);
      const size = offer.body === null ? 0 : offer.body.byteLength;
      // Oldest first (a Map iterates in insertion order).
      for (const [url, slot] of slots) {
        if (slots.size < MAX_SLOTS && bytes + size <= MAX_BYTES) break;
        forget(url, slot, true);
      }
      slots.set(offer.url, offer);
      bytes += size;
    },
    /** Drops every slot (the wasm instance was replaced). */
    clear() {
      slots.clear();
      bytes = 0;
    },
  };
}
