//! TCP for the memcached backend from a JS host that has `connect()` from
//! `cloudflare:sockets` (JS Workers; the package's workerd entry passes it
//! in): a socket's `writable` and `readable` streams as a [`ByteStream`],
//! through `js_sys::Reflect` only. Hosts without it use the HTTP gateway.

use async_trait::async_trait;
use futures::future::{select, Either};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::super::promise::js_sleep;
use crate::transport::{tcp_host_port, ByteStream, StreamTransport, TransportError};

/// Opens sockets with a `connect(address, options)` function.
pub struct JsSockets {
    connect: Function,
}

impl JsSockets {
    /// Sockets through `connect` (`cloudflare:sockets`' export).
    pub fn new(connect: Function) -> Self {
        JsSockets { connect }
    }
}

struct JsSocket {
    socket: JsValue,
    reader: JsValue,
    writer: JsValue,
    /// Bytes read but not yet handed out.
    pending: Vec<u8>,
    timeout_ms: u64,
}

fn message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, TransportError> {
    let f: Function = Reflect::get(target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| TransportError::Io(format!("the socket has no {method}()")))?;
    let args: js_sys::Array = args.iter().cloned().collect();
    f.apply(target, &args).map_err(|e| TransportError::Io(message(&e)))
}

/// Awaits `value` if it is a promise, within `ms`.
async fn settle(value: JsValue, ms: u64) -> Result<JsValue, TransportError> {
    let Some(p) = value.dyn_ref::<Promise>() else {
        return Ok(value);
    };
    let fut = std::pin::pin!(JsFuture::from(p.clone()));
    match select(fut, js_sleep(ms)).await {
        Either::Left((r, _)) => r.map_err(|e| TransportError::Io(message(&e))),
        Either::Right(_) => Err(TransportError::Timeout { ms }),
    }
}

#[async_trait(?Send)]
impl ByteStream for JsSocket {
    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let chunk = Uint8Array::from(bytes);
        let written = call(&self.writer, "write", &[chunk.into()])?;
        settle(written, self.timeout_ms).await.map(|_| ())
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if self.pending.is_empty() {
            let chunk = settle(call(&self.reader, "read", &[])?, self.timeout_ms).await?;
            if Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()) == Some(true) {
                return Ok(0);
            }
            let value = Reflect::get(&chunk, &"value".into()).unwrap_or(JsValue::UNDEFINED);
            self.pending = value
                .dyn_ref::<Uint8Array>()
                .map(Uint8Array::to_vec)
                .unwrap_or_default();
            if self.pending.is_empty() {
                return Err(TransportError::Io("the socket yielded an empty chunk".into()));
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl Drop for JsSocket {
    fn drop(&mut self) {
        let _ = call(&self.socket, "close", &[]);
    }
}

#[async_trait(?Send)]
impl StreamTransport for JsSockets {
    async fn connect(
        &self,
        address: &str,
        connect_timeout_ms: u64,
        timeout_ms: u64,
    ) -> Result<Box<dyn ByteStream>, TransportError> {
        let (host, port) = tcp_host_port(address, "this JS host")?;
        let target = Object::new();
        let _ = Reflect::set(&target, &"hostname".into(), &host.into());
        let _ = Reflect::set(&target, &"port".into(), &JsValue::from_f64(f64::from(port)));
        let socket = self
            .connect
            .call1(&JsValue::NULL, &target)
            .map_err(|e| TransportError::Connect(format!("{address}: {}", message(&e))))?;
        let opened = Reflect::get(&socket, &"opened".into()).unwrap_or(JsValue::UNDEFINED);
        settle(opened, connect_timeout_ms).await.map_err(|e| match e {
            TransportError::Io(m) => TransportError::Connect(format!("{address}: {m}")),
            other => other,
        })?;
        let stream = |name: &str| Reflect::get(&socket, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let writer = call(&stream("writable"), "getWriter", &[])?;
        let reader = call(&stream("readable"), "getReader", &[])?;
        Ok(Box::new(JsSocket {
            socket,
            reader,
            writer,
            pending: Vec::new(),
            timeout_ms,
        }))
    }
}
