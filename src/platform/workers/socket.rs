//! Workers TCP sockets (`connect()` from `cloudflare:sockets`) as the
//! stream transport of the memcached backend. Production Workers refuse
//! private addresses; local workerd reaches 127.0.0.1 (README: which
//! transport to use when).

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::{select, Either};
use futures::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use worker::{Delay, SecureTransport, Socket};

use crate::transport::{tcp_host_port, ByteStream, StreamTransport, TransportError};

/// Opens Workers TCP sockets.
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketTransport;

struct WorkerSocket {
    socket: Socket,
    timeout_ms: u64,
}

/// `fut`, or a timeout after `ms`.
async fn within<T>(ms: u64, fut: impl std::future::Future<Output = T>) -> Result<T, TransportError> {
    let fut = std::pin::pin!(fut);
    match select(fut, Delay::from(Duration::from_millis(ms)).boxed_local()).await {
        Either::Left((v, _)) => Ok(v),
        Either::Right(_) => Err(TransportError::Timeout { ms }),
    }
}

fn io(e: std::io::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

#[async_trait(?Send)]
impl ByteStream for WorkerSocket {
    async fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
        let socket = &mut self.socket;
        within(self.timeout_ms, async move {
            while !bytes.is_empty() {
                let n = poll_fn(|cx| Pin::new(&mut *socket).poll_write(cx, bytes))
                    .await
                    .map_err(io)?;
                if n == 0 {
                    return Err(TransportError::Io("the socket accepted no bytes".into()));
                }
                bytes = &bytes[n..];
            }
            poll_fn(|cx| Pin::new(&mut *socket).poll_flush(cx)).await.map_err(io)
        })
        .await?
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let socket = &mut self.socket;
        within(self.timeout_ms, async move {
            let mut rb = ReadBuf::new(buf);
            poll_fn(|cx| Pin::new(&mut *socket).poll_read(cx, &mut rb))
                .await
                .map_err(io)?;
            Ok(rb.filled().len())
        })
        .await?
    }
}

#[async_trait(?Send)]
impl StreamTransport for SocketTransport {
    async fn connect(
        &self,
        address: &str,
        connect_timeout_ms: u64,
        timeout_ms: u64,
    ) -> Result<Box<dyn ByteStream>, TransportError> {
        let (host, port) = tcp_host_port(address, "a Worker")?;
        let socket = Socket::builder()
            .secure_transport(SecureTransport::Off)
            .connect(host, port)
            .map_err(|e| TransportError::Connect(format!("{address}: {e}")))?;
        within(connect_timeout_ms, socket.opened())
            .await?
            .map_err(|e| TransportError::Connect(format!("{address}: {e}")))?;
        Ok(Box::new(WorkerSocket { socket, timeout_ms }))
    }
}
