// The npm package in a real headless Chromium: a tiny static server serves
// js/ (the package folder, .wasm as application/wasm) and the page
// js/examples/browser.html imports src/browser.js from a plain
// <script type="module">, runs set/get/incr and the Rust conformance suite
// against a local backend; the test reads the result back from the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { jsPackage, launchChromium } from "./helpers.mjs";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

/** Serves the files under `root` (GET and HEAD), 404 for anything else. */
async function serveStatic(root) {
  const served = [];
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = path.join(root, path.normalize(p));
    let body;
    try {
      if (!file.startsWith(root + path.sep) || !statSync(file).isFile()) throw new Error("not a file");
      body = readFileSync(file);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("not found");
    }
    const type = TYPES[path.extname(file)] ?? "application/octet-stream";
    served.push({ path: p, type });
    res.writeHead(200, { "content-type": type, "content-length": body.length, "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    served,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

let site, context, browser;
before(async () => {
  site = await serveStatic(jsPackage());
  browser = await launchChromium();
  context = browser.context;

});
after(async () => {
  await browser?.close();
  await site?.close();
});

test("the browser example (js/examples/browser.html): set/get, bytes, incr, errors and the local conformance suite in Chromium", { timeout: 120_000 }, async () => {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  const r = await page.goto(site.url + "/examples/browser.html");
  assert.equal(r.status(), 200);
  await page.waitForFunction(() => window.edgecacheResult !== undefined, null, { timeout: 90_000 });
  const result = await page.evaluate(() => window.edgecacheResult);
  assert.equal(result.error, undefined, result.error);
  // Every case of the conformance suite (21 today; it only grows).
  const cases = result.report.cases.length;
  assert.ok(cases >= 21, `${cases} conformance cases`);
  assert.deepEqual(result.lines, [
    'greeting = {"hello":"wörld"}',
    "stored as page:1:greeting",
    "bytes = 1,2,3",
    "n + 1 = 42",
    "elsewhere: unknown_backend",
    `selftest: ${cases} passed, 0 failed`,
  ]);
  const failed = result.report.cases.filter((c) => !c.passed);
  assert.deepEqual(failed, []);
  assert.equal(result.report.cases.length, result.report.passed);
  assert.equal(await page.textContent("#out"), result.lines.join("\n"));

  // The module graph came from the package folder; the wasm as application/wasm
  // (so instantiateStreaming compiled it, without the glue's fallback warning).
  const types = Object.fromEntries(site.served.map((s) => [s.path, s.type]));
  assert.equal(types["/src/browser.js"], TYPES[".js"]);
  assert.equal(types["/src/core.js"], TYPES[".js"]);
  assert.equal(types["/dist/edgecache.js"], TYPES[".js"]);
  assert.equal(types["/dist/edgecache_bg.wasm"], "application/wasm");
  assert.deepEqual(problems, []);
});
