//! The per-user hub: each subscriber receives only its own user's events, in order, with
//! bounded memory.
//!
//! Overflow policy, per subscriber queue of `capacity` events: when it is full, a droppable
//! event (`agent_thinking`, `agent_response`) is lost first — the incoming one, or the oldest
//! queued one to make room for a lifecycle event. When nothing droppable is left, the
//! subscriber is disconnected: it still receives everything queued, then one
//! [`HubMessage::Lagged`] notice, then the end of the stream. Lifecycle events are never lost
//! silently.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use agent_events_schema::Event;
use tokio::sync::Notify;

use crate::sink::{EventSink, ShutdownFuture, SinkError, SinkStats};
use crate::sync::{lock, read, write};

/// Default queue length per subscriber.
pub const DEFAULT_SUBSCRIBER_CAPACITY: usize = 1024;

/// Routes events to the subscribers of the user they belong to. Cheap to clone; add one clone
/// to the bridge as a sink and subscribe through another.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use agent_events::{EventBridge, RunContext, UserHub, HubMessage};
///
/// let hub = UserHub::new();
/// let bridge = EventBridge::builder().sink(hub.clone()).build();
/// let mut alice = hub.subscribe("alice");
/// let mut bob = hub.subscribe("bob");
/// bridge.start_run(RunContext::new("alice", "t1", "agent")).completed("done", ());
/// let Some(HubMessage::Event(ev)) = alice.recv().await else { panic!() };
/// assert_eq!(ev.type_name(), "agent_started");
/// assert!(bob.try_recv().is_none());
/// # });
/// ```
#[derive(Clone)]
pub struct UserHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    users: RwLock<HashMap<Arc<str>, Vec<Arc<Slot>>>>,
    capacity: usize,
    next_id: AtomicU64,
    lagged: AtomicU64,
    dropped: AtomicU64,
    closed: AtomicBool,
}

struct Slot {
    id: u64,
    queue: Mutex<Queue>,
    notify: Notify,
}

struct Queue {
    events: VecDeque<Arc<Event>>,
    state: SlotState,
    skipped: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Open,
    /// Fell behind; the notice is still to be read.
    Lagged,
    /// The hub shut down; the stream ends once the queue is drained.
    Closing,
    Done,
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq)]
pub enum HubMessage {
    /// One of the user's events.
    Event(Arc<Event>),
    /// The subscriber fell behind and is disconnected; nothing follows. Reconnect and resync.
    Lagged {
        /// Droppable events this subscriber did not get before it was disconnected.
        skipped: u64,
    },
}

enum Pushed {
    Queued,
    Skipped,
    Lagged,
    Ignored,
}

impl Slot {
    fn push(&self, event: &Arc<Event>, capacity: usize) -> Pushed {
        let mut queue = lock(&self.queue);
        if queue.state != SlotState::Open {
            return Pushed::Ignored;
        }
        let droppable = |e: &Event| e.event_type().is_some_and(|t| t.is_droppable());
        let outcome = if queue.events.len() < capacity {
            queue.events.push_back(event.clone());
            Pushed::Queued
        } else if droppable(event) {
            queue.skipped += 1;
            return Pushed::Skipped;
        } else if let Some(oldest) = queue.events.iter().position(|e| droppable(e)) {
            queue.events.remove(oldest);
            queue.skipped += 1;
            queue.events.push_back(event.clone());
            Pushed::Skipped
        } else {
            queue.state = SlotState::Lagged;
            Pushed::Lagged
        };
        drop(queue);
        self.notify.notify_one();
        outcome
    }
}

impl Default for UserHub {
    fn default() -> Self {
        UserHub::new()
    }
}

impl UserHub {
    /// A hub whose subscribers each queue up to [`DEFAULT_SUBSCRIBER_CAPACITY`] events.
    pub fn new() -> Self {
        UserHub::with_capacity(DEFAULT_SUBSCRIBER_CAPACITY)
    }

    /// A hub whose subscribers each queue up to `capacity` events (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        UserHub {
            inner: Arc::new(HubInner {
                users: RwLock::default(),
                capacity: capacity.max(1),
                next_id: AtomicU64::new(0),
                lagged: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// Subscribes to one user's events from now on. Dropping the subscription unsubscribes.
    pub fn subscribe(&self, user_id: impl Into<Arc<str>>) -> Subscription {
        let user_id = user_id.into();
        let state =
            if self.inner.closed.load(Ordering::Acquire) { SlotState::Closing } else { SlotState::Open };
        let slot = Arc::new(Slot {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            queue: Mutex::new(Queue { events: VecDeque::new(), state, skipped: 0 }),
            notify: Notify::new(),
        });
        if state == SlotState::Open {
            let mut users = write(&self.inner.users);
            users.entry(user_id.clone()).or_default().push(slot.clone());
        }
        Subscription { hub: self.inner.clone(), user_id, slot }
    }

    /// How many subscriptions a user has.
    pub fn subscriber_count(&self, user_id: &str) -> usize {
        let users = read(&self.inner.users);
        users.get(user_id).map_or(0, Vec::len)
    }
}

impl HubInner {
    fn remove(&self, user_id: &str, slot_id: u64) {
        let mut users = write(&self.users);
        if let Some(slots) = users.get_mut(user_id) {
            slots.retain(|s| s.id != slot_id);
            if slots.is_empty() {
                users.remove(user_id);
            }
        }
    }
}

impl EventSink for UserHub {
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(SinkError::Closed);
        }
        let user_id = &*event.envelope.user_id;
        let mut lagged = Vec::new();
        {
            let users = read(&self.inner.users);
            for slot in users.get(user_id).into_iter().flatten() {
                match slot.push(event, self.inner.capacity) {
                    Pushed::Queued | Pushed::Ignored => {}
                    Pushed::Skipped => {
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Pushed::Lagged => lagged.push(slot.id),
                }
            }
        }
        for slot_id in lagged {
            self.inner.lagged.fetch_add(1, Ordering::Relaxed);
            self.inner.remove(user_id, slot_id);
        }
        Ok(())
    }

    /// Ends every subscription once its queue is drained; later subscriptions end at once.
    fn shutdown(&self) -> ShutdownFuture<'_> {
        self.inner.closed.store(true, Ordering::Release);
        let users = std::mem::take(&mut *write(&self.inner.users));
        for slot in users.values().flatten() {
            let mut queue = lock(&slot.queue);
            if queue.state == SlotState::Open {
                queue.state = SlotState::Closing;
            }
            drop(queue);
            slot.notify.notify_one();
        }
        Box::pin(std::future::ready(()))
    }

    fn stats(&self) -> SinkStats {
        SinkStats {
            delivery_failures: 0,
            lagged_subscribers: self.inner.lagged.load(Ordering::Relaxed),
            dropped_events: self.inner.dropped.load(Ordering::Relaxed),
        }
    }
}

/// One subscriber's stream of a user's events.
pub struct Subscription {
    hub: Arc<HubInner>,
    user_id: Arc<str>,
    slot: Arc<Slot>,
}

impl Subscription {
    /// The user this subscription receives events of.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The next message, waiting for one; `None` once the stream has ended (after a
    /// [`HubMessage::Lagged`] notice, or after the hub shut down and the queue is drained).
    pub async fn recv(&mut self) -> Option<HubMessage> {
        loop {
            let notified = self.slot.notify.notified();
            if let Some(message) = self.poll_queue() {
                return message;
            }
            notified.await;
        }
    }

    /// The next message if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<HubMessage> {
        self.poll_queue().flatten()
    }

    /// Droppable events this subscriber has not received because it was behind.
    pub fn skipped(&self) -> u64 {
        lock(&self.slot.queue).skipped
    }

    /// `Some(message or end)` when there is something to report, `None` to wait.
    fn poll_queue(&self) -> Option<Option<HubMessage>> {
        let mut queue = lock(&self.slot.queue);
        if let Some(event) = queue.events.pop_front() {
            return Some(Some(HubMessage::Event(event)));
        }
        match queue.state {
            SlotState::Open => None,
            SlotState::Lagged => {
                queue.state = SlotState::Done;
                Some(Some(HubMessage::Lagged { skipped: queue.skipped }))
            }
            SlotState::Closing | SlotState::Done => {
                queue.state = SlotState::Done;
                Some(None)
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(&self.user_id, self.slot.id);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("user_id", &self.user_id).finish()
    }
}
