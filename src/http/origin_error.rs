//! Why the origin gave no answer the cache can use, as a type: a timeout is
//! a 504, everything else a 502, and both count as origin errors (so a
//! stale entry may be served under stale-if-error).

use std::fmt;

/// A failed origin call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginError {
    /// The origin could not be reached (refused, DNS, TLS, reset).
    Unreachable(String),
    /// No response headers within the route's `origin_timeout_ms`.
    Timeout {
        /// The timeout that passed, in milliseconds.
        ms: u64,
    },
    /// A status a response cannot carry to the client (1xx as a final
    /// answer, or outside 200–599).
    BadStatus(u16),
    /// The wrapped handler failed.
    Handler(String),
}

impl OriginError {
    /// The status the client gets when nothing stored can stand in.
    pub fn status(&self) -> u16 {
        match self {
            OriginError::Timeout { .. } => 504,
            _ => 502,
        }
    }
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::Unreachable(m) => write!(f, "origin unreachable: {m}"),
            OriginError::Timeout { ms } => write!(f, "origin timeout: no answer within {ms} ms"),
            OriginError::BadStatus(s) => write!(f, "the origin answered status {s}, which cannot be relayed"),
            OriginError::Handler(m) => write!(f, "the handler failed: {m}"),
        }
    }
}

impl std::error::Error for OriginError {}
