// The edgecache dashboard: talks to the admin API of the Worker that serves
// it. The token stays in this tab (sessionStorage) and is sent as a bearer token.
const api = "/_edgecache/";
const $ = (id) => document.getElementById(id);
let timer = null;

function token() {
  return sessionStorage.getItem("edgecache-token") || "";
}

async function call(method, path, body, type) {
  const headers = { authorization: `Bearer ${token()}` };
  if (type) headers["content-type"] = type;
  const r = await fetch(api + path, { method, headers, body });
  const text = await r.text();
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {}
  return { ok: r.ok, status: r.status, data, key: r.headers.get("x-edgecache-key") };
}

const fmt = (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString("en"));

async function refresh() {
  const r = await call("GET", "stats");
  const conn = $("conn");
  if (!r.ok) {
    conn.textContent = r.data.message || `error ${r.status}`;
    conn.className = "err";
    return;
  }
  conn.textContent = "connected";
  conn.className = "ok";
  const body = $("backends").tBodies[0];
  body.replaceChildren();
  const select = $("backend");
  const chosen = select.value;
  select.replaceChildren();
  for (const [name, s] of Object.entries(r.data.backends)) {
    const st = s.near || s;
    const lookups = (st.hits || 0) + (st.misses || 0);
    const ratio = lookups ? ((100 * st.hits) / lookups).toFixed(1) + " %" : "–";
    const ev = (st.evictions_entries_bound || 0) + (st.evictions_bytes_bound || 0);
    const row = document.createElement("tr");
    row.dataset.backend = name;
    for (const v of [name, s.kind, fmt(st.entries), fmt(st.bytes), fmt(st.hits), fmt(st.misses), ratio, fmt(ev), fmt(st.expirations)]) {
      const td = document.createElement("td");
      td.textContent = v;
      row.append(td);
    }
    body.append(row);
    select.append(new Option(name, name, false, name === chosen));
  }
  const resp = $("responses").tBodies[0];
  resp.replaceChildren();
  for (const [k, v] of Object.entries(r.data.responses || {})) {
    const row = document.createElement("tr");
    row.innerHTML = "<th></th><td></td>";
    row.cells[0].textContent = k.replaceAll("_", " ");
    row.cells[1].textContent = fmt(v);
    resp.append(row);
  }
}

$("auth").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("edgecache-token", $("token").value);
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, 2000);
});

$("keyform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const op = e.submitter?.dataset.op || "get";
  const q = new URLSearchParams();
  if ($("version").value) q.set("version", $("version").value);
  if ($("ttl").value) q.set("ttl", $("ttl").value);
  const target = `${encodeURIComponent($("backend").value)}/${encodeURIComponent($("key").value)}?${q}`;
  let r;
  if (op === "get") r = await call("GET", "keys/" + target);
  if (op === "set") r = await call("PUT", "keys/" + target, $("value").value, "application/json");
  if (op === "incr") r = await call("POST", "incr/" + target);
  if (op === "delete") r = await call("DELETE", "keys/" + target);
  const out = $("keyout");
  out.className = "out " + (r.ok ? "ok" : "err");
  out.textContent = `${op} ${r.key ? `(stored as ${decodeURIComponent(r.key)})` : ""} → ${r.status}\n` + JSON.stringify(r.data, null, 2);
  refresh();
});

$("purgeform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await call("POST", "purge", JSON.stringify({ [$("purgekind").value]: $("purgevalue").value }), "application/json");
  const out = $("purgeout");
  out.className = "out " + (r.ok ? "ok" : "err");
  out.textContent = JSON.stringify(r.data, null, 2);
});

$("selftest").addEventListener("click", async () => {
  const out = $("selftestout");
  out.textContent = "running…";
  const r = await call("POST", "selftest");
  out.className = "out " + (r.ok ? "ok" : "err");
  out.textContent = r.data.passed !== undefined ? `${r.data.passed} passed, ${r.data.failed} failed` : JSON.stringify(r.data);
});

if (token()) {
  $("token").value = token();
  refresh();
  timer = setInterval(refresh, 2000);
}
