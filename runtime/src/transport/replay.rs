//! The replay hub: per-user replay buffers, cursors, and subscriptions that resume from one.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use agent_events_schema::Event;
use tokio::sync::Notify;

use crate::sink::{EventSink, ShutdownFuture, SinkError, SinkStats};
use crate::sync::{lock, read, write};

/// Default number of events kept per user for replay.
pub const DEFAULT_REPLAY_BUFFER: usize = 1024;
/// Default bound on the events a subscriber may have left unread before it is lagged.
pub const DEFAULT_QUEUE_LEN: usize = 256;
/// Default number of users whose replay buffers are kept (beyond those with a live connection).
pub const DEFAULT_MAX_USERS: usize = 1_000;
/// Default time after which the buffer of a user with no subscriber and no new event is dropped.
pub const DEFAULT_IDLE_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// How often, at most, idle users are looked for when a new user arrives below the user bound.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Keeps each user's recent events for replay and hands them to that user's subscribers,
/// each event with a cursor the subscriber can resume after. Cheap to clone; add one clone to
/// the [`crate::EventBridge`] as a sink and give another to [`super::TransportState`].
///
/// - **Cursors** are opaque strings `"<epoch>-<generation>-<n>"`: `n` counts one user's events
///   (1, 2, 3…) in one buffer, `generation` tells that buffer from every other buffer the hub
///   ever made (a user whose buffer was dropped gets a new generation), and `epoch` is random
///   per hub. So a cursor from another process, another hub, or a dropped buffer is recognised
///   as unknown, and gets [`ReplayItem::Reset`], never a silent skip.
/// - **Memory** is bounded: at most `buffer_len` events per user (oldest dropped first), at most
///   `max_users` users (a user with no subscriber and no event for `idle_expiry` is dropped
///   first, then the least recently active user with no subscriber), and subscribers share the
///   buffer instead of copying events. Users with live subscribers are never dropped, so the
///   number of users kept is at most `max_users` plus the users with an open connection: at
///   most `max_users × buffer_len` events (a million by default) plus the connected users'
///   buffers. Events are shared (`Arc`) with the other sinks, never copied. A user whose buffer
///   was dropped starts again at `n = 1` in a new generation: an old cursor then gets a reset
///   notice.
/// - **Delivery** ([`EventSink::deliver`]) is synchronous: it appends to the buffer and wakes the
///   user's subscribers, never waiting on a subscriber or on I/O.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use agent_events::transport::{ReplayHub, ReplayItem};
/// use agent_events::{EventBridge, RunContext};
///
/// let hub = ReplayHub::new();
/// let bridge = EventBridge::builder().sink(hub.clone()).build();
/// let run = bridge.start_run(RunContext::new("alice", "t1", "agent"));
/// let cursor = hub.latest_cursor("alice").unwrap();
/// run.thinking("step one");
/// run.completed("done", ());
///
/// // A browser that saw `agent_started` reconnects: it gets exactly what it missed.
/// let mut sub = hub.subscribe("alice", Some(&cursor)).unwrap();
/// let Some(ReplayItem::Event(first)) = sub.next().await else { panic!() };
/// assert_eq!(first.event.type_name(), "agent_thinking");
/// assert!(first.replayed);
/// # });
/// ```
#[derive(Clone)]
pub struct ReplayHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    epoch: Box<str>,
    buffer_len: usize,
    queue_len: usize,
    max_users: usize,
    idle_expiry: Duration,
    users: RwLock<HashMap<Arc<str>, Arc<UserLog>>>,
    last_sweep: Mutex<Instant>,
    next_subscriber: AtomicU64,
    /// The generation the next user buffer gets.
    next_generation: AtomicU64,
    closed: AtomicBool,
    lagged: AtomicU64,
}

/// One user's buffer and subscribers.
struct UserLog {
    /// Which buffer this is, among all the hub ever made: part of every cursor.
    generation: u64,
    state: Mutex<LogState>,
}

struct LogState {
    /// The number the next event gets; the first is 1.
    next: u64,
    entries: VecDeque<Entry>,
    subscribers: Vec<Subscriber>,
    last_active: Instant,
}

struct Entry {
    n: u64,
    event: Arc<Event>,
    delivered_at: Instant,
}

struct Subscriber {
    id: u64,
    /// The number of the next event this subscriber reads.
    pos: u64,
    /// The first number delivered after it subscribed: anything before is replay.
    live_from: u64,
    queue_len: u64,
    lagged: bool,
    notify: Arc<Notify>,
}

impl LogState {
    /// The number of the oldest event still buffered (`next` when the buffer is empty).
    fn first(&self) -> u64 {
        self.entries.front().map_or(self.next, |e| e.n)
    }
}

/// What a [`ReplaySubscription`] yields.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplayItem {
    /// One of the user's events.
    Event(CursorEvent),
    /// The cursor resumed from is older than the buffer: events after it are gone. What the
    /// buffer holds follows. The client should reload the state it shows.
    Gap {
        /// How many events between the cursor and the oldest buffered event are gone, when the
        /// source can count them (the [`ReplayHub`] can; Redis Streams cannot: `None`).
        missed: Option<u64>,
    },
    /// The cursor resumed from is unknown (malformed, from another process, or its user's buffer
    /// was dropped): everything the buffer holds for the user follows. The client should reload
    /// the state it shows.
    Reset,
    /// The subscriber fell more than its queue bound behind, and is disconnected: nothing
    /// follows. Resume with the cursor of the last event received; the buffer still holds what
    /// follows it unless the user has since had more than the buffer's length of new events.
    Lagged,
    /// The user's events cannot be read now (with Redis: the user's key is not a stream), and
    /// the subscription ends: nothing follows. Other users are not affected. Reconnect later
    /// (refused with `503` until it is fixed) and reload what is shown. The [`ReplayHub`] never
    /// yields it.
    Unavailable,
}

/// An event with its cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct CursorEvent {
    /// Resume after this event by passing this cursor.
    pub cursor: String,
    /// The event.
    pub event: Arc<Event>,
    /// Whether the event was delivered before the subscription began (replay).
    pub replayed: bool,
    /// When the hub received the event (for delivery latency).
    pub delivered_at: Instant,
}

/// Why [`ReplayHub::subscribe`] refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The source was shut down ([`EventSink::shutdown`] of the hub); nothing more will be
    /// delivered. Connections are refused with `503`.
    #[error("the event source is shut down")]
    Closed,
    /// The source cannot subscribe now (e.g. Redis is unreachable): retry later. Connections are
    /// refused with `503`.
    #[error("the event source is unavailable: {0}")]
    Unavailable(String),
}

/// Configures a [`ReplayHub`].
#[derive(Clone, Debug)]
pub struct ReplayHubBuilder {
    buffer_len: usize,
    queue_len: usize,
    max_users: usize,
    idle_expiry: Duration,
}

impl Default for ReplayHubBuilder {
    fn default() -> Self {
        ReplayHubBuilder {
            buffer_len: DEFAULT_REPLAY_BUFFER,
            queue_len: DEFAULT_QUEUE_LEN,
            max_users: DEFAULT_MAX_USERS,
            idle_expiry: DEFAULT_IDLE_EXPIRY,
        }
    }
}

impl ReplayHubBuilder {
    /// Events kept per user for replay (default [`DEFAULT_REPLAY_BUFFER`], at least 1).
    pub fn buffer_len(mut self, events: usize) -> Self {
        self.buffer_len = events.max(1);
        self
    }

    /// Unread events a subscriber may have before it is lagged (default [`DEFAULT_QUEUE_LEN`],
    /// at least 1). Keep it below `buffer_len` so a lagged client can resume without a gap.
    pub fn queue_len(mut self, events: usize) -> Self {
        self.queue_len = events.max(1);
        self
    }

    /// Users whose buffers are kept (default [`DEFAULT_MAX_USERS`], at least 1).
    pub fn max_users(mut self, users: usize) -> Self {
        self.max_users = users.max(1);
        self
    }

    /// How long the buffer of a user with no subscriber and no new event is kept (default
    /// [`DEFAULT_IDLE_EXPIRY`]). Idle users are dropped when a new user arrives.
    pub fn idle_expiry(mut self, expiry: Duration) -> Self {
        self.idle_expiry = expiry;
        self
    }

    /// Builds the hub, with a new random epoch.
    pub fn build(self) -> ReplayHub {
        let epoch: String = uuid::Uuid::new_v4().simple().to_string().chars().take(12).collect();
        ReplayHub {
            inner: Arc::new(HubInner {
                epoch: epoch.into(),
                buffer_len: self.buffer_len,
                queue_len: self.queue_len,
                max_users: self.max_users,
                idle_expiry: self.idle_expiry,
                users: RwLock::default(),
                last_sweep: Mutex::new(Instant::now()),
                next_subscriber: AtomicU64::new(0),
                next_generation: AtomicU64::new(1),
                closed: AtomicBool::new(false),
                lagged: AtomicU64::new(0),
            }),
        }
    }
}

impl Default for ReplayHub {
    fn default() -> Self {
        ReplayHub::new()
    }
}

impl ReplayHub {
    /// A hub with the default bounds.
    pub fn new() -> Self {
        ReplayHubBuilder::default().build()
    }

    /// Starts configuring a hub.
    pub fn builder() -> ReplayHubBuilder {
        ReplayHubBuilder::default()
    }

    /// The random part every cursor of this hub starts with.
    pub fn epoch(&self) -> &str {
        &self.inner.epoch
    }

    /// Subscribes to a user's events. With `after: None`, only events delivered from now on;
    /// with the cursor of an event, exactly the events after it that are still buffered, then
    /// live ones, with no gap and no duplicate between the two. A cursor older than the buffer
    /// yields [`ReplayItem::Gap`] first, an unknown one [`ReplayItem::Reset`] first (then the
    /// whole buffer). Dropping the subscription unsubscribes.
    pub fn subscribe(
        &self,
        user_id: impl Into<Arc<str>>,
        after: Option<&str>,
    ) -> Result<ReplaySubscription, SubscribeError> {
        self.subscribe_with_queue(user_id, after, self.inner.queue_len)
    }

    /// [`ReplayHub::subscribe`] with its own queue bound instead of the hub's (at least 1).
    pub fn subscribe_with_queue(
        &self,
        user_id: impl Into<Arc<str>>,
        after: Option<&str>,
        queue_len: usize,
    ) -> Result<ReplaySubscription, SubscribeError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(SubscribeError::Closed);
        }
        let user_id = user_id.into();
        let after = after.map(|cursor| self.inner.parse_cursor(cursor));
        let id = self.inner.next_subscriber.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        let (log, notice) = self.inner.with_log(&user_id, |log| {
            let mut state = lock(&log.state);
            let first = state.first();
            let next = state.next;
            let (pos, notice) = match after {
                None => (next, None),
                Some(None) => (first, Some(ReplayItem::Reset)),
                // A cursor of a buffer since dropped: its numbers mean nothing in this one.
                Some(Some((generation, _))) if generation != log.generation => {
                    (first, Some(ReplayItem::Reset))
                }
                // A cursor from the future: its user's buffer was dropped since.
                Some(Some((_, n))) if n >= next => (first, Some(ReplayItem::Reset)),
                Some(Some((_, n))) if n + 1 < first => {
                    (first, Some(ReplayItem::Gap { missed: Some(first - 1 - n) }))
                }
                Some(Some((_, n))) => (n + 1, None),
            };
            state.subscribers.push(Subscriber {
                id,
                pos,
                live_from: next,
                queue_len: u64::try_from(queue_len.max(1)).unwrap_or(u64::MAX),
                lagged: false,
                notify: notify.clone(),
            });
            state.last_active = Instant::now();
            notice
        });
        Ok(ReplaySubscription { hub: self.inner.clone(), log, user_id, id, notify, notice, done: false })
    }

    /// The cursor of the user's latest buffered event, if any: a page that loads its history
    /// some other way can subscribe after it.
    pub fn latest_cursor(&self, user_id: &str) -> Option<String> {
        let log = read(&self.inner.users).get(user_id)?.clone();
        let state = lock(&log.state);
        state.entries.back().map(|e| self.inner.cursor(log.generation, e.n))
    }

    /// How many events are buffered for a user.
    pub fn buffered(&self, user_id: &str) -> usize {
        let users = read(&self.inner.users);
        users.get(user_id).map_or(0, |log| lock(&log.state).entries.len())
    }

    /// How many live (not lagged) subscriptions a user has.
    pub fn subscriber_count(&self, user_id: &str) -> usize {
        let users = read(&self.inner.users);
        users.get(user_id).map_or(0, |log| lock(&log.state).subscribers.iter().filter(|s| !s.lagged).count())
    }

    /// How many users have a buffer.
    pub fn user_count(&self) -> usize {
        read(&self.inner.users).len()
    }
}

impl HubInner {
    fn cursor(&self, generation: u64, n: u64) -> String {
        format!("{}-{generation}-{n}", self.epoch)
    }

    /// The buffer generation and event number in a cursor of this hub; `None` for anything
    /// else.
    fn parse_cursor(&self, cursor: &str) -> Option<(u64, u64)> {
        let number = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let (rest, n) = cursor.rsplit_once('-')?;
        let (epoch, generation) = rest.rsplit_once('-')?;
        if epoch != &*self.epoch {
            return None;
        }
        Some((number(generation)?, number(n)?))
    }

    /// Runs `f` on the user's log, creating it (and making room) if needed, while the user map
    /// is locked, so the log cannot be dropped meanwhile.
    fn with_log<R>(&self, user_id: &Arc<str>, f: impl FnOnce(&Arc<UserLog>) -> R) -> (Arc<UserLog>, R) {
        {
            let users = read(&self.users);
            if let Some(log) = users.get(user_id) {
                return (log.clone(), f(log));
            }
        }
        let mut users = write(&self.users);
        if !users.contains_key(user_id) {
            self.make_room(&mut users);
        }
        let log = users
            .entry(user_id.clone())
            .or_insert_with(|| {
                Arc::new(UserLog {
                    generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
                    state: Mutex::new(LogState {
                        next: 1,
                        entries: VecDeque::new(),
                        subscribers: Vec::new(),
                        last_active: Instant::now(),
                    }),
                })
            })
            .clone();
        let result = f(&log);
        (log, result)
    }

    /// Drops idle users (at most once a second, or when full), then, while still full, the least
    /// recently active user with no subscriber.
    fn make_room(&self, users: &mut HashMap<Arc<str>, Arc<UserLog>>) {
        let now = Instant::now();
        let full = users.len() >= self.max_users;
        let sweep_due = {
            let mut last = lock(&self.last_sweep);
            let due = full || now.saturating_duration_since(*last) >= SWEEP_EVERY;
            if due {
                *last = now;
            }
            due
        };
        if sweep_due {
            users.retain(|_, log| {
                let state = lock(&log.state);
                !state.subscribers.is_empty()
                    || now.saturating_duration_since(state.last_active) < self.idle_expiry
            });
        }
        while users.len() >= self.max_users {
            let oldest = users
                .iter()
                .filter_map(|(user, log)| {
                    let state = lock(&log.state);
                    state.subscribers.is_empty().then(|| (state.last_active, user.clone()))
                })
                .min();
            match oldest {
                Some((_, user)) => {
                    users.remove(&user);
                }
                None => break,
            }
        }
    }
}

impl UserLog {
    fn push(&self, event: &Arc<Event>, hub: &HubInner) {
        let now = Instant::now();
        let mut state = lock(&self.state);
        let n = state.next;
        state.next += 1;
        state.entries.push_back(Entry { n, event: event.clone(), delivered_at: now });
        while state.entries.len() > hub.buffer_len {
            state.entries.pop_front();
        }
        state.last_active = now;
        let (first, next) = (state.first(), state.next);
        for sub in state.subscribers.iter_mut().filter(|s| !s.lagged) {
            let unread_live = next.saturating_sub(sub.pos.max(sub.live_from));
            if sub.pos < first || unread_live > sub.queue_len {
                sub.lagged = true;
                hub.lagged.fetch_add(1, Ordering::Relaxed);
            }
            sub.notify.notify_one();
        }
    }
}

impl EventSink for ReplayHub {
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(SinkError::Closed);
        }
        let user_id: Arc<str> = event.envelope.user_id.clone();
        self.inner.with_log(&user_id, |log| log.push(event, &self.inner));
        Ok(())
    }

    /// Refuses further events; every subscription ends once it has read what is buffered.
    fn shutdown(&self) -> ShutdownFuture<'_> {
        self.inner.closed.store(true, Ordering::Release);
        let users = read(&self.inner.users);
        for log in users.values() {
            for sub in &lock(&log.state).subscribers {
                sub.notify.notify_one();
            }
        }
        Box::pin(std::future::ready(()))
    }

    fn stats(&self) -> SinkStats {
        SinkStats { lagged_subscribers: self.inner.lagged.load(Ordering::Relaxed), ..SinkStats::default() }
    }
}

impl fmt::Debug for ReplayHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayHub")
            .field("epoch", &self.inner.epoch)
            .field("buffer_len", &self.inner.buffer_len)
            .field("queue_len", &self.inner.queue_len)
            .field("max_users", &self.inner.max_users)
            .field("idle_expiry", &self.inner.idle_expiry)
            .finish()
    }
}

/// One subscriber's view of a user's events: replay first, then live. Reads straight from the
/// user's buffer, so a subscription holds no copy of the events it has not read yet.
pub struct ReplaySubscription {
    hub: Arc<HubInner>,
    log: Arc<UserLog>,
    user_id: Arc<str>,
    id: u64,
    notify: Arc<Notify>,
    notice: Option<ReplayItem>,
    done: bool,
}

impl ReplaySubscription {
    /// The user this subscription receives events of.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The next item, waiting for one; `None` once the stream has ended (after
    /// [`ReplayItem::Lagged`], or once the hub shut down and everything buffered was read).
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<ReplayItem> {
        let notify = self.notify.clone();
        loop {
            let notified = notify.notified();
            if let Some(item) = self.poll_item() {
                return item;
            }
            notified.await;
        }
    }

    /// The next item if one is ready, without waiting.
    pub fn try_next(&mut self) -> Option<ReplayItem> {
        self.poll_item().flatten()
    }

    /// Waits until the subscriber is lagged (it never returns otherwise). Lets a writer blocked
    /// on a slow client notice that it should give up. Cancel-safe.
    pub async fn lagged(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_lagged() {
                return;
            }
            notified.await;
        }
    }

    /// Whether the subscriber fell behind and is disconnected.
    pub fn is_lagged(&self) -> bool {
        let state = lock(&self.log.state);
        state.subscribers.iter().find(|s| s.id == self.id).is_none_or(|s| s.lagged)
    }

    /// Converts the subscription into a stream of items.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = ReplayItem> + Send + 'static {
        futures_util::stream::unfold(self, |mut sub| async move { sub.next().await.map(|item| (item, sub)) })
    }

    /// `Some(item or end)` when there is something to report, `None` to wait.
    fn poll_item(&mut self) -> Option<Option<ReplayItem>> {
        if self.done {
            return Some(None);
        }
        if let Some(notice) = self.notice.take() {
            return Some(Some(notice));
        }
        let mut state = lock(&self.log.state);
        let first = state.first();
        let LogState { next, entries, subscribers, .. } = &mut *state;
        let Some(index) = subscribers.iter().position(|s| s.id == self.id) else {
            self.done = true;
            return Some(Some(ReplayItem::Lagged));
        };
        let sub = &mut subscribers[index];
        if !sub.lagged && sub.pos < *next {
            let offset = usize::try_from(sub.pos.saturating_sub(first)).unwrap_or(usize::MAX);
            if let Some(entry) = entries.get(offset).filter(|_| sub.pos >= first) {
                let item = CursorEvent {
                    cursor: self.hub.cursor(self.log.generation, entry.n),
                    event: entry.event.clone(),
                    replayed: entry.n < sub.live_from,
                    delivered_at: entry.delivered_at,
                };
                sub.pos += 1;
                return Some(Some(ReplayItem::Event(item)));
            }
            // What it has not read left the buffer: resuming from its last cursor is the way out.
            sub.lagged = true;
        }
        if sub.lagged {
            subscribers.swap_remove(index);
            self.done = true;
            return Some(Some(ReplayItem::Lagged));
        }
        if self.hub.closed.load(Ordering::Acquire) {
            self.done = true;
            return Some(None);
        }
        None
    }
}

impl Drop for ReplaySubscription {
    fn drop(&mut self) {
        let mut state = lock(&self.log.state);
        state.subscribers.retain(|s| s.id != self.id);
        state.last_active = Instant::now();
    }
}

impl fmt::Debug for ReplaySubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplaySubscription").field("user_id", &self.user_id).finish()
    }
}
