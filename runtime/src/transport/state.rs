//! [`TransportState`]: what every connection shares, and the admission of a new one.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::Query;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use serde::Deserialize;
use tokio::sync::{watch, Notify};

use super::auth::{AuthError, Authenticator, Identity};
use super::replay::SubscribeError;
use super::source::{EventSource, EventSubscription};
use super::telemetry::{self, Transport};

/// Default interval between WebSocket pings and SSE keep-alive comments.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// Default time a WebSocket client may stay silent (no pong, no frame) before it is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// Default time one frame may take to be written before the connection is dropped.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the routes of [`super::router`] share: the event source (a [`super::ReplayHub`], or any
/// [`EventSource`]), the authenticator, the timings, and the shutdown signal. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use agent_events::transport::{AuthError, Identity, ReplayHub, TransportState};
///
/// let hub = ReplayHub::new();
/// let anyone = |_: &axum::http::request::Parts| Ok::<_, AuthError>(Identity::new("demo"));
/// let state = TransportState::builder(hub.clone(), anyone)
///     .heartbeat(Duration::from_secs(20))
///     .idle_timeout(Duration::from_secs(60))
///     .build();
/// let app = axum::Router::new().nest("/api", agent_events::transport::router(state.clone()));
/// // Serves /api/events/ws and /api/events/sse; on SIGTERM: `state.shutdown()`.
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct TransportState {
    inner: Arc<StateInner>,
}

struct StateInner {
    source: Arc<dyn EventSource>,
    auth: Arc<dyn Authenticator>,
    config: Config,
    shutdown: watch::Sender<bool>,
    open: AtomicUsize,
    drained: Notify,
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) heartbeat: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) queue_len: Option<usize>,
}

/// Configures a [`TransportState`].
pub struct TransportStateBuilder {
    source: Arc<dyn EventSource>,
    auth: Arc<dyn Authenticator>,
    config: Config,
}

impl TransportStateBuilder {
    /// Interval between WebSocket pings and SSE `: keep-alive` comments (default
    /// [`DEFAULT_HEARTBEAT`], at least 1 ms).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.config.heartbeat = interval.max(Duration::from_millis(1));
        self
    }

    /// How long a WebSocket client may send nothing (pongs included) before it is closed with
    /// code 4408 (default [`DEFAULT_IDLE_TIMEOUT`]). Keep it above the heartbeat.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// How long writing one WebSocket frame may take before the connection is dropped as dead
    /// (default [`DEFAULT_WRITE_TIMEOUT`]).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// Unread events a connection may have before it is lagged; default: the source's
    /// ([`super::ReplayHubBuilder::queue_len`] for the hub).
    pub fn queue_len(mut self, events: usize) -> Self {
        self.config.queue_len = Some(events.max(1));
        self
    }

    /// Builds the state.
    pub fn build(self) -> TransportState {
        TransportState {
            inner: Arc::new(StateInner {
                source: self.source,
                auth: self.auth,
                config: self.config,
                shutdown: watch::Sender::new(false),
                open: AtomicUsize::new(0),
                drained: Notify::new(),
            }),
        }
    }
}

impl TransportState {
    /// A state with the default timings, serving the events of `source` (a
    /// [`super::ReplayHub`] on one server).
    pub fn new(source: impl EventSource, auth: impl Authenticator) -> Self {
        TransportState::builder(source, auth).build()
    }

    /// Starts configuring a state.
    pub fn builder(source: impl EventSource, auth: impl Authenticator) -> TransportStateBuilder {
        TransportState::builder_shared(Arc::new(source), auth)
    }

    /// [`TransportState::builder`] with a source already behind an `Arc`.
    pub fn builder_shared(source: Arc<dyn EventSource>, auth: impl Authenticator) -> TransportStateBuilder {
        TransportStateBuilder {
            source,
            auth: Arc::new(auth),
            config: Config {
                heartbeat: DEFAULT_HEARTBEAT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                write_timeout: DEFAULT_WRITE_TIMEOUT,
                queue_len: None,
            },
        }
    }

    /// The source the connections read from.
    pub fn source(&self) -> &Arc<dyn EventSource> {
        &self.inner.source
    }

    /// Graceful shutdown: every connection sends what is already queued for it, then a
    /// `shutdown` notice, then closes (WebSocket code 1001, the end of the SSE stream). New
    /// connections are refused with `503`. Wait for [`TransportState::drained`] before exiting.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Whether [`TransportState::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// Open connections, both transports.
    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// Waits until no connection is open.
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.drained.notified();
            if self.open_connections() == 0 {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Authenticates and subscribes a new connection, or answers why not.
    pub(crate) async fn admit(
        &self,
        parts: &Parts,
        transport: Transport,
        after: Option<&str>,
    ) -> Result<(Connection, Box<dyn EventSubscription>), Refusal> {
        if self.is_shutting_down() {
            return Err(Refusal::shutting_down());
        }
        let authenticated = AssertUnwindSafe(self.inner.auth.authenticate(parts)).catch_unwind().await;
        let identity = match authenticated {
            Ok(Ok(identity)) if identity.expires_at.is_some_and(|at| at <= SystemTime::now()) => {
                Err(AuthError::Expired)
            }
            Ok(result) => result,
            Err(_) => Err(AuthError::Unavailable("the authenticator panicked".into())),
        };
        let identity = identity.map_err(|e| {
            telemetry::auth_failed(transport);
            Refusal::unauthorized(&e)
        })?;
        let subscribed =
            self.inner.source.subscribe(identity.user_id.clone(), after, self.inner.config.queue_len);
        let subscription = match AssertUnwindSafe(subscribed).catch_unwind().await {
            Ok(Ok(subscription)) => subscription,
            Ok(Err(SubscribeError::Closed)) => return Err(Refusal::shutting_down()),
            Ok(Err(e)) => return Err(Refusal::source_unavailable(e.to_string())),
            Err(_) => return Err(Refusal::source_unavailable("the event source panicked".into())),
        };
        Ok((Connection::open(self.clone(), transport, identity), subscription))
    }
}

impl fmt::Debug for TransportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportState")
            .field("config", &self.inner.config)
            .field("open_connections", &self.open_connections())
            .field("shutting_down", &self.is_shutting_down())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct AfterParam {
    after: Option<String>,
}

/// The `after` query parameter; a query that cannot be read is refused with `400`.
pub(crate) fn after_param(parts: &Parts) -> Result<Option<String>, Refusal> {
    match Query::<AfterParam>::try_from_uri(&parts.uri) {
        Ok(Query(param)) => Ok(param.after.filter(|a| !a.is_empty())),
        Err(e) => Err(Refusal::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text())),
    }
}

/// Why a connection is not opened: the status, and a JSON body saying why.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    error: &'static str,
    message: String,
    challenge: Option<&'static str>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Refusal { status, error, message: message.into(), challenge: None }
    }

    fn shutting_down() -> Self {
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down")
    }

    fn source_unavailable(message: String) -> Self {
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "source_unavailable", message)
    }

    fn unauthorized(error: &AuthError) -> Self {
        let (status, code, challenge) = match error {
            AuthError::MissingToken => {
                (StatusCode::UNAUTHORIZED, "unauthenticated", Some(r#"Bearer realm="agent-events""#))
            }
            AuthError::InvalidToken(_) | AuthError::Expired => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some(r#"Bearer realm="agent-events", error="invalid_token""#),
            ),
            AuthError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "auth_unavailable", None),
        };
        Refusal { challenge, ..Refusal::new(status, code, error.to_string()) }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error, "message": self.message }).to_string();
        let mut response =
            (self.status, [(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
                .into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// One open connection: counted while it lives.
pub(crate) struct Connection {
    pub(crate) state: TransportState,
    pub(crate) transport: Transport,
    /// When the credentials expire, if they do.
    pub(crate) expires_at: Option<Instant>,
}

impl Connection {
    fn open(state: TransportState, transport: Transport, identity: Identity) -> Self {
        state.inner.open.fetch_add(1, Ordering::AcqRel);
        telemetry::connection_opened(transport);
        let expires_at = identity.expires_at.and_then(|at| {
            let left = at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            Instant::now().checked_add(left)
        });
        Connection { state, transport, expires_at }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        telemetry::connection_closed(self.transport);
        if self.state.inner.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.inner.drained.notify_waiters();
        }
    }
}

/// Resolves at `deadline`, or never.
pub(crate) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// `now + after`, or `None` (never) when that is past what an `Instant` holds.
pub(crate) fn deadline_after(after: Duration) -> Option<Instant> {
    Instant::now().checked_add(after)
}

/// Resolves once shutdown is requested.
pub(crate) async fn shutdown_requested(signal: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens with the state itself.
    let _ = signal.wait_for(|down| *down).await;
}
