//! [`TransportState`]: what every connection shares, and the admission of a new one.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{ConnectInfo, Query};
use axum::http::header::{CONTENT_TYPE, ORIGIN, WWW_AUTHENTICATE};
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
use crate::sync::lock;

/// Default interval between WebSocket pings and SSE keep-alive comments.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// Default time a WebSocket client may stay silent (no pong, no frame) before it is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// Default time one frame may take to be written before the connection is dropped.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on the connections one user may have open at once (both transports).
pub const DEFAULT_MAX_CONNECTIONS_PER_USER: usize = 32;

/// A refused connection, as the hook of [`TransportStateBuilder::on_refusal`] sees it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Refused<'a> {
    /// The HTTP status answered.
    pub status: u16,
    /// The stable error code of the JSON body (`invalid_token`, `too_many_connections`, …).
    pub code: &'a str,
    /// The plain message of the JSON body.
    pub message: &'a str,
    /// What went wrong in full (e.g. the JWT library's or Redis's error), for the server's
    /// log only: it never goes to the client.
    pub detail: &'a str,
}

type RefusalHook = Arc<dyn Fn(&Refused<'_>) + Send + Sync>;

/// The default refusal hook: server-side failures (`5xx`) to standard error; a client's bad
/// credentials are not logged.
fn log_server_failures(refused: &Refused<'_>) {
    if refused.status >= 500 {
        eprintln!(
            "agent-events: connection refused ({} {}): {}",
            refused.status, refused.code, refused.detail
        );
    }
}

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
    per_user: Counts<Arc<str>>,
    per_ip: Counts<IpAddr>,
    on_refusal: RefusalHook,
}

/// Open connections per key (user or address), for the caps.
struct Counts<K>(Mutex<HashMap<K, usize>>);

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new() -> Self {
        Counts(Mutex::new(HashMap::new()))
    }

    /// Counts one more connection for `key`, unless it already has `cap`.
    fn try_add(&self, key: &K, cap: usize) -> bool {
        let mut counts = lock(&self.0);
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= cap {
            if *count == 0 {
                counts.remove(key);
            }
            return false;
        }
        *count += 1;
        true
    }

    fn remove(&self, key: &K) {
        let mut counts = lock(&self.0);
        if let Some(count) = counts.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(key);
            }
        }
    }

    fn get(&self, key: &K) -> usize {
        lock(&self.0).get(key).copied().unwrap_or(0)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) heartbeat: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) queue_len: Option<usize>,
    pub(crate) max_per_user: usize,
    pub(crate) max_per_ip: Option<usize>,
    pub(crate) allowed_origins: Option<HashSet<String>>,
}

/// Configures a [`TransportState`].
pub struct TransportStateBuilder {
    source: Arc<dyn EventSource>,
    auth: Arc<dyn Authenticator>,
    config: Config,
    on_refusal: RefusalHook,
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

    /// Connections one user may have open at once, WebSocket and SSE together (default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_USER`], at least 1). One more is refused with `429` and
    /// the code `too_many_connections`, before any upgrade.
    pub fn max_connections_per_user(mut self, connections: usize) -> Self {
        self.config.max_per_user = connections.max(1);
        self
    }

    /// Connections one client address may have open at once (default: no cap). One more is
    /// refused with `429` and the code `too_many_connections_from_address`. The address is the
    /// peer's, so serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()` (`::<ClientAddr>()` on a
    /// [`StalledWritesClose`](super::StalledWritesClose) listener): without it, every connection is
    /// refused with `500` (`peer_address_unknown`) rather than let the cap do nothing. Behind a
    /// proxy every client has the proxy's address: cap there instead.
    pub fn max_connections_per_ip(mut self, connections: usize) -> Self {
        self.config.max_per_ip = Some(connections.max(1));
        self
    }

    /// Accepts only requests whose `Origin` header is one of these (e.g.
    /// `https://chat.example.com`, compared exactly, without a trailing slash); any other
    /// origin is refused with `403` (`origin_not_allowed`). A request without `Origin` (not
    /// from a browser) is not affected. Set it when the authenticator reads cookies: a page on
    /// another site could otherwise open a WebSocket with the user's cookies (cross-site
    /// WebSocket hijacking). Tokens sent as `Authorization` or `?token=` do not need it.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Called for every refused connection with the status, the code and message sent, and the
    /// full detail (never sent to the client). Default: `5xx` refusals are written to standard
    /// error; bad credentials are not logged.
    pub fn on_refusal(mut self, hook: impl Fn(&Refused<'_>) + Send + Sync + 'static) -> Self {
        self.on_refusal = Arc::new(hook);
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
                per_user: Counts::new(),
                per_ip: Counts::new(),
                on_refusal: self.on_refusal,
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
                max_per_user: DEFAULT_MAX_CONNECTIONS_PER_USER,
                max_per_ip: None,
                allowed_origins: None,
            },
            on_refusal: Arc::new(log_server_failures),
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

    /// Open connections of one user, both transports.
    pub fn user_connections(&self, user_id: &str) -> usize {
        self.inner.per_user.get(&Arc::from(user_id))
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

    /// The response to a refused connection, after telling the refusal hook.
    pub(crate) fn refuse(&self, refusal: Refusal) -> Response {
        let detail = refusal.detail.as_deref().unwrap_or(&refusal.message);
        let refused = Refused {
            status: refusal.status.as_u16(),
            code: refusal.error,
            message: &refusal.message,
            detail,
        };
        // A panicking hook must not take the route down.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| (self.inner.on_refusal)(&refused)));
        refusal.into_response()
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
        if let Some(allowed) = &self.inner.config.allowed_origins {
            if let Some(origin) = parts.headers.get(ORIGIN) {
                if !origin.to_str().is_ok_and(|origin| allowed.contains(origin)) {
                    let detail = format!("origin {origin:?} is not allowed");
                    return Err(Refusal::new(
                        StatusCode::FORBIDDEN,
                        "origin_not_allowed",
                        "this page's origin may not connect",
                    )
                    .with_detail(detail));
                }
            }
        }
        let ip = match self.inner.config.max_per_ip {
            None => None,
            Some(_) => match (
                parts.extensions.get::<ConnectInfo<SocketAddr>>(),
                parts.extensions.get::<ConnectInfo<super::ClientAddr>>(),
            ) {
                (Some(ConnectInfo(addr)), _) | (None, Some(ConnectInfo(super::ClientAddr(addr)))) => {
                    Some(addr.ip())
                }
                (None, None) => {
                    return Err(Refusal::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "peer_address_unknown",
                        "the server cannot tell the client's address",
                    )
                    .with_detail(
                        "max_connections_per_ip is set but the app is not served with \
                         into_make_service_with_connect_info::<SocketAddr>()",
                    ))
                }
            },
        };
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
        // Counted before subscribing, so concurrent connections cannot pass the caps together;
        // the slot is given back if the subscription fails.
        let slot = self.take_slot(&identity.user_id, ip)?;
        let subscribed =
            self.inner.source.subscribe(identity.user_id.clone(), after, self.inner.config.queue_len);
        let subscription = match AssertUnwindSafe(subscribed).catch_unwind().await {
            Ok(Ok(subscription)) => subscription,
            Ok(Err(SubscribeError::Closed)) => return Err(Refusal::shutting_down()),
            Ok(Err(e)) => return Err(Refusal::source_unavailable(e.to_string())),
            Err(_) => return Err(Refusal::source_unavailable("the event source panicked".into())),
        };
        Ok((Connection::open(self.clone(), transport, identity, slot), subscription))
    }

    /// Counts a connection against the caps, or refuses it with `429`.
    fn take_slot(&self, user_id: &Arc<str>, ip: Option<IpAddr>) -> Result<Slot, Refusal> {
        let config = &self.inner.config;
        if !self.inner.per_user.try_add(user_id, config.max_per_user) {
            return Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                format!(
                    "this user already has {} connections open, the most allowed: close one first",
                    config.max_per_user
                ),
            ));
        }
        let mut slot = Slot { state: self.clone(), user_id: user_id.clone(), ip: None };
        if let (Some(ip), Some(cap)) = (ip, config.max_per_ip) {
            // Dropping `slot` on refusal gives the user's count back.
            if !self.inner.per_ip.try_add(&ip, cap) {
                return Err(Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_connections_from_address",
                    format!("this address already has {cap} connections open, the most allowed"),
                ));
            }
            slot.ip = Some(ip);
        }
        Ok(slot)
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
        Err(e) => Err(Refusal::bad_query(e.body_text())),
    }
}

/// Why a connection is not opened: the status, and a JSON body saying why.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    error: &'static str,
    /// What the client reads: plain, never a library's error text.
    message: String,
    /// What went wrong in full, for the refusal hook only.
    detail: Option<String>,
    challenge: Option<&'static str>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Refusal { status, error, message: message.into(), detail: None, challenge: None }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A query string that cannot be read; the parser's words go to the log only.
    pub(crate) fn bad_query(detail: String) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, "bad_query", "the query string could not be read")
            .with_detail(detail)
    }

    fn shutting_down() -> Self {
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down")
    }

    fn source_unavailable(detail: String) -> Self {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "source_unavailable",
            "events cannot be delivered right now: retry later",
        )
        .with_detail(detail)
    }

    fn unauthorized(error: &AuthError) -> Self {
        let (status, code, message, challenge) = match error {
            AuthError::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                error.to_string(),
                Some(r#"Bearer realm="agent-events""#),
            ),
            AuthError::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token is not valid for this server".to_owned(),
                Some(r#"Bearer realm="agent-events", error="invalid_token""#),
            ),
            AuthError::Expired => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                error.to_string(),
                Some(r#"Bearer realm="agent-events", error="invalid_token""#),
            ),
            AuthError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "auth_unavailable",
                "the credentials cannot be checked right now: retry later".to_owned(),
                None,
            ),
        };
        Refusal { challenge, ..Refusal::new(status, code, message).with_detail(error.to_string()) }
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

/// A connection's place under the caps, given back when it is dropped.
struct Slot {
    state: TransportState,
    user_id: Arc<str>,
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.inner.per_user.remove(&self.user_id);
        if let Some(ip) = &self.ip {
            self.state.inner.per_ip.remove(ip);
        }
    }
}

/// One open connection: counted while it lives.
pub(crate) struct Connection {
    pub(crate) state: TransportState,
    pub(crate) transport: Transport,
    /// When the credentials expire, if they do.
    pub(crate) expires_at: Option<Instant>,
    _slot: Slot,
}

impl Connection {
    fn open(state: TransportState, transport: Transport, identity: Identity, slot: Slot) -> Self {
        state.inner.open.fetch_add(1, Ordering::AcqRel);
        telemetry::connection_opened(transport);
        let expires_at = identity.expires_at.and_then(|at| {
            let left = at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            Instant::now().checked_add(left)
        });
        Connection { state, transport, expires_at, _slot: slot }
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
