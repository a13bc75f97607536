//! Ellar's `@Cache` for workers-rs handlers and Routers.

use std::future::Future;
use std::rc::Rc;

use worker::{Context, Request, Response};

use super::convert::{from_worker_request, to_worker_response};
use super::origin::handler_origin;
use super::runtime::spawner;
use crate::response_cache::{CachePolicy, Io, ResponseCache};

impl ResponseCache {
    /// Ellar's `@Cache` for a workers-rs handler or Router: answers `req`
    /// from the cache or by calling `handler`.
    pub async fn respond<H, F>(
        &self,
        mut req: Request,
        policy: &CachePolicy,
        ctx: Option<Rc<Context>>,
        handler: H,
    ) -> worker::Result<Response>
    where
        H: Fn(Request) -> F + 'static,
        F: Future<Output = worker::Result<Response>> + 'static,
    {
        let plain = from_worker_request(&mut req).await?;
        let io = Io {
            origin: handler_origin(handler),
            spawn: spawner(ctx),
        };
        to_worker_response(self.handle(plain, policy, &io).await)
    }
}
