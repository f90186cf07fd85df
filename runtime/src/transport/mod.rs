//! Delivery to the browser: WebSocket and Server-Sent Events, with authentication, resume
//! after a disconnect, and per-user isolation (feature `axum`; `JwtAuthenticator` needs
//! feature `jwt`, whose `jsonwebtoken` dependency needs Rust 1.88).
//!
//! On one server, add a [`ReplayHub`] to the bridge as a sink, and serve [`router`] from it.
//! Several replicas behind a load balancer (feature `redis`): a `redis::RedisSink` and a
//! `redis::RedisSource` instead, sharing Redis Streams, so a run on one replica reaches its user
//! on another (see the `redis` module). The routes read from any [`EventSource`].
//!
//! ```no_run
//! # async fn serve(sigterm: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
//! use agent_events::transport::{router, JwtAuthenticator, ReplayHub, TransportState};
//! use agent_events::EventBridge;
//!
//! let hub = ReplayHub::new();
//! let bridge = EventBridge::builder().sink(hub.clone()).build();
//! let state = TransportState::new(hub, JwtAuthenticator::hs256(b"a long shared secret"));
//! let app = axum::Router::new().nest("/api", router(state.clone()));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! let shutdown = state.clone();
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(async move {
//!         sigterm.await;
//!         shutdown.shutdown(); // flush every connection, then close it
//!         shutdown.drained().await;
//!     })
//!     .await?;
//! bridge.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Routes
//!
//! [`router`] serves `GET /events/ws` ([`WS_PATH`]) and `GET /events/sse` ([`SSE_PATH`]);
//! `nest` it under any prefix. Both take the token as `Authorization: Bearer <token>` or
//! `?token=<token>` (browsers cannot set headers on `WebSocket` or `EventSource`), and a resume
//! cursor as `?after=<cursor>` (SSE: the `Last-Event-ID` header first, which `EventSource`
//! sends by itself when it reconnects).
//!
//! - No token, a bad one, or an expired one: `401` with `WWW-Authenticate: Bearer …` and a JSON
//!   body saying why, before any upgrade. An authenticator that cannot check
//!   ([`AuthError::Unavailable`]): `503`. During shutdown: `503`. An event source that cannot
//!   subscribe now ([`SubscribeError::Unavailable`], e.g. Redis unreachable): `503`. More
//!   connections than [`TransportStateBuilder::max_connections_per_user`] (default
//!   [`DEFAULT_MAX_CONNECTIONS_PER_USER`]) or [`TransportStateBuilder::max_connections_per_ip`]:
//!   `429`. An `Origin` not in [`TransportStateBuilder::allowed_origins`]: `403`.
//! - Every refusal's body is `{"error": "<stable code>", "message": "<plain words>"}`; what the
//!   authenticator or the source said in full goes to [`TransportStateBuilder::on_refusal`]
//!   only, never to the client.
//! - A connection only ever receives the events of the user its credentials name.
//!
//! # Wire format
//!
//! **SSE**: each event is `id: <cursor>`, `event: <type>`, `data: <event JSON>` (the
//! [schema](crate::schema) format). Control events have no `id` (the browser's
//! `Last-Event-ID` stays on the last real event): `event: agent_events.gap|reset|lagged|
//! token_expired|shutdown`, with the control JSON below as data. A `: keep-alive` comment is
//! sent every heartbeat (a dead client is found when a write fails). The stream ends after
//! `lagged`, `token_expired` and `shutdown`.
//!
//! **WebSocket**: each event is a text frame `{"cursor": "<cursor>", "event": {…}}`; control
//! frames are `{"control": "<name>", …}`. The server pings every heartbeat and closes a client
//! that sends nothing (not even a pong) for the idle timeout; what a client sends is otherwise
//! ignored (at most 64 KiB a message, read through a 4 KiB buffer). What the client has not
//! taken yet (events, the pongs answering its pings) is at most 512 KiB; pings, events and
//! their write timeout are served even while a client floods frames, so a client that never
//! reads is dropped by the write timeout. Close codes: 1001 shutdown, 1011 an event could not
//! be encoded, 1013 the user's events cannot be read now, 4401 token expired, 4408 idle
//! timeout, 4429 lagged.
//!
//! | control | fields | then |
//! |---|---|---|
//! | `gap` | `missed`: events older than the buffer, lost (`null` when the source cannot count them: Redis) | the buffered events |
//! | `reset` | `reason`: `"unknown_cursor"` | every buffered event of the user |
//! | `lagged` | — (resume after the last cursor received) | close 4429 / end of stream |
//! | `token_expired` | — | close 4401 / end of stream |
//! | `shutdown` | — | close 1001 / end of stream |
//! | `unavailable` | — (the user's events cannot be read now: reconnect later) | close 1013 / end of stream |
//!
//! On `gap` or `reset`, the client should reload what it shows (e.g. the thread from its REST
//! API): events were lost or the server cannot tell which.
//!
//! **SSE as AG-UI** (`GET /events/sse?format=agui`, feature `agui`; without it `format=agui`
//! is refused with `400`, like any other `format`): the same stream, with each of our events
//! turned into [AG-UI](crate::agui) events by one `AgUiMapper` per run (a user's runs may
//! interleave; a mapper is dropped when its run finishes, and at most 64 runs are mapped at
//! once per connection: a run beyond that drops the mapper of the run quiet longest). Each
//! AG-UI event is `data: <AG-UI JSON>` with no `event:` line (AG-UI clients read the type from
//! the JSON); the last one made from an event carries its `id: <cursor>` (an event that maps to
//! nothing sends its `id` alone), so `Last-Event-ID` resumes as above. A run resumed midway
//! begins with a synthesized `RUN_STARTED`. Control notices are AG-UI `CUSTOM` events named
//! `agent_events.<control>` with the control JSON as `value`, then the stream behaves as above;
//! keep-alive comments are unchanged. Runs that interleave give interleaved AG-UI runs: a
//! client following one run filters on `runId`.
//!
//! # Resume and slow consumers
//!
//! The hub keeps each user's last events (default 1024) with a cursor each. Reconnecting with
//! the last cursor received gives exactly the events after it (no gap, no duplicate), then
//! live ones; replay and live are joined under one lock, so nothing slips in between. The
//! Redis source keeps the same contract across replicas, with the user's stream as the buffer
//! (see the `redis` module). Cursors carry the generation of the buffer they come from: when a
//! user's buffer was dropped (more than `max_users` users), an old cursor gets `reset`.
//!
//! A connection reads straight from its user's buffer; its *queue* is the live events it has
//! not yet written. When that passes the queue bound (default 256,
//! [`ReplayHubBuilder::queue_len`] / [`TransportStateBuilder::queue_len`]), or the buffer drops
//! an event it has not read, it is **lagged**: it sends the `lagged` control (WebSocket: as soon
//! as its blocked write gives way, then close 4429; SSE: when the client reads again, then the
//! stream ends) and is unsubscribed. Nothing is lost silently: the client reconnects with
//! `after=<last cursor>`, and the buffer still holds what it missed unless the user had more
//! than the buffer's length of events since (then it gets `gap`). Memory stays bounded: events
//! live once, in the per-user buffers; connections hold positions, not copies. A WebSocket
//! write that takes longer than the write timeout drops the connection.
//!
//! # Metrics
//!
//! Recorded through the [`metrics`](https://docs.rs/metrics) facade (install any recorder).
//! Every metric has one label, `transport` = `ws` | `sse` (`redis` for the Redis sink's and
//! source's own failures, see the `redis` module); there is no per-user label, so cardinality
//! stays fixed however many users connect.
//!
//! | name | kind | what |
//! |---|---|---|
//! | `agent_events_connections` | gauge | open connections |
//! | `agent_events_events_sent_total` | counter | events written (WS) or handed to the response body (SSE), replay included |
//! | `agent_events_replayed_events_total` | counter | of those, events replayed after a cursor |
//! | `agent_events_delivery_failures_total` | counter | writes that failed or timed out, events that could not be encoded |
//! | `agent_events_lagged_total` | counter | connections closed because they fell behind |
//! | `agent_events_auth_failures_total` | counter | connections refused by the authenticator |
//! | `agent_events_delivery_latency_seconds` | histogram | from the hub (or the Redis source's reader) receiving a live event to its write |

mod auth;
#[cfg(feature = "jwt")]
mod jwt;
mod listener;
#[cfg(feature = "redis")]
pub mod redis;
mod replay;
mod source;
mod sse;
mod state;
mod telemetry;
mod wire;
mod ws;

use axum::routing::get;
use axum::Router;

pub use auth::{bearer_token, AuthError, AuthFuture, Authenticator, Identity};
#[cfg(feature = "jwt")]
pub use jwt::{JwtAuthenticator, JwtKeyError};
pub use listener::{ClientAddr, StallGuard, StalledWritesClose};
pub use replay::{
    CursorEvent, ReplayHub, ReplayHubBuilder, ReplayItem, ReplaySubscription, SubscribeError,
    DEFAULT_IDLE_EXPIRY, DEFAULT_MAX_USERS, DEFAULT_QUEUE_LEN, DEFAULT_REPLAY_BUFFER,
};
pub use source::{EventSource, EventSubscription, LaggedFuture, NextFuture, SubscribeFuture};
pub use state::{
    Refused, TransportState, TransportStateBuilder, DEFAULT_HEARTBEAT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS_PER_USER, DEFAULT_WRITE_TIMEOUT,
};
pub use ws::{
    CLOSE_GOING_AWAY, CLOSE_IDLE_TIMEOUT, CLOSE_INTERNAL_ERROR, CLOSE_LAGGED, CLOSE_TOKEN_EXPIRED,
    CLOSE_TRY_AGAIN_LATER,
};

/// The WebSocket route of [`router`].
pub const WS_PATH: &str = "/events/ws";
/// The Server-Sent Events route of [`router`].
pub const SSE_PATH: &str = "/events/sse";

/// The routes [`WS_PATH`] and [`SSE_PATH`], ready to `merge` or `nest` into an app.
pub fn router(state: TransportState) -> Router {
    Router::new().route(WS_PATH, get(ws::handler)).route(SSE_PATH, get(sse::handler)).with_state(state)
}
