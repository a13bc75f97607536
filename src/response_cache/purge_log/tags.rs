//! Cache tags from the origin's response headers (`Cache-Tag`,
//! `Surrogate-Key`): stored with the entry so a purge by tag needs no scan.

use crate::http::HttpResponse;

/// At most this many tags are kept per response (the rest are ignored, as
/// CDNs cap them): the check on a hit is one lookup per tag.
pub const MAX_TAGS: usize = 64;
/// Longer tags are ignored.
pub const MAX_TAG_BYTES: usize = 256;

/// Which headers carry tags and whether they reach the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagOptions {
    /// Lower-case header names read for tags.
    pub headers: Vec<String>,
    /// Keep the tag headers in the response to clients (off by default:
    /// tags describe the origin's data model, not the page).
    pub expose: bool,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            headers: vec!["cache-tag".into(), "surrogate-key".into()],
            expose: false,
        }
    }
}

/// The tags of `response` (comma- or space-separated, in order, without
/// duplicates), removing their headers unless `expose`.
pub fn take_tags(response: &mut HttpResponse, opts: &TagOptions) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for (k, v) in &response.headers {
        if !opts.headers.iter().any(|h| k.eq_ignore_ascii_case(h)) {
            continue;
        }
        for t in v.split(|c: char| c == ',' || c.is_ascii_whitespace()) {
            if t.is_empty() || t.len() > MAX_TAG_BYTES || tags.len() >= MAX_TAGS {
                continue;
            }
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
        }
    }
    if !opts.expose {
        response
            .headers
            .retain(|(k, _)| !opts.headers.iter().any(|h| k.eq_ignore_ascii_case(h)));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)]) -> HttpResponse {
        let mut r = HttpResponse::text(200, "x");
        r.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn both_headers_both_separators_no_duplicates_and_stripped() {
        let mut r = resp(&[
            ("Cache-Tag", "product-7, catalog ,,"),
            ("content-type", "text/html"),
            ("surrogate-key", "catalog  home\tx"),
        ]);
        let tags = take_tags(&mut r, &TagOptions::default());
        assert_eq!(tags, ["product-7", "catalog", "home", "x"]);
        assert_eq!(r.headers, [("content-type".to_string(), "text/html".to_string())]);
    }

    #[test]
    fn exposed_headers_stay_and_other_names_are_configurable() {
        let opts = TagOptions {
            headers: vec!["x-tags".into()],
            expose: true,
        };
        let mut r = resp(&[("X-Tags", "a b"), ("cache-tag", "ignored")]);
        assert_eq!(take_tags(&mut r, &opts), ["a", "b"]);
        assert_eq!(r.headers.len(), 2);
    }

    #[test]
    fn too_many_or_too_long_tags_are_ignored() {
        let many: Vec<String> = (0..MAX_TAGS + 10).map(|i| format!("t{i}")).collect();
        let long = "x".repeat(MAX_TAG_BYTES + 1);
        let mut r = resp(&[("cache-tag", &format!("{long} {}", many.join(",")))]);
        let tags = take_tags(&mut r, &TagOptions::default());
        assert_eq!(tags.len(), MAX_TAGS);
        assert_eq!(tags[0], "t0");
        assert!(r.headers.is_empty());
    }
}
