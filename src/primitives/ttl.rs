//! Time to live, with "use the backend's default", "never expire" and "this
//! many seconds" as distinct values rather than magic numbers.

use crate::primitives::error::{CacheError, Result};

/// Lifetimes of at least this many ms (2^46, about 2,230 years) mean never.
pub const FOREVER_MS: u64 = 1 << 46;

/// A backend's default lifetime for entries (Ellar's `ttl`; `None` there is
/// [`Timeout::Never`] here).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Timeout {
    /// Keys never expire.
    Never,
    /// Keys expire after this many seconds; `0` (or less) expires them at once.
    Seconds(f64),
}

impl Default for Timeout {
    /// Ellar's and Django's default: 300 seconds.
    fn default() -> Self {
        Timeout::Seconds(300.0)
    }
}

/// The lifetime a call asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Ttl {
    /// The backend's configured [`Timeout`].
    #[default]
    Default,
    /// Never expire.
    Never,
    /// Expire after this many seconds; `0` (or less) expires at once.
    Seconds(f64),
}

impl From<Timeout> for Ttl {
    fn from(t: Timeout) -> Self {
        match t {
            Timeout::Never => Ttl::Never,
            Timeout::Seconds(s) => Ttl::Seconds(s),
        }
    }
}

/// When an entry stops being served, in milliseconds on the backend's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// Never expires.
    Never,
    /// Already expired: a write with this expiry removes the key.
    Now,
    /// Expires at this time, in ms on the backend's clock.
    At(u64),
}

impl Ttl {
    /// Replaces [`Ttl::Default`] by the backend's default.
    pub fn or(self, default: Timeout) -> Timeout {
        match self {
            Ttl::Default => default,
            Ttl::Never => Timeout::Never,
            Ttl::Seconds(s) => Timeout::Seconds(s),
        }
    }
}

impl Timeout {
    /// Checks that seconds are a finite number.
    pub fn validate(self) -> Result<Self> {
        match self {
            Timeout::Seconds(s) if !s.is_finite() => Err(CacheError::InvalidTtl(format!(
                "{s} is not a finite number of seconds; use Ttl::Never for keys that never expire"
            ))),
            t => Ok(t),
        }
    }

    /// The expiry of an entry written at `now_ms`. Fractions of a millisecond
    /// round up, so a positive TTL always outlives the write.
    pub fn expiry(self, now_ms: u64) -> Result<Expiry> {
        Ok(match self.validate()? {
            Timeout::Never => Expiry::Never,
            Timeout::Seconds(s) if s <= 0.0 => Expiry::Now,
            Timeout::Seconds(s) => {
                let ms = (s * 1000.0).ceil();
                // Beyond ~2,200 years is never: the store's deadlines stop at
                // 2^47 ms, and Redis refuses a PX past i64::MAX − now.
                if ms >= FOREVER_MS as f64 {
                    Expiry::Never
                } else {
                    Expiry::At(now_ms.saturating_add(ms as u64))
                }
            }
        })
    }
}

impl Expiry {
    /// The deadline as the store keeps it (`None` = never).
    pub fn deadline(self, now_ms: u64) -> Option<u64> {
        match self {
            Expiry::Never => None,
            Expiry::Now => Some(now_ms),
            Expiry::At(t) => Some(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_resolution() {
        assert_eq!(Ttl::Default.or(Timeout::Never), Timeout::Never);
        assert_eq!(Ttl::Seconds(5.0).or(Timeout::Never), Timeout::Seconds(5.0));
        assert_eq!(Ttl::Never.or(Timeout::Seconds(1.0)), Timeout::Never);
        assert_eq!(Timeout::default(), Timeout::Seconds(300.0));
    }

    #[test]
    fn expiry_values() {
        assert_eq!(Timeout::Never.expiry(10).unwrap(), Expiry::Never);
        assert_eq!(Timeout::Seconds(0.0).expiry(10).unwrap(), Expiry::Now);
        assert_eq!(Timeout::Seconds(-3.0).expiry(10).unwrap(), Expiry::Now);
        assert_eq!(Timeout::Seconds(1.5).expiry(10).unwrap(), Expiry::At(1510));
        assert_eq!(Timeout::Seconds(0.0001).expiry(10).unwrap(), Expiry::At(11));
        assert_eq!(Timeout::Seconds(1e16).expiry(10).unwrap(), Expiry::Never);
        assert_eq!(
            Timeout::Seconds(((FOREVER_MS - 1) / 1000) as f64).expiry(0).unwrap(),
            Expiry::At((FOREVER_MS - 1) / 1000 * 1000)
        );
        assert!(Timeout::Seconds(f64::NAN).expiry(0).is_err());
        assert!(Timeout::Seconds(f64::INFINITY).expiry(0).is_err());
    }
}
