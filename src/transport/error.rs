//! Why a transport call failed, as a type: backends turn it into
//! [`CacheError::Backend`](crate::CacheError) with the server named, and
//! circuit breakers can tell a timeout from a refused connection.

use std::fmt;

/// A failed call to a server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// No answer within the call's timeout.
    Timeout {
        /// The timeout that passed, in milliseconds.
        ms: u64,
    },
    /// The server could not be reached (refused, DNS, TLS, reset).
    Connect(String),
    /// The connection broke or the platform failed mid-call.
    Io(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout { ms } => write!(f, "no answer within {ms} ms"),
            TransportError::Connect(m) => write!(f, "cannot connect: {m}"),
            TransportError::Io(m) => write!(f, "connection failed: {m}"),
        }
    }
}

impl std::error::Error for TransportError {}
