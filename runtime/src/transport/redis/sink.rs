//! [`RedisSink`]: events onto their users' streams, from a bounded queue and one writer task.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use ::redis::{RedisError, RedisResult, Value};
use agent_events_schema::Event;
use serde::Deserialize;
use tokio::sync::{mpsc, watch, Notify};

use super::{
    connection_broken, connection_config, count_failures, count_written, parse_entries, permanent, Backoff,
    RedisStreams, BACKOFF, COMMAND_TIMEOUT,
};
use crate::sink::{EventSink, ShutdownFuture, SinkError, SinkStats};

/// Default bound on the events queued for Redis.
pub const DEFAULT_SINK_QUEUE_LEN: usize = 10_000;
/// Default time [`EventSink::shutdown`] waits for the queue to reach Redis.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Events sent to Redis in one pipeline, at most.
const BATCH_LEN: usize = 256;
/// Entries looked at, beyond the events in doubt, when checking whether an `XADD` was applied.
const VERIFY_MARGIN: usize = 64;
/// How many command timeouts the check after a timed-out write may wait for that write.
const SETTLE_TIMEOUTS: u32 = 10;

/// Configures a [`RedisSink`]; from [`RedisStreams::sink_builder`].
#[derive(Debug)]
pub struct RedisSinkBuilder {
    streams: RedisStreams,
    queue_len: usize,
    backoff: (Duration, Duration),
    shutdown_timeout: Duration,
    command_timeout: Duration,
}

impl RedisSinkBuilder {
    pub(super) fn new(streams: RedisStreams) -> Self {
        RedisSinkBuilder {
            streams,
            queue_len: DEFAULT_SINK_QUEUE_LEN,
            backoff: BACKOFF,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            command_timeout: COMMAND_TIMEOUT,
        }
    }

    /// Events that may wait for Redis before new ones are refused with [`SinkError::Full`]
    /// (default [`DEFAULT_SINK_QUEUE_LEN`], at least 1).
    pub fn queue_len(mut self, events: usize) -> Self {
        self.queue_len = events.max(1);
        self
    }

    /// The wait before the first retry after a failed write, doubling up to `max` (default
    /// 50 ms to 2 s).
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = (min, max);
        self
    }

    /// How long [`EventSink::shutdown`] waits for the queue to reach Redis before dropping what
    /// is left (default [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long one write may take before it counts as failed (default 5 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Builds the sink and spawns its writer task.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn build(self) -> RedisSink {
        let (tx, rx) = mpsc::channel(self.queue_len);
        let counters = Arc::new(Counters::default());
        let control = Arc::new(Control::default());
        let (done_tx, done_rx) = watch::channel(false);
        let owner = Arc::new(());
        let writer = Writer {
            streams: self.streams.clone(),
            // No response timeout of the connection's own: a command that times out stays in
            // flight, and the next command on the same connection waits behind it (see `settling`).
            config: connection_config(None),
            command_timeout: self.command_timeout,
            settling: false,
            connection: None,
            counters: counters.clone(),
            control: control.clone(),
            backoff: Backoff::new(self.backoff),
            shutdown_timeout: self.shutdown_timeout,
            owner: Arc::downgrade(&owner),
            give_up_at: None,
        };
        tokio::spawn(async move {
            writer.run(rx).await;
            done_tx.send_replace(true);
        });
        RedisSink {
            inner: Arc::new(SinkInner {
                tx,
                counters,
                control,
                done: done_rx,
                shutdown_timeout: self.shutdown_timeout,
                streams: self.streams,
                _owner: owner,
            }),
        }
    }
}

/// An [`EventSink`] that appends each event to its user's Redis stream, for a
/// [`super::RedisSource`] on any replica to serve. Cheap to clone.
///
/// [`EventSink::deliver`] only enqueues (a bounded queue; full: [`SinkError::Full`]); one writer
/// task pipelines the `XADD`s in order, retrying with backoff while Redis is unreachable. See the
/// [module docs](super) for the policies.
#[derive(Clone)]
pub struct RedisSink {
    inner: Arc<SinkInner>,
}

struct SinkInner {
    tx: mpsc::Sender<Arc<Event>>,
    counters: Arc<Counters>,
    control: Arc<Control>,
    done: watch::Receiver<bool>,
    shutdown_timeout: Duration,
    streams: RedisStreams,
    /// The writer notices when every handle is gone.
    _owner: Arc<()>,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    failed_writes: AtomicU64,
    dropped: AtomicU64,
    refused: AtomicU64,
}

#[derive(Default)]
struct Control {
    /// Shutdown began: refuse new events, flush the queue.
    closing: AtomicBool,
    /// The shutdown timeout passed: drop what is left.
    abandon: AtomicBool,
    wake: Notify,
}

/// A copy of a [`RedisSink`]'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisSinkCounters {
    /// Events written to Redis.
    pub written: u64,
    /// Write attempts that failed (each retried, unless the event was dropped).
    pub failed_writes: u64,
    /// Events given up on: refused by Redis for good, or still unwritten when shutdown timed out.
    pub dropped: u64,
    /// Events refused by [`EventSink::deliver`] because the queue was full.
    pub refused: u64,
    /// Events waiting in the queue now.
    pub queued: usize,
}

impl RedisSink {
    /// The sink's counters.
    pub fn counters(&self) -> RedisSinkCounters {
        let c = &self.inner.counters;
        RedisSinkCounters {
            written: c.written.load(Ordering::Relaxed),
            failed_writes: c.failed_writes.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            queued: self.inner.tx.max_capacity() - self.inner.tx.capacity(),
        }
    }

    /// Where the events go.
    pub fn streams(&self) -> &RedisStreams {
        &self.inner.streams
    }
}

impl EventSink for RedisSink {
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError> {
        if self.inner.control.closing.load(Ordering::Acquire) {
            return Err(SinkError::Closed);
        }
        match self.inner.tx.try_send(event.clone()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.inner.counters.refused.fetch_add(1, Ordering::Relaxed);
                count_failures(1);
                Err(SinkError::Full)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SinkError::Closed),
        }
    }

    /// Refuses new events and waits (at most the shutdown timeout) for the queue to reach Redis;
    /// what is still unwritten then is dropped and counted.
    fn shutdown(&self) -> ShutdownFuture<'_> {
        Box::pin(async move {
            let control = &self.inner.control;
            control.closing.store(true, Ordering::Release);
            control.wake.notify_one();
            let mut done = self.inner.done.clone();
            let flushed =
                tokio::time::timeout(self.inner.shutdown_timeout, done.wait_for(|d| *d)).await.is_ok();
            if !flushed {
                control.abandon.store(true, Ordering::Release);
                control.wake.notify_one();
                let _gave_up =
                    tokio::time::timeout(Duration::from_secs(1), done.wait_for(|d| *d)).await.is_ok();
            }
        })
    }

    /// `delivery_failures`: failed write attempts plus dropped events (refusals when the queue is
    /// full are counted by the bridge, as `deliver` errors).
    fn stats(&self) -> SinkStats {
        let c = &self.inner.counters;
        SinkStats {
            delivery_failures: c.failed_writes.load(Ordering::Relaxed) + c.dropped.load(Ordering::Relaxed),
            ..SinkStats::default()
        }
    }
}

impl fmt::Debug for RedisSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSink")
            .field("streams", &self.inner.streams)
            .field("counters", &self.counters())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// The writer task

struct Writer {
    streams: RedisStreams,
    config: ::redis::AsyncConnectionConfig,
    command_timeout: Duration,
    /// A write timed out on the current connection and may still be applied: the next command
    /// on it (the check of what was applied) waits behind it, up to `SETTLE_TIMEOUTS` timeouts.
    settling: bool,
    connection: Option<MultiplexedConnection>,
    counters: Arc<Counters>,
    control: Arc<Control>,
    backoff: Backoff,
    shutdown_timeout: Duration,
    owner: Weak<()>,
    /// Set once every handle is gone without a shutdown: retry until then.
    give_up_at: Option<Instant>,
}

/// An event on its way to Redis.
struct Pending {
    key: String,
    json: String,
    event_id: Arc<str>,
    /// A write of it failed in a way that leaves unknown whether Redis applied it.
    in_doubt: bool,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Arc<Event>>) {
        let mut batch = Vec::with_capacity(BATCH_LEN);
        let mut closed = false;
        loop {
            if !closed && self.control.closing.load(Ordering::Acquire) {
                // Nothing new gets in; what is queued is still received.
                rx.close();
                closed = true;
            }
            let received = tokio::select! {
                biased;
                n = rx.recv_many(&mut batch, BATCH_LEN) => n,
                () = self.control.wake.notified(), if !closed => continue,
            };
            if received == 0 {
                return; // Closed and empty.
            }
            let pending = batch.drain(..).filter_map(|event| self.prepare(&event)).collect();
            self.write(pending).await;
        }
    }

    fn prepare(&self, event: &Event) -> Option<Pending> {
        match serde_json::to_string(event) {
            Ok(json) => Some(Pending {
                key: self.streams.key(&event.envelope.user_id),
                json,
                event_id: event.envelope.event_id.clone(),
                in_doubt: false,
            }),
            Err(_) => {
                self.drop_events(1);
                None
            }
        }
    }

    fn drop_events(&self, n: usize) {
        let n = n as u64;
        self.counters.dropped.fetch_add(n, Ordering::Relaxed);
        count_failures(n);
    }

    /// Writes the events, in order, retrying until each is written or given up on.
    async fn write(&mut self, pending: Vec<Pending>) {
        let mut pending: VecDeque<Pending> = pending.into();
        while !pending.is_empty() {
            if self.giving_up() {
                self.drop_events(pending.len());
                return;
            }
            // `Ok`: every event was written or given up on.
            let Err(error) = self.attempt(&mut pending).await else {
                self.backoff.reset();
                continue;
            };
            if error.is_timeout() && !self.settling {
                // Keep the connection: what timed out may still be applied, before the check.
                self.settling = true;
            } else if connection_broken(&error) {
                self.connection = None;
                self.settling = false;
            }
            // Whether Redis applied the `XADD`s is unknown: look before resending.
            pending.iter_mut().for_each(|p| p.in_doubt = true);
            // Something failed: counted, then retried after a pause (cut short by shutdown).
            self.counters.failed_writes.fetch_add(1, Ordering::Relaxed);
            count_failures(1);
            let delay = self.backoff.next_delay();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.control.wake.notified() => {}
            }
        }
    }

    fn giving_up(&mut self) -> bool {
        if self.control.abandon.load(Ordering::Acquire) {
            return true;
        }
        if self.owner.strong_count() == 0 {
            let at = *self.give_up_at.get_or_insert_with(|| Instant::now() + self.shutdown_timeout);
            return Instant::now() >= at;
        }
        false
    }

    /// One try: checks the events in doubt, then sends the rest in one pipeline. Removes from
    /// `pending` what was written or refused for good.
    async fn attempt(&mut self, pending: &mut VecDeque<Pending>) -> RedisResult<()> {
        let mut connection = match &self.connection {
            Some(connection) => connection.clone(),
            None => {
                let connection =
                    self.streams.client.get_multiplexed_async_connection_with_config(&self.config).await?;
                self.connection = Some(connection.clone());
                connection
            }
        };
        if pending.iter().any(|p| p.in_doubt) {
            let wait =
                if self.settling { self.command_timeout * SETTLE_TIMEOUTS } else { self.command_timeout };
            within(wait, self.remove_applied(&mut connection, pending)).await?;
            self.settling = false;
            if pending.is_empty() {
                return Ok(());
            }
        }
        let mut pipeline = ::redis::pipe();
        for p in pending.iter() {
            pipeline
                .cmd("XADD")
                .arg(&p.key)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.streams.max_len)
                .arg("*")
                .arg("event")
                .arg(&p.json);
        }
        let results: Vec<RedisResult<Value>> =
            within(self.command_timeout, pipeline.ignore_errors().query_async(&mut connection)).await?;
        let mut failed: Option<RedisError> = None;
        let mut index = 0;
        for result in results {
            match result {
                Ok(_) => {
                    pending.remove(index);
                    self.counters.written.fetch_add(1, Ordering::Relaxed);
                    count_written(1);
                }
                Err(error) if permanent(&error) => {
                    pending.remove(index);
                    self.drop_events(1);
                }
                // Redis answered with an error: not applied, retried.
                Err(error) => {
                    pending[index].in_doubt = false;
                    index += 1;
                    failed.get_or_insert(error);
                }
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Drops from `pending` the events in doubt that are already at the end of their streams.
    async fn remove_applied(
        &self,
        connection: &mut MultiplexedConnection,
        pending: &mut VecDeque<Pending>,
    ) -> RedisResult<()> {
        let mut per_key: HashMap<&str, usize> = HashMap::new();
        for p in pending.iter().filter(|p| p.in_doubt) {
            *per_key.entry(p.key.as_str()).or_default() += 1;
        }
        let keys: Vec<(String, usize)> = per_key.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
        let mut pipeline = ::redis::pipe();
        for (key, n) in &keys {
            pipeline.cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(n + VERIFY_MARGIN);
        }
        let tails: Vec<Value> = pipeline.query_async(connection).await?;
        let mut applied: HashSet<(String, String)> = HashSet::new();
        for ((key, _), tail) in keys.iter().zip(tails) {
            for entry in parse_entries(tail)? {
                #[derive(Deserialize)]
                struct Id {
                    event_id: String,
                }
                if let Some(Ok(id)) = entry.event.as_deref().map(serde_json::from_slice::<Id>) {
                    applied.insert((key.clone(), id.event_id));
                }
            }
        }
        let before = pending.len();
        pending.retain(|p| !(p.in_doubt && applied.contains(&(p.key.clone(), p.event_id.to_string()))));
        let found = (before - pending.len()) as u64;
        self.counters.written.fetch_add(found, Ordering::Relaxed);
        count_written(found);
        pending.iter_mut().for_each(|p| p.in_doubt = false);
        Ok(())
    }
}

/// `future`, or a timeout error after `limit`.
async fn within<T>(
    limit: Duration,
    future: impl std::future::Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
    }
}
