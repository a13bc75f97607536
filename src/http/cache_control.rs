//! `Cache-Control` parsing and delta-seconds (RFC 9111 §1.2.2, §5.2).

/// The directives of a Cache-Control value, lower-cased, with their values
/// (quoted strings unquoted; a comma inside quotes does not split).
pub fn cache_control(value: &str) -> Vec<(String, Option<String>)> {
    split_outside_quotes(value)
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

/// Splits a header value at the commas outside quoted strings.
fn split_outside_quotes(value: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    value.split(move |c: char| {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return true,
            _ => {}
        }
        false
    })
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

/// The `Age` header's value in seconds (RFC 9111 §5.1): the first member
/// of a list counts; anything that is not delta-seconds is ignored (0).
pub fn parse_age(value: &str) -> u64 {
    delta_seconds(value.split(',').next().unwrap_or("").trim()).unwrap_or(0)
}
