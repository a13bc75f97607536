//! Targeted cache control (RFC 9213): `CDN-Cache-Control` and its
//! Cloudflare-specific sibling, Structured Field Dictionaries (RFC 8941)
//! read with a small strict parser.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// The targeted fields this cache obeys, most specific first (RFC 9213
/// §2.2: a cache uses the first one in its list that is present and valid).
pub const TARGETED: [&str; 2] = ["cloudflare-cdn-cache-control", "cdn-cache-control"];

/// Cache directives as `cache_control()` returns them: (lower-case name,
/// value as text).
pub type Directives = Vec<(String, Option<String>)>;

/// Directives whose value is a delta-seconds: an RFC 8941 Integer >= 0.
const SECONDS: [&str; 6] = [
    "max-age",
    "s-maxage",
    "stale-while-revalidate",
    "stale-if-error",
    "max-stale",
    "min-fresh",
];

/// Directives that may carry a list of field names: a String, or true.
const FIELD_LIST: [&str; 2] = ["no-cache", "private"];

/// Directives that take no value (or, those in `FIELD_LIST`, a String):
/// anything but Boolean true (or that String) is the wrong type.
const FLAGS: [&str; 10] = [
    "no-store",
    "public",
    "must-revalidate",
    "proxy-revalidate",
    "immutable",
    "no-transform",
    "must-understand",
    "only-if-cached",
    "no-cache",
    "private",
];

/// An RFC 8941 bare item, as far as a cache directive needs it.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Integer(i64),
    /// Kept as sent (`-1.5`): directives never want a decimal.
    Decimal(String),
    String(String),
    Token(String),
    /// Kept as its base64 text.
    Bytes(String),
    Boolean(bool),
    /// An inner list; no cache directive takes one.
    InnerList,
}

/// The cache directives of the first targeted field in [`TARGETED`] order
/// whose value is a valid, non-empty RFC 8941 Dictionary, with the field's
/// name; `None` when there is none (then `Cache-Control` applies). Same
/// shape as `cache_control()`: (name, value as text), integers as digits,
/// strings unquoted, tokens as is, `?1` → no value, `?0` → directive
/// absent; parameters are ignored; a repeated key keeps its last value
/// (RFC 8941 §4.2.2).
///
/// RFC 9213 §2.1 maps directive values to Structured types and says not to
/// consume values that break them, rather than coerce: a directive whose
/// value has the wrong type (`max-age="60"`, `max-age=1.5`, `max-age=-1`,
/// `no-store=5`) is dropped, and the rest of the field still applies.
/// Keys must be lower-case in RFC 8941, so `Max-Age=60` makes the field
/// fail to parse; RFC 9213 §2.1 says a field that fails to parse is
/// ignored as if absent, so the next field (then `Cache-Control`) is used.
pub fn targeted_cache_control(header: impl Fn(&str) -> Option<String>) -> Option<(&'static str, Directives)> {
    TARGETED.iter().find_map(|name| {
        let dict = parse_dictionary(&header(name)?)?;
        (!dict.is_empty()).then(|| (*name, directives(dict)))
    })
}

/// Dictionary members as cache directives, dropping ill-typed ones.
fn directives(dict: Vec<(String, Item)>) -> Directives {
    dict.into_iter()
        .filter_map(|(k, item)| {
            let is = |set: &[&str]| set.contains(&k.as_str());
            let value = match item {
                Item::Boolean(false) => return None,
                Item::Integer(n) if is(&SECONDS) && n >= 0 => Some(n.to_string()),
                _ if is(&SECONDS) => return None,
                Item::Boolean(true) => None,
                Item::String(s) if is(&FIELD_LIST) => Some(s),
                _ if is(&FLAGS) => return None,
                Item::Integer(n) => Some(n.to_string()),
                Item::Decimal(s) | Item::String(s) | Item::Token(s) | Item::Bytes(s) => Some(s),
                Item::InnerList => return None,
            };
            Some((k, value))
        })
        .collect()
}

/// Base64 as RFC 8941 §4.2.7 reads it: padding optional, nonzero
/// trailing bits tolerated.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A byte cursor over a field value (RFC 8941 §4.2 parses bytes).
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.i += hit as usize;
        hit
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // Only ASCII predicates are used, so this is valid UTF-8.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 8941 §4.2.2: a Dictionary; `None` if the value is not one. Leading
/// and trailing spaces are allowed (§4.2).
fn parse_dictionary(v: &str) -> Option<Vec<(String, Item)>> {
    let mut c = Cursor { s: v.as_bytes(), i: 0 };
    c.skip_sp();
    let mut dict: Vec<(String, Item)> = Vec::new();
    while c.peek().is_some() {
        let key = parse_key(&mut c)?;
        let item = if c.eat(b'=') {
            parse_item_or_inner_list(&mut c)?
        } else {
            parse_parameters(&mut c)?;
            Item::Boolean(true)
        };
        match dict.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = item,
            None => dict.push((key, item)),
        }
        c.skip_ows();
        if c.peek().is_none() {
            break;
        }
        if !c.eat(b',') {
            return None;
        }
        c.skip_ows();
        c.peek()?; // a trailing comma is invalid
    }
    Some(dict)
}

/// §4.2.3.3: `[a-z*][a-z0-9_\-.*]*`.
fn parse_key(c: &mut Cursor<'_>) -> Option<String> {
    if !c.peek().is_some_and(|b| b.is_ascii_lowercase() || b == b'*') {
        return None;
    }
    let key = c.take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b));
    Some(key.to_string())
}

/// §4.2.3.2: `;key[=value]` pairs, read and dropped.
fn parse_parameters(c: &mut Cursor<'_>) -> Option<()> {
    while c.eat(b';') {
        c.skip_sp();
        parse_key(c)?;
        if c.eat(b'=') {
            parse_bare_item(c)?;
        }
    }
    Some(())
}

fn parse_item_or_inner_list(c: &mut Cursor<'_>) -> Option<Item> {
    if c.peek() == Some(b'(') {
        parse_inner_list(c)?;
        return Some(Item::InnerList);
    }
    let item = parse_bare_item(c)?;
    parse_parameters(c)?;
    Some(item)
}

/// §4.2.1.2: `( item *( 1*SP item ) )` with parameters.
fn parse_inner_list(c: &mut Cursor<'_>) -> Option<()> {
    c.eat(b'(');
    loop {
        c.skip_sp();
        if c.eat(b')') {
            return parse_parameters(c);
        }
        parse_bare_item(c)?;
        parse_parameters(c)?;
        if !matches!(c.peek(), Some(b' ' | b')')) {
            return None;
        }
    }
}

/// §4.2.3.1.
fn parse_bare_item(c: &mut Cursor<'_>) -> Option<Item> {
    match c.peek()? {
        b'-' | b'0'..=b'9' => parse_number(c),
        b'"' => parse_string(c).map(Item::String),
        b':' => {
            c.eat(b':');
            let b64 = c
                .take_while(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                .to_string();
            (c.eat(b':') && BASE64.decode(&b64).is_ok()).then_some(Item::Bytes(b64))
        }
        b'?' => {
            c.eat(b'?');
            let value = match c.peek()? {
                b'1' => true,
                b'0' => false,
                _ => return None,
            };
            c.i += 1;
            Some(Item::Boolean(value))
        }
        b if b.is_ascii_alphabetic() || b == b'*' => {
            let token = c.take_while(|b| is_tchar(b) || b == b':' || b == b'/');
            Some(Item::Token(token.to_string()))
        }
        _ => None,
    }
}

/// §4.2.4: Integer (at most 15 digits) or Decimal (at most 12 integer
/// digits, 1–3 fractional).
fn parse_number(c: &mut Cursor<'_>) -> Option<Item> {
    let negative = c.eat(b'-');
    let int = c.take_while(|b| b.is_ascii_digit()).to_string();
    if int.is_empty() {
        return None;
    }
    if c.eat(b'.') {
        let frac = c.take_while(|b| b.is_ascii_digit());
        if int.len() > 12 || frac.is_empty() || frac.len() > 3 {
            return None;
        }
        let sign = if negative { "-" } else { "" };
        return Some(Item::Decimal(format!("{sign}{int}.{frac}")));
    }
    if int.len() > 15 {
        return None;
    }
    let n: i64 = int.parse().ok()?;
    Some(Item::Integer(if negative { -n } else { n }))
}

/// §4.2.5: printable ASCII, `\"` and `\\` escapes only.
fn parse_string(c: &mut Cursor<'_>) -> Option<String> {
    c.eat(b'"');
    let mut out = String::new();
    loop {
        match c.peek()? {
            b'\\' => {
                c.i += 1;
                match c.peek()? {
                    b @ (b'"' | b'\\') => out.push(b as char),
                    _ => return None,
                }
            }
            b'"' => {
                c.i += 1;
                return Some(out);
            }
            b @ 0x20..=0x7e => out.push(b as char),
            _ => return None,
        }
        c.i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targeted(headers: &[(&str, &str)]) -> Option<(&'static str, Directives)> {
        targeted_cache_control(|n| {
            let v: Vec<&str> = headers.iter().filter(|(k, _)| *k == n).map(|(_, v)| *v).collect();
            (!v.is_empty()).then(|| v.join(", "))
        })
    }

    fn dirs(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn rfc9213_2_1_dictionary_as_cache_directives() {
        let got = targeted(&[("cdn-cache-control", "max-age=60, public, stale-if-error=300")]);
        assert_eq!(
            got,
            Some((
                "cdn-cache-control",
                dirs(&[
                    ("max-age", Some("60")),
                    ("public", None),
                    ("stale-if-error", Some("300"))
                ])
            ))
        );
    }

    #[test]
    fn rfc9213_2_2_first_valid_field_in_list_order_wins() {
        let both = [
            ("cdn-cache-control", "max-age=60"),
            ("cloudflare-cdn-cache-control", "max-age=5"),
        ];
        assert_eq!(
            targeted(&both),
            Some(("cloudflare-cdn-cache-control", dirs(&[("max-age", Some("5"))])))
        );
        assert_eq!(targeted(&[("cache-control", "max-age=1")]), None);
        assert_eq!(targeted(&[]), None);
    }

    #[test]
    fn rfc9213_2_1_invalid_or_empty_field_falls_to_the_next() {
        for bad in [
            "",
            "   ",
            "max-age=60,",
            "max-age=60;",
            "max-age==1",
            "max-age=\"open",
            "a=1 b=2",
            ",a",
        ] {
            let h = [("cloudflare-cdn-cache-control", bad), ("cdn-cache-control", "no-store")];
            assert_eq!(
                targeted(&h),
                Some(("cdn-cache-control", dirs(&[("no-store", None)]))),
                "{bad:?}"
            );
            assert_eq!(targeted(&h[..1]), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc9213_2_1_uppercase_key_makes_the_field_invalid() {
        assert_eq!(targeted(&[("cdn-cache-control", "MaX-aGe=60")]), None);
        assert_eq!(targeted(&[("cdn-cache-control", "public, Max-Age=60")]), None);
    }

    #[test]
    fn rfc9213_2_1_wrong_type_directive_dropped_not_coerced() {
        for v in [
            "max-age=\"60\"",
            "max-age=1.5",
            "max-age=-1",
            "max-age=sixty",
            "max-age=?1",
            "max-age=(1 2)",
        ] {
            let got = targeted(&[("cdn-cache-control", &format!("{v}, public"))]);
            assert_eq!(got, Some(("cdn-cache-control", dirs(&[("public", None)]))), "{v}");
        }
        let got = targeted(&[("cdn-cache-control", "no-store=5, s-maxage=0")]);
        assert_eq!(got, Some(("cdn-cache-control", dirs(&[("s-maxage", Some("0"))]))));
    }

    #[test]
    fn rfc9213_2_1_booleans_strings_and_field_lists() {
        let got = targeted(&[(
            "cdn-cache-control",
            "no-store=?1, public=?0, private=\"set-cookie\", no-cache",
        )]);
        assert_eq!(
            got,
            Some((
                "cdn-cache-control",
                dirs(&[("no-store", None), ("private", Some("set-cookie")), ("no-cache", None)])
            ))
        );
    }

    #[test]
    fn rfc9213_2_1_only_false_members_still_a_valid_field() {
        // Non-empty and valid, so it wins, even though no directive applies.
        assert_eq!(
            targeted(&[("cdn-cache-control", "no-store=?0")]),
            Some(("cdn-cache-control", vec![]))
        );
        // RFC 9213 §3.1's `none`: an unknown directive that stops Cache-Control applying.
        assert_eq!(
            targeted(&[("cdn-cache-control", "none")]),
            Some(("cdn-cache-control", dirs(&[("none", None)])))
        );
    }

    #[test]
    fn rfc8941_4_2_2_parameters_ignored_and_last_duplicate_wins() {
        let got = targeted(&[("cdn-cache-control", "max-age=60;a=1;b, public;x=\"y\", max-age=30")]);
        assert_eq!(
            got,
            Some(("cdn-cache-control", dirs(&[("max-age", Some("30")), ("public", None)])))
        );
    }

    #[test]
    fn rfc8941_4_2_ows_around_commas_and_joined_field_lines() {
        let got = targeted(&[("cdn-cache-control", "  max-age=60 ,\tpublic  ")]);
        assert_eq!(
            got,
            Some(("cdn-cache-control", dirs(&[("max-age", Some("60")), ("public", None)])))
        );
        let lines = [
            ("cdn-cache-control", "max-age=60"),
            ("cdn-cache-control", "must-revalidate"),
        ];
        assert_eq!(
            targeted(&lines),
            Some((
                "cdn-cache-control",
                dirs(&[("max-age", Some("60")), ("must-revalidate", None)])
            ))
        );
    }

    #[test]
    fn rfc8941_3_3_bare_item_types_as_text() {
        let got = targeted(&[(
            "cdn-cache-control",
            "x-int=-7, x-dec=1.25, x-str=\"a \\\"q\\\" \\\\\", x-tok=foo/bar:1, x-bin=:aGk=:, *x=?1",
        )]);
        assert_eq!(
            got,
            Some((
                "cdn-cache-control",
                dirs(&[
                    ("x-int", Some("-7")),
                    ("x-dec", Some("1.25")),
                    ("x-str", Some("a \"q\" \\")),
                    ("x-tok", Some("foo/bar:1")),
                    ("x-bin", Some("aGk=")),
                    ("*x", None),
                ])
            ))
        );
    }

    /// A dictionary as comparable text, from our parser.
    fn ours(v: &str) -> Option<Vec<(String, String)>> {
        let dict = parse_dictionary(v)?;
        let text = |item: Item| match item {
            Item::Integer(n) => format!("int {n}"),
            Item::Decimal(d) => format!("dec {}", d.parse::<f64>().unwrap()),
            Item::String(s) => format!("str {s}"),
            Item::Token(t) => format!("tok {t}"),
            Item::Bytes(b) => format!("bin {:?}", BASE64.decode(b).unwrap()),
            Item::Boolean(b) => format!("bool {b}"),
            Item::InnerList => "list".into(),
        };
        Some(dict.into_iter().map(|(k, item)| (k, text(item))).collect())
    }

    /// The same from the `sfv` crate, in its RFC 8941 mode.
    fn theirs(v: &str) -> Option<Vec<(String, String)>> {
        let parser = sfv::Parser::new(v).with_version(sfv::Version::Rfc8941);
        let dict: sfv::Dictionary = parser.parse_dictionary().ok()?;
        let text = |entry: &sfv::ListEntry| match entry {
            sfv::ListEntry::InnerList(_) => "list".to_string(),
            sfv::ListEntry::Item(item) => match &item.bare_item {
                sfv::BareItem::Integer(n) => format!("int {}", i64::from(*n)),
                sfv::BareItem::Decimal(d) => format!("dec {}", f64::from(*d)),
                sfv::BareItem::String(s) => format!("str {}", s.as_str()),
                sfv::BareItem::Token(t) => format!("tok {}", t.as_str()),
                sfv::BareItem::ByteSequence(b) => format!("bin {b:?}"),
                sfv::BareItem::Boolean(b) => format!("bool {b}"),
                other => format!("other {other:?}"),
            },
        };
        Some(dict.iter().map(|(k, e)| (k.as_str().to_string(), text(e))).collect())
    }

    #[test]
    fn rfc8941_4_2_2_agrees_with_the_sfv_crate() {
        let keys = ["a", "max-age", "*x", "a_b.c*1", "A", "1a", "-a", "a!"];
        let values = [
            "",
            "=1",
            "=-0",
            "=007",
            "=123456789012345",
            "=1234567890123456",
            "=-999999999999999",
            "=1.5",
            "=-0.001",
            "=123456789012.123",
            "=1234567890123.1",
            "=1.1234",
            "=1.",
            "=.5",
            r#"="""#,
            r#"="a b""#,
            r#"="q\"\\""#,
            r#"="\n""#,
            r#"="open"#,
            "=\"\t\"",
            "=tok",
            "=*t",
            "=t/x:1",
            "=T",
            "=t@",
            "=:aGk=:",
            "=:aGk:",
            "=:aGk==x:",
            "=::",
            "=:a:",
            "=:aGk",
            "=?1",
            "=?0",
            "=?",
            "=?2",
            "=(1 2)",
            "=()",
            "=( a  b )",
            "=(1,2)",
            "=(1",
            "=(a;p=1);q",
            ";p",
            ";p=1;q=?0",
            "; p",
            ";P",
            ";p=",
            r#"=1;p="x""#,
            r#"=%"x""#,
            "=@1",
            "==1",
            "= 1",
        ];
        let seps = [", ", ",", " ,\t", ",,", " ", ""];
        let mut inputs: Vec<String> = Vec::new();
        for k in keys {
            for v in values {
                inputs.push(format!("{k}{v}"));
                inputs.push(format!(" {k}{v} "));
                for sep in seps {
                    inputs.push(format!("{k}{v}{sep}b=2"));
                    inputs.push(format!("z{sep}{k}{v}"));
                }
            }
        }
        let odd = ["", " ", ",", "a,", "a=1, a=2", "a, b, a=?0", "\ta=1", "a=1\t"];
        inputs.extend(odd.map(String::from));
        for v in &inputs {
            assert_eq!(ours(v), theirs(v), "{v:?}");
        }
        // Both accept a good share, so the agreement is not only on failures.
        let accepted = inputs.iter().filter(|v| ours(v).is_some()).count();
        assert!(accepted > inputs.len() / 8, "{accepted} of {}", inputs.len());
    }

    #[test]
    fn rfc8941_4_2_strict_number_and_string_rules() {
        for bad in [
            "a=1234567890123456",
            "a=1.2345",
            "a=1.",
            "a=-",
            "a=\"bad\\n\"",
            "a=\"\u{e9}\"",
            "a=?2",
            "a=:not base64!:",
            "a=(1 2",
            "a=(1,2)",
            "a=:aGk==x:",
            "a=:a:",
            "_a=1",
            "a=@",
        ] {
            assert_eq!(parse_dictionary(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_dictionary("a=123456789012345"),
            Some(vec![("a".into(), Item::Integer(123_456_789_012_345))])
        );
        assert_eq!(
            parse_dictionary("a=(1 \"x\";p);q"),
            Some(vec![("a".into(), Item::InnerList)])
        );
    }
}
