//! Entity-tags (RFC 9110 §8.8.3): parsing one or a list, and the strong
//! and weak comparisons (§8.8.3.2). Lenient where senders are known to
//! stray: `w/` for `W/`, and unquoted tags (`abc` read as `"abc"`).

/// One entity-tag: its opaque text (without quotes) and whether it is weak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntityTag<'a> {
    pub(crate) weak: bool,
    pub(crate) opaque: &'a str,
}

/// What an `If-Match` / `If-None-Match` value lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TagList<'a> {
    /// `*`: any current representation.
    Any,
    /// The listed tags (possibly none).
    Tags(Vec<EntityTag<'a>>),
}

impl EntityTag<'_> {
    /// Strong comparison: both strong and the same opaque text.
    pub(crate) fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: the same opaque text, weak or not.
    pub(crate) fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// Reads one entity-tag from the start of `s` (leading whitespace
/// skipped); returns it and the rest after it. An unquoted tag ends at a
/// comma or whitespace; an unterminated quote runs to the end.
fn next_tag(s: &str) -> Option<(EntityTag<'_>, &str)> {
    let s = s.trim_start();
    let (weak, s) = match s.get(..2) {
        Some("W/" | "w/") => (true, &s[2..]),
        _ => (false, s),
    };
    if let Some(quoted) = s.strip_prefix('"') {
        let end = quoted.find('"').unwrap_or(quoted.len());
        let rest = quoted.get(end + 1..).unwrap_or("");
        return Some((
            EntityTag {
                weak,
                opaque: &quoted[..end],
            },
            rest,
        ));
    }
    let end = s.find(|c: char| c == ',' || c.is_ascii_whitespace()).unwrap_or(s.len());
    (end > 0).then(|| {
        (
            EntityTag {
                weak,
                opaque: &s[..end],
            },
            &s[end..],
        )
    })
}

/// A single entity-tag such as an `ETag` value; `None` if empty.
pub(crate) fn parse_tag(v: &str) -> Option<EntityTag<'_>> {
    let (tag, rest) = next_tag(v)?;
    rest.trim().is_empty().then_some(tag)
}

/// A comma-separated list of entity-tags, or `*` (as any member, since
/// several field lines arrive joined with `, `). Text that is not a tag
/// (stray characters between members) is skipped.
pub(crate) fn parse_list(v: &str) -> TagList<'_> {
    let mut tags = Vec::new();
    let mut rest = v;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return TagList::Tags(tags);
        }
        if let Some(after) = rest.strip_prefix('*') {
            if after.trim_start().is_empty() || after.trim_start().starts_with(',') {
                return TagList::Any;
            }
        }
        match next_tag(rest) {
            Some((tag, after)) => {
                tags.push(tag);
                rest = after;
            }
            None => {
                let skip = rest.chars().next().map_or(0, char::len_utf8);
                rest = &rest[skip..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(weak: bool, opaque: &str) -> EntityTag<'_> {
        EntityTag { weak, opaque }
    }

    #[test]
    fn rfc9110_8_8_3_parses_strong_weak_and_lenient_forms() {
        assert_eq!(parse_tag("\"xyzzy\""), Some(tag(false, "xyzzy")));
        assert_eq!(parse_tag(" W/\"xyzzy\" "), Some(tag(true, "xyzzy")));
        assert_eq!(parse_tag("w/\"xyzzy\""), Some(tag(true, "xyzzy")));
        assert_eq!(parse_tag("xyzzy"), Some(tag(false, "xyzzy")));
        assert_eq!(parse_tag("\"\""), Some(tag(false, "")));
        assert_eq!(parse_tag("\"caf\u{e9}\""), Some(tag(false, "caf\u{e9}")));
        assert_eq!(parse_tag(""), None);
        assert_eq!(parse_tag("\"a\" \"b\""), None);
    }

    #[test]
    fn rfc9110_8_8_3_2_strong_and_weak_comparison_table() {
        // The four rows of the RFC's comparison example.
        let rows = [
            ("W/\"1\"", "W/\"1\"", false, true),
            ("W/\"1\"", "W/\"2\"", false, false),
            ("W/\"1\"", "\"1\"", false, true),
            ("\"1\"", "\"1\"", true, true),
        ];
        for (a, b, strong, weak) in rows {
            let (a, b) = (parse_tag(a).unwrap(), parse_tag(b).unwrap());
            assert_eq!(a.strong_eq(&b), strong, "{a:?} {b:?}");
            assert_eq!(a.weak_eq(&b), weak, "{a:?} {b:?}");
        }
    }

    #[test]
    fn rfc9110_13_1_2_lists_and_star() {
        assert_eq!(
            parse_list("\"a\", W/\"b\",c ,, \"d,e\""),
            TagList::Tags(vec![
                tag(false, "a"),
                tag(true, "b"),
                tag(false, "c"),
                tag(false, "d,e")
            ])
        );
        assert_eq!(parse_list("*"), TagList::Any);
        assert_eq!(parse_list(" \"a\", * "), TagList::Any);
        assert_eq!(parse_list("\"*\""), TagList::Tags(vec![tag(false, "*")]));
        assert_eq!(parse_list(""), TagList::Tags(vec![]));
        assert_eq!(
            parse_list("\"unterminated"),
            TagList::Tags(vec![tag(false, "unterminated")])
        );
    }
}
