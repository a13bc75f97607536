// scripts/wasm-sections.mjs: the custom sections the deploy build drops
// (function names, producers), checked on a module assembled here and run by
// V8, and on the built Worker.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { ROOT } from "./helpers.mjs";
import { withoutCustomSections } from "../scripts/wasm-sections.mjs";

const section = (id, body) => [id, body.length, ...body];
const custom = (name, body) => section(0, [name.length, ...Buffer.from(name), ...body]);

// (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
const MODULE = [
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]),
  ...custom("keep-me", [1, 2, 3]),
  ...section(3, [1, 0]),
  ...section(7, [1, 3, ...Buffer.from("add"), 0, 0]),
  ...section(10, [1, 7, 0, 0x20, 0, 0x20, 1, 0x6a, 0x0b]),
  // name section, function-names subsection: function 0 is "add"
  ...custom("name", [1, 6, 1, 0, 3, ...Buffer.from("add")]),
  ...custom("producers", [0]),
];

test("drops the name and producers sections; the module still runs, other sections are kept", async () => {
  const before = new Uint8Array(MODULE);
  const m0 = new WebAssembly.Module(before);
  assert.equal(WebAssembly.Module.customSections(m0, "name").length, 1);

  const after = withoutCustomSections(before);
  assert.equal(after.length, before.length - (2 + 5 + 8) - (2 + 10 + 1));
  const m = new WebAssembly.Module(after);
  assert.equal(WebAssembly.Module.customSections(m, "name").length, 0);
  assert.equal(WebAssembly.Module.customSections(m, "producers").length, 0);
  assert.deepEqual([...new Uint8Array(WebAssembly.Module.customSections(m, "keep-me")[0])], [1, 2, 3]);
  const { exports } = await WebAssembly.instantiate(m);
  assert.equal(exports.add(2, 3), 5);

  // Only the sections named are dropped.
  const onlyNames = withoutCustomSections(before, ["name"]);
  assert.equal(WebAssembly.Module.customSections(new WebAssembly.Module(onlyNames), "producers").length, 1);
});

test("refuses what is not a wasm module, or a truncated one", () => {
  assert.throws(() => withoutCustomSections(Buffer.from("<html>not wasm</html>")), /not a wasm module/);
  assert.throws(() => withoutCustomSections(new Uint8Array(MODULE.slice(0, MODULE.length - 3))), /runs past the end/);
  assert.throws(() => withoutCustomSections(new Uint8Array([...MODULE.slice(0, 8), 1, 0x80])), /truncated LEB128/);
});

test("the built Worker carries no function-name section", (t) => {
  const file = path.join(ROOT, "build", "index_bg.wasm");
  if (!existsSync(file)) return t.skip("build/index_bg.wasm is missing: run bash scripts/build-worker.sh");
  if (process.env.EDGECACHE_WASM_NAMES === "1") return t.skip("EDGECACHE_WASM_NAMES=1 keeps the names");
  const bytes = readFileSync(file);
  // Idempotent on a stripped module: nothing left to drop.
  assert.equal(withoutCustomSections(bytes).length, bytes.length);
});
