//! The bridge: created once at start-up, passed down, never global.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use agent_events_schema::{AgentStarted, Event};

use crate::metrics::{bump, Counters, MetricsSnapshot};
use crate::policy::{PayloadPolicy, RedactHook};
use crate::run::Run;
use crate::sink::EventSink;
use crate::RunContext;

/// The one way to send agent events. Cheap to clone; every clone shares the sinks, the
/// payload policy and the counters.
///
/// ```
/// use agent_events::{EventBridge, RunContext, testing::Recorder};
///
/// let recorder = Recorder::new();
/// let bridge = EventBridge::builder().sink(recorder.clone()).build();
/// let run = bridge.start_run(RunContext::new("user-1", "thread-1", "data_agent"));
/// run.thinking("Looking up the sales table");
/// let call = run.tool_executing("sql", serde_json::json!({"query": "select 1"}));
/// call.completed(serde_json::json!([[1]]));
/// run.completed("One row.", ());
/// assert_eq!(
///     recorder.types(),
///     ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
/// );
/// recorder.assert_invariants();
/// ```
#[derive(Clone)]
pub struct EventBridge {
    pub(crate) inner: Arc<BridgeInner>,
}

pub(crate) struct BridgeInner {
    sinks: Vec<Arc<dyn EventSink>>,
    pub(crate) policy: PayloadPolicy,
    pub(crate) counters: Counters,
    shut_down: AtomicBool,
}

impl BridgeInner {
    /// Hands one event to every sink. Never panics; a sink's error or panic is counted.
    pub(crate) fn deliver(&self, event: Event) {
        bump(self.counters.emitted(event.event_type()));
        if self.shut_down.load(Ordering::Acquire) {
            bump(&self.counters.delivery_failures);
            return;
        }
        let event = Arc::new(event);
        for sink in &self.sinks {
            match catch_unwind(AssertUnwindSafe(|| sink.deliver(&event))) {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => bump(&self.counters.delivery_failures),
            }
        }
    }
}

impl EventBridge {
    /// Starts configuring a bridge.
    pub fn builder() -> BridgeBuilder {
        BridgeBuilder::default()
    }

    /// Starts a run: emits `agent_started` and returns the run's handle.
    pub fn start_run(&self, ctx: RunContext) -> Run {
        Run::start(self.inner.clone(), ctx, AgentStarted::default())
    }

    /// Starts a run whose `agent_started` carries what the agent was asked to do.
    pub fn start_run_with_message(&self, ctx: RunContext, message: impl Into<String>) -> Run {
        Run::start(self.inner.clone(), ctx, AgentStarted { message: Some(message.into()) })
    }

    /// A copy of every counter, the sinks' own included.
    pub fn metrics(&self) -> MetricsSnapshot {
        let mut snapshot = self.inner.counters.snapshot();
        for sink in &self.inner.sinks {
            let stats = sink.stats();
            snapshot.delivery_failures += stats.delivery_failures;
            snapshot.lagged_subscribers += stats.lagged_subscribers;
            snapshot.dropped_events += stats.dropped_events;
        }
        snapshot
    }

    /// Flushes every sink. Events emitted afterwards are not delivered (they are counted as
    /// delivery failures).
    pub async fn shutdown(&self) {
        self.inner.shut_down.store(true, Ordering::Release);
        for sink in &self.inner.sinks {
            sink.shutdown().await;
        }
    }
}

impl std::fmt::Debug for EventBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBridge")
            .field("sinks", &self.inner.sinks.len())
            .field("policy", &self.inner.policy)
            .finish()
    }
}

/// Configures an [`EventBridge`].
#[derive(Default)]
pub struct BridgeBuilder {
    sinks: Vec<Arc<dyn EventSink>>,
    policy: PayloadPolicy,
}

impl BridgeBuilder {
    /// Adds a sink. Sinks receive every event in the order they were added.
    pub fn sink(mut self, sink: impl EventSink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Caps the serialized size of each `parameters`, `results`, `result` and custom-event
    /// field set (default 64 KiB); larger values are replaced by a marker with a preview.
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.policy.max_bytes = bytes;
        self
    }

    /// Replaces the keys whose values are redacted at any depth (compared without regard to
    /// case). The default list is [`crate::policy::DEFAULT_REDACTED_KEYS`].
    pub fn redact_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.policy.redacted_keys = keys.into_iter().map(|k| k.as_ref().to_ascii_lowercase()).collect();
        self
    }

    /// A hook run on every payload value after key redaction, before the size cap.
    pub fn redact_with(mut self, hook: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Self {
        self.policy.hook = Some(Arc::new(hook) as RedactHook);
        self
    }

    /// Builds the bridge.
    pub fn build(self) -> EventBridge {
        EventBridge {
            inner: Arc::new(BridgeInner {
                sinks: self.sinks,
                policy: self.policy,
                counters: Counters::default(),
                shut_down: AtomicBool::new(false),
            }),
        }
    }
}
