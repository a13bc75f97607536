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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
