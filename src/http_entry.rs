//! A cached HTTP response as bytes, so any backend can hold it:
//! `ECR1`, a little-endian u32 length, a JSON head (status, headers, when it
//! was stored, how long it is fresh), then the body as is.

use serde::{Deserialize, Serialize};

use crate::error::{CacheError, Result};

const MAGIC: &[u8; 4] = b"ECR1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// When it was stored, in ms on the Worker's clock.
    pub stored_at_ms: u64,
    /// How long it is fresh, in ms; `None` = until evicted.
    pub fresh_for_ms: Option<u64>,
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl CachedResponse {
    pub fn encode(&self) -> Vec<u8> {
        let head = serde_json::to_vec(self).expect("a response head always serializes");
        let mut out = Vec::with_capacity(8 + head.len() + self.body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&self.body);
        out
    }

    pub fn decode(raw: &[u8]) -> Result<Self> {
        let corrupt = |why: &str| CacheError::Corrupt(format!("cached response: {why}"));
        let rest = raw
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("missing ECR1 header"))?;
        if rest.len() < 4 {
            return Err(corrupt("truncated length"));
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let rest = &rest[4..];
        if rest.len() < len {
            return Err(corrupt("truncated head"));
        }
        let mut r: CachedResponse =
            serde_json::from_slice(&rest[..len]).map_err(|e| corrupt(&format!("bad head: {e}")))?;
        r.body = rest[len..].to_vec();
        Ok(r)
    }

    /// Seconds since it was stored (the `Age` header).
    pub fn age_secs(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.stored_at_ms) / 1000
    }

    /// Seconds of freshness left, if bounded.
    pub fn ttl_left_secs(&self, now_ms: u64) -> Option<i64> {
        self.fresh_for_ms
            .map(|f| ((self.stored_at_ms + f) as i64 - now_ms as i64).div_euclid(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_corruption() {
        let r = CachedResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            stored_at_ms: 1000,
            fresh_for_ms: Some(60_000),
            body: vec![0, 159, 146, 150],
        };
        let enc = r.encode();
        assert_eq!(CachedResponse::decode(&enc).unwrap(), r);
        assert!(CachedResponse::decode(&enc[..6]).is_err());
        assert!(CachedResponse::decode(&enc[..12]).is_err());
        assert!(CachedResponse::decode(b"nope").is_err());
        assert_eq!(r.age_secs(3500), 2);
        assert_eq!(r.ttl_left_secs(3500), Some(57));
    }
}
