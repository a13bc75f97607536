//! Request collapsing ("cache lock"): concurrent misses for one key make one
//! origin request; the others wait for its result, up to a timeout, then go
//! to the origin themselves. Per isolate, single-threaded, runtime-agnostic:
//! the timeout is any future the caller supplies (a `setTimeout` in workerd),
//! and so is the wake-up signal. workerd needs its own ([`Signal`]): a waiter
//! must resume in its own request's context, so it waits on a JS promise it
//! created itself, which the leader resolves.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures::future::{select, Either, LocalBoxFuture};

/// The outcome of [`SingleFlight::run`].
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub enum Flight<T> {
    /// This caller ran the work.
    Led(T),
    /// Another caller ran it; this one got a copy.
    Joined(T),
    /// The leader did not finish in time (or failed to share); this caller
    /// ran the work itself.
    TimedOut(T),
}

impl<T> Flight<T> {
    /// The result, however it was obtained.
    pub fn into_inner(self) -> T {
        match self {
            Flight::Led(t) | Flight::Joined(t) | Flight::TimedOut(t) => t,
        }
    }
}

/// Makes a (wake, wait) pair: calling `wake` completes `wait`. Dropping
/// `wake` without calling it must also complete `wait`, or leave it to the
/// timeout.
pub type Signal = Rc<dyn Fn() -> (Box<dyn FnOnce()>, LocalBoxFuture<'static, ()>)>;

/// The default signal, a futures oneshot channel.
pub fn oneshot_signal() -> Signal {
    Rc::new(crate::runtime::oneshot_signal)
}

/// A waiter's mailbox: the value, and how to wake it.
struct Waiter<T> {
    value: Rc<RefCell<Option<T>>>,
    wake: Box<dyn FnOnce()>,
}

type Waiters<T> = Vec<Waiter<T>>;

/// Collapses concurrent work per key. Clones share the same table.
pub struct SingleFlight<T> {
    inflight: Rc<RefCell<HashMap<String, Waiters<T>>>>,
    signal: Signal,
}

impl<T> Clone for SingleFlight<T> {
    fn clone(&self) -> Self {
        SingleFlight {
            inflight: self.inflight.clone(),
            signal: self.signal.clone(),
        }
    }
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        Self::with_signal(oneshot_signal())
    }
}

impl<T> SingleFlight<T> {
    /// A table whose waiters are woken through `signal` (workerd needs its own).
    pub fn with_signal(signal: Signal) -> Self {
        SingleFlight {
            inflight: Rc::default(),
            signal,
        }
    }
}

/// Removes the key if the leader's future is dropped before it finishes, so
/// waiters are released (their channels close) instead of hanging.
struct LeaderGuard<'a, T> {
    table: &'a RefCell<HashMap<String, Waiters<T>>>,
    key: &'a str,
    done: bool,
}

impl<T> Drop for LeaderGuard<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            let waiters = self.table.borrow_mut().remove(self.key).unwrap_or_default();
            // Wake them empty-handed: they run the work themselves.
            for w in waiters {
                (w.wake)();
            }
        }
    }
}

/// Takes a waiter's mailbox off the leader's list however the waiter
/// leaves (woken, timed out, dropped), so a stuck leader does not collect
/// them.
struct Unlist<'a, T> {
    table: &'a RefCell<HashMap<String, Waiters<T>>>,
    key: &'a str,
    value: Rc<RefCell<Option<T>>>,
}

impl<T> Drop for Unlist<'_, T> {
    fn drop(&mut self) {
        if let Some(ws) = self.table.borrow_mut().get_mut(self.key) {
            ws.retain(|w| !Rc::ptr_eq(&w.value, &self.value));
        }
    }
}

impl<T: Clone> SingleFlight<T> {
    /// Number of keys with work in flight.
    pub fn in_flight(&self) -> usize {
        self.inflight.borrow().len()
    }

    /// Runs `work` for `key` unless it is already running, in which case
    /// waits for that run's result until `timeout` completes.
    pub async fn run<W, WF, TO>(&self, key: &str, work: W, timeout: TO) -> Flight<T>
    where
        W: FnOnce() -> WF,
        WF: Future<Output = T>,
        TO: Future<Output = ()>,
    {
        let waiter = {
            let mut table = self.inflight.borrow_mut();
            match table.get_mut(key) {
                Some(waiters) => {
                    let (wake, wait) = (self.signal)();
                    let value = Rc::new(RefCell::new(None));
                    waiters.push(Waiter {
                        value: value.clone(),
                        wake,
                    });
                    Some((value, wait))
                }
                None => {
                    table.insert(key.to_string(), Vec::new());
                    None
                }
            }
        };
        match waiter {
            None => {
                let mut guard = LeaderGuard {
                    table: &self.inflight,
                    key,
                    done: false,
                };
                let out = work().await;
                guard.done = true;
                let waiters = self.inflight.borrow_mut().remove(key).unwrap_or_default();
                for w in waiters {
                    *w.value.borrow_mut() = Some(out.clone());
                    (w.wake)();
                }
                Flight::Led(out)
            }
            Some((value, wait)) => {
                let unlist = Unlist {
                    table: &self.inflight,
                    key,
                    value: value.clone(),
                };
                let timeout = std::pin::pin!(timeout);
                let woken = matches!(select(wait, timeout).await, Either::Left(_));
                let got = value.borrow_mut().take();
                drop(unlist);
                match got {
                    Some(v) if woken => Flight::Joined(v),
                    _ => Flight::TimedOut(work().await),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::oneshot;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use std::cell::Cell;

    #[test]
    fn concurrent_callers_share_one_run() {
        let mut pool = LocalPool::new();
        let sf: SingleFlight<u32> = SingleFlight::default();
        let runs = Rc::new(Cell::new(0));
        let (release_tx, release_rx) = oneshot::channel::<()>();
        let release = Rc::new(RefCell::new(Some(release_rx)));
        let results = Rc::new(RefCell::new(Vec::new()));
        for _ in 0..100 {
            let (sf, runs, release, results) = (sf.clone(), runs.clone(), release.clone(), results.clone());
            pool.spawner()
                .spawn_local(async move {
                    let r = sf
                        .run(
                            "k",
                            || async {
                                runs.set(runs.get() + 1);
                                let rx = release.borrow_mut().take();
                                if let Some(rx) = rx {
                                    let _ = rx.await;
                                }
                                7
                            },
                            futures::future::pending(),
                        )
                        .await;
                    results.borrow_mut().push(r);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(sf.in_flight(), 1);
        release_tx.send(()).unwrap();
        pool.run_until_stalled();
        assert_eq!(runs.get(), 1);
        let r = results.borrow();
        assert_eq!(r.len(), 100);
        assert_eq!(r.iter().filter(|f| matches!(f, Flight::Led(7))).count(), 1);
        assert_eq!(r.iter().filter(|f| matches!(f, Flight::Joined(7))).count(), 99);
        assert_eq!(sf.in_flight(), 0);
    }

    #[test]
    fn waiters_time_out_and_run_themselves() {
        let mut pool = LocalPool::new();
        let sf: SingleFlight<u32> = SingleFlight::default();
        let (_never_tx, never_rx) = oneshot::channel::<()>();
        let out = Rc::new(RefCell::new(Vec::new()));
        {
            let (sf, out) = (sf.clone(), out.clone());
            pool.spawner()
                .spawn_local(async move {
                    let r = sf
                        .run(
                            "k",
                            || async {
                                let _ = never_rx.await;
                                1
                            },
                            futures::future::pending(),
                        )
                        .await;
                    out.borrow_mut().push(r);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        let r = pool.run_until(sf.run("k", || async { 2 }, async {}));
        assert_eq!(r, Flight::TimedOut(2));
        assert!(out.borrow().is_empty(), "the stuck leader is still waiting");
    }

    #[test]
    fn dropped_leader_releases_waiters() {
        let sf: SingleFlight<u32> = SingleFlight::default();
        let mut pool = LocalPool::new();
        let leader = sf.run("k", futures::future::pending::<u32>, futures::future::pending());
        let mut leader = Box::pin(leader);
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(leader.as_mut().poll(&mut cx).is_pending());
        drop(leader);
        assert_eq!(sf.in_flight(), 0);
        let r = pool.run_until(sf.run("k", || async { 3 }, futures::future::pending()));
        assert_eq!(r, Flight::Led(3));
    }

    /// Waiters that time out, or are dropped, leave the leader's list (a
    /// stuck leader must not collect them).
    #[test]
    fn waiters_that_leave_are_unlisted() {
        let mut pool = LocalPool::new();
        let sf: SingleFlight<u32> = SingleFlight::default();
        let (_never_tx, never_rx) = oneshot::channel::<()>();
        {
            let sf = sf.clone();
            pool.spawner()
                .spawn_local(async move {
                    let stuck = || async {
                        let _ = never_rx.await;
                        1
                    };
                    sf.run("k", stuck, futures::future::pending()).await;
                })
                .unwrap();
        }
        pool.run_until_stalled();
        for _ in 0..100 {
            assert_eq!(
                pool.run_until(sf.run("k", || async { 2 }, async {})),
                Flight::TimedOut(2)
            );
        }
        let listed = || sf.inflight.borrow().get("k").map_or(0, |w| w.len());
        assert_eq!(listed(), 0, "timed-out waiters still listed");
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        for _ in 0..10 {
            let mut w = Box::pin(sf.run("k", || async { 0 }, futures::future::pending()));
            assert!(w.as_mut().poll(&mut cx).is_pending());
            drop(w);
        }
        assert_eq!(listed(), 0, "dropped waiters still listed");
    }
}
