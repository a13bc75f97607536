//! The admin API's bearer token check.

use super::reply::AdminReply;

/// Checks the bearer token. With no token configured the API is closed:
/// an open admin API on a public Worker would let anyone rewrite the cache.
pub fn authorize(configured: Option<&str>, header: Option<&str>) -> Result<(), AdminReply> {
    let Some(token) = configured.filter(|t| !t.is_empty()) else {
        return Err(AdminReply::error(
            403,
            "admin_disabled",
            "the admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN) and send Authorization: Bearer <token>",
        ));
    };
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let given = header
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, t)| t.trim_start());
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(AdminReply::error(401, "unauthorized", "missing or wrong bearer token"))
    }
}

/// Equality in time that depends only on the longer length, so the
/// comparison leaks neither where the first difference is nor whether the
/// lengths differ (it reads past the shorter one as zeros).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..n {
        let (x, y) = (a.get(i).copied().unwrap_or(0), b.get(i).copied().unwrap_or(0));
        diff |= u64::from(x ^ y);
    }
    diff == 0
}
