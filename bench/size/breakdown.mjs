// Sums a wasm's items (twiggy's `top --format json`) by crate, and by module
// for edgecache's own code, so the table in bench/README.md ("Wasm size")
// can be rebuilt. An item is charged to the crate its name starts with
// (`<T as Trait>::f` to T's crate; generic code to where it is defined,
// e.g. core's sort instantiated for an edgecache type counts as core); data
// segments and sections are listed apart. LTO inlines across crates, so a
// function's size includes whatever was inlined into it: read the figures
// as where the bytes sit, not who caused them.
//
//   node bench/size/breakdown.mjs top.json [rows=25]
import { readFileSync } from "node:fs";

const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error("usage: node bench/size/breakdown.mjs twiggy-top.json [rows]");
const rows = Number(rowsArg || 25);
const items = JSON.parse(readFileSync(file, "utf8"));

/** The path an item's name starts with, without `<`, `&`, `dyn`, `impl`. */
function path(name) {
  let n = name.replace(/^(<|&|mut |dyn |impl )+/g, "");
  n = n.replace(/\[[0-9a-f]+\]/g, ""); // core[c5930c85a12de822]::...
  return n.split(/::|<| as |>| /)[0] === n ? [n] : n.split("::");
}

const PRIMITIVES = new Set(
  "bool char str f32 f64 i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize T".split(" "),
);

function group(name) {
  if (name.startsWith("data segment")) return ["(data segments)", "(data)"];
  if (name.startsWith('"function names"') || name.startsWith("custom section")) return ["(custom sections)", name];
  if (/^(code|data|elem|table|type|import|export|global|memory)\[/.test(name) || /^(export|import) /.test(name)) {
    return ["(unnamed / wasm structure)", "(other)"];
  }
  if (/shim$|^__wbg|^__wbindgen|externref/.test(name)) return ["wasm-bindgen (glue)", "(glue)"];
  const p = path(name);
  let krate = p[0].replace(/[^A-Za-z0-9_].*$/, "") || "(other)";
  // Methods of primitive types (`<f64 as Display>::fmt`, `<str>::to_lowercase`) are core's.
  if (PRIMITIVES.has(krate)) krate = "core";
  if (krate === "edgecache") {
    // Modules only: up to two lower-case segments, stopping at a type or trait.
    const mod = [];
    for (const s of p.slice(1, 3)) {
      if (!/^[a-z_][a-z0-9_]*$/.test(s)) break;
      mod.push(s);
    }
    return [krate, ["edgecache", ...mod].join("::")];
  }
  return [krate, krate];
}

const byCrate = new Map();
const byModule = new Map();
let total = 0;
for (const { name, shallow_size: size } of items) {
  if (name.startsWith("Σ") || name.startsWith("...")) continue;
  total += size;
  const [krate, mod] = group(name);
  byCrate.set(krate, (byCrate.get(krate) || 0) + size);
  if (krate === "edgecache") byModule.set(mod, (byModule.get(mod) || 0) + size);
}
const print = (title, map) => {
  console.log(`\n| ${title} | bytes (raw) | share |\n|---|---:|---:|`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`| ${k} | ${v.toLocaleString("en-US")} | ${((100 * v) / total).toFixed(1)} % |`);
  }
};
console.log(`total: ${total.toLocaleString("en-US")} bytes`);
print("crate", byCrate);
print("edgecache module", byModule);
