//! Tests of storing streamed bodies through a [`BodyTee`], natively: a fake
//! tee whose bodies the test completes (or breaks) by hand.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use futures::FutureExt;

use super::tests::{body, ok, rig, status, Rig, URL};
use super::{BodyTee, CachePolicy, Release, Teed};
use crate::http::{BodyStream, HttpRequest, HttpResponse};

/// A tee whose bodies arrive when the test sends them; counts releases.
#[derive(Default)]
struct HandTee {
    bodies: RefCell<Vec<oneshot::Sender<Option<Vec<u8>>>>>,
    released: Rc<Cell<u32>>,
    limits: RefCell<Vec<usize>>,
}

impl BodyTee for HandTee {
    fn tee(&self, stream: &BodyStream, limit: usize) -> Teed {
        let (tx, rx) = oneshot::channel();
        self.bodies.borrow_mut().push(tx);
        self.limits.borrow_mut().push(limit);
        let released = self.released.clone();
        Teed {
            client: stream.clone(),
            body: rx.map(|r| r.ok().flatten()).boxed_local(),
            release: Release::new(move || released.set(released.get() + 1)),
        }
    }
}

impl HandTee {
    /// Ends the oldest body still streaming with `body` (None: broken off).
    fn finish(&self, body: Option<&str>) {
        let tx = self.bodies.borrow_mut().remove(0);
        let _ = tx.send(body.map(|b| b.as_bytes().to_vec()));
    }
}

/// A rig whose origin answers with a streamed body, and its tee.
fn streaming_rig(headers: &'static [(&'static str, &'static str)]) -> (Rig, Rc<HandTee>) {
    let r = rig();
    let tee = Rc::new(HandTee::default());
    r.cache.set_body_tee(tee.clone());
    r.set_reply(move |_, _| {
        Ok(HttpResponse {
            stream: Some(BodyStream(Rc::new(()))),
            ..ok("", headers)
        })
    });
    (r, tee)
}

#[test]
fn a_streamed_body_is_stored_after_its_last_byte_then_the_stream_ends() {
    let (r, tee) = streaming_rig(&[]);
    let p = CachePolicy::default();
    let a = r.get(HttpRequest::get(URL), &p);
    assert_eq!(status(&a), "edgecache; fwd=miss; detail=streamed");
    assert!(a.stream.is_some(), "the client gets the tee's stream");
    assert_eq!(tee.limits.borrow().as_slice(), &[p.max_entry_bytes]);
    tee.finish(Some("streamed body"));
    assert_eq!(tee.released.get(), 0, "the stream ends only after the store");
    r.run_background();
    assert_eq!(tee.released.get(), 1);
    let b = r.get(HttpRequest::get(URL), &p);
    assert!(status(&b).starts_with("edgecache; hit"), "{}", status(&b));
    assert_eq!(body(&b), "streamed body");
    assert_eq!(r.calls.get(), 1);
    assert_eq!(r.cache.stats().stored, 1);
}

#[test]
fn a_body_broken_off_or_too_large_is_not_stored_and_the_stream_still_ends() {
    let (r, tee) = streaming_rig(&[]);
    let p = CachePolicy::default();
    r.get(HttpRequest::get(URL), &p);
    tee.finish(None);
    r.run_background();
    assert_eq!(tee.released.get(), 1);
    let b = r.get(HttpRequest::get(URL), &p);
    assert_eq!(status(&b), "edgecache; fwd=miss; detail=streamed");
    assert_eq!(r.calls.get(), 2, "nothing was stored");
    assert_eq!(r.cache.stats().stored, 0);
    assert_eq!(r.cache.stats().not_stored, 1);
}

#[test]
fn a_content_length_past_the_limit_passes_on_untouched() {
    let (r, tee) = streaming_rig(&[("content-length", "5000000")]);
    let a = r.get(HttpRequest::get(URL), &CachePolicy::default());
    assert_eq!(status(&a), "edgecache; fwd=miss; detail=too-large");
    assert!(a.stream.is_some());
    assert!(tee.limits.borrow().is_empty(), "no copy is kept");
}

#[test]
fn an_unstorable_streamed_answer_is_not_teed() {
    let (r, tee) = streaming_rig(&[("cache-control", "no-store")]);
    let a = r.get(HttpRequest::get(URL), &CachePolicy::default());
    assert_eq!(status(&a), "edgecache; fwd=miss; detail=no-store");
    assert!(tee.limits.borrow().is_empty());
}

#[test]
fn without_a_tee_a_streamed_body_is_not_stored() {
    let r = rig();
    r.set_reply(|_, _| {
        Ok(HttpResponse {
            stream: Some(BodyStream(Rc::new(()))),
            ..ok("", &[])
        })
    });
    let a = r.get(HttpRequest::get(URL), &CachePolicy::default());
    assert_eq!(status(&a), "edgecache; fwd=miss; detail=too-large");
}

#[test]
fn requests_during_the_stream_wait_for_the_whole_body_instead_of_the_origin() {
    let (r, tee) = streaming_rig(&[]);
    let p = CachePolicy::default();
    let a = r.get(HttpRequest::get(URL), &p);
    assert_eq!(status(&a), "edgecache; fwd=miss; detail=streamed");
    let mut pool = LocalPool::new();
    let out = spawn_gets(&r, &pool, &p, 3);
    pool.run_until_stalled();
    assert!(out.borrow().is_empty(), "they wait for the body");
    tee.finish(Some("whole"));
    run_background_in(&r, &mut pool);
    let out = out.borrow();
    assert_eq!(out.len(), 3);
    for resp in out.iter() {
        assert_eq!(body(resp), "whole");
        assert_eq!(status(resp), "edgecache; fwd=miss; collapsed");
        assert!(resp.stream.is_none());
    }
    assert_eq!(r.calls.get(), 1, "one origin request");
    assert!(status(&r.get(HttpRequest::get(URL), &p)).starts_with("edgecache; hit"));
}

#[test]
fn when_the_stream_breaks_off_the_waiting_requests_ask_the_origin() {
    let (r, tee) = streaming_rig(&[]);
    let p = CachePolicy::default();
    r.get(HttpRequest::get(URL), &p);
    let mut pool = LocalPool::new();
    let out = spawn_gets(&r, &pool, &p, 1);
    pool.run_until_stalled();
    tee.finish(None);
    run_background_in(&r, &mut pool);
    assert_eq!(out.borrow().len(), 1);
    assert_eq!(status(&out.borrow()[0]), "edgecache; fwd=miss; detail=streamed");
    assert_eq!(r.calls.get(), 2, "the waiter went to the origin itself");
}

/// `n` concurrent GETs of `URL` on `pool`; their answers land in the vector
/// as they complete.
fn spawn_gets(r: &Rig, pool: &LocalPool, p: &CachePolicy, n: usize) -> Rc<RefCell<Vec<HttpResponse>>> {
    let out: Rc<RefCell<Vec<HttpResponse>>> = Rc::default();
    for _ in 0..n {
        let (cache, io, out, p) = (r.cache.clone(), Rc::new(clone_io(r)), out.clone(), p.clone());
        pool.spawner()
            .spawn_local(async move {
                let resp = cache.handle(HttpRequest::get(URL), &p, &io).await;
                out.borrow_mut().push(resp);
            })
            .unwrap();
    }
    out
}

/// Runs the background work handed out so far (the stores after a stream)
/// on `pool`, with the requests already there.
fn run_background_in(r: &Rig, pool: &mut LocalPool) {
    for task in r.background.borrow_mut().drain(..) {
        pool.spawner().spawn_local(task).unwrap();
    }
    pool.run_until_stalled();
}

fn clone_io(r: &Rig) -> super::Io {
    super::Io {
        origin: r.io.origin.clone(),
        spawn: r.io.spawn.clone(),
    }
}
