//! Where the log lives: the seam to a shared authority.

use std::cell::RefCell;
use std::rc::Rc;

use async_trait::async_trait;

use super::index::{PurgeIndex, SyncReply};
use super::scope::Purge;
use crate::primitives::clock::Clock;
use crate::primitives::error::Result;

/// How far a purge reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Only the isolate that received it (no shared log configured).
    Isolate,
    /// Every isolate that syncs with the log, within its sync interval.
    Everywhere,
}

impl Reach {
    /// As the admin API reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Isolate => "isolate",
            Reach::Everywhere => "everywhere",
        }
    }
}

/// A purge log every isolate consults: appends get a sequence number,
/// syncs return what moved after a cursor.
#[async_trait(?Send)]
pub trait PurgeLog {
    /// A short name for errors and the admin API (`durable-object`, `redis`).
    fn name(&self) -> &str;
    /// How far its purges reach.
    fn reach(&self) -> Reach {
        Reach::Everywhere
    }
    /// Appends `purge`; returns its sequence number.
    async fn append(&self, purge: &Purge) -> Result<u64>;
    /// The marks that moved after `cursor`.
    async fn since(&self, cursor: u64) -> Result<SyncReply>;
}

/// A log held in this process: the authority for several response caches
/// of one process (tests, a native server), reaching only them.
pub struct LocalPurgeLog {
    index: RefCell<PurgeIndex>,
    clock: Rc<dyn Clock>,
}

impl LocalPurgeLog {
    /// An empty log on `clock`.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        LocalPurgeLog {
            index: RefCell::default(),
            clock,
        }
    }
}

#[async_trait(?Send)]
impl PurgeLog for LocalPurgeLog {
    fn name(&self) -> &str {
        "local"
    }

    async fn append(&self, purge: &Purge) -> Result<u64> {
        Ok(self.index.borrow_mut().append(purge, self.clock.now_ms()))
    }

    async fn since(&self, cursor: u64) -> Result<SyncReply> {
        Ok(self.index.borrow().since(cursor))
    }
}
