//! Several server replicas behind a load balancer, sharing one Redis (feature `redis`): a run
//! on replica A reaches its user connected to replica B, and a client that reconnects to any
//! replica resumes exactly where it left off.
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use agent_events::transport::redis::RedisStreams;
//! use agent_events::transport::{router, JwtAuthenticator, TransportState};
//! use agent_events::EventBridge;
//!
//! // Every replica runs the same code against the same Redis.
//! let streams = RedisStreams::open("redis://redis.internal:6379/")?.prefix("chat").max_len(10_000);
//! let bridge = EventBridge::builder().sink(streams.sink()).build(); // what this replica emits
//! let state = TransportState::new(streams.source(), JwtAuthenticator::hs256(b"a long shared secret"));
//! let app = axum::Router::new().nest("/api", router(state.clone())); // what its clients read
//! # let _ = (bridge, app); Ok(()) }
//! ```
//!
//! # Design
//!
//! - **One stream per user**, key `<prefix>:user:<user_id>` ([`RedisStreams::key`]; prefix
//!   [`DEFAULT_PREFIX`] unless set). Each entry is one event: field `event`, the event's JSON
//!   (the [schema](crate::schema) wire format). Users are isolated by key: a connection only
//!   ever reads the stream of the user its credentials name.
//! - **Trimming**: every `XADD` carries `MAXLEN ~ <max_len>` (default [`DEFAULT_MAX_LEN`]):
//!   Redis keeps at least the user's last `max_len` events (a little more: it trims whole
//!   internal nodes), so memory stays bounded however long a user stays.
//! - **The stream id is the cursor**: a connection receives each event with its Redis stream
//!   id (`1718000000000-0`) as cursor, and resumes on any replica with `?after=<id>` (or
//!   `Last-Event-ID`): exactly the entries after it, then live ones, no gap and no duplicate.
//!   A cursor older than the oldest entry still kept gets a `gap` notice first (Redis cannot
//!   count the lost events: `missed` is `null`); a malformed cursor, or one newer than the
//!   stream's last entry (the stream was lost, e.g. Redis restarted without persistence), gets
//!   a `reset` notice, then the whole stream. Never a silent skip.
//!
//! # [`RedisSink`]: emitting
//!
//! [`EventSink::deliver`](crate::EventSink::deliver) never waits and never does I/O: it puts the
//! event on a bounded queue (default [`DEFAULT_SINK_QUEUE_LEN`] events), which one writer task
//! drains, pipelining `XADD`s in queue order, so each user's events keep their order.
//!
//! - **Queue full** (Redis slower than emission, or down for long): the event is refused with
//!   [`SinkError::Full`](crate::SinkError::Full); the bridge counts it in
//!   [`MetricsSnapshot::delivery_failures`](crate::MetricsSnapshot::delivery_failures), the sink
//!   in [`RedisSinkCounters::refused`] and `agent_events_delivery_failures_total`.
//! - **Redis down or slow**: the writer retries with exponential backoff (50 ms to 2 s by
//!   default), holding its batch while the queue absorbs new events. Each failed attempt is
//!   counted ([`EventSink::stats`](crate::EventSink::stats)`().delivery_failures`, the metric).
//!   Before resending after an error that leaves it unknown whether Redis applied the `XADD`s
//!   (a connection lost mid-command), it looks for the events' `event_id`s at the end of their
//!   streams, so an event is not written twice. An error Redis returns for the command itself
//!   (wrong key type, out of memory, no permission) drops that event, counted.
//! - **Shutdown** ([`EventBridge::shutdown`](crate::EventBridge::shutdown)): new events are
//!   refused, the queue is flushed; after the shutdown timeout (default 5 s, Redis still down)
//!   what is left is dropped and counted.
//!
//! # [`RedisSource`]: serving connections
//!
//! [`RedisSource`] is the [`EventSource`](super::EventSource) the routes read from instead of the
//! local [`ReplayHub`](super::ReplayHub).
//!
//! - **One reader task per replica** reads the streams of every user connected to it with one
//!   blocking `XREAD` on a dedicated connection (a blocking command would stall every other
//!   command on a shared multiplexed connection), and hands each entry, decoded once, to that
//!   user's connections. When a user connects who is not yet read, the reader's pending `XREAD`
//!   is interrupted (`CLIENT UNBLOCK`) and reissued with the new stream. Short commands (replay
//!   pages, the stream's bounds) share one multiplexed connection.
//! - **Replay then live, no gap, no duplicate**: a new connection joins its user's feed at the
//!   reader's position `P` for that stream (for a user not yet read: the stream's last entry).
//!   Live entries (after `P`) queue up for it while it replays the entries between its cursor and
//!   `P` with `XRANGE`, page by page as it writes them; each page is read in a `MULTI` with the
//!   stream's first and last entries, which decide the `gap` and `reset` notices without a race
//!   against trimming.
//! - **Slow consumers**, as with the local hub: a connection's queue holds the live events it has
//!   not written yet; past its bound (default [`DEFAULT_QUEUE_LEN`](super::DEFAULT_QUEUE_LEN),
//!   [`RedisSourceBuilder::queue_len`]) it is **lagged**: the `lagged` notice, then the connection
//!   closes, and the client resumes with its last cursor from the stream. Replay reads from Redis
//!   as the connection writes, so it holds at most one page. If trimming overtakes a replay, or
//!   the reader falls more than the stream bound behind, the connections concerned are lagged
//!   too, and their resume gets the `gap` notice.
//! - **One bad key stops only its user**: a user's key that is not a stream (Redis answers
//!   `WRONGTYPE`) would fail the shared `XREAD` for everyone. When Redis refuses the read, the
//!   reader asks each key's `TYPE`, drops the users whose key is not a stream from the read,
//!   and ends their connections with the `unavailable` notice (WebSocket close 1013, the end of
//!   the SSE stream); the others are read again at once. Such a user reconnecting is refused
//!   with `503` (`source_unavailable`) until the key is a stream again (or gone), then served
//!   as before.
//! - **Redis down**: the reader and replays retry with backoff, connections stay open and
//!   resume where they were once Redis is back; a connection attempt for a user this replica does
//!   not read yet is refused with `503` (`source_unavailable`) while Redis cannot be reached.
//!
//! # Metrics
//!
//! Besides the transports' metrics ([`super`]):
//!
//! | name | kind | what |
//! |---|---|---|
//! | `agent_events_delivery_failures_total{transport="redis"}` | counter | events refused (queue full) or dropped, failed `XADD` attempts, entries that could not be decoded |
//! | `agent_events_redis_events_written_total` | counter | events written to Redis |
//! | `agent_events_redis_read_errors_total` | counter | failed reads (the reader's `XREAD`, replay pages) |
//!
//! # Limits
//!
//! - Redis 5 or later; a single Redis (or a primary with failover), not Redis Cluster: the
//!   reader reads many users' streams in one command. The `redis` crate needs Rust 1.88.
//! - The check for `XADD`s in doubt is best effort: after a timeout the writer keeps the
//!   connection so the check runs behind the late write, but a write sent on a connection that
//!   then broke may, rarely, still land after the check: that event is then in the stream twice
//!   (same `event_id`).
//! - What Redis loses, clients lose: without persistence, a restart loses the streams (a client
//!   resuming with an older cursor gets `gap`). Events are `Arc`-shared by the sinks but written
//!   to Redis once per replica that emits them.
//! - A gap is reported whenever the cursor is older than the stream's oldest entry, so a client
//!   whose cursor was trimmed just before the oldest kept entry gets a `gap` notice although
//!   nothing after it was lost (Redis does not say which entry preceded the oldest one).

mod sink;
mod source;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, RedisError, RedisResult, RetryMethod, Value};
use tokio::sync::Mutex as AsyncMutex;

pub use sink::{
    RedisSink, RedisSinkBuilder, RedisSinkCounters, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_SINK_QUEUE_LEN,
};
pub use source::{RedisSource, RedisSourceBuilder, RedisSubscription, DEFAULT_READ_BLOCK};

/// Default key prefix: streams are `agent-events:user:<user_id>`.
pub const DEFAULT_PREFIX: &str = "agent-events";
/// Default bound on each user's stream (`XADD … MAXLEN ~ 10000`).
pub const DEFAULT_MAX_LEN: usize = 10_000;

/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default time one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// Default backoff between retries: doubles from the first to the second.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(2));

/// Where the events live in Redis: the client, the key prefix and the bound on each user's
/// stream, shared by the [`RedisSink`] and the [`RedisSource`] of every replica (build both from
/// the same settings). Cheap to clone.
///
/// ```
/// use agent_events::transport::redis::RedisStreams;
///
/// let streams = RedisStreams::open("redis://127.0.0.1:6379/").unwrap().prefix("chat").max_len(5_000);
/// assert_eq!(streams.key("alice"), "chat:user:alice");
/// ```
#[derive(Clone)]
pub struct RedisStreams {
    client: Client,
    prefix: Arc<str>,
    max_len: usize,
}

impl RedisStreams {
    /// Streams on the Redis that `client` connects to, with the default prefix and bound.
    pub fn new(client: Client) -> Self {
        RedisStreams { client, prefix: DEFAULT_PREFIX.into(), max_len: DEFAULT_MAX_LEN }
    }

    /// Streams on the Redis at `url` (`redis://[:password@]host[:port][/db]`). Connects later,
    /// when the sink or source first needs it: this only checks the URL.
    pub fn open(url: &str) -> Result<Self, RedisError> {
        Ok(RedisStreams::new(Client::open(url)?))
    }

    /// The key prefix (default [`DEFAULT_PREFIX`]): streams are `<prefix>:user:<user_id>`.
    pub fn prefix(mut self, prefix: impl Into<Arc<str>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on each user's stream (default [`DEFAULT_MAX_LEN`], at least 1): Redis keeps at
    /// least this many of the user's latest events, which is how far back a client can resume.
    pub fn max_len(mut self, events: usize) -> Self {
        self.max_len = events.max(1);
        self
    }

    /// The key of a user's stream.
    pub fn key(&self, user_id: &str) -> String {
        format!("{}:user:{user_id}", self.prefix)
    }

    /// The Redis client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A sink with the default settings; see [`RedisStreams::sink_builder`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: it spawns its writer task.
    pub fn sink(&self) -> RedisSink {
        self.sink_builder().build()
    }

    /// Starts configuring a sink.
    pub fn sink_builder(&self) -> RedisSinkBuilder {
        RedisSinkBuilder::new(self.clone())
    }

    /// A source with the default settings; see [`RedisStreams::source_builder`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: it spawns its reader task.
    pub fn source(&self) -> RedisSource {
        self.source_builder().build()
    }

    /// Starts configuring a source.
    pub fn source_builder(&self) -> RedisSourceBuilder {
        RedisSourceBuilder::new(self.clone())
    }
}

impl fmt::Debug for RedisStreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStreams")
            .field("redis", &self.client.get_connection_info().addr().to_string())
            .field("prefix", &self.prefix)
            .field("max_len", &self.max_len)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Stream ids

/// A Redis stream entry id, `<milliseconds>-<sequence>`: ordered as Redis orders them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EntryId {
    ms: u64,
    seq: u64,
}

impl EntryId {
    /// `0-0`: before every entry.
    pub(crate) const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    /// Parses `<ms>-<seq>` (digits only); anything else is not one of our cursors.
    pub(crate) fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(EntryId { ms: ms.parse().ok()?, seq: seq.parse().ok()? })
    }

    /// The smallest id after this one, if there is one.
    pub(crate) fn successor(self) -> Option<EntryId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(EntryId { seq, ..self }),
            None => Some(EntryId { ms: self.ms.checked_add(1)?, seq: 0 }),
        }
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

// ---------------------------------------------------------------------------------------------
// Replies

/// One stream entry: its id, and its `event` field if it has one.
pub(crate) struct RawEntry {
    pub(crate) id: EntryId,
    pub(crate) event: Option<Vec<u8>>,
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

fn unexpected(what: &str, value: &Value) -> RedisError {
    let shown: String = format!("{value:?}").chars().take(200).collect();
    RedisError::from((
        ::redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply",
        format!("{what}: {shown}"),
    ))
}

/// One field of an `XINFO STREAM` reply (a flat list of names and values, or a map).
pub(crate) fn info_field<'a>(info: &'a Value, name: &str) -> Option<&'a Value> {
    match info {
        Value::Array(flat) => {
            flat.chunks(2).find(|pair| text(&pair[0]) == Some(name)).and_then(|pair| pair.get(1))
        }
        Value::Map(pairs) => pairs.iter().find(|(key, _)| text(key) == Some(name)).map(|(_, value)| value),
        _ => None,
    }
}

/// An integer field of an `XINFO STREAM` reply.
pub(crate) fn info_int(info: &Value, name: &str) -> Option<i64> {
    match info_field(info, name)? {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

/// An `XRANGE` / `XREVRANGE` reply: `[[id, [field, value, …]], …]`.
pub(crate) fn parse_entries(value: Value) -> RedisResult<Vec<RawEntry>> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Array(items) => items.into_iter().map(parse_entry).collect(),
        other => Err(unexpected("a list of stream entries", &other)),
    }
}

fn parse_entry(value: Value) -> RedisResult<RawEntry> {
    let Value::Array(mut parts) = value else { return Err(unexpected("a stream entry", &value)) };
    if parts.len() != 2 {
        return Err(unexpected("a stream entry", &Value::Array(parts)));
    }
    let fields = parts.pop().unwrap_or(Value::Nil);
    let id = parts.pop().unwrap_or(Value::Nil);
    let id = text(&id).and_then(EntryId::parse).ok_or_else(|| unexpected("a stream id", &id))?;
    let pairs: Vec<(Value, Value)> = match fields {
        Value::Array(flat) => {
            let mut flat = flat.into_iter();
            std::iter::from_fn(|| Some((flat.next()?, flat.next()?))).collect()
        }
        Value::Map(pairs) => pairs,
        _ => Vec::new(),
    };
    let event =
        pairs.into_iter().find(|(name, _)| text(name) == Some("event")).and_then(|(_, value)| match value {
            Value::BulkString(bytes) => Some(bytes),
            other => text(&other).map(|s| s.as_bytes().to_vec()),
        });
    Ok(RawEntry { id, event })
}

/// An `XREAD` reply: nil (nothing new), `[[key, entries], …]`, or a map of key to entries.
pub(crate) fn parse_read(value: Value) -> RedisResult<Vec<(String, Vec<RawEntry>)>> {
    let pairs: Vec<(Value, Value)> = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(pairs) => pairs,
        Value::Array(streams) => streams
            .into_iter()
            .map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => {
                    let entries = pair.pop().unwrap_or(Value::Nil);
                    Ok((pair.pop().unwrap_or(Value::Nil), entries))
                }
                other => Err(unexpected("a stream of an XREAD reply", &other)),
            })
            .collect::<RedisResult<_>>()?,
        other => return Err(unexpected("an XREAD reply", &other)),
    };
    pairs
        .into_iter()
        .map(|(key, entries)| {
            let key = text(&key).ok_or_else(|| unexpected("a stream key", &key))?.to_owned();
            Ok((key, parse_entries(entries)?))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Connections, errors, backoff

fn connection_config(response_timeout: Option<Duration>) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(response_timeout)
}

/// Whether the connection that gave this error should be replaced.
pub(crate) fn connection_broken(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
}

/// Whether retrying cannot help: Redis refused the command itself (wrong key type, out of
/// memory, no permission…).
pub(crate) fn permanent(error: &RedisError) -> bool {
    !connection_broken(error) && matches!(error.retry_method(), RetryMethod::NoRetry)
}

/// A multiplexed connection for short commands, opened on first use and replaced once broken.
pub(crate) struct Link {
    client: Client,
    config: AsyncConnectionConfig,
    connection: AsyncMutex<Option<MultiplexedConnection>>,
}

impl Link {
    pub(crate) fn new(client: Client, command_timeout: Duration) -> Self {
        Link { client, config: connection_config(Some(command_timeout)), connection: AsyncMutex::new(None) }
    }

    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let connection = self.client.get_multiplexed_async_connection_with_config(&self.config).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    async fn forget_if_broken(&self, error: &RedisError) {
        if connection_broken(error) {
            *self.connection.lock().await = None;
        }
    }

    /// Runs one command.
    pub(crate) async fn query<T: ::redis::FromRedisValue>(&self, cmd: &::redis::Cmd) -> RedisResult<T> {
        let mut connection = self.connection().await?;
        let result = cmd.query_async(&mut connection).await;
        if let Err(e) = &result {
            self.forget_if_broken(e).await;
        }
        result
    }

    /// Runs a pipeline (or a `MULTI` transaction).
    pub(crate) async fn query_pipeline<T: ::redis::FromRedisValue>(
        &self,
        pipeline: &::redis::Pipeline,
    ) -> RedisResult<T> {
        let mut connection = self.connection().await?;
        let result = pipeline.query_async(&mut connection).await;
        if let Err(e) = &result {
            self.forget_if_broken(e).await;
        }
        result
    }
}

/// Exponential backoff between retries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new((min, max): (Duration, Duration)) -> Self {
        let min = min.max(Duration::from_millis(1));
        Backoff { min, max: max.max(min), next: min }
    }

    /// The wait before the next retry; doubles each time.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics

pub(crate) fn count_failures(n: u64) {
    metrics::counter!("agent_events_delivery_failures_total", "transport" => "redis").increment(n);
}

pub(crate) fn count_written(n: u64) {
    metrics::counter!("agent_events_redis_events_written_total").increment(n);
}

pub(crate) fn count_read_error() {
    metrics::counter!("agent_events_redis_read_errors_total").increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_parse_order_and_print() {
        let id = EntryId::parse("1718000000000-3").expect("an id");
        assert_eq!(id.to_string(), "1718000000000-3");
        assert!(EntryId::parse("1718000000000-4").expect("an id") > id);
        assert!(EntryId::parse("1718000000001-0").expect("an id") > id);
        for bad in ["", "-", "1-", "-1", "1", "a-1", "1-1-1", " 1-1", "99999999999999999999999-0"] {
            assert_eq!(EntryId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            EntryId::parse("5-18446744073709551615").and_then(EntryId::successor),
            EntryId::parse("6-0")
        );
        assert_eq!(EntryId::ZERO.successor(), EntryId::parse("0-1"));
    }

    #[test]
    fn replies_are_read_in_both_protocols() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let entry = |id: &str, event: &str| {
            Value::Array(vec![bulk(id), Value::Array(vec![bulk("event"), bulk(event)])])
        };
        let entries =
            parse_entries(Value::Array(vec![entry("1-0", "{}"), entry("1-1", "[]")])).expect("entries");
        assert_eq!(entries.iter().map(|e| e.id.to_string()).collect::<Vec<_>>(), ["1-0", "1-1"]);
        assert_eq!(entries[1].event.as_deref(), Some(&b"[]"[..]));

        let resp2 = Value::Array(vec![Value::Array(vec![bulk("k"), Value::Array(vec![entry("2-0", "x")])])]);
        let resp3 = Value::Map(vec![(bulk("k"), Value::Array(vec![entry("2-0", "x")]))]);
        for reply in [resp2, resp3] {
            let streams = parse_read(reply).expect("streams");
            assert_eq!(streams.len(), 1);
            assert_eq!(streams[0].0, "k");
            assert_eq!(streams[0].1[0].id, EntryId::parse("2-0").expect("an id"));
        }
        assert!(parse_read(Value::Nil).expect("nothing").is_empty());
        assert!(parse_entries(Value::Int(3)).is_err());
    }
}
