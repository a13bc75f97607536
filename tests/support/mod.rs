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
        assert!(start.elapsed() < Duration::from_secs(10), "{what} did not start within 10 s");
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
        .args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0", "-m", "64", "-u", "root"])
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
    assert!(
        py.is_file(),
        "{} is missing: run `bash scripts/setup.sh`",
        py.display()
    );
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
