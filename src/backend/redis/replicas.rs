//! Read-replica health, as pure state: which replica a read may use, which
//! are skipped after a failure, and whether a replica's link to its leader
//! is known to be up. The backend does the I/O and reports back here.
//!
//! A replica that failed (refused, timed out, garbage, `LOADING`) is skipped
//! for `down_ms`; a replica whose last `INFO replication` said its link is
//! down (or a sync is in progress) is skipped the same way, since it keeps
//! serving its old values indefinitely. A link status older than `check_ms`
//! is re-checked with the next read sent to that replica (in the same
//! request), so an answer is only used while the link was seen up within
//! `check_ms`.

use std::cell::RefCell;

/// Why a replica is being skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// The request failed or timed out, or the reply was not usable.
    Failed,
    /// `INFO replication` said the link to the leader is down or syncing.
    LinkDown,
}

impl DownReason {
    /// The name shown in stats.
    pub fn as_str(self) -> &'static str {
        match self {
            DownReason::Failed => "failed",
            DownReason::LinkDown => "link_down",
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Replica {
    /// Skipped until then (ms), and why.
    down: Option<(u64, DownReason)>,
    /// When the link was last seen up (ms).
    link_seen_up: Option<u64>,
    /// Reads this replica failed that the leader answered instead.
    failovers: u64,
}

/// The state of every read replica of one backend (per isolate).
#[derive(Debug)]
pub struct Replicas {
    replicas: RefCell<Vec<Replica>>,
    down_ms: u64,
    check_ms: Option<u64>,
}

impl Replicas {
    /// `n` replicas, skipped for `down_ms` after a failure; links checked
    /// every `check_ms` (`None`: never).
    pub fn new(n: usize, down_ms: u64, check_ms: Option<u64>) -> Self {
        Replicas {
            replicas: RefCell::new(vec![Replica::default(); n]),
            down_ms,
            check_ms,
        }
    }

    /// A usable replica (its index in `read_urls`) chosen by `pick` among
    /// those not down at `now`, or `None` (the read goes to the leader).
    pub fn pick(&self, now: u64, pick: &dyn Fn(usize) -> usize) -> Option<usize> {
        let replicas = self.replicas.borrow();
        let up: Vec<usize> = (0..replicas.len())
            .filter(|&i| replicas[i].down.is_none_or(|(until, _)| now >= until))
            .collect();
        (!up.is_empty()).then(|| up[pick(up.len()).min(up.len() - 1)])
    }

    /// Whether the next request to replica `i` must carry `INFO replication`
    /// (its link was last seen up `check_ms` or more ago, or never).
    pub fn needs_check(&self, i: usize, now: u64) -> bool {
        let seen = self.replicas.borrow()[i].link_seen_up;
        self.check_ms
            .is_some_and(|every| seen.is_none_or(|t| now.saturating_sub(t) >= every))
    }

    /// Replica `i` failed a read at `now` (or its link is down): skip it
    /// for `down_ms`. The first reason given counts (a batch's callers all
    /// report the one failure).
    pub fn mark_down(&self, i: usize, now: u64, reason: DownReason) {
        let mut r = self.replicas.borrow_mut();
        if r[i].down.is_some_and(|(until, _)| now < until) {
            return;
        }
        r[i].down = Some((now + self.down_ms, reason));
        r[i].link_seen_up = None;
        r[i].failovers += 1;
    }

    /// Replica `i` reported its link up at `now`.
    pub fn link_up(&self, i: usize, now: u64) {
        let mut r = self.replicas.borrow_mut();
        r[i].down = None;
        r[i].link_seen_up = Some(now);
    }

    /// Replica `i` answered a read (its link state unchanged).
    pub fn answered(&self, i: usize) {
        self.replicas.borrow_mut()[i].down = None;
    }

    /// For stats: per replica, why it is down at `now` (if it is) and its failovers.
    pub fn report(&self, now: u64) -> Vec<(Option<DownReason>, u64)> {
        self.replicas
            .borrow()
            .iter()
            .map(|r| {
                let down = r.down.filter(|(until, _)| now < *until).map(|(_, why)| why);
                (down, r.failovers)
            })
            .collect()
    }
}

/// Whether an `INFO replication` text says this server's data is current
/// enough to read: a replica whose link is up and not syncing, or a server
/// that is no replica at all (the text has no `master_link_status`).
pub fn link_is_up(info: &str) -> bool {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.trim_end().strip_prefix(name)?.strip_prefix(':').map(str::to_string))
    };
    let link_ok = field("master_link_status").is_none_or(|s| s == "up");
    let syncing = field("master_sync_in_progress").is_some_and(|s| s == "1");
    link_ok && !syncing
}

/// Whether a Redis error reply from a replica means "ask elsewhere"
/// (loading its dataset, or refusing reads while its link is down).
pub fn is_unavailable_error(message: &str) -> bool {
    ["LOADING", "MASTERDOWN", "TRYAGAIN"]
        .iter()
        .any(|p| message.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(_: usize) -> usize {
        0
    }

    #[test]
    fn a_failed_replica_is_skipped_for_down_ms_then_tried_again() {
        let r = Replicas::new(2, 1_000, None);
        assert_eq!(r.pick(0, &first), Some(0));
        r.mark_down(0, 0, DownReason::Failed);
        r.mark_down(0, 5, DownReason::LinkDown);
        assert_eq!(r.pick(10, &first), Some(1));
        r.mark_down(1, 10, DownReason::Failed);
        assert_eq!(r.pick(20, &first), None, "all down: the leader");
        assert_eq!(r.pick(1_000, &first), Some(0), "retry interval over");
        assert_eq!(
            r.report(20),
            vec![(Some(DownReason::Failed), 1), (Some(DownReason::Failed), 1)]
        );
        assert_eq!(r.report(2_000), vec![(None, 1), (None, 1)]);
    }

    #[test]
    fn the_link_is_checked_every_check_ms() {
        let r = Replicas::new(1, 5_000, Some(1_000));
        assert!(r.needs_check(0, 0), "never checked");
        r.link_up(0, 0);
        assert!(!r.needs_check(0, 999));
        assert!(r.needs_check(0, 1_000));
        r.mark_down(0, 1_000, DownReason::LinkDown);
        assert_eq!(r.pick(1_001, &first), None);
        assert_eq!(r.pick(6_000, &first), Some(0));
        assert!(r.needs_check(0, 6_000), "a replica back from down is checked first");
        let never = Replicas::new(1, 5_000, None);
        assert!(!never.needs_check(0, 0));
    }

    #[test]
    fn info_replication() {
        let up = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_link_status:up\r\nmaster_sync_in_progress:0\r\n";
        assert!(link_is_up(up));
        assert!(!link_is_up(&up.replace(":up", ":down")));
        assert!(!link_is_up(&up.replace("progress:0", "progress:1")));
        assert!(link_is_up("# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"));
        assert!(is_unavailable_error("LOADING Redis is loading the dataset in memory"));
        assert!(is_unavailable_error("MASTERDOWN Link with MASTER is down"));
        assert!(!is_unavailable_error("WRONGTYPE Operation against a key"));
    }
}
