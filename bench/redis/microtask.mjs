// What scheduling a microtask costs inside workerd: 100,000 steps chained
// through `queueMicrotask`, through a resolved promise's `then`, or plain
// calls, timed from Node around one request (js/src/workerd.js makes
// wasm-bindgen's future queue use `then` because of this).
//
//   node bench/redis/microtask.mjs
import { Miniflare } from "miniflare";

const worker = `
export default { async fetch(req) {
  const v = new URL(req.url).searchParams.get("v"); const n = 100000;
  const p = Promise.resolve();
  await new Promise((done) => {
    let left = n;
    const tick = () => { if (--left === 0) done(); else step(); };
    const step = v === "queueMicrotask" ? () => queueMicrotask(tick) : v === "then" ? () => p.then(tick) : () => tick();
    step();
  });
  return new Response("ok");
}};`;
const mf = new Miniflare({ modules: true, script: worker, compatibilityDate: "2026-04-01" });
await mf.ready;
try {
  for (let run = 0; run < 3; run++) {
    for (const v of ["plain call", "queueMicrotask", "then"]) {
      const t0 = performance.now();
      await (await mf.dispatchFetch("http://x/?v=" + encodeURIComponent(v))).text();
      if (run) console.log(`${v}: ${(((performance.now() - t0) * 1000) / 100000).toFixed(3)} µs per step`);
    }
  }
} finally {
  await mf.dispose();
}
