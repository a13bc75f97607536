//! `Cache-Control` parsing and delta-seconds (RFC 9111 §1.2.2, §5.2).

/// The directives of a Cache-Control value, lower-cased, with their values.
pub fn cache_control(value: &str) -> Vec<(String, Option<String>)> {
    value
        .split(',')
        .filter_map(|d| {
            let d = d.trim();
            if d.is_empty() {
                return None;
            }
            let (k, v) = match d.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"').to_string())),
                None => (d, None),
            };
            Some((k.to_ascii_lowercase(), v))
        })
        .collect()
}

pub(crate) fn directive(cc: &[(String, Option<String>)], name: &str) -> Option<Option<String>> {
    cc.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Largest delta-seconds a cache keeps (RFC 9111 §1.2.2: bigger values,
/// and overflowing ones, count as 2^31).
pub(crate) const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// A delta-seconds value (a directive's, or the `Age` header's): digits,
/// at most 2^31; `None` if it is anything else.
pub fn delta_seconds(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.parse::<u64>().unwrap_or(MAX_DELTA_SECONDS).min(MAX_DELTA_SECONDS))
}

/// A delta-seconds directive: absent → `None`; invalid (`-1`, `10s`, no
/// value) → 0, since invalid freshness information means stale (RFC 9111
/// §4.2.1).
pub(crate) fn seconds(cc: &[(String, Option<String>)], name: &str) -> Option<f64> {
    let v = directive(cc, name)?.unwrap_or_default();
    Some(delta_seconds(&v).unwrap_or(0) as f64)
}
