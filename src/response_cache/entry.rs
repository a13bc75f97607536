//! A cached HTTP response as bytes, so any backend can hold it:
//! `ECR2`, a little-endian u32 length, a JSON head (status, headers, when it
//! was stored, freshness and stale windows, Vary names), then the body as is.
//!
//! Freshness, staleness and variants live in this head, not in the storage's
//! own metadata, so every store (a CacheService backend, the Cache API, a
//! tiered pair) behaves the same.

use serde::{Deserialize, Serialize};

use crate::http::{header_of, Freshness, HttpResponse, HOP_BY_HOP};
use crate::primitives::error::{CacheError, Result};

const MAGIC: &[u8; 4] = b"ECR2";

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A stored response: its head (status, headers, freshness, Vary) and body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedResponse {
    /// HTTP status; `0` marks a pointer to variants.
    pub status: u16,
    /// Headers as stored (connection headers and `Set-Cookie` removed).
    pub headers: Vec<(String, String)>,
    /// When it was stored, in ms on the cache's clock.
    pub stored_at_ms: u64,
    /// How long it is fresh and may be served stale.
    pub freshness: Freshness,
    /// Lower-cased names of the headers the response varies on. On a base
    /// key with a non-empty list and no status, this entry is only a pointer
    /// to variants (see [`CachedResponse::variants`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vary: Vec<String>,
    /// The origin's cache tags (`Cache-Tag`, `Surrogate-Key`), for purges by tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The purge log sequence its isolate had synced before fetching it:
    /// a matching purge with a later sequence invalidates it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub purge_seq: u64,
    /// Body bytes, kept after the JSON head rather than in it.
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl CachedResponse {
    /// The entry stored at a base key whose responses vary: it names the
    /// headers that pick the variant.
    pub fn variants(vary: Vec<String>, stored_at_ms: u64, freshness: Freshness) -> Self {
        CachedResponse {
            status: 0,
            headers: Vec::new(),
            stored_at_ms,
            freshness,
            vary,
            tags: Vec::new(),
            purge_seq: 0,
            body: Vec::new(),
        }
    }

    /// Whether this is only a pointer to variants (status `0`).
    pub fn is_variants(&self) -> bool {
        self.status == 0
    }

    /// The stored bytes: `ECR2`, the head's length (u32 LE), the JSON head, the body.
    pub fn encode(&self) -> Vec<u8> {
        let head = serde_json::to_vec(self).expect("a response head always serializes");
        let mut out = Vec::with_capacity(8 + head.len() + self.body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&self.body);
        out
    }

    /// Parses [`CachedResponse::encode`]'s bytes; anything else is [`CacheError::Corrupt`].
    pub fn decode(raw: &[u8]) -> Result<Self> {
        let corrupt = |why: &str| CacheError::Corrupt(format!("cached response: {why}"));
        let rest = raw
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("missing ECR2 header"))?;
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

    /// Every value of stored header `name` joined with `, `; `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    /// Whether it can be revalidated: it has an `ETag` or a `Last-Modified`.
    pub fn has_validator(&self) -> bool {
        self.header("etag").is_some() || self.header("last-modified").is_some()
    }

    /// Whether a 304 is about this response (RFC 9111 §4.3.4): the same
    /// entity-tag (weakly compared), else the same `Last-Modified`, else
    /// a 304 without validators (this is the one stored response).
    pub fn validates(&self, not_modified: &HttpResponse) -> bool {
        let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
        if let Some(tag) = not_modified.header("etag") {
            return self.header("etag").is_some_and(|mine| weak(&mine) == weak(&tag));
        }
        match not_modified.header("last-modified") {
            Some(lm) => self
                .header("last-modified")
                .is_some_and(|mine| mine.trim() == lm.trim()),
            None => true,
        }
    }

    /// This response with the header fields of a 304 for it (RFC 9111
    /// §3.2): each field the 304 carries replaces the stored one, except
    /// `Content-Length` (the body is the stored one) and connection
    /// headers.
    pub fn updated_by(&self, not_modified: &HttpResponse) -> HttpResponse {
        let skip =
            |k: &str| k.eq_ignore_ascii_case("content-length") || HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(k));
        let fresh: Vec<&(String, String)> = not_modified.headers.iter().filter(|(k, _)| !skip(k)).collect();
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| !fresh.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        headers.extend(fresh.into_iter().cloned());
        HttpResponse {
            status: self.status,
            headers,
            body: self.body.clone(),
            stream: None,
        }
    }

    /// Seconds since the origin made it (the `Age` header): `stored_at_ms`
    /// is back-dated by the age it arrived with.
    pub fn age_secs(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.stored_at_ms) / 1000
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
            freshness: Freshness {
                fresh_ms: Some(60_000),
                swr_ms: 0,
                sie_ms: 5,
                keep_ms: 0,
                must_revalidate: false,
            },
            vary: vec!["accept".into()],
            tags: vec!["t1".into()],
            purge_seq: 42,
            body: vec![0, 159, 146, 150],
        };
        let enc = r.encode();
        assert_eq!(CachedResponse::decode(&enc).unwrap(), r);
        assert!(CachedResponse::decode(&enc[..6]).is_err());
        assert!(CachedResponse::decode(&enc[..12]).is_err());
        assert!(CachedResponse::decode(b"nope").is_err());
        assert_eq!(r.age_secs(3500), 2);
        let v = CachedResponse::variants(vec!["accept".into()], 0, r.freshness);
        assert!(v.is_variants() && !r.is_variants());
        assert_eq!(CachedResponse::decode(&v.encode()).unwrap(), v);
    }
}
