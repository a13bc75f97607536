//! Byte streams to a server (memcached's text protocol and its proxies):
//! Workers TCP sockets on the edge, std TCP and Unix sockets natively.

use async_trait::async_trait;

use super::TransportError;

/// One open connection.
#[async_trait(?Send)]
pub trait ByteStream {
    /// Writes all of `bytes`.
    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    /// Reads what is available into `buf` (at least one byte; 0 = closed).
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;
}

/// Opens connections by address: `host:port`, or a Unix socket path
/// (starting with `/`) where the platform has them.
#[async_trait(?Send)]
pub trait StreamTransport {
    /// Connects within `connect_timeout_ms`; reads and writes on the stream
    /// time out after `timeout_ms` each.
    async fn connect(
        &self,
        address: &str,
        connect_timeout_ms: u64,
        timeout_ms: u64,
    ) -> Result<Box<dyn ByteStream>, TransportError>;
}

/// `host:port` split for a platform that has TCP but no Unix sockets
/// (`who` names it in the error): IPv6 brackets dropped, a socket path or
/// a missing port refused.
pub fn tcp_host_port<'a>(address: &'a str, who: &str) -> Result<(&'a str, u16), TransportError> {
    if address.starts_with('/') {
        return Err(TransportError::Connect(format!(
            "{address}: {who} cannot open Unix sockets; use host:port or the HTTP gateway"
        )));
    }
    address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(|| TransportError::Connect(format!("{address}: not host:port")))
}

/// Blocking std sockets behind the async traits: for native tests,
/// benchmarks and Rust programs that have no async I/O of their own.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct StdStreams;

#[cfg(not(target_arch = "wasm32"))]
mod std_impl {
    use std::io::{Read, Write};
    use std::time::Duration;

    use async_trait::async_trait;

    use super::{ByteStream, StdStreams, StreamTransport, TransportError};

    fn io_error(e: std::io::Error, timeout_ms: u64) -> TransportError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => TransportError::Timeout { ms: timeout_ms },
            _ => TransportError::Io(e.to_string()),
        }
    }

    struct Std<S> {
        stream: S,
        timeout_ms: u64,
    }

    #[async_trait(?Send)]
    impl<S: Read + Write> ByteStream for Std<S> {
        async fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
            self.stream.write_all(bytes).map_err(|e| io_error(e, self.timeout_ms))
        }
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
            self.stream.read(buf).map_err(|e| io_error(e, self.timeout_ms))
        }
    }

    #[async_trait(?Send)]
    impl StreamTransport for StdStreams {
        async fn connect(
            &self,
            address: &str,
            connect_timeout_ms: u64,
            timeout_ms: u64,
        ) -> Result<Box<dyn ByteStream>, TransportError> {
            let limit = Duration::from_millis(connect_timeout_ms.max(1));
            let timeout = Some(Duration::from_millis(timeout_ms.max(1)));
            #[cfg(unix)]
            if address.starts_with('/') {
                let s = std::os::unix::net::UnixStream::connect(address)
                    .map_err(|e| TransportError::Connect(format!("{address}: {e}")))?;
                s.set_read_timeout(timeout)
                    .and(s.set_write_timeout(timeout))
                    .map_err(|e| io_error(e, timeout_ms))?;
                return Ok(Box::new(Std { stream: s, timeout_ms }));
            }
            let addrs = std::net::ToSocketAddrs::to_socket_addrs(address)
                .map_err(|e| TransportError::Connect(format!("{address}: {e}")))?;
            let mut last = TransportError::Connect(format!("{address}: no address"));
            for a in addrs {
                match std::net::TcpStream::connect_timeout(&a, limit) {
                    Ok(s) => {
                        s.set_read_timeout(timeout)
                            .and(s.set_write_timeout(timeout))
                            .map_err(|e| io_error(e, timeout_ms))?;
                        let _ = s.set_nodelay(true);
                        return Ok(Box::new(Std { stream: s, timeout_ms }));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                        last = TransportError::Timeout { ms: connect_timeout_ms }
                    }
                    Err(e) => last = TransportError::Connect(format!("{address}: {e}")),
                }
            }
            Err(last)
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn host_port_for_tcp_only_platforms() {
        assert_eq!(tcp_host_port("10.0.0.1:11211", "x").unwrap(), ("10.0.0.1", 11211));
        assert_eq!(tcp_host_port("[::1]:11211", "x").unwrap(), ("::1", 11211));
        assert!(tcp_host_port("/run/mc.sock", "a Worker")
            .unwrap_err()
            .to_string()
            .contains("a Worker cannot open Unix sockets"));
        assert!(tcp_host_port("host", "x")
            .unwrap_err()
            .to_string()
            .contains("not host:port"));
        assert!(tcp_host_port("host:99999", "x").is_err());
    }

    #[test]
    fn std_tcp_round_trip_refusal_and_read_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf.map(|b| b.to_ascii_uppercase())).unwrap();
            // Then say nothing more, so the client's next read times out.
            std::thread::sleep(std::time::Duration::from_millis(300));
        });
        block_on(async {
            let mut c = StdStreams.connect(&addr, 100, 100).await.unwrap();
            c.write_all(b"hello").await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 8];
            while got.len() < 5 {
                let n = c.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"HELLO");
            assert_eq!(c.read(&mut buf).await.unwrap_err(), TransportError::Timeout { ms: 100 });
        });
        server.join().unwrap();
        // Nothing listens there any more.
        let refused = block_on(StdStreams.connect(&addr, 100, 100)).err().unwrap();
        assert!(matches!(refused, TransportError::Connect(_)), "{refused:?}");
    }
}
