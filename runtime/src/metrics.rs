//! Counters kept by the bridge and its sinks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_events_schema::EventType;

/// The bridge's own counters; read them through [`crate::EventBridge::metrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub emitted: [AtomicU64; 7],
    pub emitted_custom: AtomicU64,
    pub validation_failures: AtomicU64,
    pub delivery_failures: AtomicU64,
    pub late_completions: AtomicU64,
    pub after_close: AtomicU64,
    pub truncated_payloads: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A point-in-time copy of every counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Events handed to the sinks, by wire type (custom types under `custom`).
    pub emitted: BTreeMap<&'static str, u64>,
    /// Custom events refused because their type or fields were invalid, and payload hooks that
    /// panicked.
    pub validation_failures: u64,
    /// Deliveries a sink refused, failed, or panicked on.
    pub delivery_failures: u64,
    /// Subscribers disconnected because they fell behind.
    pub lagged_subscribers: u64,
    /// Droppable events (`agent_thinking`, `agent_response`) a slow subscriber did not get.
    pub dropped_events: u64,
    /// `completed`/`failed` on a tool call or run that was already closed: nothing was emitted.
    pub late_completions: u64,
    /// Other emissions on a run that was already closed: nothing was emitted.
    pub emitted_after_close: u64,
    /// Payload values replaced because they exceeded the size cap.
    pub truncated_payloads: u64,
}

impl MetricsSnapshot {
    /// All events emitted, of every type.
    pub fn total_emitted(&self) -> u64 {
        self.emitted.values().sum()
    }
}

impl Counters {
    pub(crate) fn emitted(&self, ty: Option<EventType>) -> &AtomicU64 {
        match ty {
            Some(ty) => &self.emitted[ty as usize],
            None => &self.emitted_custom,
        }
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut emitted: BTreeMap<&'static str, u64> =
            EventType::ALL.iter().map(|t| (t.as_str(), load(&self.emitted[*t as usize]))).collect();
        emitted.insert("custom", load(&self.emitted_custom));
        MetricsSnapshot {
            emitted,
            validation_failures: load(&self.validation_failures),
            delivery_failures: load(&self.delivery_failures),
            late_completions: load(&self.late_completions),
            emitted_after_close: load(&self.after_close),
            truncated_payloads: load(&self.truncated_payloads),
            ..MetricsSnapshot::default()
        }
    }
}
