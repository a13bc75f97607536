//! `Vary`: which request headers split a URL into variants.

/// The header names a `Vary` value lists, lower-cased and sorted (so the
/// same set always makes the same variant key).
pub fn vary_names(vary: &str) -> Vec<String> {
    let mut v: Vec<String> = vary
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The variant key: the base key plus the request's values of the Vary
/// headers (an absent header differs from an empty one).
pub fn variant_key(base: &str, names: &[String], header: impl Fn(&str) -> Option<String>) -> String {
    let mut k = String::from(base);
    for n in names {
        k.push('\u{1f}');
        k.push_str(n);
        match header(n) {
            Some(v) => {
                k.push('=');
                k.push_str(v.trim());
            }
            None => k.push('!'),
        }
    }
    k
}
