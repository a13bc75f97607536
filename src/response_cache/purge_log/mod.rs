//! The purge log: invalidation that reaches every isolate.
//!
//! A purge is not only a delete in the store of the isolate that received
//! it: it is a [`Purge`] appended to a log with a sequence number. Every
//! entry carries the sequence its isolate had synced when it went to the
//! origin (`purge_seq`), so "an entry stored before a matching purge" is one
//! comparison, on any clock. Isolates fold the log into a [`PurgeIndex`]
//! (one [`Mark`] per scope: the last hard and soft purge of each URL, URL
//! prefix, key prefix and tag, and of everything), consulted on each hit.
//!
//! Where the log lives is a [`PurgeLog`]: a Durable Object or Redis shared by
//! every isolate (`app/`, `backend/`), or none, when the index of the
//! isolate is its own authority and a purge reaches only that isolate.

mod index;
mod log;
mod marks;
mod redis;
mod scope;
mod tags;

pub use index::{EntryFacts, PurgeIndex, SyncReply, Verdict, DEFAULT_MAX_MARKS};
pub use log::{LocalPurgeLog, PurgeLog, Reach};
pub use redis::{parse_since, RedisPurgeLog};
pub use scope::{Mark, Purge, Scope};
pub use tags::{take_tags, TagOptions, MAX_TAGS, MAX_TAG_BYTES};
