//! The accept loop: HTTP/1.1 connections served one by one with hyper,
//! under limits that `axum::serve` does not have, so that nobody can hold
//! the relay's sockets (slowloris).
//!
//! - A connection has `header_read_timeout` to send a request's headers
//!   (hyper's own timer, which also runs while a kept-alive connection
//!   waits for its next request).
//! - A connection that makes no progress at all (no byte read or written)
//!   for `idle_timeout` is asked to close gracefully (an idle one closes at
//!   once, one with a response in flight after it); after twice that it is
//!   dropped. This covers a client that connects and sends nothing, one
//!   that stops reading a response, and keep-alive connections left open.
//! - At most `max_connections` sockets are open at once, and at most
//!   `max_per_address` from one peer address (a configured trusted proxy's
//!   address is exempt: all its clients share it). Beyond either, the
//!   socket is closed as soon as it is accepted, before anything is read.
//!   A socket stays counted for as long as it is open, websockets included
//!   (the count lives in the socket's wrapper, which the upgraded websocket
//!   keeps).
//!
//! It does not decide anything about requests: the router does. Nor does
//! it know about websocket limits (`app.rs`), which come on top.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tower_service::Service as _;

use crate::metrics::Metrics;

/// The connection limits, from [`crate::Config`].
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_per_address: usize,
    /// Peers exempt from the per-address cap.
    pub(crate) trusted_proxies: Vec<IpAddr>,
}

/// Part of the descriptor limit (`ulimit -n`) the connections may take:
/// the rest is for SQLite (each feed or chunk read opens the database and
/// its WAL) and the relay's own files. At the descriptor limit `accept`
/// fails and nobody gets in; below it, only the over-limit sockets are
/// refused.
pub(crate) fn connection_budget(configured: usize) -> usize {
    match descriptor_limit() {
        Some(limit) => configured.min(limit.saturating_mul(3) / 4).max(1),
        None => configured,
    }
}

/// The soft limit on open files, where it can be read.
fn descriptor_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Open sockets, in total and per peer address.
#[derive(Debug, Default)]
struct Table {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// A socket's place in the [`Table`], released when the socket is dropped.
struct Slot {
    table: Arc<Mutex<Table>>,
    address: IpAddr,
    metrics: Arc<Metrics>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        table.total = table.total.saturating_sub(1);
        if let Some(count) = table.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                table.by_address.remove(&self.address);
            }
        }
        self.metrics.http_connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn admit(table: &Arc<Mutex<Table>>, limits: &Limits, address: IpAddr, metrics: &Arc<Metrics>) -> Option<Slot> {
    let mut guard = table.lock().unwrap_or_else(|p| p.into_inner());
    let from_address = guard.by_address.get(&address).copied().unwrap_or(0);
    let capped = !limits.trusted_proxies.contains(&address) && from_address >= limits.max_per_address;
    if guard.total >= limits.max_connections || capped {
        return None;
    }
    guard.total += 1;
    *guard.by_address.entry(address).or_insert(0) += 1;
    metrics.http_connections_open.fetch_add(1, Ordering::Relaxed);
    Some(Slot { table: table.clone(), address, metrics: metrics.clone() })
}

/// Serves `router` on `listener` until `stop` fires; then stops accepting,
/// asks every connection to finish gracefully and returns once the HTTP
/// connections (not the upgraded websockets) have ended.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    stop: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let limits = Arc::new(limits);
    let table = Arc::new(Mutex::new(Table::default()));
    let (stopping, stop_watch) = watch::channel(false);
    let (running, mut all_ended) = mpsc::channel::<()>(1);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if per_connection(&error) => continue,
            Err(error) => {
                // Out of descriptors or memory: wait a little rather than
                // spin; the connections being closed free them.
                tracing::error!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = admit(&table, &limits, peer.ip(), &metrics) else {
            metrics.http_connections_refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "connection refused: too many open");
            drop(stream);
            continue;
        };
        let connection = Connection {
            stream,
            peer,
            slot,
            router: router.clone(),
            limits: limits.clone(),
            metrics: metrics.clone(),
            stop: stop_watch.clone(),
            _running: running.clone(),
        };
        tokio::spawn(connection.run());
    }
    let _ = stopping.send(true);
    drop(running);
    let _ = all_ended.recv().await;
    Ok(())
}

/// Errors of one connection that do not stop the loop (from axum::serve).
fn per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    router: Router,
    limits: Arc<Limits>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
    /// Dropped when this connection's HTTP part ends.
    _running: mpsc::Sender<()>,
}

impl Connection {
    async fn run(mut self) {
        let _ = self.stream.set_nodelay(true);
        let started = Instant::now();
        let progress = Arc::new(AtomicU64::new(0));
        let io = Watched { inner: self.stream, progress: progress.clone(), started, _slot: self.slot };
        let peer = self.peer;
        let router = self.router;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What axum's `ConnectInfo` extractor reads.
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|never| match never {})) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.limits.header_read_timeout);
        let connection = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
        tokio::pin!(connection);
        let idle = self.limits.idle_timeout;
        let mut check = tokio::time::interval((idle / 4).max(Duration::from_millis(10)));
        let mut closing = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        if error.is_timeout() {
                            self.metrics.http_connections_timed_out.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::debug!(%peer, %error, "HTTP connection ended");
                    }
                    return;
                }
                changed = self.stop.changed(), if !closing => {
                    if changed.is_err() || *self.stop.borrow() {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
                _ = check.tick() => {
                    let last = Duration::from_millis(progress.load(Ordering::Relaxed));
                    let silent = started.elapsed().saturating_sub(last);
                    if silent >= idle * 2 {
                        self.metrics.http_connections_timed_out.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "dropping an HTTP connection that makes no progress");
                        return;
                    }
                    if silent >= idle && !closing {
                        closing = true;
                        self.metrics.http_connections_timed_out.fetch_add(1, Ordering::Relaxed);
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// A socket that records when it last made progress (a byte read or
/// written), and holds its [`Slot`] for as long as it is open.
struct Watched {
    inner: TcpStream,
    /// Milliseconds from `started` to the last progress.
    progress: Arc<AtomicU64>,
    started: Instant,
    _slot: Slot,
}

impl Watched {
    fn progressed(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.progress.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.progressed();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progressed();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progressed();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
