#!/usr/bin/env python3
"""Checks the crate's module graph: no cycles between modules, and the
top-level layers depend only downwards, in the order below.

Edges come from paths in the source (`crate::a::b`, `super::x`, `self::x`,
`use` lists included); a path names the deepest module file it reaches.
Run by scripts/test.sh; exits 1 with the offending edges or cycles."""
import os, re, sys

# Lowest first: a layer may use only layers before it.
LAYERS = ["primitives", "transport", "runtime", "http", "backend", "service",
          "response_cache", "testkit", "platform", "app"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)

files = {}
for d, _, fs in os.walk(ROOT):
    for f in fs:
        if f.endswith(".rs"):
            files[module_of(os.path.join(d, f))] = os.path.join(d, f)

# Names a module re-exports from its children (`pub use child::{A, B}`), so
# that `super::A` counts as an edge to the child that defines `A`.
USE = re.compile(r"\buse\s+(?:self::)?([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)\s*;")
reexports = {}
for mod, path in files.items():
    if os.path.basename(path) not in ("mod.rs", "lib.rs"):
        continue
    for prefix, names in USE.findall(open(path).read()):
        child = mod + tuple(prefix.split("::"))
        if child[: len(mod) + 1] not in files:
            continue
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", names):
            if name not in ("self", "crate", "super"):
                reexports.setdefault(mod, {})[name] = child

def resolve(parts):
    """The module that defines what `parts` names (through re-exports)."""
    best, i = None, 0
    while i <= len(parts):
        if tuple(parts[:i]) in files:
            best = tuple(parts[:i])
        i += 1
    if best is None:
        return None
    rest = parts[len(best):]
    seen = 0
    while rest and rest[0] in reexports.get(best, {}) and seen < 8:
        target = reexports[best][rest[0]]
        best = resolve(list(target)) or target
        rest, seen = rest[1:], seen + 1
    return best

def strip_tests(src):
    # Test modules may reach anywhere; cut `#[cfg(test)] mod tests { ... }` at the end.
    m = re.search(r"#\[cfg\(test\)\]\s*mod tests \{", src)
    return src[: m.start()] if m else src

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
edges = {}
for mod, path in files.items():
    if mod and mod[-1] == "tests":
        continue
    src = strip_tests(open(path).read())
    src = re.sub(r"//.*", "", src)
    is_dir = os.path.basename(path) in ("mod.rs", "lib.rs")
    here = list(mod) if is_dir else list(mod[:-1])  # the module `super`/`self` of items resolves from
    found = PATH.findall(src)
    if is_dir:  # `use child::X` in a module file names its own child
        found += [("self", "::" + p) for p, _ in USE.findall(src) if mod + (p.split("::")[0],) in files]
    for head, tail in found:
        parts = tail.split("::")[1:]
        if head == "crate":
            base = []
        elif head == "self":
            base = list(mod)
        else:
            base = here[:-1] if is_dir else here
            while parts and parts[0] == "super":
                parts, base = parts[1:], base[:-1]
        target = resolve(base + parts)
        if target is not None and target != mod and not (target and mod[: len(target)] == target):
            edges.setdefault(mod, set()).add(target)

errors = []
# 1. Layers point down.
for a, ts in edges.items():
    for b in ts:
        la, lb = (a[0] if a else None), (b[0] if b else None)
        if la in LAYERS and lb in LAYERS and LAYERS.index(lb) > LAYERS.index(la):
            errors.append(f"layer {la} uses {lb}, which sits above it: {'::'.join(a)} -> {'::'.join(b)}")

# 2. No cycles among modules (Tarjan's SCC).
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1:
            sccs.append(comp)
sys.setrecursionlimit(10000)
for v in list(files):
    if v not in index:
        strong(v)
for c in sccs:
    errors.append("module cycle: " + ", ".join(sorted("::".join(m) or "crate" for m in c)))

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"module graph: {len(files)} modules, {sum(len(t) for t in edges.values())} edges, no cycles, layers point down")
