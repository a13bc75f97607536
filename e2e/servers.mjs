// Real servers for the end-to-end tests, on free 127.0.0.1 ports:
// redis-server (from Debian), and an Upstash-protocol REST front for it;
// memcached, nginx with the memc module (the repo's gateway config) and
// twemproxy in front of memcached.
//
// Upstash's REST server is not available offline, so `startUpstashGateway`
// serves its protocol (JSON commands, /pipeline, /multi-exec, path-style
// commands with the body as last argument and query parameters after it,
// `Upstash-Encoding: base64`, bearer or `?_token=` tokens) and forwards
// every command over RESP to a real redis-server; e2e/upstash_gateway.test.mjs
// checks it with the official @upstash/redis client.
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./helpers.mjs";

async function waitForPort(port, proc, what) {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

/** Starts redis-server on a free port; `replicaOf` makes it a read replica. */
export async function startRedis({ replicaOf } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edgecache-redis-"));
  // No 5 s wait before serving a replica its first sync.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--repl-diskless-sync-delay", "0"];
  if (replicaOf) args.push("--replicaof", "127.0.0.1", String(replicaOf));
  const proc = spawn("redis-server", args, { stdio: "ignore" });
  await waitForPort(port, proc, "redis-server");
  if (replicaOf) {
    const c = respClient(port);
    try {
      for (let i = 0; ; i++) {
        const info = String(await c.call(["INFO", "replication"]));
        if (info.includes("master_link_status:up")) break;
        if (i > 100) throw new Error("replica did not sync: " + info);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      c.close();
    }
  }
  return {
    port,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal RESP client: one connection, commands answered in order. */
export function respClient(port) {
  const sock = net.connect(port, "127.0.0.1");
  let buf = Buffer.alloc(0);
  const waiting = [];
  const parse = (b, i) => {
    const end = b.indexOf("\r\n", i);
    if (end < 0) return null;
    const type = String.fromCharCode(b[i]);
    const line = b.subarray(i + 1, end).toString();
    const next = end + 2;
    // Upstash sends the status reply OK as plain "OK" even with base64
    // encoding on (its own clients special-case it); other statuses as data.
    if (type === "+") return [line === "OK" ? "OK" : Buffer.from(line), next];
    if (type === "-") return [new Error(line), next];
    if (type === ":") return [BigInt(line), next];
    if (type === "$") {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (b.length < next + n + 2) return null;
      return [b.subarray(next, next + n), next + n + 2];
    }
    if (type === "*") {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items = [];
      let at = next;
      for (let k = 0; k < n; k++) {
        const r = parse(b, at);
        if (!r) return null;
        items.push(r[0]);
        at = r[1];
      }
      return [items, at];
    }
    throw new Error("bad RESP type " + type);
  };
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const r = parse(buf, 0);
      if (!r) break;
      buf = buf.subarray(r[1]);
      waiting.shift()(r[0]);
    }
  });
  return {
    call(args) {
      const parts = [Buffer.from(`*${args.length}\r\n`)];
      for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
      }
      return new Promise((resolve) => {
        waiting.push(resolve);
        sock.write(Buffer.concat(parts));
      });
    },
    close: () => sock.destroy(),
  };
}

// JSON text of a reply; integers are written exactly (64-bit), as Upstash does.
function toJson(reply, base64) {
  if (reply === null) return "null";
  if (typeof reply === "bigint") return reply.toString();
  if (Array.isArray(reply)) return "[" + reply.map((r) => toJson(r, base64)).join(",") + "]";
  if (Buffer.isBuffer(reply)) return JSON.stringify(base64 ? reply.toString("base64") : reply.toString("utf8"));
  return JSON.stringify(reply);
}

/**
 * The Upstash REST protocol in front of redis-server on `redisPort`, as
 * Upstash documents it: commands path-style (`/set/foo/bar`, a POST body
 * appended as the last argument, query parameters `?EX=100&NX` after it) or
 * as a JSON array body; `/pipeline` (in order, not atomic) and
 * `/multi-exec` (MULTI … EXEC: atomic; a discarded transaction is one
 * `{"error"}`); the token as `Authorization: Bearer` or `?_token=`;
 * `Upstash-Encoding: base64` (every string base64 but the status OK).
 * Counts requests, and requests per path (`/`, `/pipeline`, …).
 */
export async function startUpstashGateway(redisPort, token) {
  const redis = respClient(redisPort);
  let requests = 0;
  const perPath = new Map();
  const server = http.createServer(async (req, res) => {
    requests++;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const send = (status, text) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(text);
    };
    const url = new URL(req.url, "http://x");
    const p = url.pathname;
    const kind = p === "/pipeline" || p === "/multi-exec" || p === "/" ? p : "/<command>";
    perPath.set(kind, (perPath.get(kind) || 0) + 1);
    if (!["HEAD", "GET", "POST", "PUT"].includes(req.method)) return send(405, '{"error":"Method Not Allowed"}');
    const given = req.headers.authorization ?? (url.searchParams.has("_token") ? `Bearer ${url.searchParams.get("_token")}` : undefined);
    if (given !== `Bearer ${token}`) return send(401, '{"error":"Unauthorized"}');
    const base64 = (req.headers["upstash-encoding"] || "").toLowerCase() === "base64";
    const item = (r) => (r instanceof Error ? JSON.stringify({ error: r.message }) : `{"result":${toJson(r, base64)}}`);
    // Every command of one request is written at once, so another request's
    // commands cannot land inside a MULTI … EXEC.
    const runAll = (cmds) => Promise.all(cmds.map((c) => redis.call(c)));
    const commands = () => {
      const cmds = JSON.parse(body.toString());
      if (!Array.isArray(cmds) || !cmds.every(Array.isArray)) throw new Error("ERR the body must be a JSON array of commands");
      return cmds;
    };
    try {
      if (p === "/pipeline") {
        const out = await runAll(commands());
        return send(200, "[" + out.map(item).join(",") + "]");
      }
      if (p === "/multi-exec") {
        const cmds = commands();
        const out = await runAll([["MULTI"], ...cmds, ["EXEC"]]);
        const exec = out[out.length - 1];
        if (exec instanceof Error || exec === null) return send(400, JSON.stringify({ error: exec ? exec.message : "ERR transaction discarded" }));
        return send(200, "[" + exec.map(item).join(",") + "]");
      }
      let args;
      if (p === "/" || p === "") args = JSON.parse(body.toString());
      else {
        args = p.split("/").filter(Boolean).map(decodeURIComponent);
        if (body.length) args.push(body);
        for (const [k, v] of url.searchParams) if (k !== "_token") args.push(k, ...(v === "" ? [] : [v]));
      }
      const [r] = await runAll([args]);
      send(r instanceof Error ? 400 : 200, item(r));
    } catch (e) {
      send(400, JSON.stringify({ error: String(e.message ?? e) }));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: () => requests,
    /** Requests per path kind: "/", "/pipeline", "/multi-exec", "/<command>". */
    perPath: () => Object.fromEntries(perPath),
    stop: () =>
      new Promise((resolve) => {
        redis.close();
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

/**
 * Debian's webdis in front of redis-server on `redisPort`: every command
 * needs HTTP Basic auth as `auth` ("user:password"); anonymous requests
 * are refused (403).
 */
export async function startWebdis(redisPort, auth) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edgecache-webdis-"));
  const conf = {
    redis_host: "127.0.0.1",
    redis_port: redisPort,
    http_host: "127.0.0.1",
    http_port: port,
    threads: 1,
    daemonize: false,
    database: 0,
    acl: [{ disabled: ["*"] }, { http_basic_auth: auth, enabled: ["*"] }],
    verbosity: 0,
    logfile: path.join(dir, "webdis.log"),
  };
  writeFileSync(path.join(dir, "webdis.json"), JSON.stringify(conf));
  const proc = spawn("webdis", [path.join(dir, "webdis.json")], { stdio: "ignore" });
  await waitForPort(port, proc, "webdis");
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await killed(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Kills `proc` and waits until it has exited. */
async function killed(proc) {
  proc.kill("SIGKILL");
  await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.on("exit", r)));
}

/** Starts memcached on `port` (a free one by default). */
export async function startMemcached(port) {
  port ??= await freePort();
  const proc = spawn("memcached", ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", "-u", "root"], { stdio: "ignore" });
  await waitForPort(port, proc, "memcached");
  return {
    port,
    address: `127.0.0.1:${port}`,
    stop: async () => {
      await killed(proc);
    },
  };
}

/**
 * nginx with the memc module in front of up to three memcached servers,
 * running the repo's gateway/nginx.conf with its @@…@@ markers filled in.
 */
export async function startMemcGateway(servers, token) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edgecache-nginx-"));
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
  let conf = readFileSync(path.join(root, "gateway", "nginx.conf"), "utf8")
    .replaceAll("@@LISTEN@@", `127.0.0.1:${port}`)
    .replaceAll("@@TOKEN@@", token)
    .replaceAll("@@PREFIX@@", dir)
    .replaceAll("@@GATEWAY_DIR@@", path.join(root, "gateway"));
  for (let i = 0; i < 3; i++) conf = conf.replaceAll(`@@SERVER_${i}@@`, servers[i] ?? servers[0]);
  if (/@@[A-Z]/.test(conf)) throw new Error("an unfilled marker in gateway/nginx.conf");
  writeFileSync(path.join(dir, "nginx.conf"), conf);
  const proc = spawn("nginx", ["-e", "stderr", "-g", "daemon off; master_process off;", "-p", dir, "-c", path.join(dir, "nginx.conf")], {
    stdio: "ignore",
  });
  await waitForPort(port, proc, "nginx");
  return {
    port,
    url: `http://127.0.0.1:${port}/memc`,
    stop: async () => {
      await killed(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** twemproxy (nutcracker) in front of memcached servers, ketama over md5 as pylibmc's ketama_weighted. */
export async function startTwemproxy(servers) {
  const port = await freePort();
  const stats = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edgecache-twemproxy-"));
  const yml = [
    "edge:",
    `  listen: 127.0.0.1:${port}`,
    "  hash: md5",
    "  distribution: ketama",
    "  auto_eject_hosts: false",
    "  timeout: 2000",
    "  servers:",
    ...servers.map((s) => `    - ${s}:1`),
    "",
  ].join("\n");
  writeFileSync(path.join(dir, "nutcracker.yml"), yml);
  const proc = spawn(
    "nutcracker",
    ["-c", path.join(dir, "nutcracker.yml"), "-s", String(stats), "-a", "127.0.0.1", "-p", path.join(dir, "pid"), "-o", path.join(dir, "log")],
    { stdio: "ignore" },
  );
  await waitForPort(port, proc, "nutcracker");
  return {
    port,
    address: `127.0.0.1:${port}`,
    stop: async () => {
      await killed(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs memcached text-protocol lines on `port`; resolves with the raw reply once `done(reply)` holds. */
export function memcachedCall(port, request, done = (s) => /(END|STORED|DELETED|NOT_FOUND|ERROR[^\r]*)\r\n$/.test(s)) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let got = Buffer.alloc(0);
    sock.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (done(got.toString("latin1"))) {
        sock.destroy();
        resolve(got);
      }
    });
    sock.on("error", reject);
    sock.write(request);
  });
}
