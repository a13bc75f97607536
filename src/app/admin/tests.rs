//! Tests of the admin API, natively.

use super::*;
use crate::backend::NoSecrets;
use crate::CacheService;
use futures::executor::block_on;

fn service() -> CacheService {
    CacheService::from_config(
        r#"{"default": {"backend": "local", "key_prefix": "p"}, "b2": {"backend": "local"}}"#,
        &NoSecrets,
    )
    .unwrap()
}

fn req<'a>(
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    body: &[u8],
    ct: Option<&'a str>,
) -> AdminRequest<'a> {
    AdminRequest {
        method,
        path,
        query,
        content_type: ct,
        authorization: None,
        body: body.to_vec(),
        base_url: "https://e.com",
    }
}

async fn handle(s: &CacheService, r: AdminRequest<'_>) -> AdminReply {
    super::handle(
        &AdminContext {
            service: s,
            responses: None,
            selftest: None,
        },
        r,
    )
    .await
}

fn body(r: &AdminReply) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn auth() {
    assert_eq!(authorize(None, Some("Bearer x")).unwrap_err().status, 403);
    assert_eq!(authorize(Some("t"), None).unwrap_err().status, 401);
    assert_eq!(authorize(Some("t"), Some("Bearer u")).unwrap_err().status, 401);
    assert!(authorize(Some("t"), Some("Bearer t")).is_ok());
}

#[test]
fn set_get_incr_delete() {
    let s = service();
    block_on(async {
        let r = handle(
            &s,
            req(
                "PUT",
                "keys/default/a%20b",
                Some("ttl=60"),
                b"{\"x\":1}",
                Some("application/json"),
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", body(&r));
        assert_eq!(r.full_key.as_deref(), Some("p:1:a b"));
        let r = handle(&s, req("GET", "keys/default/a%20b", None, b"", None)).await;
        assert_eq!(body(&r), json!({"x": 1}));
        let r = handle(
            &s,
            req("PUT", "keys/b2/raw", None, &[0, 1, 2], Some("application/octet-stream")),
        )
        .await;
        assert_eq!(r.status, 200);
        let r = handle(&s, req("GET", "keys/b2/raw", None, b"", None)).await;
        assert_eq!(
            (r.content_type, r.body.as_slice()),
            ("application/octet-stream", &[0u8, 1, 2][..])
        );
        handle(&s, req("PUT", "keys/default/n", None, b"5", Some("application/json"))).await;
        let r = handle(&s, req("POST", "incr/default/n", Some("delta=3"), b"", None)).await;
        assert_eq!(body(&r), json!({"value": 8}));
        let r = handle(&s, req("POST", "decr/default/n", None, b"", None)).await;
        assert_eq!(body(&r), json!({"value": 7}));
        let r = handle(&s, req("POST", "incr/default/a%20b", None, b"", None)).await;
        assert_eq!((r.status, body(&r)["error"].as_str()), (409, Some("not_an_integer")));
        let r = handle(&s, req("DELETE", "keys/default/n", None, b"", None)).await;
        assert_eq!(body(&r), json!({"deleted": true}));
        let r = handle(&s, req("GET", "keys/default/n", None, b"", None)).await;
        assert_eq!(r.status, 404);
        let r = handle(&s, req("GET", "key/default/k", Some("version=7"), b"", None)).await;
        assert_eq!(body(&r), json!({"key": "p:7:k"}));
    });
}

#[test]
fn errors_are_clear() {
    let s = service();
    block_on(async {
        let r = handle(&s, req("GET", "keys/nope/k", None, b"", None)).await;
        assert_eq!(r.status, 404);
        assert!(body(&r)["message"].as_str().unwrap().contains("b2, default"));
        let r = handle(
            &s,
            req("PUT", "keys/default/k", Some("ttl=abc"), b"1", Some("application/json")),
        )
        .await;
        assert_eq!((r.status, body(&r)["error"].as_str()), (400, Some("invalid_ttl")));
        let r = handle(
            &s,
            req("PUT", "keys/default/k", None, b"{bad", Some("application/json")),
        )
        .await;
        assert_eq!((r.status, body(&r)["error"].as_str()), (400, Some("bad_request")));
        let r = handle(&s, req("GET", "bogus", None, b"", None)).await;
        assert_eq!(r.status, 404);
        // Parameters a route does not use are not read.
        let r = handle(&s, req("GET", "stats", Some("ttl=x&version=y"), b"", None)).await;
        assert_eq!(body(&r)["backends"]["default"]["kind"], "local");
    });
}

#[test]
fn bearer_scheme_is_case_insensitive_and_keys_round_trip_in_their_header() {
    assert!(authorize(Some("t0k"), Some("bearer t0k")).is_ok());
    assert!(authorize(Some("t0k"), Some("BEARER t0k")).is_ok());
    assert!(authorize(Some("t0k"), Some("Basic t0k")).is_err());
    assert!(authorize(Some("t0k"), Some("Bearer t0")).is_err());
    assert!(authorize(Some("t0k"), Some("t0k")).is_err());
    for k in ["p:1:100%", "p:1:%41", "p:1:ü\u{1}"] {
        let h = key_header_value(k);
        assert!(h.is_ascii() && !h.bytes().any(|b| b.is_ascii_control()), "{h}");
        assert_eq!(percent_decode_str(&h).decode_utf8().unwrap(), k);
    }
}

#[test]
fn selftest_passes_natively() {
    let r = block_on(selftest());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(body(&r)["passed"].as_u64().unwrap() > 40);
}

#[test]
fn ttl_parsing() {
    assert_eq!(parse_ttl(None).unwrap(), Ttl::Default);
    assert_eq!(parse_ttl(Some("never")).unwrap(), Ttl::Never);
    assert_eq!(parse_ttl(Some("0.5")).unwrap(), Ttl::Seconds(0.5));
    assert!(parse_ttl(Some("inf")).is_err());
}

#[test]
fn bodies_that_are_too_large_or_unreadable_are_refused() {
    assert_eq!(checked_body(Ok(b"x".to_vec())).ok(), Some(b"x".to_vec()));
    assert_eq!(refuse_declared_body(Some("99999999999")).map(|r| r.status), Some(413));
    assert_eq!(refuse_declared_body(Some("10")).map(|r| r.status), None);
    assert_eq!(
        checked_body(Ok(vec![0; MAX_BODY_BYTES + 1])).err().map(|r| r.status),
        Some(413)
    );
    assert_eq!(checked_body(Err("reset".into())).err().map(|r| r.status), Some(400));
}

#[test]
fn integers_past_64_bits_in_json_bodies_stay_exact() {
    let s = service();
    block_on(async {
        let big = br#"{"n": 1180591620717411303424, "m": -18446744073709551617, "f": 0.1}"#;
        let r = handle(&s, req("PUT", "keys/default/big", None, big, Some("application/json"))).await;
        assert_eq!(r.status, 200);
        let r = handle(&s, req("GET", "keys/default/big", None, b"", None)).await;
        let text = String::from_utf8(r.body).unwrap();
        assert!(text.contains("1180591620717411303424"), "{text}");
        assert!(text.contains("-18446744073709551617"), "{text}");
    });
}

#[test]
fn token_comparison_is_exact_whatever_the_lengths() {
    assert!(authorize(Some("secret"), Some("Bearer secret")).is_ok());
    for wrong in [
        "Bearer secre",
        "Bearer secrets",
        "Bearer ",
        "Bearer \0secret",
        "Bearer SECRET",
    ] {
        assert_eq!(
            authorize(Some("secret"), Some(wrong)).unwrap_err().status,
            401,
            "{wrong}"
        );
    }
}
