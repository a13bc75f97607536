// The platform's own cost, for bench/memcached/run.mjs: a plain JS Worker
// that does per request what a Worker can do at best over `connect()` (a
// socket cannot outlive its request): connect to memcached (env.MC), one
// command, read the reply, close. GET /floor/<n> answers without memcached;
// GET /get/<key> answers the value (404 on a miss); PUT /set/<key> stores
// the body.
import { connect } from "cloudflare:sockets";

const enc = new TextEncoder();

async function call(address, command, done) {
  const socket = connect(address);
  try {
    const writer = socket.writable.getWriter();
    await writer.write(command);
    const reader = socket.readable.getReader();
    let got = new Uint8Array(0);
    while (!done(got)) {
      const { value, done: closed } = await reader.read();
      if (closed) throw new Error("memcached closed the connection");
      const joined = new Uint8Array(got.length + value.length);
      joined.set(got);
      joined.set(value, got.length);
      got = joined;
    }
    return got;
  } finally {
    socket.close();
  }
}

const endsWith = (bytes, text) => new TextDecoder().decode(bytes.subarray(-text.length)) === text;

export default {
  async fetch(req, env) {
    const [, action, key] = new URL(req.url).pathname.split("/").map(decodeURIComponent);
    if (action === "floor") return new Response("ok");
    if (action === "get") {
      // "VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n", or "END\r\n".
      const reply = await call(env.MC, enc.encode(`get ${key}\r\n`), (b) => {
        if (b.length === 5 && endsWith(b, "END\r\n")) return true;
        const eol = b.indexOf(10);
        return eol > 0 && b.length >= eol + 1 + Number(new TextDecoder().decode(b.subarray(0, eol)).split(" ")[3]) + 7;
      });
      if (reply.length === 5) return new Response("miss", { status: 404 });
      const eol = reply.indexOf(10);
      return new Response(reply.subarray(eol + 1, reply.length - 7));
    }
    if (action === "set" && req.method === "PUT") {
      const body = new Uint8Array(await req.arrayBuffer());
      const head = enc.encode(`set ${key} 0 0 ${body.length}\r\n`);
      const command = new Uint8Array(head.length + body.length + 2);
      command.set(head);
      command.set(body, head.length);
      command.set(enc.encode("\r\n"), head.length + body.length);
      const reply = await call(env.MC, command, (b) => endsWith(b, "\r\n"));
      return new Response(null, { status: endsWith(reply, "STORED\r\n") ? 200 : 500 });
    }
    return new Response("no route", { status: 404 });
  },
};
