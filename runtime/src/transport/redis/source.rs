//! [`RedisSource`]: users' streams served to this replica's connections, by one reader task.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, RedisResult, Value};
use agent_events_schema::Event;
use tokio::sync::Notify;

use super::{
    connection_broken, connection_config, count_failures, count_read_error, info_int, parse_entries,
    parse_read, permanent, Backoff, EntryId, Link, RawEntry, RedisStreams, BACKOFF, COMMAND_TIMEOUT,
};
use crate::sync::lock;
use crate::transport::replay::{CursorEvent, ReplayItem, SubscribeError, DEFAULT_QUEUE_LEN};
use crate::transport::source::{EventSource, EventSubscription, LaggedFuture, NextFuture, SubscribeFuture};

/// Default longest wait of the reader's blocking `XREAD` before it is reissued.
pub const DEFAULT_READ_BLOCK: Duration = Duration::from_secs(5);

/// Entries per replay page (`XRANGE … COUNT`), and per stream per `XREAD` (at most the bound).
const PAGE_LEN: usize = 256;
/// Pause between `CLIENT UNBLOCK` attempts while the reader's `XREAD` is not blocked yet.
const UNBLOCK_RETRY: Duration = Duration::from_millis(10);

/// Configures a [`RedisSource`]; from [`RedisStreams::source_builder`].
#[derive(Debug)]
pub struct RedisSourceBuilder {
    streams: RedisStreams,
    config: Config,
}

#[derive(Clone, Copy, Debug)]
struct Config {
    queue_len: usize,
    page_len: usize,
    block: Duration,
    command_timeout: Duration,
    backoff: (Duration, Duration),
}

impl RedisSourceBuilder {
    pub(super) fn new(streams: RedisStreams) -> Self {
        RedisSourceBuilder {
            streams,
            config: Config {
                queue_len: DEFAULT_QUEUE_LEN,
                page_len: PAGE_LEN,
                block: DEFAULT_READ_BLOCK,
                command_timeout: COMMAND_TIMEOUT,
                backoff: BACKOFF,
            },
        }
    }

    /// Unread live events a connection may have before it is lagged (default
    /// [`DEFAULT_QUEUE_LEN`], at least 1); [`crate::transport::TransportStateBuilder::queue_len`]
    /// overrides it.
    pub fn queue_len(mut self, events: usize) -> Self {
        self.config.queue_len = events.max(1);
        self
    }

    /// Entries read per replay page (default 256, at least 1).
    pub fn page_len(mut self, entries: usize) -> Self {
        self.config.page_len = entries.max(1);
        self
    }

    /// The longest wait of the reader's blocking `XREAD` (default [`DEFAULT_READ_BLOCK`], at
    /// least 1 ms). New users interrupt it; it bounds how long an idle reader takes to notice the
    /// source was dropped.
    pub fn read_block(mut self, block: Duration) -> Self {
        self.config.block = block.max(Duration::from_millis(1));
        self
    }

    /// How long one short command may take (default 5 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.config.command_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The wait before retrying a failed read, doubling up to `max` (default 50 ms to 2 s).
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.backoff = (min, max);
        self
    }

    /// Builds the source and spawns its reader task.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn build(self) -> RedisSource {
        let signals = Arc::new(Signals::default());
        let inner = Arc::new(SourceInner {
            link: Link::new(self.streams.client.clone(), self.config.command_timeout),
            read_count: self.config.page_len.min(self.streams.max_len),
            streams: self.streams,
            config: self.config,
            feeds: Mutex::default(),
            signals: signals.clone(),
            reader_id: Mutex::default(),
            next_subscriber: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
        });
        let reader = Reader {
            source: Arc::downgrade(&inner),
            signals,
            client: inner.streams.client.clone(),
            config: connection_config(Some(inner.config.block + inner.config.command_timeout)),
            block: inner.config.block,
            read_count: inner.read_count,
            backoff: Backoff::new(inner.config.backoff),
        };
        tokio::spawn(reader.run());
        RedisSource { inner }
    }
}

/// The [`EventSource`] of several replicas: serves this replica's connections from the users'
/// Redis streams, which the [`super::RedisSink`] of every replica writes. Give it to
/// [`crate::transport::TransportState::new`] instead of a [`crate::transport::ReplayHub`].
/// Cheap to clone. See the [module docs](super) for the design.
#[derive(Clone)]
pub struct RedisSource {
    inner: Arc<SourceInner>,
}

struct SourceInner {
    streams: RedisStreams,
    config: Config,
    /// Entries per stream per `XREAD`: at most the stream bound (see `dispatch`).
    read_count: usize,
    link: Link,
    /// The users this replica reads, each with its connections.
    feeds: Mutex<HashMap<Arc<str>, Feed>>,
    signals: Arc<Signals>,
    /// `CLIENT ID` of the reader's connection, to interrupt its `XREAD`.
    reader_id: Mutex<Option<i64>>,
    next_subscriber: AtomicU64,
    lagged: AtomicU64,
}

#[derive(Default)]
struct Signals {
    closed: AtomicBool,
    /// A user was added: the reader reissues its `XREAD`.
    changed: Notify,
}

/// One user this replica reads.
struct Feed {
    /// The last entry read (or, before any, the last entry when the feed began).
    position: EntryId,
    subscribers: Vec<Arc<Shared>>,
}

/// What the reader and one subscription share.
struct Shared {
    id: u64,
    queue_len: usize,
    state: Mutex<Queue>,
    notify: Notify,
}

#[derive(Default)]
struct Queue {
    live: VecDeque<Live>,
    lagged: bool,
    closed: bool,
    /// The user's stream cannot be read (not a stream: `WRONGTYPE`): the subscription ends
    /// with [`ReplayItem::Unavailable`].
    unavailable: bool,
}

struct Live {
    id: EntryId,
    event: Arc<Event>,
    received_at: Instant,
}

impl Shared {
    fn is_lagged(&self) -> bool {
        lock(&self.state).lagged
    }
}

impl Drop for SourceInner {
    fn drop(&mut self) {
        self.signals.closed.store(true, Ordering::Release);
        self.signals.changed.notify_waiters();
    }
}

impl RedisSource {
    /// Subscribes to a user's events with the source's queue bound: see
    /// [`RedisSource::subscribe_with_queue`].
    pub async fn subscribe(
        &self,
        user_id: impl Into<Arc<str>>,
        after: Option<&str>,
    ) -> Result<RedisSubscription, SubscribeError> {
        self.subscribe_with_queue(user_id, after, self.inner.config.queue_len).await
    }

    /// Subscribes to a user's events: with `after: None`, the events written from now on; with
    /// the cursor (stream id) of an event, exactly those after it, then live ones. A cursor older
    /// than the stream's oldest entry yields [`ReplayItem::Gap`] first, a malformed or unknown
    /// one [`ReplayItem::Reset`] first (then the whole stream). Fails with
    /// [`SubscribeError::Unavailable`] when the user is not read yet and Redis cannot be reached.
    pub async fn subscribe_with_queue(
        &self,
        user_id: impl Into<Arc<str>>,
        after: Option<&str>,
        queue_len: usize,
    ) -> Result<RedisSubscription, SubscribeError> {
        let inner = &self.inner;
        if inner.signals.closed.load(Ordering::Acquire) {
            return Err(SubscribeError::Closed);
        }
        let user_id = user_id.into();
        let key = inner.streams.key(&user_id);
        let shared = Arc::new(Shared {
            id: inner.next_subscriber.fetch_add(1, Ordering::Relaxed),
            queue_len: queue_len.max(1),
            state: Mutex::default(),
            notify: Notify::new(),
        });
        let position = match inner.join(&user_id, &shared, None) {
            Some(position) => position,
            None => {
                let latest = inner.latest(&key).await.map_err(|e| {
                    count_read_error();
                    SubscribeError::Unavailable(format!("reading the stream `{key}` failed: {e}"))
                })?;
                inner.join(&user_id, &shared, Some(latest)).unwrap_or(latest)
            }
        };
        let (notice, replay, last) = match after.map(|cursor| (cursor, EntryId::parse(cursor))) {
            None => (None, None, None),
            Some((_, None)) => {
                (Some(ReplayItem::Reset), Some(Replay::new(None, position, None, inner)), None)
            }
            Some((_, Some(cursor))) => {
                (None, Some(Replay::new(Some(cursor), position, Some(cursor), inner)), Some(cursor))
            }
        };
        Ok(RedisSubscription {
            source: inner.clone(),
            user_id,
            key,
            shared,
            notice,
            replay,
            last,
            done: false,
        })
    }

    /// Ends every subscription (once it has written what is queued for it) and refuses new ones;
    /// the reader stops. For a graceful shutdown, [`crate::transport::TransportState::shutdown`]
    /// is enough.
    pub fn close(&self) {
        let inner = &self.inner;
        inner.signals.closed.store(true, Ordering::Release);
        inner.signals.changed.notify_waiters();
        for feed in lock(&inner.feeds).values() {
            for sub in &feed.subscribers {
                lock(&sub.state).closed = true;
                sub.notify.notify_one();
            }
        }
    }

    /// How many live (not lagged) subscriptions a user has on this replica.
    pub fn subscriber_count(&self, user_id: &str) -> usize {
        let feeds = lock(&self.inner.feeds);
        feeds.get(user_id).map_or(0, |feed| feed.subscribers.iter().filter(|s| !s.is_lagged()).count())
    }

    /// How many users this replica reads (users with a connection to it).
    pub fn user_count(&self) -> usize {
        lock(&self.inner.feeds).len()
    }

    /// Subscriptions lagged so far.
    pub fn lagged_subscribers(&self) -> u64 {
        self.inner.lagged.load(Ordering::Relaxed)
    }

    /// Where the events come from.
    pub fn streams(&self) -> &RedisStreams {
        &self.inner.streams
    }
}

impl EventSource for RedisSource {
    fn subscribe<'a>(
        &'a self,
        user_id: Arc<str>,
        after: Option<&'a str>,
        queue_len: Option<usize>,
    ) -> SubscribeFuture<'a> {
        let queue_len = queue_len.unwrap_or(self.inner.config.queue_len);
        Box::pin(async move {
            let subscription = self.subscribe_with_queue(user_id, after, queue_len).await?;
            Ok(Box::new(subscription) as Box<dyn EventSubscription>)
        })
    }
}

impl fmt::Debug for RedisSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSource")
            .field("streams", &self.inner.streams)
            .field("config", &self.inner.config)
            .field("users", &self.user_count())
            .finish()
    }
}

impl SourceInner {
    /// Adds the subscriber to its user's feed, creating the feed at `start` if there is none;
    /// the feed's position, or `None` when there is no feed and no `start`.
    fn join(&self, user_id: &Arc<str>, shared: &Arc<Shared>, start: Option<EntryId>) -> Option<EntryId> {
        let mut feeds = lock(&self.feeds);
        if let Some(feed) = feeds.get_mut(user_id) {
            feed.subscribers.push(shared.clone());
            return Some(feed.position);
        }
        let position = start?;
        feeds.insert(user_id.clone(), Feed { position, subscribers: vec![shared.clone()] });
        drop(feeds);
        self.signals.changed.notify_waiters();
        Some(position)
    }

    /// The id of the stream's last entry (`0-0` when there is none).
    async fn latest(&self, key: &str) -> RedisResult<EntryId> {
        let mut cmd = ::redis::cmd("XREVRANGE");
        cmd.arg(key).arg("+").arg("-").arg("COUNT").arg(1);
        let entries = parse_entries(self.link.query(&cmd).await?)?;
        Ok(entries.first().map_or(EntryId::ZERO, |e| e.id))
    }

    /// Every user read, with its stream and position.
    fn round(&self) -> Vec<(Arc<str>, String, EntryId)> {
        let feeds = lock(&self.feeds);
        feeds.iter().map(|(user, feed)| (user.clone(), self.streams.key(user), feed.position)).collect()
    }

    /// After an `XREAD` that Redis refused: finds the keys of the round that are not streams
    /// (a `WRONGTYPE` key fails the whole shared read), drops their users from the read and
    /// ends those users' subscriptions with [`ReplayItem::Unavailable`] (they reconnect, and are
    /// refused with `503` until the key is a stream again), so the other users go on. How many
    /// users were dropped.
    async fn isolate(&self, round: &[(Arc<str>, String, EntryId)]) -> usize {
        let mut bad = Vec::new();
        for (user, key, _) in round {
            let mut cmd = ::redis::cmd("TYPE");
            cmd.arg(key);
            match self.link.query::<String>(&cmd).await {
                Ok(kind) if kind != "stream" && kind != "none" => bad.push(user.clone()),
                Ok(_) => {}
                Err(_) => return 0, // Redis itself is in trouble: the reader backs off.
            }
        }
        let mut feeds = lock(&self.feeds);
        for user in &bad {
            let Some(feed) = feeds.remove(user) else { continue };
            for sub in &feed.subscribers {
                lock(&sub.state).unavailable = true;
                sub.notify.notify_one();
            }
        }
        bad.len()
    }

    /// Interrupts the reader's blocking `XREAD`; whether it was blocked.
    async fn unblock_reader(&self) -> bool {
        let Some(id) = *lock(&self.reader_id) else { return false };
        let mut cmd = ::redis::cmd("CLIENT");
        cmd.arg("UNBLOCK").arg(id);
        matches!(self.link.query::<i64>(&cmd).await, Ok(1))
    }

    /// Whether entries after `position` may have been trimmed before the reader read them.
    async fn trimmed_after(&self, key: &str, position: EntryId) -> bool {
        // A stream that never lost an entry (as many entries as were ever added: Redis 7's
        // `XINFO STREAM`) lost none after `position` either. Without this, a feed that began
        // before its stream existed (`position` 0-0) would take its first full batch for an
        // overrun, and lag every connection of the user.
        let mut info = ::redis::cmd("XINFO");
        info.arg("STREAM").arg(key);
        if let Ok(info) = self.link.query::<Value>(&info).await {
            if let (Some(added), Some(length)) = (info_int(&info, "entries-added"), info_int(&info, "length"))
            {
                if added == length {
                    return false;
                }
            }
        }
        let mut cmd = ::redis::cmd("XRANGE");
        cmd.arg(key).arg("-").arg("+").arg("COUNT").arg(1);
        match self.link.query::<Value>(&cmd).await.and_then(parse_entries) {
            Ok(first) => first.first().is_some_and(|e| e.id > position),
            Err(_) => {
                count_read_error();
                true // Cannot tell: the connections resume, and learn.
            }
        }
    }

    /// Hands what the reader read to the connections of each user.
    async fn dispatch(&self, round: &[(Arc<str>, String, EntryId)], streams: Vec<(String, Vec<RawEntry>)>) {
        let by_key: HashMap<&str, (&Arc<str>, EntryId)> =
            round.iter().map(|(user, key, position)| (key.as_str(), (user, *position))).collect();
        for (key, entries) in streams {
            let Some(&(user, from)) = by_key.get(key.as_str()) else { continue };
            // A full batch: the reader is behind. A batch that is not full holds every entry after
            // `from` (at most `max_len` of them), so trimming, which keeps at least `max_len`
            // entries, cannot have removed any of them; a full one may have lost some.
            let overrun = entries.len() >= self.read_count && self.trimmed_after(&key, from).await;
            let received_at = Instant::now();
            let entries: Vec<(EntryId, Option<Arc<Event>>)> =
                entries.into_iter().map(|entry| (entry.id, decode(entry))).collect();
            let mut feeds = lock(&self.feeds);
            let Some(feed) = feeds.get_mut(user) else { continue };
            if overrun {
                for sub in &feed.subscribers {
                    self.lag(&mut lock(&sub.state));
                }
            }
            for (id, event) in entries {
                if id <= feed.position {
                    continue; // Read before the feed was begun again.
                }
                feed.position = id;
                let Some(event) = event else { continue };
                for sub in &feed.subscribers {
                    let mut queue = lock(&sub.state);
                    if queue.lagged || queue.closed {
                        continue;
                    }
                    queue.live.push_back(Live { id, event: event.clone(), received_at });
                    if queue.live.len() > sub.queue_len {
                        self.lag(&mut queue);
                    }
                }
            }
            for sub in &feed.subscribers {
                sub.notify.notify_one();
            }
        }
    }

    fn lag(&self, queue: &mut Queue) {
        if !queue.lagged {
            queue.lagged = true;
            queue.live.clear();
            self.lagged.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The event of an entry; an entry that is not one is counted and skipped.
fn decode(entry: RawEntry) -> Option<Arc<Event>> {
    let decoded = entry.event.as_deref().and_then(|json| serde_json::from_slice::<Event>(json).ok());
    if decoded.is_none() {
        count_failures(1);
    }
    decoded.map(Arc::new)
}

// ---------------------------------------------------------------------------------------------
// The reader task

struct Reader {
    source: Weak<SourceInner>,
    signals: Arc<Signals>,
    client: Client,
    config: AsyncConnectionConfig,
    block: Duration,
    read_count: usize,
    backoff: Backoff,
}

impl Reader {
    async fn run(mut self) {
        let mut connection: Option<MultiplexedConnection> = None;
        loop {
            if self.signals.closed.load(Ordering::Acquire) {
                return;
            }
            let signals = self.signals.clone();
            let changed = signals.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let Some(round) = self.source.upgrade().map(|source| source.round()) else { return };
            if round.is_empty() {
                tokio::select! {
                    () = &mut changed => {}
                    () = tokio::time::sleep(self.block) => {}
                }
                continue;
            }
            let mut reading = match &connection {
                Some(connection) => connection.clone(),
                None => match self.connect().await {
                    Ok(fresh) => connection.insert(fresh).clone(),
                    Err(_) => {
                        self.pause().await;
                        continue;
                    }
                },
            };
            let mut xread = ::redis::cmd("XREAD");
            xread.arg("COUNT").arg(self.read_count).arg("BLOCK").arg(self.block.as_millis().max(1) as u64);
            xread.arg("STREAMS");
            for (_, key, _) in &round {
                xread.arg(key);
            }
            for (_, _, position) in &round {
                xread.arg(position.to_string());
            }
            let read = async move { xread.query_async::<Value>(&mut reading).await };
            tokio::pin!(read);
            let result = tokio::select! {
                result = &mut read => result,
                () = &mut changed => self.interrupt(read).await,
            };
            match result.and_then(parse_read) {
                Ok(streams) => {
                    self.backoff.reset();
                    if let Some(source) = self.source.upgrade() {
                        source.dispatch(&round, streams).await;
                    }
                }
                Err(error) => {
                    if connection_broken(&error) {
                        connection = None;
                    } else if let Some(source) = self.source.upgrade() {
                        // Refused by Redis: if one user's key is to blame, read the others now.
                        if source.isolate(&round).await > 0 {
                            count_read_error();
                            continue;
                        }
                    }
                    self.pause().await;
                }
            }
        }
    }

    /// A dedicated connection: its blocking `XREAD` would stall any other command on it.
    async fn connect(&self) -> RedisResult<MultiplexedConnection> {
        let mut connection = self.client.get_multiplexed_async_connection_with_config(&self.config).await?;
        let id: i64 = ::redis::cmd("CLIENT").arg("ID").query_async(&mut connection).await?;
        if let Some(source) = self.source.upgrade() {
            *lock(&source.reader_id) = Some(id);
        }
        Ok(connection)
    }

    /// Counts a failed read and waits before the next (cut short when the source closes).
    async fn pause(&mut self) {
        count_read_error();
        let delay = self.backoff.next_delay();
        let signals = self.signals.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = signals.changed.notified() => {}
        }
    }

    /// Gets the pending `XREAD` to return now (with what it has: usually nothing).
    async fn interrupt(
        &self,
        mut read: Pin<&mut impl Future<Output = RedisResult<Value>>>,
    ) -> RedisResult<Value> {
        loop {
            let unblocked = match self.source.upgrade() {
                Some(source) => source.unblock_reader().await,
                None => false,
            };
            if unblocked || self.signals.closed.load(Ordering::Acquire) {
                return read.await;
            }
            // Not blocked yet (or Redis is unreachable): try again unless it returns meanwhile.
            tokio::select! {
                result = read.as_mut() => return result,
                () = tokio::time::sleep(UNBLOCK_RETRY) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/// What a subscription still has to replay: the entries after `after`, up to `until` (the
/// position at which it joined its user's feed).
struct Replay {
    after: Option<EntryId>,
    until: EntryId,
    /// The client's cursor, until the first page has checked it against the stream.
    check: Option<EntryId>,
    page: VecDeque<(EntryId, Arc<Event>)>,
    exhausted: bool,
    retry_at: Option<Instant>,
    backoff: Backoff,
}

/// One page, with the stream's first and last entries read in the same transaction.
struct Page {
    entries: Vec<RawEntry>,
    first: Option<EntryId>,
    last: Option<EntryId>,
}

impl Replay {
    fn new(after: Option<EntryId>, until: EntryId, check: Option<EntryId>, source: &SourceInner) -> Self {
        Replay {
            after,
            until,
            check,
            page: VecDeque::new(),
            exhausted: false,
            retry_at: None,
            backoff: Backoff::new(source.config.backoff),
        }
    }

    async fn fetch(&self, source: &SourceInner, key: &str) -> RedisResult<Page> {
        let start = match self.after {
            None => Some("-".to_owned()),
            Some(after) => after.successor().filter(|s| *s <= self.until).map(|s| s.to_string()),
        };
        let mut pipeline = ::redis::pipe();
        pipeline.atomic();
        if let Some(start) = &start {
            pipeline
                .cmd("XRANGE")
                .arg(key)
                .arg(start)
                .arg(self.until.to_string())
                .arg("COUNT")
                .arg(source.config.page_len);
        }
        pipeline.cmd("XRANGE").arg(key).arg("-").arg("+").arg("COUNT").arg(1);
        pipeline.cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(1);
        let mut replies: Vec<Value> = source.link.query_pipeline(&pipeline).await?;
        let mut next = || parse_entries(replies.pop().unwrap_or(Value::Nil));
        let last = next()?.first().map(|e| e.id);
        let first = next()?.first().map(|e| e.id);
        let entries = if start.is_some() { next()? } else { Vec::new() };
        Ok(Page { entries, first, last })
    }
}

/// One connection's view of a user's Redis stream: replay first, then live. Dropping it
/// unsubscribes (and the reader stops reading a user nobody on this replica follows).
pub struct RedisSubscription {
    source: Arc<SourceInner>,
    user_id: Arc<str>,
    key: String,
    shared: Arc<Shared>,
    notice: Option<ReplayItem>,
    replay: Option<Replay>,
    /// The last id handed out (or the cursor): live entries up to it are not repeated.
    last: Option<EntryId>,
    done: bool,
}

/// What applying a page leads to.
enum Step {
    Go,
    Lagged,
}

impl RedisSubscription {
    /// The user this subscription receives events of.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Whether the subscription fell behind and is disconnected.
    pub fn is_lagged(&self) -> bool {
        self.shared.is_lagged()
    }

    /// The next item, waiting for one (and reading replay pages from Redis); `None` once the
    /// stream has ended (after [`ReplayItem::Lagged`], or once the source closed). Cancel-safe.
    pub async fn next(&mut self) -> Option<ReplayItem> {
        loop {
            if self.done {
                return None;
            }
            if let Some(notice) = self.notice.take() {
                return Some(notice);
            }
            let shared = self.shared.clone();
            let notified = shared.notify.notified();
            if shared.is_lagged() {
                return Some(self.end_lagged());
            }
            if lock(&shared.state).unavailable {
                return Some(self.end_unavailable());
            }
            if let Some(replay) = &mut self.replay {
                if let Some((id, event)) = replay.page.pop_front() {
                    self.last = Some(id);
                    return Some(replayed(id, event));
                }
                if replay.exhausted {
                    self.replay = None;
                    continue;
                }
                if self.source.signals.closed.load(Ordering::Acquire) {
                    self.done = true; // What is left of the replay would leave a hole before live.
                    return None;
                }
                if let Some(at) = replay.retry_at.filter(|at| *at > Instant::now()) {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.into()) => {}
                        () = notified => {}
                    }
                    continue;
                }
                match replay.fetch(&self.source, &self.key).await {
                    Ok(page) => {
                        if let Step::Lagged = self.apply(page) {
                            return Some(self.end_lagged());
                        }
                    }
                    Err(error) if permanent(&error) => {
                        // Not a stream (`WRONGTYPE`): retrying cannot help this connection.
                        count_read_error();
                        return Some(self.end_unavailable());
                    }
                    Err(_) => {
                        count_read_error();
                        replay.retry_at = Some(Instant::now() + replay.backoff.next_delay());
                    }
                }
                continue;
            }
            if let Some(item) = self.pop_live() {
                return item;
            }
            notified.await;
        }
    }

    /// The next item if one is ready without reading from Redis.
    pub fn try_next(&mut self) -> Option<ReplayItem> {
        if self.done {
            return None;
        }
        if let Some(notice) = self.notice.take() {
            return Some(notice);
        }
        if self.shared.is_lagged() {
            return Some(self.end_lagged());
        }
        if lock(&self.shared.state).unavailable {
            return Some(self.end_unavailable());
        }
        if let Some(replay) = &mut self.replay {
            if let Some((id, event)) = replay.page.pop_front() {
                self.last = Some(id);
                return Some(replayed(id, event));
            }
            if !replay.exhausted {
                return None; // The next page needs Redis.
            }
            self.replay = None;
        }
        self.pop_live().flatten()
    }

    /// Waits until the subscription is lagged (it never returns otherwise). Cancel-safe.
    pub async fn lagged(&self) {
        loop {
            let notified = self.shared.notify.notified();
            if self.shared.is_lagged() {
                return;
            }
            notified.await;
        }
    }

    fn end_unavailable(&mut self) -> ReplayItem {
        self.done = true;
        self.replay = None;
        lock(&self.shared.state).live.clear();
        ReplayItem::Unavailable
    }

    fn end_lagged(&mut self) -> ReplayItem {
        self.done = true;
        self.replay = None;
        let mut queue = lock(&self.shared.state);
        if !queue.lagged {
            queue.lagged = true;
            queue.live.clear();
            self.source.lagged.fetch_add(1, Ordering::Relaxed);
        }
        ReplayItem::Lagged
    }

    /// Takes in a replay page: checks the cursor (first page) or that trimming has not overtaken
    /// the replay (later pages), then queues the page's events.
    fn apply(&mut self, page: Page) -> Step {
        let Some(replay) = &mut self.replay else { return Step::Go };
        replay.retry_at = None;
        replay.backoff.reset();
        if let Some(cursor) = replay.check.take() {
            if page.last.is_none_or(|last| cursor > last) {
                // Not a cursor of this stream as it is now: everything it holds.
                self.notice = Some(ReplayItem::Reset);
                self.last = None;
                replay.after = None;
                return Step::Go;
            }
            if page.first.is_some_and(|first| first > cursor) {
                self.notice = Some(ReplayItem::Gap { missed: None });
            }
        } else if let Some(after) = replay.after {
            if page.first.is_none_or(|first| first > after) {
                return Step::Lagged; // Trimmed past what was replayed: resume, and learn of the gap.
            }
        }
        let full = page.entries.len() >= self.source.config.page_len;
        if let Some(last) = page.entries.last() {
            replay.after = Some(last.id);
        }
        replay.page.extend(page.entries.into_iter().filter_map(|entry| Some((entry.id, decode(entry)?))));
        replay.exhausted = !full;
        Step::Go
    }

    /// `Some(item)` or `Some(None)` (the end) when there is something to report; `None` to wait.
    fn pop_live(&mut self) -> Option<Option<ReplayItem>> {
        let mut queue = lock(&self.shared.state);
        while let Some(live) = queue.live.pop_front() {
            if self.last.is_some_and(|last| live.id <= last) {
                continue;
            }
            self.last = Some(live.id);
            return Some(Some(ReplayItem::Event(CursorEvent {
                cursor: live.id.to_string(),
                event: live.event,
                replayed: false,
                delivered_at: live.received_at,
            })));
        }
        if queue.closed {
            drop(queue);
            self.done = true;
            return Some(None);
        }
        None
    }
}

fn replayed(id: EntryId, event: Arc<Event>) -> ReplayItem {
    ReplayItem::Event(CursorEvent {
        cursor: id.to_string(),
        event,
        replayed: true,
        delivered_at: Instant::now(),
    })
}

impl Drop for RedisSubscription {
    fn drop(&mut self) {
        let mut feeds = lock(&self.source.feeds);
        if let Some(feed) = feeds.get_mut(&self.user_id) {
            feed.subscribers.retain(|s| s.id != self.shared.id);
            if feed.subscribers.is_empty() {
                feeds.remove(&self.user_id);
            }
        }
    }
}

impl EventSubscription for RedisSubscription {
    fn user_id(&self) -> &str {
        RedisSubscription::user_id(self)
    }

    fn next(&mut self) -> NextFuture<'_> {
        Box::pin(RedisSubscription::next(self))
    }

    fn try_next(&mut self) -> Option<ReplayItem> {
        RedisSubscription::try_next(self)
    }

    fn lagged(&self) -> LaggedFuture<'_> {
        Box::pin(RedisSubscription::lagged(self))
    }
}

impl fmt::Debug for RedisSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSubscription").field("user_id", &self.user_id).field("key", &self.key).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_json(n: u64) -> Vec<u8> {
        let event = agent_events_schema::Event::new(
            agent_events_schema::Envelope::new("alice", "t", "r", "agent", n, format!("e{n}"), 1.0),
            agent_events_schema::Payload::UserMessage(agent_events_schema::UserMessage {
                content: "hi".into(),
            }),
        );
        serde_json::to_vec(&event).expect("JSON")
    }

    fn entries(ids: &[u64]) -> Vec<RawEntry> {
        ids.iter().map(|&n| RawEntry { id: EntryId { ms: n, seq: 0 }, event: Some(event_json(n)) }).collect()
    }

    fn cursors(sub: &mut RedisSubscription) -> Vec<String> {
        std::iter::from_fn(|| match sub.try_next()? {
            ReplayItem::Event(e) => Some(e.cursor),
            other => Some(format!("{other:?}")),
        })
        .collect()
    }

    /// A subscription that joined `alice`'s feed at `position` with nothing to replay, having
    /// handed out `last`; no Redis is involved.
    fn joined(source: &RedisSource, position: u64, last: Option<u64>, queue_len: usize) -> RedisSubscription {
        let inner = &source.inner;
        let shared = Arc::new(Shared { id: 0, queue_len, state: Mutex::default(), notify: Notify::new() });
        let user: Arc<str> = "alice".into();
        inner.join(&user, &shared, Some(EntryId { ms: position, seq: 0 }));
        RedisSubscription {
            source: inner.clone(),
            user_id: user,
            key: inner.streams.key("alice"),
            shared,
            notice: None,
            replay: None,
            last: last.map(|ms| EntryId { ms, seq: 0 }),
            done: false,
        }
    }

    fn round(source: &RedisSource) -> Vec<(Arc<str>, String, EntryId)> {
        source.inner.round()
    }

    #[test]
    fn live_entries_up_to_the_cursor_are_not_repeated_and_a_full_queue_lags() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            // Nothing listens there: these paths need no Redis.
            let streams = RedisStreams::open("redis://127.0.0.1:1/").expect("URL");
            let source = streams.source();

            // The client already has entry 7 (from another replica) while this replica's reader
            // is at 5: 6 and 7 are not sent again.
            let mut ahead = joined(&source, 5, Some(7), 10);
            let at = round(&source);
            source.inner.dispatch(&at, vec![(streams.key("alice"), entries(&[4, 6, 7, 8]))]).await;
            assert_eq!(cursors(&mut ahead), ["8-0"]);
            drop(ahead);
            assert_eq!(source.user_count(), 0, "the feed goes with its last subscriber");

            // More unread live events than the queue bound: lagged, queue dropped, then the end.
            let mut slow = joined(&source, 0, None, 2);
            let at = round(&source);
            source.inner.dispatch(&at, vec![(streams.key("alice"), entries(&[1, 2, 3]))]).await;
            assert!(slow.is_lagged());
            assert_eq!(source.subscriber_count("alice"), 0);
            assert_eq!(cursors(&mut slow), ["Lagged"]);
            assert_eq!(source.lagged_subscribers(), 1);
        });
    }
}
