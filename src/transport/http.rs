//! One HTTP POST, the only call the HTTP-based backends make.

use async_trait::async_trait;

use super::TransportError;

/// One HTTP POST; the platform supplies it (`fetch` in a Worker).
#[async_trait(?Send)]
pub trait HttpTransport {
    /// Sends `body` to `url` and returns the status and the whole reply body,
    /// or why there is none within `timeout_ms`.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError>;
}
