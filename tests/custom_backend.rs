//! A custom backend: a user type implementing `CacheBackend`, registered as a
//! config kind, passing the same conformance suite as the built-in ones.
//! It keeps encoded bytes (the wire format) in a BTreeMap, as a remote store
//! would, so the suite also checks the wire format end to end.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use async_trait::async_trait;
use edgecache::backend::NoSecrets;
use edgecache::testkit::Suite;
use edgecache::{
    BackendConfig, BackendRegistry, CacheBackend, CacheError, CacheService, CachesConfig, Clock, Expiry, KeyMaker,
    KeyRules, ManualClock, Result, Secrets, Timeout, Ttl, Value,
};
use futures::executor::block_on;

/// Shared storage, as a server would be: several backends (prefixes) on it.
type Server = Rc<RefCell<BTreeMap<String, (Vec<u8>, Option<u64>)>>>;

struct MapBackend {
    keys: KeyMaker,
    timeout: Timeout,
    clock: ManualClock,
    server: Server,
}

impl MapBackend {
    fn live(&self, full: &str) -> Option<(Vec<u8>, Option<u64>)> {
        let now = self.clock.now_ms();
        let mut s = self.server.borrow_mut();
        match s.get(full) {
            Some((_, Some(t))) if *t <= now => {
                s.remove(full);
                None
            }
            other => other.cloned(),
        }
    }
}

#[async_trait(?Send)]
impl CacheBackend for MapBackend {
    fn kind(&self) -> &str {
        "map"
    }
    fn key_maker(&self) -> &KeyMaker {
        &self.keys
    }
    fn default_timeout(&self) -> Timeout {
        self.timeout
    }
    async fn get(&self, key: &str, version: Option<i64>) -> Result<Option<Value>> {
        let full = self.make_key(key, version)?;
        self.live(&full).map(|(raw, _)| Value::decode(&raw)).transpose()
    }
    async fn set(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<()> {
        let full = self.make_key(key, version)?;
        let now = self.clock.now_ms();
        match ttl.or(self.timeout).expiry(now)? {
            Expiry::Now => {
                self.server.borrow_mut().remove(&full);
            }
            e => {
                self.server.borrow_mut().insert(full, (value.encode(), e.deadline(now)));
            }
        }
        Ok(())
    }
    async fn add(&self, key: &str, value: Value, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        if self.live(&full).is_some() {
            return Ok(false);
        }
        self.set(key, value, ttl, version).await?;
        Ok(true)
    }
    async fn delete(&self, key: &str, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        Ok(self.live(&full).is_some() && self.server.borrow_mut().remove(&full).is_some())
    }
    async fn touch(&self, key: &str, ttl: Ttl, version: Option<i64>) -> Result<bool> {
        let full = self.make_key(key, version)?;
        let Some((raw, _)) = self.live(&full) else {
            return Ok(false);
        };
        let now = self.clock.now_ms();
        match ttl.or(self.timeout).expiry(now)? {
            Expiry::Now => {
                self.server.borrow_mut().remove(&full);
            }
            e => {
                self.server.borrow_mut().insert(full, (raw, e.deadline(now)));
            }
        }
        Ok(true)
    }
    async fn incr(&self, key: &str, delta: i64, version: Option<i64>) -> Result<i64> {
        let full = self.make_key(key, version)?;
        let (raw, deadline) = self
            .live(&full)
            .ok_or_else(|| CacheError::NotFound { key: key.into() })?;
        let n = Value::decode(&raw)?
            .as_i64()
            .ok_or_else(|| CacheError::NotAnInteger { key: key.into() })?;
        let next = n
            .checked_add(delta)
            .ok_or_else(|| CacheError::Overflow { key: key.into() })?;
        self.server
            .borrow_mut()
            .insert(full, (Value::from(next).encode(), deadline));
        Ok(next)
    }
    async fn clear(&self) -> Result<()> {
        let prefix = self.keys.clear_prefix().expect("default key function");
        self.server.borrow_mut().retain(|k, _| !k.starts_with(&prefix));
        Ok(())
    }
}

fn registry(clock: &ManualClock, server: &Server) -> BackendRegistry {
    let mut r = BackendRegistry::default();
    let (clock, server) = (clock.clone(), server.clone());
    r.register("map", move |c: &BackendConfig, _: &dyn Secrets, _: &BackendRegistry| {
        c.only_options(&[])?;
        Ok(Rc::new(MapBackend {
            keys: KeyMaker::new(c.key_prefix.clone(), c.version, KeyRules::MEMCACHED, "map"),
            timeout: c.ttl,
            clock: clock.clone(),
            server: server.clone(),
        }) as Rc<dyn CacheBackend>)
    });
    r
}

#[test]
fn custom_backend_conforms_through_config() {
    let clock = ManualClock::new(1_000_000);
    let server: Server = Rc::default();
    let config = CachesConfig::parse(
        r#"{"default": {"backend": "map", "key_prefix": "a", "ttl": 2},
            "sibling": {"backend": "map", "key_prefix": "b"}}"#,
    )
    .unwrap();
    let service = CacheService::from_parsed(&config, &NoSecrets, &registry(&clock, &server)).unwrap();
    let mut suite = Suite::new(service.backend("default").unwrap().as_ref(), &clock);
    suite.sibling = Some(service.backend("sibling").unwrap().as_ref());
    let report = block_on(suite.run());
    assert!(report.all_passed(), "{report}");
}

#[test]
fn custom_kind_options_are_checked() {
    let clock = ManualClock::new(0);
    let config = CachesConfig::parse(r#"{"default": {"backend": "map", "options": {"x": 1}}}"#).unwrap();
    let e = CacheService::from_parsed(&config, &NoSecrets, &registry(&clock, &Rc::default()))
        .err()
        .unwrap();
    assert!(e.to_string().contains("default.options.x"), "{e}");
}
