//! A sink that writes one JSON object per line, on a writer thread of its own.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use agent_events_schema::Event;
use tokio::sync::oneshot;

use crate::sink::{EventSink, ShutdownFuture, SinkError, SinkStats};

/// Default number of events queued for the writer thread.
pub const DEFAULT_QUEUE: usize = 64 * 1024;

enum Message {
    Event(Arc<Event>),
    Flush(oneshot::Sender<()>),
}

/// Writes every event as one line of JSON. Emission only enqueues (a full queue is a delivery
/// failure, never a wait); a thread of its own serializes and writes, flushing whenever the
/// queue runs empty, and on [`crate::EventBridge::shutdown`].
///
/// ```no_run
/// let sink = agent_events::JsonLinesSink::create("events.jsonl").unwrap();
/// let bridge = agent_events::EventBridge::builder().sink(sink).build();
/// ```
pub struct JsonLinesSink {
    tx: SyncSender<Message>,
    write_failures: Arc<AtomicU64>,
}

impl JsonLinesSink {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(JsonLinesSink::new(File::create(path)?))
    }

    /// Writes to any writer, e.g. standard output.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        JsonLinesSink::with_queue(writer, DEFAULT_QUEUE)
    }

    /// Writes to `writer` with a queue of `capacity` events (at least 1).
    pub fn with_queue(writer: impl Write + Send + 'static, capacity: usize) -> Self {
        let (tx, rx) = sync_channel(capacity.max(1));
        let write_failures = Arc::new(AtomicU64::new(0));
        let failures = write_failures.clone();
        std::thread::Builder::new()
            .name("agent-events-jsonl".into())
            .spawn(move || write_loop(rx, writer, &failures))
            .expect("spawning the JSON-lines writer thread");
        JsonLinesSink { tx, write_failures }
    }
}

/// Serializes events into a buffer and writes it whenever the queue runs empty. When a write
/// fails, every event in that buffer is counted as a delivery failure and the buffer dropped,
/// so a broken writer neither grows memory nor counts one event twice.
fn write_loop(rx: Receiver<Message>, mut out: impl Write, failures: &AtomicU64) {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut pending = 0u64;
    let mut flush = |buf: &mut Vec<u8>, pending: &mut u64| {
        if !buf.is_empty() && out.write_all(buf).and_then(|()| out.flush()).is_err() {
            failures.fetch_add(*pending, Ordering::Relaxed);
        }
        buf.clear();
        *pending = 0;
    };
    while let Ok(message) = rx.recv() {
        let mut next = Some(message);
        while let Some(message) = next.take() {
            match message {
                Message::Event(event) => {
                    if serde_json::to_writer(&mut buf, &*event).is_ok() {
                        buf.push(b'\n');
                        pending += 1;
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Message::Flush(done) => {
                    flush(&mut buf, &mut pending);
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        flush(&mut buf, &mut pending);
    }
}

impl EventSink for JsonLinesSink {
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError> {
        self.tx.try_send(Message::Event(event.clone())).map_err(|e| match e {
            TrySendError::Full(_) => SinkError::Full,
            TrySendError::Disconnected(_) => SinkError::Closed,
        })
    }

    /// Waits until everything queued before the call is written and flushed.
    fn shutdown(&self) -> ShutdownFuture<'_> {
        Box::pin(async move {
            let (done, written) = oneshot::channel();
            let mut message = Message::Flush(done);
            loop {
                match self.tx.try_send(message) {
                    Ok(()) => break,
                    Err(TrySendError::Full(m)) => {
                        message = m;
                        tokio::task::yield_now().await;
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            let _ = written.await;
        })
    }

    fn stats(&self) -> SinkStats {
        SinkStats { delivery_failures: self.write_failures.load(Ordering::Relaxed), ..SinkStats::default() }
    }
}
