//! The `Cache-Status` header (RFC 9211).

use super::reason::Forward;

/// Builds a `Cache-Status` value (RFC 9211) for the cache named `edgecache`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheStatus {
    pub hit: bool,
    /// `miss`, `stale`, `request`, `bypass`, `vary-miss`, `uri-miss`.
    pub fwd: Option<Forward>,
    pub fwd_status: Option<u16>,
    /// Seconds of freshness left (negative when stale).
    pub ttl: Option<i64>,
    pub stored: bool,
    pub collapsed: bool,
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
