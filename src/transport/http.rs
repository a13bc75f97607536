//! One HTTP POST, the only call the HTTP-based backends make (Redis REST,
//! the memcached gateway).

use async_trait::async_trait;

use super::TransportError;

/// What came back: the status, the headers asked for (names lower-case) and the
/// whole body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// A reply with no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpReply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP POST; the platform supplies it (`fetch` in a Worker).
///
/// Header values are byte strings as in `fetch`: each char from U+0000 to
/// U+00FF stands for one byte (the memcached gateway sends a key's UTF-8
/// bytes that way, since nginx reads raw header bytes).
#[async_trait(?Send)]
pub trait HttpTransport {
    /// Sends `body` to `url` and returns the reply, or why there is none
    /// within `timeout_ms`. The reply carries only the headers named in
    /// `want` (lower case): in JS each header read is a host call.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        want: &[&str],
        timeout_ms: u64,
    ) -> Result<HttpReply, TransportError>;
}
