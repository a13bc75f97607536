//! Automatic pipelining: the commands issued for one server in the same
//! tick (before the first of them gets to run again) travel as one request,
//! and each caller gets its own reply back. The first caller of a tick
//! becomes the batch's sender: it yields once, so that the other futures
//! polled in the same turn (a `join_all`, concurrent JS promises) add their
//! commands, then it sends them all and wakes the others.
//!
//! The I/O is the sender's `send` closure: this module only collects and
//! routes, so it is tested natively.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::future::LocalBoxFuture;
use serde_json::Value as Json;

use super::protocol::Arg;
use crate::primitives::error::{CacheError, Result};
use crate::runtime::Wake;

/// One queued command.
pub struct Queued {
    /// The command's arguments (text only when batched: batches travel as JSON).
    pub command: Vec<Arg>,
    /// Whether it writes (the request then counts as a write).
    pub write: bool,
}

struct Waiter {
    slot: Rc<RefCell<Option<Result<Json>>>>,
    wake: Option<Wake>,
}

#[derive(Default)]
struct Open {
    queued: Vec<Queued>,
    waiters: Vec<Waiter>,
}

/// The open batch of each server (by URL), for one backend.
#[derive(Default)]
pub struct Batches {
    open: RefCell<HashMap<String, Open>>,
}

/// Sends a batch: its commands in order, answered by one JSON reply per command.
pub type Send<'a> = Box<dyn FnOnce(Vec<Queued>) -> LocalBoxFuture<'a, Result<Vec<Json>>> + 'a>;

impl Batches {
    /// Queues `command` for `target` and returns its reply: the raw JSON
    /// (`{"result"}` or `{"error"}`), or the whole request's failure.
    /// `signal` makes a waiter's (wake, wait) pair; `send` is used only if
    /// this caller ends up sending the batch.
    pub async fn run<'a>(
        &self,
        target: &str,
        command: Queued,
        signal: &dyn Fn() -> (Wake, LocalBoxFuture<'static, ()>),
        send: Send<'a>,
    ) -> Result<Json> {
        let slot = Rc::new(RefCell::new(None));
        let joined = {
            let mut open = self.open.borrow_mut();
            match open.get_mut(target) {
                Some(batch) => {
                    let (wake, wait) = signal();
                    batch.queued.push(command);
                    batch.waiters.push(Waiter {
                        slot: slot.clone(),
                        wake: Some(wake),
                    });
                    Some(wait)
                }
                None => {
                    open.insert(
                        target.to_string(),
                        Open {
                            queued: vec![command],
                            waiters: vec![Waiter {
                                slot: slot.clone(),
                                wake: None,
                            }],
                        },
                    );
                    None
                }
            }
        };
        if let Some(wait) = joined {
            wait.await;
            return slot.borrow_mut().take().unwrap_or_else(|| Err(cancelled(target)));
        }
        // This caller sends. If it is dropped before it delivers, the guard
        // wakes the others with an error instead of leaving them waiting.
        let mut guard = Sender {
            batches: self,
            target,
            waiters: None,
        };
        YieldOnce(false).await;
        let Open { queued, waiters } = self.open.borrow_mut().remove(target).unwrap_or_default();
        let n = queued.len();
        guard.waiters = Some(waiters);
        let replies = send(queued).await;
        let waiters = guard.waiters.take().unwrap_or_default();
        match replies {
            Ok(replies) if replies.len() == n => {
                for (w, r) in waiters.into_iter().zip(replies) {
                    deliver(w, Ok(r));
                }
            }
            Ok(replies) => {
                let e = CacheError::Corrupt(format!("{n} commands sent, {} replies", replies.len()));
                waiters.into_iter().for_each(|w| deliver(w, Err(e.clone())));
            }
            Err(e) => waiters.into_iter().for_each(|w| deliver(w, Err(e.clone()))),
        }
        let mine = slot.borrow_mut().take();
        mine.unwrap_or_else(|| Err(cancelled(target)))
    }
}

fn deliver(w: Waiter, answer: Result<Json>) {
    *w.slot.borrow_mut() = Some(answer);
    if let Some(wake) = w.wake {
        wake();
    }
}

fn cancelled(target: &str) -> CacheError {
    CacheError::backend(
        "redis",
        format!("{target}: the request carrying this command was cancelled"),
    )
}

/// Wakes the batch's waiters if its sender is dropped before delivering.
struct Sender<'b> {
    batches: &'b Batches,
    target: &'b str,
    waiters: Option<Vec<Waiter>>,
}

impl Drop for Sender<'_> {
    fn drop(&mut self) {
        let waiters = match self.waiters.take() {
            Some(w) => w,
            // Dropped before taking the batch: close it.
            None => match self.batches.open.try_borrow_mut() {
                Ok(mut open) => open.remove(self.target).map(|o| o.waiters).unwrap_or_default(),
                Err(_) => Vec::new(),
            },
        };
        for w in waiters {
            if let Some(wake) = w.wake {
                wake();
            }
        }
    }
}

/// Pending once (waking itself at once), then ready: lets the other
/// futures of this turn run first.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use serde_json::json;
    use std::cell::Cell;

    fn signal() -> (Wake, LocalBoxFuture<'static, ()>) {
        crate::runtime::oneshot_signal()
    }

    /// Answers each command with its first argument, or an error for "BAD"; counts requests.
    fn echo(requests: &Cell<usize>) -> Send<'_> {
        Box::new(move |queued: Vec<Queued>| {
            requests.set(requests.get() + 1);
            async move {
                Ok(queued
                    .iter()
                    .map(|q| match &q.command[0] {
                        Arg::Text(c) if c == "BAD" => json!({"error": "ERR bad"}),
                        Arg::Text(c) => json!({"result": c}),
                        Arg::Bytes(_) => json!({"error": "binary"}),
                    })
                    .collect())
            }
            .boxed_local()
        })
    }

    #[test]
    fn concurrent_commands_go_out_as_one_request_each_reply_to_its_caller() {
        let b = Batches::default();
        let requests = Cell::new(0);
        let calls = (0..100).map(|i| {
            let command = if i == 7 {
                "BAD".into()
            } else {
                Arg::Text(format!("c{i}"))
            };
            b.run(
                "http://a",
                Queued {
                    command: vec![command],
                    write: false,
                },
                &signal,
                echo(&requests),
            )
        });
        let replies = futures::executor::block_on(futures::future::join_all(calls));
        assert_eq!(requests.get(), 1);
        for (i, r) in replies.into_iter().enumerate() {
            let expected = if i == 7 {
                json!({"error": "ERR bad"})
            } else {
                json!({"result": format!("c{i}")})
            };
            assert_eq!(r.unwrap(), expected, "caller {i}");
        }
        // A later tick is a new batch.
        let one = futures::executor::block_on(b.run(
            "http://a",
            Queued {
                command: vec!["x".into()],
                write: true,
            },
            &signal,
            echo(&requests),
        ));
        assert_eq!((one.unwrap(), requests.get()), (json!({"result": "x"}), 2));
    }

    #[test]
    fn servers_batch_apart_and_a_failure_reaches_every_caller() {
        let b = Batches::default();
        let requests = Cell::new(0);
        let failing: Send<'_> = Box::new(|_| async { Err(CacheError::backend("redis", "down")) }.boxed_local());
        let q = |c: &str| Queued {
            command: vec![Arg::from(c)],
            write: false,
        };
        let a1 = b.run("http://a", q("a1"), &signal, echo(&requests));
        let x1 = b.run("http://x", q("x1"), &signal, failing);
        let a2 = b.run("http://a", q("a2"), &signal, echo(&requests));
        let x2 = b.run("http://x", q("x2"), &signal, echo(&requests));
        let (a1, x1, a2, x2) = futures::executor::block_on(futures::future::join4(a1, x1, a2, x2));
        assert_eq!(
            (a1.unwrap(), a2.unwrap()),
            (json!({"result": "a1"}), json!({"result": "a2"}))
        );
        assert!(x1.is_err() && x2.is_err(), "the sender's failure is every caller's");
        assert_eq!(requests.get(), 1, "x2's send was not used: x1 sent the batch");
    }

    #[test]
    fn a_dropped_sender_wakes_its_waiters_with_an_error() {
        let b = Batches::default();
        let requests = Cell::new(0);
        let q = |c: &str| Queued {
            command: vec![Arg::from(c)],
            write: false,
        };
        let mut sender = Box::pin(b.run("http://a", q("a1"), &signal, echo(&requests)));
        let waiter = b.run("http://a", q("a2"), &signal, echo(&requests));
        let waker = futures::task::noop_waker();
        assert!(sender.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        let result = futures::executor::block_on(async {
            let w = waiter.boxed_local();
            let mut w = w;
            assert!(futures::poll!(&mut w).is_pending());
            drop(sender);
            w.await
        });
        assert!(result.unwrap_err().to_string().contains("cancelled"));
        assert_eq!(requests.get(), 0);
    }
}
