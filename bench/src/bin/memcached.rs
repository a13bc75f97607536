//! edgecache's memcached backend over std TCP beside pymemcache, against one
//! real memcached started here: calls per second and round trips per call
//! of `get` (hit and miss), `set` (waiting for the reply, and noreply),
//! `get_many` and `set_many` of 100 keys. pymemcache runs the same
//! operations on the same server in the same run
//! (`bench/memcached/pymemcache_peer.py` with the venv's Python), each pass
//! of edgecache followed by pymemcache's pass of the same operation; the
//! table has the median of the runs.
//!
//! Round trips are counted, not assumed: the backend's transport is wrapped
//! so that every write on a connection is counted (a call to a server is one
//! write of its commands, then the reads of their replies). The backend's
//! re-reads of its generation key (at most once a second, one round trip
//! each) are recognised by their bytes and reported apart.
//!
//! Usage: `cargo run --release -p edgecache-bench --bin memcached -- [ops=20000] [runs=5]`
//! (`ops` single calls per timed pass; `ops / 100` batch calls).

use std::cell::Cell;
use std::io::{BufRead, BufReader, Lines, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use edgecache::backend::memcached::flags::ValueFormat;
use edgecache::backend::memcached::{MemcachedBackend, MemcachedOptions, Transports};
use edgecache::transport::{ByteStream, StdStreams, StreamTransport, TransportError};
use edgecache::{BackendConfig, CacheBackend, SystemClock, Ttl, Value};
use edgecache_bench::Rng;
use futures::executor::block_on;

const KEYS: usize = 10_000;
const BATCH: usize = 100;
const VALUE_BYTES: usize = 100;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    GetHit,
    GetMiss,
    Set,
    SetNoreply,
    GetMany,
    SetMany,
}

const OPS: [Op; 6] = [
    Op::GetHit,
    Op::GetMiss,
    Op::Set,
    Op::SetNoreply,
    Op::GetMany,
    Op::SetMany,
];

impl Op {
    /// The name, as `bench/memcached/pymemcache_peer.py` prints it.
    fn name(self) -> &'static str {
        match self {
            Op::GetHit => "get (hit)",
            Op::GetMiss => "get (miss)",
            Op::Set => "set",
            Op::SetNoreply => "set, noreply",
            Op::GetMany => "get_many(100)",
            Op::SetMany => "set_many(100)",
        }
    }

    fn calls(self, ops: usize) -> usize {
        match self {
            Op::GetMany | Op::SetMany => (ops / BATCH).max(1),
            _ => ops,
        }
    }
}

/// What the backend's connections did.
#[derive(Default)]
struct Counts {
    connects: Cell<u64>,
    writes: Cell<u64>,
    generation_reads: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

/// std TCP, counting connections and writes.
struct Counting(Rc<Counts>);

struct CountingStream {
    inner: Box<dyn ByteStream>,
    counts: Rc<Counts>,
}

#[async_trait(?Send)]
impl StreamTransport for Counting {
    async fn connect(
        &self,
        address: &str,
        connect_timeout_ms: u64,
        timeout_ms: u64,
    ) -> Result<Box<dyn ByteStream>, TransportError> {
        let inner = StdStreams.connect(address, connect_timeout_ms, timeout_ms).await?;
        bump(&self.0.connects);
        Ok(Box::new(CountingStream {
            inner,
            counts: self.0.clone(),
        }))
    }
}

#[async_trait(?Send)]
impl ByteStream for CountingStream {
    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        bump(&self.counts.writes);
        if bytes.starts_with(b"get ") && bytes.ends_with(b":edgecache-generation\r\n") {
            bump(&self.counts.generation_reads);
        }
        self.inner.write_all(bytes).await
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        self.inner.read(buf).await
    }
}

/// The memcached process, killed by [`stop_memcached`]: at the end, and from
/// the panic hook (the release profile aborts on panic, so no destructor runs).
static MEMCACHED: Mutex<Option<Child>> = Mutex::new(None);

fn stop_memcached() {
    let child = MEMCACHED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// memcached on a free 127.0.0.1 port (256 MB, no UDP); its port.
fn start_memcached() -> u16 {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("memcached")
        // `-u root` is read only when running as root, which memcached otherwise refuses.
        .args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-m",
            "256",
            "-u",
            "root",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn memcached (`bash scripts/setup.sh` installs it)");
    *MEMCACHED.lock().unwrap() = Some(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "memcached did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    port
}

/// A backend on the server at `port`, storing bytes as pymemcache does.
fn backend(port: u16, noreply: bool, transport: Rc<dyn StreamTransport>) -> MemcachedBackend {
    let config = BackendConfig::new("bench", "memcached");
    let mut options = MemcachedOptions::new(vec![format!("127.0.0.1:{port}")]);
    options.serializer = ValueFormat::from_name("pymemcache").unwrap();
    options.default_noreply = noreply;
    let transports = Transports {
        stream: Some(transport),
        http: None,
    };
    MemcachedBackend::new(&config, options, transports, Rc::new(SystemClock)).unwrap()
}

/// Keys `item:{i}` (present), `absent:{i}` (never written) and seeded random values.
struct Workload {
    keys: Vec<String>,
    absent: Vec<String>,
    values: Vec<Vec<u8>>,
}

impl Workload {
    fn new() -> Self {
        let mut rng = Rng::new(42);
        Workload {
            keys: (0..KEYS).map(|i| format!("item:{i}")).collect(),
            absent: (0..KEYS).map(|i| format!("absent:{i}")).collect(),
            values: (0..KEYS)
                .map(|_| (0..VALUE_BYTES).map(|_| rng.next_u64() as u8).collect())
                .collect(),
        }
    }

    fn batch(&self, call: usize) -> std::ops::Range<usize> {
        let start = call * BATCH % KEYS;
        start..start + BATCH
    }

    fn items(&self, call: usize) -> Vec<(String, Value)> {
        self.batch(call)
            .map(|i| (self.keys[i].clone(), Value::Bytes(self.values[i].clone())))
            .collect()
    }
}

async fn run(op: Op, b: &MemcachedBackend, w: &Workload, calls: usize) {
    for call in 0..calls {
        let i = call % KEYS;
        match op {
            Op::GetHit => {
                let v = b.get(&w.keys[i], None).await.unwrap();
                assert!(matches!(v, Some(Value::Bytes(v)) if v.len() == VALUE_BYTES));
            }
            Op::GetMiss => assert!(b.get(&w.absent[i], None).await.unwrap().is_none()),
            Op::Set | Op::SetNoreply => {
                let v = Value::Bytes(w.values[i].clone());
                b.set(&w.keys[i], v, Ttl::Never, None).await.unwrap()
            }
            Op::GetMany => {
                let keys: Vec<&str> = w.keys[w.batch(call)].iter().map(String::as_str).collect();
                assert_eq!(b.get_many(&keys, None).await.unwrap().len(), BATCH);
            }
            Op::SetMany => assert!(b.set_many(w.items(call), Ttl::Never, None).await.unwrap().is_empty()),
        }
    }
}

/// One timed pass: calls per second and writes per call (generation reads
/// apart). It ends with a `get`, so that noreply sets have been applied.
fn time(op: Op, b: &MemcachedBackend, w: &Workload, calls: usize, counts: &Counts) -> (f64, f64) {
    block_on(run(op, b, w, (calls / 20).max(1)));
    let writes = counts.writes.get() - counts.generation_reads.get();
    let start = Instant::now();
    block_on(run(op, b, w, calls));
    let round_trips = (counts.writes.get() - counts.generation_reads.get() - writes) as f64 / calls as f64;
    block_on(b.get(&w.keys[0], None)).unwrap();
    (calls as f64 / start.elapsed().as_secs_f64(), round_trips)
}

/// `bench/memcached/pymemcache_peer.py` running: pymemcache's passes, one operation at a time.
struct Peer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    version: String,
}

impl Peer {
    fn start(port: u16, ops: usize, key_prefix: &str, count: bool) -> Peer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut cmd = Command::new(root.join(".tools/venv/bin/python"));
        cmd.arg(root.join("bench/memcached/pymemcache_peer.py"))
            .args([port.to_string(), ops.to_string(), key_prefix.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if count {
            cmd.arg("--count");
        }
        let mut child = cmd
            .spawn()
            .expect("run .tools/venv/bin/python (`bash scripts/setup.sh` makes the venv)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let version = Self::field(lines.next(), "pymemcache");
        Peer { child, lines, version }
    }

    fn field(line: Option<std::io::Result<String>>, name: &str) -> String {
        let line = line
            .and_then(|l| l.ok())
            .expect("pymemcache_peer.py failed (its error is above)");
        let (got, figure) = line.split_once('\t').expect("name<TAB>figure");
        assert_eq!(got, name, "{line}");
        figure.to_string()
    }

    /// pymemcache's figure for `op`.
    fn run(&mut self, op: Op) -> f64 {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{}", op.name()).expect("write to pymemcache_peer.py");
        Self::field(self.lines.next(), op.name()).parse().unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ops: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        stop_memcached();
        hook(info)
    }));

    let port = start_memcached();
    let counts = Rc::new(Counts::default());
    let transport: Rc<dyn StreamTransport> = Rc::new(Counting(counts.clone()));
    let replying = backend(port, false, transport.clone());
    let noreply = backend(port, true, transport);
    let w = Workload::new();
    block_on(run(Op::SetMany, &replying, &w, KEYS / BATCH));
    let full = replying.make_key(&w.keys[0], None).unwrap();
    let key_prefix = full.strip_suffix(w.keys[0].as_str()).unwrap();
    let mut counting_peer = Peer::start(port, ops, key_prefix, true);
    let peer_round_trips = OPS.map(|op| counting_peer.run(op));
    drop(counting_peer);
    let mut peer = Peer::start(port, ops, key_prefix, false);

    let start = Instant::now();
    let generation_reads = counts.generation_reads.get();
    let mut ours = vec![Vec::new(); OPS.len()];
    let mut theirs = vec![Vec::new(); OPS.len()];
    let mut round_trips = vec![0.0; OPS.len()];
    for _ in 0..runs {
        for (k, op) in OPS.into_iter().enumerate() {
            let b = if op == Op::SetNoreply { &noreply } else { &replying };
            let (rate, rt) = time(op, b, &w, op.calls(ops), &counts);
            ours[k].push(rate);
            round_trips[k] = (rt * 1000.0).round() / 1000.0;
            theirs[k].push(peer.run(op));
        }
    }
    let generation_reads = counts.generation_reads.get() - generation_reads;
    let seconds = start.elapsed().as_secs_f64();
    let version = peer.version.clone();
    drop(peer);
    stop_memcached();

    println!(
        "One memcached on 127.0.0.1 (-m 256); {ops} single calls or {} batch calls per pass; \
         median of {runs} runs; values {VALUE_BYTES} bytes.",
        ops / BATCH
    );
    println!();
    println!(
        "| operation | edgecache calls/s | pymemcache {version} calls/s | edgecache ÷ pymemcache \
         | round trips per call, edgecache | round trips per call, pymemcache |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (k, op) in OPS.into_iter().enumerate() {
        let (e, p) = (median(ours[k].clone()), median(theirs[k].clone()));
        println!(
            "| {} | {e:.0} | {p:.0} | {:.2} | {} | {} |",
            op.name(),
            e / p,
            round_trips[k],
            peer_round_trips[k]
        );
    }
    println!();
    println!(
        "edgecache also re-read its generation key {generation_reads} times in the {seconds:.0} s of the runs \
         (one round trip each, at most once a second; not in the columns above) and opened {} connections. \
         A noreply set is a write with no reply to wait for; it counts as a round trip above.",
        counts.connects.get()
    );
}
