//! Unit tests of the HTTP caching rules.

use super::*;

/// The decision with the reason as its `Cache-Status` token.
fn decide(f: &StoreFacts<'_>, r: &FreshnessRules) -> Result<Freshness, &'static str> {
    decide_store(f, r).map_err(NotStored::as_str)
}
use crate::primitives::ttl::Timeout;

fn facts(status: u16, cc: Option<&'static str>) -> StoreFacts<'static> {
    StoreFacts {
        status,
        cache_control: cc,
        ..Default::default()
    }
}

#[test]
fn what_is_stored() {
    let r = FreshnessRules::default();
    assert_eq!(decide(&facts(200, None), &r).unwrap().fresh_ms, Some(300_000));
    assert_eq!(decide(&facts(500, None), &r), Err("status"));
    assert_eq!(decide(&facts(206, None), &r), Err("status"));
    assert_eq!(decide(&facts(200, Some("Private")), &r), Err("private"));
    assert_eq!(decide(&facts(200, Some("max-age=5, no-store")), &r), Err("no-store"));
    let cookie = StoreFacts {
        has_set_cookie: true,
        ..facts(200, None)
    };
    assert_eq!(decide(&cookie, &r), Err("set-cookie"));
    let star = StoreFacts {
        vary: Some("Accept, *"),
        ..facts(200, None)
    };
    assert_eq!(decide(&star, &r), Err("vary-star"));
    let zero = FreshnessRules {
        ttl: Timeout::Seconds(0.0),
        ..r
    };
    assert_eq!(decide(&facts(200, None), &zero), Err("ttl-0"));
    let never = FreshnessRules {
        ttl: Timeout::Never,
        ..r
    };
    assert_eq!(decide(&facts(200, None), &never).unwrap().fresh_ms, None);
}

#[test]
fn authorization_needs_explicit_permission() {
    let r = FreshnessRules::default();
    let auth = |cc| StoreFacts {
        request_has_authorization: true,
        ..facts(200, cc)
    };
    assert_eq!(decide(&auth(None), &r), Err("authorization"));
    assert_eq!(decide(&auth(Some("max-age=60")), &r), Err("authorization"));
    assert!(decide(&auth(Some("public, max-age=60")), &r).is_ok());
    assert!(decide(&auth(Some("s-maxage=60")), &r).is_ok());
}

#[test]
fn origin_ttl_precedence() {
    let off = FreshnessRules {
        ttl: Timeout::Seconds(10.0),
        ..Default::default()
    };
    let on = FreshnessRules {
        origin_ttl: true,
        ..off
    };
    let cc = Some("max-age=60, s-maxage=30, stale-while-revalidate=5");
    assert_eq!(decide(&facts(200, cc), &off).unwrap().fresh_ms, Some(10_000));
    let f = decide(&facts(200, cc), &on).unwrap();
    assert_eq!((f.fresh_ms, f.swr_ms), (Some(30_000), 5_000));
    assert_eq!(
        decide(&facts(200, Some("max-age=60")), &on).unwrap().fresh_ms,
        Some(60_000)
    );
    assert_eq!(decide(&facts(200, None), &on).unwrap().fresh_ms, Some(10_000));
    let swr = FreshnessRules {
        stale_while_revalidate: 1.0,
        ..on
    };
    // no-cache means revalidate on every use: without a validator that is a
    // full fetch each time, so it is not stored (in either mode).
    assert_eq!(decide(&facts(200, Some("no-cache")), &swr), Err("no-cache"));
    assert_eq!(
        decide(&facts(200, Some("no-cache")), &FreshnessRules::default()),
        Err("no-cache")
    );
    // An origin's own stale window is honoured with origin_ttl (RFC 5861)
    // but not next to no-cache.
    let f = decide(&facts(200, Some("max-age=0, stale-while-revalidate=1")), &swr).unwrap();
    assert_eq!((f.fresh_ms, f.swr_ms, f.storage_secs()), (Some(0), 1_000, Some(1.0)));
    assert_eq!(
        decide(&facts(200, Some("no-cache, stale-while-revalidate=1")), &swr),
        Err("no-cache")
    );
}

#[test]
fn directives_that_forbid_stale_answers_drop_the_configured_windows() {
    let rules = FreshnessRules {
        ttl: Timeout::Seconds(10.0),
        stale_while_revalidate: 30.0,
        stale_if_error: 60.0,
        ..Default::default()
    };
    for origin_ttl in [false, true] {
        let r = FreshnessRules { origin_ttl, ..rules };
        for cc in ["max-age=10, must-revalidate", "proxy-revalidate", "s-maxage=10"] {
            let f = decide(&facts(200, Some(cc)), &r).unwrap();
            assert_eq!((f.swr_ms, f.sie_ms), (0, 0), "{cc}, origin_ttl {origin_ttl}");
        }
        let f = decide(&facts(200, Some("public")), &r).unwrap();
        assert_eq!((f.swr_ms, f.sie_ms), (30_000, 60_000));
    }
    let on = FreshnessRules {
        origin_ttl: true,
        ..rules
    };
    let f = decide(&facts(200, Some("s-maxage=10, stale-while-revalidate=5")), &on).unwrap();
    assert_eq!((f.fresh_ms, f.swr_ms, f.sie_ms), (Some(10_000), 5_000, 0));
}

#[test]
fn expires_counts_from_date_when_no_max_age() {
    let on = FreshnessRules {
        origin_ttl: true,
        ttl: Timeout::Seconds(300.0),
        ..Default::default()
    };
    let fresh = |expires: &'static str, date: Option<&'static str>, cc: Option<&'static str>| {
        let f = StoreFacts {
            status: 200,
            cache_control: cc,
            expires: Some(expires),
            date,
            received_ms: 784_111_777_000, // Sun, 06 Nov 1994 08:49:37 GMT
            ..Default::default()
        };
        decide(&f, &on).map(|f| f.fresh_ms)
    };
    let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(fresh("Sun, 06 Nov 1994 08:50:37 GMT", date, None), Ok(Some(60_000)));
    // The two obsolete forms are read too; no Date: the arrival time.
    assert_eq!(fresh("Sunday, 06-Nov-94 08:51:37 GMT", None, None), Ok(Some(120_000)));
    assert_eq!(fresh("Sun Nov  6 08:52:37 1994", date, None), Ok(Some(180_000)));
    // In the past, or invalid: already expired.
    assert_eq!(fresh("Thu, 01 Jan 1970 00:00:00 GMT", date, None), Err("ttl-0"));
    assert_eq!(fresh("0", date, None), Err("ttl-0"));
    // max-age wins over Expires.
    assert_eq!(fresh("0", date, Some("max-age=10")), Ok(Some(10_000)));
    // Without origin_ttl, the configured ttl rules.
    let off = FreshnessRules {
        origin_ttl: false,
        ..on
    };
    let f = StoreFacts {
        status: 200,
        expires: Some("0"),
        ..Default::default()
    };
    assert_eq!(decide(&f, &off).map(|f| f.fresh_ms), Ok(Some(300_000)));
}

#[test]
fn delta_seconds_are_capped_and_invalid_ones_mean_stale() {
    let on = FreshnessRules {
        origin_ttl: true,
        ttl: Timeout::Seconds(300.0),
        ..Default::default()
    };
    let fresh = |cc: &'static str| decide(&facts(200, Some(cc)), &on).map(|f| f.fresh_ms);
    let cap = Some((1u64 << 31) * 1000);
    assert_eq!(fresh("max-age=31536000000000000"), Ok(cap));
    assert_eq!(fresh("max-age=99999999999999999999999"), Ok(cap));
    assert_eq!(fresh("max-age=-1"), Err("ttl-0"));
    assert_eq!(fresh("max-age=10s"), Err("ttl-0"));
    assert_eq!(fresh("max-age=\"20\""), Ok(Some(20_000)));
    let huge = decide(
        &facts(200, Some("max-age=31536000000000000, stale-while-revalidate=60")),
        &on,
    )
    .unwrap();
    assert!(huge.storage_secs().unwrap() > 2e9);
}

#[test]
fn request_modes() {
    assert_eq!(
        request_mode("POST", None, None),
        RequestMode::Bypass(BypassReason::Method)
    );
    assert_eq!(request_mode("GET", None, None), RequestMode::Lookup);
    assert_eq!(request_mode("HEAD", Some("no-cache"), None), RequestMode::Revalidate);
    assert_eq!(request_mode("GET", Some("max-age=0"), None), RequestMode::Revalidate);
    assert_eq!(request_mode("GET", None, Some("no-cache")), RequestMode::Revalidate);
    assert_eq!(
        request_mode("GET", Some("no-store"), None),
        RequestMode::Bypass(BypassReason::NoStore)
    );
}

#[test]
fn variants() {
    let names = vary_names("Accept-Encoding, accept-language,  ");
    assert_eq!(names, vec!["accept-encoding", "accept-language"]);
    let k1 = variant_key("K", &names, |h| (h == "accept-language").then(|| "fr".to_string()));
    let k2 = variant_key("K", &names, |h| (h == "accept-language").then(|| "de".to_string()));
    let k3 = variant_key("K", &names, |_| None);
    assert!(k1 != k2 && k1 != k3 && k2 != k3);
    assert!(k1.starts_with('K'));
}

#[test]
fn staleness_windows() {
    let f = Freshness {
        fresh_ms: Some(1000),
        swr_ms: 500,
        sie_ms: 2000,
        keep_ms: 0,
        must_revalidate: false,
    };
    assert_eq!(staleness(0, &f, 400), Staleness::Fresh(Some(600)));
    assert_eq!(staleness(0, &f, 1200), Staleness::Revalidatable(200));
    assert_eq!(staleness(0, &f, 1700), Staleness::ErrorOnly(700));
    assert_eq!(staleness(0, &f, 3000), Staleness::Dead);
    assert_eq!(f.storage_secs(), Some(3.0));
}

#[test]
fn cache_status_values() {
    let hit = CacheStatus {
        hit: true,
        ttl: Some(12),
        ..Default::default()
    };
    assert_eq!(hit.to_string(), "edgecache; hit; ttl=12");
    let miss = CacheStatus {
        fwd: Some(Forward::Miss),
        stored: true,
        ..Default::default()
    };
    assert_eq!(miss.to_string(), "edgecache; fwd=miss; stored");
    let sie = CacheStatus {
        hit: true,
        fwd: Some(Forward::Stale),
        fwd_status: Some(502),
        ttl: Some(-3),
        detail: Some("stale-if-error".into()),
        ..Default::default()
    };
    assert_eq!(
        sie.to_string(),
        "edgecache; hit; fwd=stale; fwd-status=502; ttl=-3; detail=stale-if-error"
    );
}

fn origin_rules() -> FreshnessRules {
    FreshnessRules {
        origin_ttl: true,
        ttl: Timeout::Seconds(300.0),
        ..Default::default()
    }
}

#[test]
fn rfc9111_3_explicit_freshness_makes_any_final_status_storable() {
    let on = origin_rules();
    for status in [302, 307, 400, 500, 503, 599] {
        assert_eq!(decide(&facts(status, None), &on), Err("status"), "{status}");
        let f = decide(&facts(status, Some("max-age=60")), &on).unwrap();
        assert_eq!(f.fresh_ms, Some(60_000), "{status}");
    }
    // Never a partial 206, a 304 or an interim 1xx, whatever it says.
    for status in [100, 103, 206, 304] {
        assert_eq!(
            decide(&facts(status, Some("max-age=60")), &on),
            Err("status"),
            "{status}"
        );
    }
    // `public` allows a status without explicit freshness: the route ttl.
    assert_eq!(
        decide(&facts(599, Some("public")), &on).unwrap().fresh_ms,
        Some(300_000)
    );
    // Ellar's mode keeps to the statuses cacheable by default.
    let off = FreshnessRules {
        origin_ttl: false,
        ..on
    };
    assert_eq!(decide(&facts(500, Some("max-age=60")), &off), Err("status"));
}

#[test]
fn rfc9111_4_2_2_heuristic_freshness_from_last_modified_is_capped() {
    let on = origin_rules();
    let lm = |last_modified: &'static str, status: u16, rules: &FreshnessRules| {
        let f = StoreFacts {
            status,
            date: Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            last_modified: Some(last_modified),
            has_validator: true,
            ..Default::default()
        };
        decide(&f, rules).map(|f| f.fresh_ms)
    };
    // Modified 1000 s before Date: fresh for 100 s.
    assert_eq!(lm("Sun, 06 Nov 1994 08:32:57 GMT", 200, &on), Ok(Some(100_000)));
    assert_eq!(lm("Sun, 06 Nov 1994 08:32:57 GMT", 404, &on), Ok(Some(100_000)));
    // A year old: capped at heuristic_max (a day by default).
    assert_eq!(lm("Sat, 06 Nov 1993 08:49:37 GMT", 200, &on), Ok(Some(86_400_000)));
    // Not for statuses that are not cacheable by default.
    assert_eq!(lm("Sun, 06 Nov 1994 08:32:57 GMT", 500, &on), Err("status"));
    // heuristic_max 0 turns it off: the route ttl applies.
    let off = FreshnessRules {
        heuristic_max: 0.0,
        ..on
    };
    assert_eq!(lm("Sun, 06 Nov 1994 08:32:57 GMT", 200, &off), Ok(Some(300_000)));
    // A Last-Modified after Date gives no heuristic: the route ttl.
    assert_eq!(lm("Mon, 07 Nov 1994 08:49:37 GMT", 200, &on), Ok(Some(300_000)));
}

#[test]
fn rfc9111_4_2_3_the_age_it_arrived_with_counts() {
    let aged = |cc: Option<&'static str>, age_ms: u64, rules: &FreshnessRules| {
        let f = StoreFacts {
            age_ms,
            ..facts(200, cc)
        };
        decide(&f, rules).map(|f| f.fresh_ms)
    };
    let on = origin_rules();
    // Freshness counts from when the origin made it (stored_at is
    // back-dated by the age), so the lifetime is the origin's.
    assert_eq!(aged(Some("max-age=60"), 10_000, &on), Ok(Some(60_000)));
    assert_eq!(aged(Some("max-age=60"), 7_200_000, &on), Err("too-old"));
    // In Ellar's mode the ttl counts from arrival.
    let off = FreshnessRules {
        origin_ttl: false,
        ..on
    };
    assert_eq!(aged(None, 10_000, &off), Ok(Some(310_000)));
}

#[test]
fn rfc9111_5_1_age_uses_the_first_member_and_ignores_invalid_values() {
    assert_eq!(parse_age("7200"), 7200);
    assert_eq!(parse_age("7200, 0"), 7200);
    assert_eq!(parse_age("0, 7200"), 0);
    assert_eq!(parse_age(" 30 "), 30);
    for bad in ["-1", "1.5", "old", "10s", "", "a, 0"] {
        assert_eq!(parse_age(bad), 0, "{bad}");
    }
    assert_eq!(parse_age("99999999999999999999"), 1 << 31);
}

#[test]
fn rfc9111_5_2_2_4_no_cache_with_a_validator_is_stored_to_be_revalidated() {
    for rules in [origin_rules(), FreshnessRules::default()] {
        let f = StoreFacts {
            has_validator: true,
            ..facts(200, Some("no-cache, max-age=3600"))
        };
        let fresh = decide(&f, &rules).unwrap();
        assert_eq!(fresh.fresh_ms, Some(0));
        assert!(fresh.must_revalidate);
        assert_eq!((fresh.swr_ms, fresh.sie_ms, fresh.keep_ms), (0, 0, 600_000));
        // Without a validator there is nothing to revalidate with.
        assert_eq!(decide(&facts(200, Some("no-cache")), &rules), Err("no-cache"));
    }
    // max-age=0 with a validator: kept for revalidation too.
    let f = StoreFacts {
        has_validator: true,
        ..facts(200, Some("max-age=0"))
    };
    assert_eq!(decide(&f, &origin_rules()).unwrap().fresh_ms, Some(0));
    assert_eq!(decide(&facts(200, Some("max-age=0")), &origin_rules()), Err("ttl-0"));
}

#[test]
fn rfc9111_5_2_2_4_and_5_2_2_7_field_names_only_keep_those_fields_out() {
    let on = origin_rules();
    assert!(decide(&facts(200, Some("no-cache=\"set-cookie2, x-a\", max-age=60")), &on).is_ok());
    assert!(decide(&facts(200, Some("private=\"x-user\", max-age=60")), &on).is_ok());
    assert_eq!(
        unstored_fields("no-cache=\"Set-Cookie2, X-A\", private=x-user, max-age=60"),
        vec!["set-cookie2", "x-a", "x-user"]
    );
    assert!(unstored_fields("no-cache, private").is_empty());
}

#[test]
fn rfc9111_5_3_an_invalid_expires_means_already_expired() {
    let on = origin_rules();
    for bad in [
        "Thu 18 Aug 2050 02:01:18 GMT",
        "Thu, 18  Aug  2050 02:01:18 GMT",
        "0",
        "soon",
    ] {
        let f = StoreFacts {
            status: 200,
            expires: Some(bad),
            date: Some("Tue, 01 Dec 2026 00:00:00 GMT"),
            ..Default::default()
        };
        assert_eq!(decide(&f, &on), Err("ttl-0"), "{bad}");
    }
}
