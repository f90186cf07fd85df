//! Where emitted events go.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use agent_events_schema::Event;

/// A future returned by [`EventSink::shutdown`].
pub type ShutdownFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A destination for events: a recorder, the per-user hub, a JSON-lines file, a transport.
///
/// `deliver` is called synchronously on the emitting thread, in `seq` order for each run,
/// possibly from a `Drop` during unwinding: it must enqueue and return, never wait on I/O or
/// the network, and never emit events itself. A sink that panics or returns an error is
/// counted as a delivery failure; the emitting code never sees either.
pub trait EventSink: Send + Sync + 'static {
    /// Enqueues one event.
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError>;

    /// Flushes what is queued; called once by [`crate::EventBridge::shutdown`].
    fn shutdown(&self) -> ShutdownFuture<'_> {
        Box::pin(std::future::ready(()))
    }

    /// Counters this sink keeps for itself (failures found after `deliver` returned, lag).
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

/// Counters a sink reports into [`crate::MetricsSnapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Deliveries that failed after `deliver` returned (e.g. a write error in a writer thread).
    pub delivery_failures: u64,
    /// Subscribers disconnected because they fell behind.
    pub lagged_subscribers: u64,
    /// Droppable events a slow subscriber did not get.
    pub dropped_events: u64,
}

/// Why a sink did not take an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The sink's queue is full.
    #[error("the sink's queue is full")]
    Full,
    /// The sink was shut down.
    #[error("the sink is shut down")]
    Closed,
    /// Anything else.
    #[error("{0}")]
    Other(String),
}
