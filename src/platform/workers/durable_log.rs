//! The purge log in a Durable Object, seen from an isolate: one object (by
//! name) that every isolate of every location reaches, strongly consistent.
//! The object itself is `app::purge_object`; this is its client and the two
//! requests they share.

use async_trait::async_trait;
use worker::{Method, ObjectNamespace, Request};

use super::convert::new_request;

use crate::primitives::error::{CacheError, Result};
use crate::response_cache::purge_log::{Purge, PurgeLog, SyncReply};

/// `POST` with a [`Purge`] as JSON; answers `{"seq": n}`.
pub const APPEND_PATH: &str = "/append";
/// `GET ?cursor=n`; answers a [`SyncReply`] as JSON.
pub const SINCE_PATH: &str = "/since";
/// The object's name: one log per Worker (per namespace).
pub const LOG_OBJECT_NAME: &str = "edgecache-purge-log";

/// A [`PurgeLog`] over a Durable Object namespace binding.
pub struct DurableObjectLog {
    namespace: ObjectNamespace,
}

impl DurableObjectLog {
    /// The log in `namespace`'s object named [`LOG_OBJECT_NAME`].
    pub fn new(namespace: ObjectNamespace) -> Self {
        DurableObjectLog { namespace }
    }

    async fn call(&self, req: Request) -> Result<String> {
        let fail = |e: worker::Error| CacheError::backend("purge log (durable object)", e.to_string());
        let stub = self
            .namespace
            .id_from_name(LOG_OBJECT_NAME)
            .and_then(|id| id.get_stub())
            .map_err(fail)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(fail)?;
        let text = resp.text().await.map_err(fail)?;
        match resp.status_code() {
            200 => Ok(text),
            s => Err(CacheError::backend(
                "purge log (durable object)",
                format!("status {s}: {}", text.chars().take(200).collect::<String>()),
            )),
        }
    }
}

fn bad_reply(e: serde_json::Error) -> CacheError {
    CacheError::backend("purge log (durable object)", format!("bad reply: {e}"))
}

#[async_trait(?Send)]
impl PurgeLog for DurableObjectLog {
    fn name(&self) -> &str {
        "durable-object"
    }

    async fn append(&self, purge: &Purge) -> Result<u64> {
        let body = serde_json::to_string(purge).map_err(bad_reply)?;
        let req = new_request(
            &format!("https://purge-log{APPEND_PATH}"),
            "POST",
            None,
            Some(&body.into()),
            None,
        )
        .map_err(|e| CacheError::backend("purge log (durable object)", e.to_string()))?;
        let reply: serde_json::Value = serde_json::from_slice(self.call(req).await?.as_bytes()).map_err(bad_reply)?;
        reply["seq"]
            .as_u64()
            .ok_or_else(|| CacheError::backend("purge log (durable object)", "reply without a seq"))
    }

    async fn since(&self, cursor: u64) -> Result<SyncReply> {
        let req = Request::new(&format!("https://purge-log{SINCE_PATH}?cursor={cursor}"), Method::Get)
            .map_err(|e| CacheError::backend("purge log (durable object)", e.to_string()))?;
        serde_json::from_slice(self.call(req).await?.as_bytes()).map_err(bad_reply)
    }
}
