//! Storing a body that streams to the client. A platform that can copy a
//! stream as it passes (the JS package, with a `ReadableStream` of its
//! own) hands the engine the client's stream and, once the last byte has
//! passed, the whole body; the engine stores it then, in the background, if
//! it fits `max_entry_bytes`. Without a tee a streamed body is passed on
//! and not stored.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;

use crate::http::{BodyStream, HttpResponse};
use crate::runtime::{Runtime, Wake};

/// Copies a streamed body while it goes to the client.
pub trait BodyTee {
    /// Splits `stream` for the client and the store (see [`Teed`]).
    fn tee(&self, stream: &BodyStream, limit: usize) -> Teed;
}

/// A streamed body, split.
pub struct Teed {
    /// The stream to send in place of the origin's.
    pub client: BodyStream,
    /// The whole body once it has passed: `None` when it grew past the
    /// limit or broke off (then the client's stream fails too, and nothing
    /// is stored).
    pub body: LocalBoxFuture<'static, Option<Vec<u8>>>,
    /// Called once the body is stored (or will not be): the client's stream
    /// ends only then, so a client that has read it to the end finds the
    /// entry stored. Called when dropped, if not before.
    pub release: Release,
}

/// Calls its function once, when called or dropped.
pub struct Release(Option<Box<dyn FnOnce()>>);

impl Release {
    /// A release that calls `f`.
    pub fn new(f: impl FnOnce() + 'static) -> Self {
        Release(Some(Box::new(f)))
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A streamed answer, whole, for the requests that joined its fetch: they
/// wait for the last byte instead of asking the origin again. Each waiter
/// waits on a signal of its own (in workerd a waiter must resume in its own
/// request's context); the leader's store task settles it.
#[derive(Clone, Default)]
pub(super) struct PendingBody {
    state: Rc<RefCell<Pending>>,
}

#[derive(Default)]
struct Pending {
    /// `Some(None)`: the body was not kept (too large, broken off).
    whole: Option<Option<Rc<HttpResponse>>>,
    wakes: Vec<Wake>,
}

impl PendingBody {
    /// Gives every waiter `whole` (None: not kept), now and later; only
    /// the first call counts.
    pub(super) fn settle(&self, whole: Option<Rc<HttpResponse>>) {
        let wakes = {
            let mut s = self.state.borrow_mut();
            if s.whole.is_some() {
                return;
            }
            s.whole = Some(whole);
            std::mem::take(&mut s.wakes)
        };
        for wake in wakes {
            wake();
        }
    }

    /// The whole response once settled, `None` if it was not kept or did
    /// not come before `timeout`.
    pub(super) async fn wait(
        &self,
        runtime: &dyn Runtime,
        timeout: LocalBoxFuture<'static, ()>,
    ) -> Option<Rc<HttpResponse>> {
        if let Some(w) = &self.state.borrow().whole {
            return w.clone();
        }
        let (wake, wait) = runtime.signal();
        self.state.borrow_mut().wakes.push(wake);
        let _ = futures::future::select(wait, timeout).await;
        self.state.borrow().whole.clone().flatten()
    }

    /// Whether `self` and `other` are the same body.
    pub(super) fn same(&self, other: &PendingBody) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }
}
