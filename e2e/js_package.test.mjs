// The npm package as published: `npm pack` of js/ (after scripts/build-js.sh),
// the tarball installed offline into an empty folder, imported there by
// Node (`node -e`, and the README's Node example run against it); then tsc
// (typescript from the root devDependencies) on the TypeScript examples
// against the installed types: js/examples/worker.ts (with map-backend.js
// and node.mjs, checkJs) must pass, js/examples/wrong-calls.ts must fail with exactly
// the errors its comments mark.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ROOT, jsPackage } from "./helpers.mjs";

const run = promisify(execFile);
const EXAMPLES = path.join(ROOT, "js", "examples");
let work, app, tarball, packed;

before(async () => {
  const dir = jsPackage();
  work = mkdtempSync(path.join(tmpdir(), "edgecache-js-package-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: dir });
  [packed] = JSON.parse(stdout);
  tarball = path.join(work, packed.filename);
  app = path.join(work, "app");
  // An empty folder: npm makes its package.json; the package has no dependencies, so offline works.
  await run("mkdir", ["-p", app]);
  try {
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: app });
  } catch (e) {
    throw new Error(`npm install of the tarball failed:\n${e.stdout}\n${e.stderr}`);
  }
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("npm pack: the tarball holds the entries, the glue, the wasm, the types and the README", () => {
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "README.md",
    "dist/edgecache.js",
    "dist/edgecache_bg.wasm",
    "hono.d.ts",
    "index.d.ts",
    "package.json",
    "src/browser.js",
    "src/core.js",
    "src/node.js",
    "src/workerd.js",
  ]);
  assert.equal(packed.name, "edgecache");
  console.log(`edgecache-${packed.version}.tgz: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`);
});

test("the installed tarball imports in Node (node -e, the node export condition) and runs the README's Node example", async () => {
  const installed = path.join(app, "node_modules", "edgecache");
  assert.ok(existsSync(path.join(installed, "dist", "edgecache_bg.wasm")));
  assert.equal(JSON.parse(readFileSync(path.join(app, "package.json"), "utf8")).dependencies.edgecache, `file:${path.relative(app, tarball)}`);
  const code = `
    import { createCacheService, CacheError, selftest } from "edgecache";
    import { cache } from "edgecache/hono";
    const c = createCacheService({ default: { backend: "local", key_prefix: "app" } });
    await c.set("k", { ok: true });
    let code;
    try { await c.incr("nope"); } catch (e) { code = e instanceof CacheError && e.code; }
    console.log(JSON.stringify({ resolved: import.meta.resolve("edgecache"), value: await c.get("k"), key: c.makeKey("k"), code, hono: typeof cache }));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", code], { cwd: app });
  const out = JSON.parse(stdout);
  assert.equal(out.resolved, "file://" + path.join(installed, "src", "node.js"));
  assert.deepEqual(out.value, { ok: true });
  assert.equal(out.key, "app:1:k");
  assert.equal(out.code, "not_found");
  assert.equal(out.hono, "function");

  // The Node example, as a user's file next to the installed package.
  for (const f of ["node.mjs", "map-backend.js"]) copyFileSync(path.join(EXAMPLES, f), path.join(app, f));
  const example = await run(process.execPath, ["node.mjs"], { cwd: app });
  assert.match(example.stdout, /^user:7 = \{"langs":\["en","fr"\],"name":"Ada"\}$/m);
  assert.match(example.stdout, /^handler calls: 1$/m);
});

test("js/README.md's examples are the tested files, verbatim", () => {
  const readme = readFileSync(path.join(ROOT, "js", "README.md"), "utf8");
  const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```\w*\n([\s\S]*?)\n```\n/g)];
  const names = blocks.map((b) => b[1]).sort();
  assert.deepEqual(names, ["examples/browser.html", "examples/map-backend.js", "examples/node.mjs", "examples/worker.ts", "examples/wrangler.toml"]);
  for (const [, name, body] of blocks) {
    const file = readFileSync(path.join(ROOT, "js", name), "utf8").replace(/\n$/, "");
    assert.equal(body, file, `js/README.md's copy of ${name} differs from the file`);
  }
});

/** Runs tsc in the app folder; resolves to { status, lines }. */
async function tsc(project) {
  const bin = path.join(ROOT, "node_modules", ".bin", "tsc");
  try {
    const { stdout } = await run(bin, ["-p", project], { cwd: app });
    return { status: 0, lines: stdout.split("\n").filter(Boolean) };
  } catch (e) {
    if (typeof e.code !== "number") throw e;
    return { status: e.code, lines: (e.stdout + e.stderr).split("\n").filter(Boolean) };
  }
}

test("tsc --noEmit: the Worker example type-checks against the installed types; wrong calls fail", { timeout: 120_000 }, async () => {
  // The examples as a user's files; hono as the app's own dependency.
  for (const f of ["worker.ts", "map-backend.js", "node.mjs", "wrong-calls.ts", "tsconfig.json", "tsconfig.wrong.json"]) {
    copyFileSync(path.join(EXAMPLES, f), path.join(app, f));
  }
  symlinkSync(path.join(ROOT, "node_modules", "hono"), path.join(app, "node_modules", "hono"));

  const good = await tsc("tsconfig.json");
  assert.deepEqual(good, { status: 0, lines: [] }, good.lines.join("\n"));

  // Every line of wrong-calls.ts marked `// TSnnnn` must fail with that code, and nothing else.
  const source = readFileSync(path.join(EXAMPLES, "wrong-calls.ts"), "utf8").split("\n");
  const want = source.flatMap((line, i) => {
    const m = line.match(/\/\/ (TS\d{4}) /);
    return m ? [`${i + 1} ${m[1]}`] : [];
  });
  assert.ok(want.length >= 15, `only ${want.length} marked lines`);
  const bad = await tsc("tsconfig.wrong.json");
  assert.equal(bad.status, 1, bad.lines.join("\n"));
  const got = bad.lines.filter((l) => /^\S/.test(l)).map((l) => {
    const m = l.match(/^wrong-calls\.ts\((\d+),\d+\): error (TS\d{4}):/);
    assert.ok(m, `an error outside wrong-calls.ts: ${l}`);
    return `${m[1]} ${m[2]}`;
  });
  assert.deepEqual(got, want, bad.lines.join("\n"));
});
