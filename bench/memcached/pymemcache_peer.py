"""pymemcache, the named peer of the memcached benchmarks: the operations
`cargo run --release -p edgecache-bench --bin memcached` and
`node bench/memcached/run.mjs` time with edgecache, on the same server, with
the same keys and value sizes.

    python bench/memcached/pymemcache_peer.py PORT OPS KEY_PREFIX [--count] < names

Reads operation names, one a line (`get (hit)`, `get (miss)`, `set`,
`set, noreply`, `get_many(100)`, `set_many(100)`), and answers each with a
line: the name, a tab and its calls per second in one timed pass of OPS
single calls or OPS / 100 batch calls, after a short warm-up; the pass ends
with one `get`, so that noreply sets have been applied when the clock
stops. The caller can so alternate its own passes with pymemcache's, one
operation at a time. With --count the figure is round trips per call
instead: `sendall` calls on the socket (pymemcache writes a command, or a
batch, with one `sendall`, then reads the replies), counted in an untimed
pass of 20 calls. The first line out is `pymemcache`, a tab and its version.

The client is configured as Django's PyMemcacheCache configures it
(`default_noreply=False`: a `set` waits for its reply, as edgecache's does
by default), plus `no_delay=True` (edgecache's std and Workers sockets
disable Nagle too). Values are bytes, stored as they are with flags 0, which
is what edgecache's `serializer: "pymemcache"` writes for `Value::Bytes`.
"""

import importlib.metadata
import random
import socket
import sys
import time
import types

from pymemcache.client.base import Client

KEYS = 10_000
BATCH = 100
VALUE_BYTES = 100


class CountingSocket:
    """A socket that counts `sendall` calls (one per round trip)."""

    sends = 0

    def __init__(self, *args):
        self._sock = socket.socket(*args)

    def sendall(self, data):
        CountingSocket.sends += 1
        return self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def main():
    port, ops, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    count = "--count" in sys.argv[4:]
    module = socket
    if count:
        module = types.SimpleNamespace(**vars(socket))
        module.socket = CountingSocket
    client = Client(("127.0.0.1", port), default_noreply=False, no_delay=True, socket_module=module)

    rng = random.Random(42)
    keys = [f"{prefix}item:{i}" for i in range(KEYS)]
    absent = [f"{prefix}absent:{i}" for i in range(KEYS)]
    values = [rng.randbytes(VALUE_BYTES) for _ in range(KEYS)]
    batches = [keys[j : j + BATCH] for j in range(0, KEYS, BATCH)]
    items = [dict(zip(keys[j : j + BATCH], values[j : j + BATCH])) for j in range(0, KEYS, BATCH)]

    def get_hit(n):
        hits = sum(client.get(keys[i % KEYS]) is not None for i in range(n))
        assert hits == n, f"{n - hits} misses"

    def get_miss(n):
        for i in range(n):
            assert client.get(absent[i % KEYS]) is None

    def set_(n):
        for i in range(n):
            client.set(keys[i % KEYS], values[i % KEYS])

    def set_noreply(n):
        for i in range(n):
            client.set(keys[i % KEYS], values[i % KEYS], noreply=True)

    def get_many(n):
        for i in range(n):
            assert len(client.get_many(batches[i % len(batches)])) == BATCH

    def set_many(n):
        for i in range(n):
            assert not client.set_many(items[i % len(items)])

    operations = {
        "get (hit)": (get_hit, ops),
        "get (miss)": (get_miss, ops),
        "set": (set_, ops),
        "set, noreply": (set_noreply, ops),
        "get_many(100)": (get_many, max(1, ops // BATCH)),
        "set_many(100)": (set_many, max(1, ops // BATCH)),
    }
    set_many(len(items))  # every key present, whatever ran before
    print(f"pymemcache\t{importlib.metadata.version('pymemcache')}", flush=True)
    for line in sys.stdin:
        name = line.strip()
        run, n = operations[name]
        if count:
            run(2)  # connected
            before = CountingSocket.sends
            run(20)
            figure = (CountingSocket.sends - before) / 20
        else:
            run(max(1, n // 20))
            start = time.perf_counter()
            run(n)
            client.get(keys[0])  # after noreply sets: applied once this answers
            figure = n / (time.perf_counter() - start)
        print(f"{name}\t{figure}", flush=True)
    client.close()


if __name__ == "__main__":
    main()
