//! How backends reach their servers, as traits the platforms implement: one
//! HTTP POST ([`HttpTransport`]: `fetch` in Workers and browsers) and a byte
//! stream ([`StreamTransport`]: Workers TCP sockets, std TCP and Unix
//! sockets natively). Backends hold only these traits, so their protocol code
//! is platform-free and tested natively.

mod error;
mod http;
mod stream;

pub use error::TransportError;
pub use http::{HttpReply, HttpTransport};
#[cfg(not(target_arch = "wasm32"))]
pub use stream::StdStreams;
pub use stream::{tcp_host_port, ByteStream, StreamTransport};
