//! The WebSocket route: one text frame per event, pings, and close codes that say why.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};

use super::replay::ReplayItem;
use super::source::EventSubscription;
use super::state::{after_param, deadline_after, shutdown_requested, until, Connection, TransportState};
use super::telemetry::{self, Transport};
use super::wire::{self, Control};

/// Close code: the server is shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: an event could not be encoded (a server bug; counted as a delivery failure).
pub const CLOSE_INTERNAL_ERROR: u16 = 1011;
/// Close code: the credentials expired during the connection; reconnect with a new token.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;
/// Close code: the client sent nothing (not even a pong) for the idle timeout.
pub const CLOSE_IDLE_TIMEOUT: u16 = 4408;
/// Close code: the client fell behind; reconnect with `?after=<last cursor>`.
pub const CLOSE_LAGGED: u16 = 4429;
/// Close code (1013, "try again later"): the user's events cannot be read now (with Redis:
/// the user's key is not a stream); reconnect later.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// The largest frame or message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// The read buffer of a connection: clients send small frames (pongs, close frames), so a
/// few KiB instead of tungstenite's 128 KiB; a larger frame (up to [`MAX_CLIENT_MESSAGE`])
/// grows it while it is read.
pub(crate) const READ_BUFFER: usize = 4 * 1024;

/// The most a connection's write buffer may hold: what the client has not taken yet (events,
/// and the pongs tungstenite queues for its pings). Past it, nothing more is queued, and the
/// next write waits for the client until the write timeout closes the connection. Big enough
/// for one event at the bridge's payload caps (64 KiB of parameters, 64 KiB of results).
pub(crate) const MAX_WRITE_BUFFER: usize = 512 * 1024;

/// How long to wait for the client's answer to our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

type Tx = SplitSink<WebSocket, Message>;
type Rx = SplitStream<WebSocket>;

/// Why the connection ends.
enum End {
    Shutdown,
    TokenExpired,
    Idle,
    Lagged,
    Unavailable,
    ClientClosed,
    /// A write failed or timed out: the client is gone.
    Broken,
    /// An event could not be encoded.
    Unencodable,
}

/// `GET /events/ws[?after=<cursor>][&token=<token>]`.
pub(crate) async fn handler(State(state): State<TransportState>, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let after = match after_param(&parts) {
        Ok(after) => after,
        Err(refusal) => return state.refuse(refusal),
    };
    // Authenticate before looking at the upgrade: an unauthenticated client gets 401, never 101.
    let (conn, sub) = match state.admit(&parts, Transport::Ws, after.as_deref()).await {
        Ok(admitted) => admitted,
        Err(refusal) => return state.refuse(refusal),
    };
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        // Clients have nothing to say but pongs and close frames: refuse big frames.
        Ok(upgrade) => upgrade
            .max_message_size(MAX_CLIENT_MESSAGE)
            .max_frame_size(MAX_CLIENT_MESSAGE)
            .read_buffer_size(READ_BUFFER)
            // Each message is written at once (the loop flushes after each anyway), and what
            // the client does not take is bounded: a client that sends pings and never reads
            // cannot grow the queue of pongs.
            .write_buffer_size(0)
            .max_write_buffer_size(MAX_WRITE_BUFFER)
            .on_upgrade(move |socket| serve(socket, conn, sub)),
        Err(rejection) => rejection.into_response(),
    }
}

async fn serve(socket: WebSocket, conn: Connection, mut sub: Box<dyn EventSubscription>) {
    let (mut tx, mut rx) = socket.split();
    let config = conn.state.config().clone();
    let mut shutdown = conn.state.shutdown_signal();
    let mut next_ping = deadline_after(config.heartbeat);
    let mut idle_deadline = deadline_after(config.idle_timeout);
    let end = loop {
        // Not biased: a client that floods frames must not starve the pings, the events and
        // the write timeout (and so keep a connection that never drains alive).
        tokio::select! {
            () = shutdown_requested(&mut shutdown) => break End::Shutdown,
            () = until(conn.expires_at) => break End::TokenExpired,
            incoming = rx.next() => match heard(incoming) {
                Ok(()) => idle_deadline = deadline_after(config.idle_timeout),
                Err(end) => break end,
            },
            () = until(idle_deadline) => match rx.next().now_or_never() {
                // A frame that arrived meanwhile counts (the select is not biased towards it).
                Some(incoming) => match heard(incoming) {
                    Ok(()) => idle_deadline = deadline_after(config.idle_timeout),
                    Err(end) => break end,
                },
                None => break End::Idle,
            },
            () = until(next_ping) => {
                next_ping = deadline_after(config.heartbeat);
                if let Err(end) = write(&mut tx, Message::Ping(Bytes::new()), Some(&*sub), config.write_timeout).await {
                    break end;
                }
            }
            item = sub.next() => {
                let Some(item) = item else { break End::Shutdown };
                if let Err(end) = send_item(&mut tx, &conn, Some(&*sub), item, config.write_timeout).await {
                    break end;
                }
            }
        }
    };
    finish(end, tx, rx, conn, sub).await;
}

/// What a frame from the client means: it is alive, or the connection ends.
fn heard(incoming: Option<Result<Message, axum::Error>>) -> Result<(), End> {
    match incoming {
        None | Some(Ok(Message::Close(_))) => Err(End::ClientClosed),
        Some(Err(_)) => Err(End::Broken),
        Some(Ok(_)) => Ok(()),
    }
}

async fn finish(end: End, mut tx: Tx, mut rx: Rx, conn: Connection, mut sub: Box<dyn EventSubscription>) {
    let write_timeout = conn.state.config().write_timeout;
    let (control, code, reason) = match end {
        End::Shutdown => {
            // Flush what is already queued for this connection, then say goodbye.
            while let Some(item) = sub.try_next() {
                match send_item(&mut tx, &conn, None, item, write_timeout).await {
                    Ok(()) => {}
                    Err(End::Lagged | End::Unavailable) => break,
                    Err(_) => return,
                }
            }
            (Some(Control::Shutdown.json()), CLOSE_GOING_AWAY, "server shutting down")
        }
        End::TokenExpired => (Some(Control::TokenExpired.json()), CLOSE_TOKEN_EXPIRED, "token expired"),
        End::Lagged => {
            telemetry::lagged(conn.transport);
            (Some(Control::Lagged.json()), CLOSE_LAGGED, "lagged")
        }
        End::Idle => (None, CLOSE_IDLE_TIMEOUT, "idle timeout"),
        End::Unavailable => {
            (Some(Control::Unavailable.json()), CLOSE_TRY_AGAIN_LATER, "events unavailable, try again later")
        }
        End::ClientClosed => {
            // Sends the answer tungstenite queued for the client's close frame.
            let _ = tokio::time::timeout(write_timeout, tx.close()).await;
            return;
        }
        End::Broken => {
            telemetry::delivery_failed(conn.transport);
            return;
        }
        End::Unencodable => (None, CLOSE_INTERNAL_ERROR, "internal error"),
    };
    if let Some(control) = control {
        if write(&mut tx, Message::Text(control.into()), None, write_timeout).await.is_err() {
            telemetry::delivery_failed(conn.transport);
            return;
        }
    }
    let close = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
    if write(&mut tx, close, None, write_timeout).await.is_err() {
        return;
    }
    if code == CLOSE_IDLE_TIMEOUT {
        return; // The client is not listening: no answer will come.
    }
    let _ = tokio::time::timeout(CLOSE_GRACE.min(write_timeout), async {
        while let Some(Ok(message)) = rx.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Sends one item; `lag_watch` gives up on a blocked write once the subscriber is lagged.
async fn send_item(
    tx: &mut Tx,
    conn: &Connection,
    lag_watch: Option<&dyn EventSubscription>,
    item: ReplayItem,
    write_timeout: Duration,
) -> Result<(), End> {
    let text = match &item {
        ReplayItem::Event(event) => match wire::ws_event(&event.cursor, &event.event) {
            Ok(text) => text,
            Err(_) => {
                telemetry::delivery_failed(conn.transport);
                return Err(End::Unencodable);
            }
        },
        ReplayItem::Gap { missed } => Control::Gap { missed: *missed }.json(),
        ReplayItem::Reset => Control::Reset.json(),
        ReplayItem::Lagged => return Err(End::Lagged),
        ReplayItem::Unavailable => return Err(End::Unavailable),
    };
    write(tx, Message::Text(text.into()), lag_watch, write_timeout).await?;
    if let ReplayItem::Event(event) = &item {
        telemetry::event_sent(conn.transport, event);
    }
    Ok(())
}

async fn write(
    tx: &mut Tx,
    message: Message,
    lag_watch: Option<&dyn EventSubscription>,
    write_timeout: Duration,
) -> Result<(), End> {
    let lagged = async {
        match lag_watch {
            Some(sub) => sub.lagged().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        sent = tokio::time::timeout(write_timeout, tx.send(message)) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(End::Broken),
        },
        () = lagged => Err(End::Lagged),
    }
}
