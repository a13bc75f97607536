//! `POST selftest`: the conformance suite inside the running Worker.

use std::rc::Rc;

use serde_json::json;

use super::reply::{AdminContext, AdminReply};
use crate::backend::{LocalBackend, LocalOptions};
use crate::primitives::clock::ManualClock;
use crate::primitives::ttl::Timeout;
use crate::testkit::{RealTime, Suite};

/// Runs the conformance suite against a configured backend's kind and
/// options (on its real server, in real time) under a throwaway key prefix,
/// so the backend's own keys are untouched.
///
/// memcached keeps time in whole seconds, so its expiry cases allow a
/// second's slack; `unsigned_counters` (the `unsigned_counters=true` query
/// parameter) is for servers reached without meta commands (a proxy, the
/// gateway), where counters cannot go below zero.
pub(super) async fn selftest_backend(ctx: &AdminContext<'_>, name: &str, unsigned_counters: bool) -> AdminReply {
    let Some((make, runtime)) = &ctx.selftest else {
        return AdminReply::error(501, "unsupported", "backend selftests are not available here");
    };
    // The sibling's prefix extends the main one ("p" and "p:sibling"), the
    // case where a prefix glob alone would let `clear` reach the sibling.
    let built = make(name, "edgecache-selftest").and_then(|b| Ok((b, make(name, "edgecache-selftest:sibling")?)));
    let (b, s) = match built {
        Ok(pair) => pair,
        Err(e) => return AdminReply::from_cache_error(&e),
    };
    let time = RealTime(runtime.clone());
    let mut suite = Suite::new(&*b, &time);
    suite.sibling = Some(&*s);
    if b.kind() == "memcached" {
        suite.ttl_slack_ms = 1000;
    }
    suite.unsigned_counters = unsigned_counters;
    let report = suite.run().await;
    AdminReply::json(
        if report.all_passed() { 200 } else { 500 },
        json!({"passed": report.passed(), "failed": report.failed(), "reports": [report]}),
    )
}

/// Runs the conformance suite against fresh local backends with a fake clock,
/// inside whatever runtime calls it (workerd, in the end-to-end tests).
pub async fn selftest() -> AdminReply {
    let mut reports = Vec::new();
    for timeout in [Timeout::default(), Timeout::Never, Timeout::Seconds(0.0)] {
        let clock = ManualClock::new(1_700_000_000_000);
        let make = |prefix: &str| {
            LocalBackend::with_clock(prefix, 1, timeout, LocalOptions::default(), Rc::new(clock.clone()))
        };
        let (b, s) = (make("site"), make("other"));
        let mut suite = Suite::new(&b, &clock);
        suite.sibling = Some(&s);
        let mut report = suite.run().await;
        report.backend = format!("local(ttl={timeout:?})");
        reports.push(report);
    }
    let passed: usize = reports.iter().map(|r| r.passed()).sum();
    let failed: usize = reports.iter().map(|r| r.failed()).sum();
    AdminReply::json(
        if failed == 0 { 200 } else { 500 },
        json!({"passed": passed, "failed": failed, "reports": reports}),
    )
}
