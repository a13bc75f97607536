//! Real servers for the native integration tests: memcached processes (TCP
//! and Unix socket), nginx with the memc module (the repo's gateway config)
//! and twemproxy, on free 127.0.0.1 ports. Each is killed when its handle is
//! dropped, so a failing test stops its servers too. The Python clients
//! (pymemcache, pylibmc, Ellar) come from the venv `scripts/setup.sh` makes.
#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free port on 127.0.0.1 (bound and released; a race with another
/// process is possible but harmless in practice).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        let mut p = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        p.push(format!("edgecache-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server process; killed on drop.
pub struct Server {
    child: Child,
    /// `127.0.0.1:port`, or the socket path for a Unix-socket server.
    pub address: String,
    pub port: u16,
    _dir: Option<TempDir>,
}

impl Server {
    /// Stops the process now (a test killing a server mid-run).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn must_have(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found || Path::new(program).is_file(),
        "{program} is not installed: run `bash scripts/setup.sh` (it installs the test servers)"
    );
}

fn wait_until(what: &str, child: &mut Child, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what} did not start within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// memcached on a free TCP port (64 MB, no UDP).
pub fn memcached() -> Server {
    memcached_on(free_port())
}

/// memcached on `port` (to restart a killed server where it was).
pub fn memcached_on(port: u16) -> Server {
    must_have("memcached");
    let mut child = Command::new("memcached")
        .args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-m",
            "64",
            "-u",
            "root",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn memcached");
    wait_until("memcached", &mut child, || port_open(port));
    Server {
        child,
        address: format!("127.0.0.1:{port}"),
        port,
        _dir: None,
    }
}

/// memcached on a Unix socket in a scratch directory.
pub fn memcached_unix() -> Server {
    must_have("memcached");
    let dir = TempDir::new("memcached-sock");
    let path = dir.0.join("memcached.sock");
    let mut child = Command::new("memcached")
        .args(["-s", path.to_str().unwrap(), "-m", "64", "-u", "root"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn memcached");
    let p = path.clone();
    wait_until("memcached (unix socket)", &mut child, || {
        std::os::unix::net::UnixStream::connect(&p).is_ok()
    });
    Server {
        child,
        address: path.to_str().unwrap().to_string(),
        port: 0,
        _dir: Some(dir),
    }
}

/// The venv's Python (with Ellar, redis-py, pymemcache, pylibmc).
pub fn venv_python() -> PathBuf {
    let py = root().join(".tools/venv/bin/python");
    assert!(py.is_file(), "{} is missing: run `bash scripts/setup.sh`", py.display());
    py
}

/// Runs `code` with the venv's Python, `input` on stdin; its stdout, or a
/// panic with its stderr.
pub fn python(code: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(venv_python())
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// nginx with the memc module in front of `servers` (up to three), running
/// the repo's `gateway/nginx.conf` with its `@@…@@` markers filled in; the
/// gateway URL is `http://127.0.0.1:{port}/memc`.
pub fn nginx_gateway(servers: &[&str], token: &str) -> Server {
    must_have("nginx");
    assert!(
        Path::new("/usr/lib/nginx/modules/ngx_http_memc_module.so").is_file(),
        "nginx's memc module is missing: run `bash scripts/setup.sh` (libnginx-mod-http-memc)"
    );
    let dir = TempDir::new("nginx");
    let port = free_port();
    let mut conf = std::fs::read_to_string(root().join("gateway/nginx.conf")).unwrap();
    for (marker, value) in [
        ("@@LISTEN@@", format!("127.0.0.1:{port}")),
        ("@@TOKEN@@", token.to_string()),
        ("@@PREFIX@@", dir.0.display().to_string()),
        ("@@GATEWAY_DIR@@", root().join("gateway").display().to_string()),
    ] {
        conf = conf.replace(marker, &value);
    }
    for i in 0..3 {
        // Fewer servers: the spare upstreams point at the first one.
        let s = servers.get(i).or(servers.first()).expect("at least one server");
        conf = conf.replace(&format!("@@SERVER_{i}@@"), s);
    }
    let unfilled = conf
        .match_indices("@@")
        .any(|(i, _)| conf[i + 2..].starts_with(|c: char| c.is_ascii_uppercase()));
    assert!(!unfilled, "an unfilled marker in gateway/nginx.conf");
    let path = dir.0.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let mut child = Command::new("nginx")
        .args(["-e", "stderr", "-g", "daemon off; master_process off;", "-p"])
        .arg(&dir.0)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nginx");
    wait_until("nginx", &mut child, || port_open(port));
    Server {
        child,
        address: format!("http://127.0.0.1:{port}/memc"),
        port,
        _dir: Some(dir),
    }
}

/// A plain HTTP/1.1 client on std sockets as the crate's `HttpTransport`,
/// for the gateway natively (header values are byte strings, as in fetch).
pub struct StdHttp;

#[async_trait::async_trait(?Send)]
impl edgecache::transport::HttpTransport for StdHttp {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        _want: &[&str],
        timeout_ms: u64,
    ) -> Result<edgecache::transport::HttpReply, edgecache::transport::TransportError> {
        use edgecache::transport::{HttpReply, TransportError};
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").expect("http URL");
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let timeout = Duration::from_millis(timeout_ms);
        let addr: std::net::SocketAddr = host.parse().expect("host:port");
        let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| TransportError::Connect(e.to_string()))?;
        s.set_read_timeout(Some(timeout)).unwrap();
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        )
        .into_bytes();
        for (k, v) in headers {
            req.extend_from_slice(k.as_bytes());
            req.extend_from_slice(b": ");
            // One byte per char, as fetch sends a ByteString.
            req.extend(
                v.chars()
                    .map(|c| u8::try_from(u32::from(c)).expect("a byte-string char")),
            );
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(&body);
        s.write_all(&req).map_err(|e| TransportError::Io(e.to_string()))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => TransportError::Timeout { ms: timeout_ms },
            _ => TransportError::Io(e.to_string()),
        })?;
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| TransportError::Io("no end of headers".into()))?;
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| TransportError::Io("bad status line".into()))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            let mut out = Vec::new();
            let mut rest = body.as_slice();
            while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(std::str::from_utf8(&rest[..i]).unwrap().trim(), 16).unwrap();
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&rest[i + 2..i + 2 + size]);
                rest = &rest[i + 4 + size..];
            }
            body = out;
        }
        Ok(HttpReply { status, headers, body })
    }
}

/// twemproxy (nutcracker) on a free port in front of `servers` ("host:port"
/// strings, weight 1 each), configured as a user sharing a cache with
/// pylibmc's `ketama_weighted` would: `distribution: ketama` with `hash:
/// md5` (twemproxy's default key hash, fnv1a_64, places keys elsewhere) and
/// no ejection, so placement never changes under the test.
pub fn nutcracker(servers: &[&str]) -> Server {
    let program = "/usr/sbin/nutcracker";
    must_have(program);
    let dir = TempDir::new("nutcracker");
    let port = free_port();
    let mut conf = format!(
        "edgecache:\n  listen: 127.0.0.1:{port}\n  hash: md5\n  distribution: ketama\n  auto_eject_hosts: false\n  servers:\n"
    );
    for server in servers {
        conf.push_str(&format!("    - {server}:1\n"));
    }
    let conf_path = dir.0.join("nutcracker.yml");
    std::fs::write(&conf_path, conf).unwrap();
    let mut child = Command::new(program)
        .arg("-c")
        .arg(&conf_path)
        .arg("-o")
        .arg(dir.0.join("nutcracker.log"))
        .arg("-p")
        .arg(dir.0.join("nutcracker.pid"))
        .args(["-a", "127.0.0.1", "-s", &free_port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nutcracker");
    wait_until("nutcracker", &mut child, || port_open(port));
    Server {
        child,
        address: format!("127.0.0.1:{port}"),
        port,
        _dir: Some(dir),
    }
}
