// The dashboard (www/, served by the Worker) in real headless Chromium:
// connect with the token, see the backends, write and read a key, purge,
// run the self-test. Saves a screenshot to $DASHBOARD_SCREENSHOT if set.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN, launchChromium } from "./helpers.mjs";

let w, context, browser;
before(async () => {
  w = await startWorker({
    CACHES: JSON.stringify({ default: { backend: "local", key_prefix: "site" }, sessions: { backend: "local", ttl: null } }),
  });
  browser = await launchChromium();
  context = browser.context;

});
after(async () => {
  await browser?.close();
  await w?.dispose();
});

test("dashboard: connect, stats, key round trip, purge, self-test", { timeout: 60_000 }, async () => {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const r = await page.goto(w.url("/_edgecache/"));
  assert.equal(r.status(), 200);
  assert.match(r.headers()["content-security-policy"], /default-src 'self'/);

  await page.fill("#token", "wrong");
  await page.click("#auth button");
  await page.waitForFunction(() => document.querySelector("#conn").className === "err");

  await page.fill("#token", ADMIN_TOKEN);
  await page.click("#auth button");
  await page.waitForFunction(() => document.querySelector("#conn").textContent === "connected");
  const names = await page.$$eval("#backends tbody tr", (rows) => rows.map((r) => r.dataset.backend));
  assert.deepEqual(names, ["default", "sessions"]);

  await page.selectOption("#backend", "default");
  await page.fill("#key", "greeting");
  await page.fill("#value", '{"hello": "wörld"}');
  await page.click('button[data-op="set"]');
  await page.waitForFunction(() => /→ 200/.test(document.querySelector("#keyout").textContent));
  assert.match(await page.textContent("#keyout"), /stored as site:1:greeting/);
  await page.click('button[data-op="get"]');
  await page.waitForFunction(() => /wörld/.test(document.querySelector("#keyout").textContent));

  await page.fill("#key", "counter");
  await page.fill("#value", "41");
  await page.click('button[data-op="set"]');
  await page.waitForFunction(() => /stored as site:1:counter/.test(document.querySelector("#keyout").textContent));
  await page.click('button[data-op="incr"]');
  await page.waitForFunction(() => /"value": 42/.test(document.querySelector("#keyout").textContent));

  // The periodic refresh shows what the API reports (the browser's own
  // /favicon.ico went through the cache too).
  const api = await (await w.admin("stats")).json();
  const entries = String(api.backends.default.entries);
  assert.ok(api.backends.default.entries >= 2);
  await page.waitForFunction((n) => document.querySelector('#backends tr[data-backend="default"]').cells[2].textContent === n, entries);

  await page.fill("#purgevalue", "/some/page");
  await page.click("#purgeform button");
  await page.waitForFunction(() => /"purged": false/.test(document.querySelector("#purgeout").textContent));

  await page.click("#selftest");
  await page.waitForFunction(() => / 0 failed/.test(document.querySelector("#selftestout").textContent));

  if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
  assert.deepEqual(errors, []);
});
