//! The purge log's Durable Object, shipped with the Worker (binding
//! `EDGECACHE_PURGE_LOG`, class `PurgeLogObject`, in wrangler.toml with its
//! migration). One object holds the authority's [`PurgeIndex`]: it numbers
//! each purge and answers each isolate's sync with the marks that moved
//! after its cursor. Each mark is its own storage key (`m:<scope>`), so an
//! append writes two small keys whatever the log's size; compaction deletes
//! the keys it folded.

use std::cell::RefCell;
use std::collections::BTreeSet;

use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, ListOptions, Method, Request, Response, State};

use crate::platform::workers::{APPEND_PATH, SINCE_PATH};
use crate::primitives::clock::Clock;
use crate::response_cache::purge_log::{Mark, Purge, PurgeIndex, Scope, SyncReply};

const HEAD_KEY: &str = "head";
const MARK_PREFIX: &str = "m:";

/// The purge log's Durable Object (see the module docs).
#[durable_object(fetch)]
pub struct PurgeLogObject {
    state: State,
    /// Loaded from storage on the first request after the object starts.
    index: RefCell<Option<PurgeIndex>>,
    /// The mark keys in storage, to delete what compaction folded.
    stored: RefCell<BTreeSet<String>>,
}

fn mark_key(scope: &Scope) -> String {
    format!("{MARK_PREFIX}{}", serde_json::to_string(scope).unwrap_or_default())
}

impl PurgeLogObject {
    async fn load(&self) -> worker::Result<()> {
        if self.index.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let head: Option<u64> = storage.get(HEAD_KEY).await?;
        let listed = storage
            .list_with_options(ListOptions::new().prefix(MARK_PREFIX))
            .await?;
        let mut reply = SyncReply {
            head: head.unwrap_or(0),
            marks: Vec::new(),
        };
        let mut keys = BTreeSet::new();
        listed.for_each(&mut |value: JsValue, key: JsValue| {
            let (Some(k), Some(v)) = (key.as_string(), value.as_string()) else {
                return;
            };
            let scope = serde_json::from_slice::<Scope>(&k.as_bytes()[MARK_PREFIX.len()..]);
            if let (Ok(scope), Ok(mark)) = (scope, serde_json::from_slice::<Mark>(v.as_bytes())) {
                reply.marks.push((scope, mark));
            }
            keys.insert(k);
        });
        // Two first requests may both have loaded: keep the first.
        if self.index.borrow().is_none() {
            let mut index = PurgeIndex::default();
            index.merge(&reply, 0);
            *self.index.borrow_mut() = Some(index);
            *self.stored.borrow_mut() = keys;
        }
        Ok(())
    }

    async fn append(&self, purge: Purge) -> worker::Result<u64> {
        // No await between reading and updating the index: appends are
        // serialized by the object's single thread.
        let (seq, puts, dropped) = {
            let mut guard = self.index.borrow_mut();
            let index = guard.as_mut().expect("loaded");
            let seq = index.append(&purge, crate::primitives::clock::SystemClock.now_ms());
            let marks = index.marks();
            let live: BTreeSet<String> = marks.iter().map(|(s, _)| mark_key(s)).collect();
            let mut stored = self.stored.borrow_mut();
            let dropped: Vec<String> = stored.difference(&live).cloned().collect();
            let puts: Vec<(String, String)> = marks
                .iter()
                .filter(|(s, _)| *s == purge.scope || *s == Scope::All)
                .map(|(s, m)| (mark_key(s), serde_json::to_string(m).unwrap_or_default()))
                .collect();
            *stored = live;
            (seq, puts, dropped)
        };
        let storage = self.state.storage();
        for (k, v) in puts {
            storage.put(&k, v).await?;
        }
        if !dropped.is_empty() {
            storage.delete_multiple(dropped).await?;
        }
        storage.put(HEAD_KEY, seq).await?;
        Ok(seq)
    }
}

impl DurableObject for PurgeLogObject {
    fn new(state: State, _env: Env) -> Self {
        PurgeLogObject {
            state,
            index: RefCell::new(None),
            stored: RefCell::new(BTreeSet::new()),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        self.load().await?;
        let url = req.url()?;
        match (req.method(), url.path()) {
            (Method::Post, APPEND_PATH) => {
                let body = req.text().await?;
                let purge: Purge = match serde_json::from_slice(body.as_bytes()) {
                    Ok(p) => p,
                    Err(e) => return Response::error(format!("not a purge: {e}"), 400),
                };
                let seq = self.append(purge).await?;
                Response::from_json(&serde_json::json!({ "seq": seq }))
            }
            (Method::Get, SINCE_PATH) => {
                let cursor = url
                    .query_pairs()
                    .find(|(k, _)| k == "cursor")
                    .and_then(|(_, v)| v.parse::<u64>().ok())
                    .unwrap_or(0);
                let reply = self.index.borrow().as_ref().expect("loaded").since(cursor);
                Response::from_json(&reply)
            }
            _ => Response::error("purge log: POST /append or GET /since?cursor=n", 404),
        }
    }
}
