//! A listener for `axum::serve` that closes a connection whose writes make no progress for a
//! while: a client that stops reading.
//!
//! A WebSocket connection notices such a client itself (its writes run under the write
//! timeout). An SSE response cannot: once the socket is full, hyper stops asking the stream for
//! more, so nothing in the route runs again. This listener watches the socket instead: a write
//! (or flush) that stays pending for the timeout fails, and hyper closes the connection, which
//! frees its memory and its place under the per-user cap.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Wraps a listener (a `tokio::net::TcpListener`) so that each connection's stalled writes fail
/// after `timeout`; use the transport's write timeout:
///
/// ```no_run
/// # async fn serve(app: axum::Router) -> std::io::Result<()> {
/// use agent_events::transport::{ClientAddr, StalledWritesClose, DEFAULT_WRITE_TIMEOUT};
///
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// let listener = StalledWritesClose::new(listener, DEFAULT_WRITE_TIMEOUT);
/// // With `max_connections_per_ip`, the peer's address comes with `ClientAddr`:
/// axum::serve(listener, app.into_make_service_with_connect_info::<ClientAddr>()).await?;
/// # Ok(()) }
/// ```
pub struct StalledWritesClose<L> {
    inner: L,
    timeout: Duration,
}

impl<L> StalledWritesClose<L> {
    /// `inner`'s connections, each closed when a write stays pending for `timeout`.
    pub fn new(inner: L, timeout: Duration) -> Self {
        StalledWritesClose { inner, timeout }
    }
}

impl<L: Listener> Listener for StalledWritesClose<L> {
    type Io = StallGuard<L::Io>;
    type Addr = L::Addr;

    fn accept(&mut self) -> impl Future<Output = (Self::Io, Self::Addr)> + Send {
        let timeout = self.timeout;
        let accepted = self.inner.accept();
        async move {
            let (io, addr) = accepted.await;
            (StallGuard { io, timeout, deadline: None }, addr)
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The peer's address of a connection accepted by [`StalledWritesClose`] over TCP, for
/// `into_make_service_with_connect_info::<ClientAddr>()` (what `max_connections_per_ip` reads,
/// as it reads `SocketAddr` from a plain `TcpListener`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl<L> Connected<IncomingStream<'_, StalledWritesClose<L>>> for ClientAddr
where
    L: Listener<Addr = SocketAddr>,
{
    fn connect_info(stream: IncomingStream<'_, StalledWritesClose<L>>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// A connection whose pending writes fail after the timeout (see [`StalledWritesClose`]).
pub struct StallGuard<T> {
    io: T,
    timeout: Duration,
    /// Armed while a write is pending; cleared by any progress.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    /// A write made no progress: wait for the socket, or fail once the timeout has passed.
    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let timeout = self.timeout;
        let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing for the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(&mut self, done: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match done {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let done = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress(done, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let done = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress(done, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let done = Pin::new(&mut self.io).poll_flush(cx);
        self.progress(done, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
