//! The crate carries the ASCII-only IDNA back end (`idna_adapter` 1.0, see
//! Cargo.toml): hosts in punycode parse and keep their form, a non-ASCII
//! host does not parse (README, Limits: configure it in punycode).

use edgecache::response_cache::normalize_url;

#[test]
fn punycode_hosts_parse_and_unicode_hosts_are_left_unparsed() {
    assert_eq!(
        normalize_url("HTTPS://XN--BCHER-KVA.Example:443/a?", false),
        "https://xn--bcher-kva.example/a"
    );
    assert!(url::Url::parse("https://xn--bcher-kva.example/").is_ok());
    // Not normalized (returned as given): the Unicode form needs the full IDNA tables.
    assert_eq!(
        normalize_url("https://bücher.example/a", false),
        "https://bücher.example/a"
    );
    assert!(url::Url::parse("https://bücher.example/").is_err());
}
