//! The Server-Sent Events route: one SSE event per event, keep-alive comments, and an explicit
//! last event when the stream ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::replay::ReplayItem;
use super::source::EventSubscription;
use super::state::{after_param, deadline_after, shutdown_requested, until, Connection, TransportState};
use super::telemetry::{self, Transport};
use super::wire::{self, Control, SSE_KEEP_ALIVE};

/// `GET /events/sse[?after=<cursor>][&token=<token>]`, resuming from `Last-Event-ID` first.
pub(crate) async fn handler(State(state): State<TransportState>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let after = match parts.headers.get("last-event-id") {
        // A header that is not text cannot be one of our cursors: an explicit reset follows.
        Some(value) => Some(value.to_str().unwrap_or("\u{fffd}").to_owned()).filter(|c| !c.is_empty()),
        None => match after_param(&parts) {
            Ok(after) => after,
            Err(refusal) => return refusal.into_response(),
        },
    };
    let (conn, sub) = match state.admit(&parts, Transport::Sse, after.as_deref()).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.into_response(),
    };
    let stream = SseStream {
        shutdown: conn.state.shutdown_signal(),
        next_keep_alive: deadline_after(conn.state.config().heartbeat),
        conn,
        sub,
        pending: VecDeque::new(),
        done: false,
    };
    let body = futures_util::stream::unfold(stream, |mut stream| async move {
        let chunk = stream.next_chunk().await?;
        Some((Ok::<Bytes, Infallible>(chunk), stream))
    });
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// One SSE connection; dropped (and unsubscribed) when the client goes away.
struct SseStream {
    conn: Connection,
    sub: Box<dyn EventSubscription>,
    shutdown: watch::Receiver<bool>,
    next_keep_alive: Option<Instant>,
    pending: VecDeque<String>,
    done: bool,
}

impl SseStream {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some(Bytes::from(chunk));
            }
            if self.done {
                return None;
            }
            tokio::select! {
                biased;
                () = shutdown_requested(&mut self.shutdown) => {
                    // Flush what is already queued for this connection, then say goodbye.
                    while let Some(item) = self.sub.try_next() {
                        self.push(item);
                        if self.done {
                            break;
                        }
                    }
                    self.end_with(Control::Shutdown);
                }
                () = until(self.conn.expires_at) => self.end_with(Control::TokenExpired),
                () = until(self.next_keep_alive) => {
                    self.next_keep_alive = deadline_after(self.conn.state.config().heartbeat);
                    self.pending.push_back(SSE_KEEP_ALIVE.to_owned());
                }
                item = self.sub.next() => match item {
                    Some(item) => self.push(item),
                    None => self.end_with(Control::Shutdown),
                },
            }
        }
    }

    fn push(&mut self, item: ReplayItem) {
        match item {
            ReplayItem::Event(event) => match wire::sse_event(&event.cursor, &event.event) {
                Ok(chunk) => {
                    self.pending.push_back(chunk);
                    telemetry::event_sent(self.conn.transport, &event);
                }
                Err(_) => {
                    telemetry::delivery_failed(self.conn.transport);
                    self.done = true;
                }
            },
            ReplayItem::Gap { missed } => self.pending.push_back(wire::sse_control(Control::Gap { missed })),
            ReplayItem::Reset => self.pending.push_back(wire::sse_control(Control::Reset)),
            ReplayItem::Lagged => {
                telemetry::lagged(self.conn.transport);
                self.end_with(Control::Lagged);
            }
        }
    }

    fn end_with(&mut self, control: Control) {
        if !self.done {
            self.pending.push_back(wire::sse_control(control));
            self.done = true;
        }
    }
}
