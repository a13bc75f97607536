// Drops custom sections (by default `name` and `producers`) from a wasm
// module, in place, and prints the bytes saved.
//
// Why: worker-build 0.8.7 always passes `--debuginfo` to wasm-opt, which
// keeps the function-name section whatever the profile's `--strip-debug`
// says. That section was 187 KB raw, 46 KB gzip (10 %) of the deployed
// Worker (bench/README.md, "Wasm size"); it only gives panics' stack traces
// readable function names. EDGECACHE_WASM_NAMES=1 (scripts/build-worker.sh)
// keeps it for debugging.
//
//   node scripts/wasm-sections.mjs build/index_bg.wasm [name ...]
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Reads an unsigned LEB128 at `pos`: [value, next position]. */
function uleb(bytes, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) throw new Error("truncated LEB128");
    const b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
    if (shift > 35) throw new Error("LEB128 longer than 5 bytes");
  }
}

/**
 * The module without the custom sections named in `drop`; every other
 * section is copied byte for byte. Throws on anything that is not a wasm
 * module.
 */
export function withoutCustomSections(bytes, drop = ["name", "producers"]) {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    throw new Error("not a wasm module (version 1)");
  }
  const kept = [bytes.subarray(0, 8)];
  let pos = 8;
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++];
    let len;
    [len, pos] = uleb(bytes, pos);
    const end = pos + len;
    if (end > bytes.length) throw new Error(`section ${id} at ${start} runs past the end`);
    let dropped = false;
    if (id === 0) {
      const [nameLen, at] = uleb(bytes, pos);
      const name = new TextDecoder().decode(bytes.subarray(at, at + nameLen));
      dropped = drop.includes(name);
    }
    if (!dropped) kept.push(bytes.subarray(start, end));
    pos = end;
  }
  return Buffer.concat(kept);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ...names] = process.argv.slice(2);
  if (!file) throw new Error("usage: node scripts/wasm-sections.mjs FILE.wasm [section-name ...]");
  const before = readFileSync(file);
  const after = withoutCustomSections(before, names.length ? names : undefined);
  writeFileSync(file, after);
  console.log(`${file}: custom sections dropped, ${before.length} -> ${after.length} bytes`);
}
