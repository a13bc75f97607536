//! The `Cache-Status` header (RFC 9211).

use super::reason::Forward;

/// Builds a `Cache-Status` value (RFC 9211) for the cache named `edgecache`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheStatus {
    /// Served from the cache (`hit`).
    pub hit: bool,
    /// `miss`, `stale`, `request`, `bypass`, `vary-miss`, `uri-miss`.
    pub fwd: Option<Forward>,
    /// The origin's status, when the request went forward (`fwd-status`).
    pub fwd_status: Option<u16>,
    /// Seconds of freshness left (negative when stale).
    pub ttl: Option<i64>,
    /// The origin's answer was stored (`stored`).
    pub stored: bool,
    /// The answer came from another request's origin fetch (`collapsed`).
    pub collapsed: bool,
    /// Why, e.g. `stale-while-revalidate` or a not-stored reason (`detail`).
    pub detail: Option<String>,
}

impl std::fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("edgecache")?;
        if self.hit {
            f.write_str("; hit")?;
        }
        if let Some(fwd) = self.fwd {
            write!(f, "; fwd={}", fwd.as_str())?;
        }
        if let Some(s) = self.fwd_status {
            write!(f, "; fwd-status={s}")?;
        }
        if let Some(t) = self.ttl {
            write!(f, "; ttl={t}")?;
        }
        if self.stored {
            f.write_str("; stored")?;
        }
        if self.collapsed {
            f.write_str("; collapsed")?;
        }
        if let Some(d) = &self.detail {
            write!(f, "; detail={d}")?;
        }
        Ok(())
    }
}
