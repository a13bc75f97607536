//! A tiered backend: a near backend (usually local memory in the isolate) in
//! front of a far one (Redis, memcached). Reads try near first and fill it
//! from far; writes go to far, then near. Near copies live at most `near_ttl`
//! seconds, which bounds how stale another isolate's write can look here.
//!
//! Config: `{"backend": "tiered", "ttl": 300, "key_prefix": "site",
//! "options": {"near": {"backend": "local", "options": {…}}, "far": {"backend":
//! "redis", "options": {…}}, "near_ttl": 5}}`. The tiered backend's ttl,
//! key_prefix and version apply to both tiers.

use std::collections::HashMap;
use std::rc::Rc;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::backend::BackendRegistry;
use crate::backend::{BackendConfig, Secrets};
use crate::backend::{BackendStats, CacheBackend};
use crate::primitives::error::{CacheError, Result};
use crate::primitives::key::KeyMaker;
use crate::primitives::ttl::{Timeout, Ttl};
use crate::primitives::value::Value;

/// A near backend in front of a far one (see the module docs).
pub struct TieredBackend {
    near: Rc<dyn CacheBackend>,
    far: Rc<dyn CacheBackend>,
    near_ttl: f64,
    /// Far writes finished in this isolate. A read fills near only if none
    /// finished while it read far, so a read that raced a write (requests
    /// run concurrently in an isolate) cannot put the old value back near.
    writes: std::cell::Cell<u64>,
}

impl TieredBackend {
    /// Tiers `near` over `far`; near copies live at most `near_ttl` seconds.
    pub fn new(near: Rc<dyn CacheBackend>, far: Rc<dyn CacheBackend>, near_ttl: f64) -> Self {
        TieredBackend {
            near,
            far,
            near_ttl,
            writes: std::cell::Cell::new(0),
        }
    }

    /// Runs a far write that makes the key's near copy stale: the copy is
    /// dropped before and, against reads that filled it meanwhile, after.
    async fn invalidating<T>(
        &self,
        key: &str,
        version: Option<i64>,
        far: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.near.delete(key, version).await?;
        let out = far.await;
        self.wrote();
        // The far result stands even if this fails: an applied incr must
        // not be reported as failed (a caller would retry it).
        let _ = self.near.delete(key, version).await;
        out
    }

    fn wrote(&self) {
        self.writes.set(self.writes.get() + 1);
    }

    /// Counts a finished far write; a failed one also drops the near copy
    /// (far's state is unknown) and passes its error on.
    async fn far_written<T>(&self, key: &str, version: Option<i64>, out: Result<T>) -> Result<T> {
        self.wrote();
        if out.is_err() {
            self.near.delete(key, version).await?;
        }
        out
    }

    /// Builds both tiers from a `tiered` config with `registry`.
    pub fn from_config(c: &BackendConfig, secrets: &dyn Secrets, registry: &BackendRegistry) -> Result<Self> {
        c.only_options(&["near", "far", "near_ttl"])?;
        let tier = |name: &str| -> Result<Rc<dyn CacheBackend>> {
            let field = format!("{}.options.{name}", c.name);
            let Some(Json::Object(m)) = c.options.get(name) else {
                return Err(CacheError::config(
                    &field,
                    "required: a backend config such as {\"backend\": \"local\"}",
                ));
            };
            let kind = m
                .get("backend")
                .and_then(Json::as_str)
                .ok_or_else(|| CacheError::config(format!("{field}.backend"), "required: the tier's backend kind"))?;
            if kind == "tiered" {
                return Err(CacheError::config(
                    format!("{field}.backend"),
                    "a tier cannot itself be tiered",
                ));
            }
            for k in m.keys() {
                if k != "backend" && k != "options" {
                    return Err(CacheError::config(
                        format!("{field}.{k}"),
                        "a tier takes only backend and options (ttl, key_prefix and version come from the tiered backend)",
                    ));
                }
            }
            let mut t = BackendConfig::new(&field, kind);
            t.ttl = c.ttl;
            t.key_prefix = c.key_prefix.clone();
            t.version = c.version;
            if let Some(o) = m.get("options") {
                t.options = o
                    .as_object()
                    .cloned()
                    .ok_or_else(|| CacheError::config(format!("{field}.options"), "must be an object"))?;
            }
            registry.build(&t, secrets)
        };
        let near_ttl = match c.options.get("near_ttl") {
            None => 5.0,
            Some(v) => v.as_f64().filter(|s| s.is_finite() && *s > 0.0).ok_or_else(|| {
                CacheError::config(
                    format!("{}.options.near_ttl", c.name),
                    format!("must be seconds > 0, got {v}"),
                )
            })?,
        };
        Ok(TieredBackend::new(tier("near")?, tier("far")?, near_ttl))
    }

    /// The near copy's lifetime: the write's, capped at `near_ttl`.
    fn near_ttl(&self, ttl: Ttl) -> Ttl {
        match ttl.or(self.far.default_timeout()) {
            Timeout::Seconds(s) => Ttl::Seconds(s.min(self.near_ttl)),
            Timeout::Never => Ttl::Seconds(self.near_ttl),
        }
    }
}

#[async_trait(?Send)]
impl CacheBackend for TieredBackend {
    fn kind(&self) -> &str {
        "tiered"
    }

    fn key_maker(&self) -> &KeyMaker {
        self.far.key_maker()
    }

    fn default_timeout(&self) -> Timeout {
        self.far.default_timeout()
    }

    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
        Ok(self.get_with_ttl(key, version).await?.map(|(v, _)| v))
    }

    async fn get_with_ttl(&self, key: &str, version: Option<i64>) -> Result<Option<(Value, Option<f64>)>> {
        if let Some(v) = self.near.get(key, version).await? {
            // The near copy's lifetime is capped at `near_ttl`, so it does
            // not tell the key's: unknown.
            return Ok(Some((v, None)));
        }
        let writes = self.writes.get();
        let found = self.far.get_with_ttl(key, version).await?;
        if writes != self.writes.get() {
            return Ok(found);
        }
        if let Some((v, left)) = &found {
            // The near copy never outlives the far one. One that does not
            // fit is no loss: far has it.
            let ttl = left.map_or(self.near_ttl, |l| l.min(self.near_ttl));
            let _ = self.near.set(key, v.clone(), Ttl::Seconds(ttl), version).await;
        }
        Ok(found)
    }

    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
        let far = self.far.set(key, value.clone(), ttl, version).await;
        self.far_written(key, version, far).await?;
        if self.near.set(key, value, self.near_ttl(ttl), version).await.is_err() {
            self.near.delete(key, version).await?;
        }
        Ok(())
    }

    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let added = self.far.add(key, value.clone(), ttl, version).await;
        let added = self.far_written(key, version, added).await?;
        // A near copy that cannot take the new value must not keep an old one.
        if !added || self.near.set(key, value, self.near_ttl(ttl), version).await.is_err() {
            self.near.delete(key, version).await?;
        }
        Ok(added)
    }

    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        self.invalidating(key, version, self.far.delete(key, version)).await
    }

    async fn has_key(&self, key: &str, version: Option<i64>) -> Result<bool> {
        Ok(self.near.has_key(key, version).await? || self.far.has_key(key, version).await?)
    }

    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        self.invalidating(key, version, self.far.touch(key, ttl, version)).await
    }

    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        self.invalidating(key, version, self.far.incr(key, delta, version))
            .await
    }

    async fn get_many(&self, keys: &[&str], version: Option<i64>) -> Result<HashMap<String, Value>> {
        let mut found = self.near.get_many(keys, version).await?;
        let missing: Vec<&str> = keys.iter().copied().filter(|k| !found.contains_key(*k)).collect();
        if !missing.is_empty() {
            // Not copied near: get_many does not report lifetimes.
            found.extend(self.far.get_many(&missing, version).await?);
        }
        Ok(found)
    }

    async fn delete_many(&self, keys: &[&str], version: Option<i64>) -> Result<usize> {
        self.near.delete_many(keys, version).await?;
        let out = self.far.delete_many(keys, version).await;
        self.wrote();
        self.near.delete_many(keys, version).await?;
        out
    }

    async fn delete_prefix(&self, prefix: &str, version: Option<i64>) -> Result<usize> {
        self.near.delete_prefix(prefix, version).await?;
        let out = self.far.delete_prefix(prefix, version).await;
        self.wrote();
        self.near.delete_prefix(prefix, version).await?;
        out
    }

    async fn clear(&self) -> Result<()> {
        self.near.clear().await?;
        let out = self.far.clear().await;
        self.wrote();
        self.near.clear().await?;
        out
    }

    async fn close(&self) -> Result<()> {
        self.near.close().await?;
        self.far.close().await
    }

    fn stats(&self) -> BackendStats {
        let mut m = BackendStats::new();
        let tier = |b: &Rc<dyn CacheBackend>| {
            let mut s = b.stats();
            s.insert("kind".into(), b.kind().into());
            Json::Object(s)
        };
        m.insert("near".into(), tier(&self.near));
        m.insert("far".into(), tier(&self.far));
        m.insert("near_ttl".into(), self.near_ttl.into());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{LocalBackend, LocalOptions};
    use crate::primitives::clock::ManualClock;
    use crate::testkit::Suite;
    use futures::executor::block_on;

    /// Two isolates' near caches over one shared far store.
    fn pair(clock: &ManualClock, far: Rc<dyn CacheBackend>) -> (TieredBackend, TieredBackend) {
        let near = || -> Rc<dyn CacheBackend> {
            Rc::new(LocalBackend::with_clock(
                "p",
                1,
                Timeout::default(),
                LocalOptions::default(),
                Rc::new(clock.clone()),
            ))
        };
        (
            TieredBackend::new(near(), far.clone(), 5.0),
            TieredBackend::new(near(), far, 5.0),
        )
    }

    #[test]
    fn tiered_conforms() {
        for timeout in [Timeout::default(), Timeout::Never, Timeout::Seconds(2.0)] {
            let clock = ManualClock::new(1_000_000);
            let mk = |prefix: &str| -> Rc<dyn CacheBackend> {
                Rc::new(LocalBackend::with_clock(
                    prefix,
                    1,
                    timeout,
                    LocalOptions::default(),
                    Rc::new(clock.clone()),
                ))
            };
            let t = TieredBackend::new(mk("p"), mk("p"), 5.0);
            let s = TieredBackend::new(mk("q"), mk("q"), 5.0);
            let mut suite = Suite::new(&t, &clock);
            suite.sibling = Some(&s);
            let report = block_on(suite.run());
            assert!(report.all_passed(), "{timeout:?}\n{report}");
        }
    }

    #[test]
    fn another_isolates_write_shows_within_near_ttl() {
        let clock = ManualClock::new(0);
        let far: Rc<dyn CacheBackend> = Rc::new(LocalBackend::with_clock(
            "p",
            1,
            Timeout::Never,
            LocalOptions::default(),
            Rc::new(clock.clone()),
        ));
        let (a, b) = pair(&clock, far);
        block_on(async {
            a.set("k", Value::from(1), Ttl::Never, None).await.unwrap();
            assert_eq!(b.get("k", None).await.unwrap(), Some(Value::from(1)));
            a.set("k", Value::from(2), Ttl::Never, None).await.unwrap();
            assert_eq!(b.get("k", None).await.unwrap(), Some(Value::from(1)), "b's near copy");
            clock.advance_ms(5001);
            assert_eq!(
                b.get("k", None).await.unwrap(),
                Some(Value::from(2)),
                "refreshed after near_ttl"
            );
        });
    }

    /// Yields once before finishing, like a network round trip.
    struct YieldOnce(bool);

    impl std::future::Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.0 {
                return std::task::Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }

    /// A far tier whose operations take a round trip: a write lands after
    /// it, a read is answered before it (its answer is on the way back).
    struct Remote(LocalBackend);

    #[async_trait(?Send)]
    impl CacheBackend for Remote {
        fn kind(&self) -> &str {
            "remote"
        }
        fn key_maker(&self) -> &KeyMaker {
            self.0.key_maker()
        }
        fn default_timeout(&self) -> Timeout {
            self.0.default_timeout()
        }
        async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
            let answer = self.0.get(key, version).await;
            YieldOnce(false).await;
            answer
        }
        async fn get_with_ttl(&self, key: &str, version: Option<i64>) -> Result<Option<(Value, Option<f64>)>> {
            let answer = self.0.get_with_ttl(key, version).await;
            YieldOnce(false).await;
            answer
        }
        async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
            YieldOnce(false).await;
            self.0.set(key, value, ttl, version).await
        }
        async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
            YieldOnce(false).await;
            self.0.add(key, value, ttl, version).await
        }
        async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
            YieldOnce(false).await;
            self.0.delete(key, version).await
        }
        async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
            YieldOnce(false).await;
            self.0.touch(key, ttl, version).await
        }
        async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
            YieldOnce(false).await;
            self.0.incr(key, delta, version).await
        }
        async fn clear(&self) -> Result<()> {
            YieldOnce(false).await;
            self.0.clear().await
        }
    }

    /// A read racing a write in the same isolate must not put the old value
    /// back in the near tier (it would be served for up to `near_ttl`).
    #[test]
    fn a_read_racing_a_write_leaves_no_stale_near_copy() {
        let clock = ManualClock::new(0);
        let local = |limit: usize| {
            let options = LocalOptions {
                max_value_bytes: limit,
                ..LocalOptions::default()
            };
            LocalBackend::with_clock("p", 1, Timeout::Never, options, Rc::new(clock.clone()))
        };
        let t = TieredBackend::new(Rc::new(local(64)), Rc::new(Remote(local(1 << 20))), 5.0);
        block_on(async {
            t.set("k", Value::from("v"), Ttl::Never, None).await.unwrap();
            t.near.delete("k", None).await.unwrap();
            let (deleted, _) = futures::join!(t.delete("k", None), t.get("k", None));
            assert!(deleted.unwrap());
            assert_eq!(t.get("k", None).await.unwrap(), None, "deleted key read back");

            t.set("c", Value::from(1), Ttl::Never, None).await.unwrap();
            t.near.delete("c", None).await.unwrap();
            let (n, _) = futures::join!(t.incr("c", 1, None), t.get("c", None));
            assert_eq!(n.unwrap(), 2);
            assert_eq!(
                t.get("c", None).await.unwrap(),
                Some(Value::from(2)),
                "old count read back"
            );

            // add of a value too big for near: near must not keep an old copy.
            t.near.set("a", Value::from("old"), Ttl::Never, None).await.unwrap();
            let big = Value::from("x".repeat(200));
            assert!(t.add("a", big.clone(), Ttl::Never, None).await.unwrap());
            assert_eq!(t.get("a", None).await.unwrap(), Some(big));
        });
    }

    #[test]
    fn config_errors() {
        let reg = BackendRegistry::default();
        let parse = |j: &str| crate::backend::CachesConfig::parse(j).unwrap();
        let e = |j: &str| {
            crate::service::CacheService::from_parsed(&parse(j), &crate::backend::NoSecrets, &reg)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(
            e(r#"{"default": {"backend": "tiered", "options": {"near": {"backend": "local"}}}}"#)
                .contains("default.options.far")
        );
        assert!(e(r#"{"default": {"backend": "tiered", "options": {"near": {"backend": "local"}, "far": {"backend": "local", "ttl": 3}}}}"#)
            .contains("default.options.far.ttl"));
        assert!(e(r#"{"default": {"backend": "tiered", "options": {"near": {"backend": "local"}, "far": {"backend": "local"}, "near_ttl": 0}}}"#)
            .contains("near_ttl"));
        let ok = crate::service::CacheService::from_parsed(
            &parse(r#"{"default": {"backend": "tiered", "key_prefix": "s", "options": {"near": {"backend": "local", "options": {"max_entries": 10}}, "far": {"backend": "local"}}}}"#),
            &crate::backend::NoSecrets,
            &reg,
        )
        .unwrap();
        assert_eq!(ok.backend("default").unwrap().make_key("k", None).unwrap(), "s:1:k");
    }
}
