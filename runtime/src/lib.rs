//! One way to send agent events.
//!
//! - [`EventBridge`]: created once at start-up and passed down (never a global); wraps the
//!   sinks, the payload policy (size cap, redaction) and the counters.
//! - [`Run`]: one agent run, started by [`EventBridge::start_run`] with a [`RunContext`] that
//!   says whose run it is. Agent code never names a user when emitting.
//! - [`ToolCall`]: the guard returned by [`Run::tool_executing`]; it emits exactly one
//!   `tool_completed`, whether the tool returns, fails, panics or is cancelled.
//! - Sinks: [`testing::Recorder`] (tests), [`UserHub`] (per-user delivery on tokio),
//!   [`JsonLinesSink`] (a log file), or your own [`EventSink`].
//! - [`testing`]: assertions of every invariant a run must satisfy.
//! - `transport` (feature `axum`; JWT auth with feature `jwt`): WebSocket and SSE delivery to
//!   browsers, with authentication, resume after a disconnect and per-user isolation.
//! - `transport::redis` (feature `redis`): a Redis Streams sink and event source, so a run on
//!   one server replica reaches a user connected to another, with resume across replicas.
//! - `agui` (feature `agui`): a run's events as AG-UI events, for AG-UI clients.
//!
//! Emission is synchronous, never waits on the network and never panics, so guards can emit
//! from `Drop`. The wire format lives in [`schema`] (the `agent-events-schema` crate).
//!
//! ```
//! use agent_events::{EventBridge, RunContext, testing::Recorder};
//!
//! fn search(run: &agent_events::Run, query: &str) -> Result<Vec<String>, String> {
//!     let call = run.tool_executing("search", serde_json::json!({ "query": query }));
//!     let hits = vec![format!("result for {query}")];
//!     call.completed(&hits);
//!     Ok(hits)
//! }
//!
//! let recorder = Recorder::new();
//! let bridge = EventBridge::builder().sink(recorder.clone()).build();
//! let run = bridge.start_run(RunContext::new("user-1", "thread-1", "research_agent"));
//! match search(&run, "rust") {
//!     Ok(hits) => run.completed(format!("{} hits", hits.len()), &hits),
//!     Err(e) => run.failed(e),
//! }
//! recorder.assert_invariants();
//! ```

#[cfg(feature = "agui")]
pub mod agui;
mod bridge;
mod context;
mod hub;
mod json;
mod jsonl;
#[doc(hidden)]
pub mod macro_support;
mod metrics;
pub mod policy;
mod run;
mod sink;
mod sync;
pub mod testing;
#[cfg(feature = "axum")]
pub mod transport;

pub use agent_events_macros::{agent_events, run, tool, AgentEvent};
pub use agent_events_schema as schema;
pub use bridge::{BridgeBuilder, EventBridge};
pub use context::RunContext;
pub use hub::{HubMessage, Subscription, UserHub, DEFAULT_SUBSCRIBER_CAPACITY};
pub use jsonl::JsonLinesSink;
pub use metrics::MetricsSnapshot;
pub use run::{AgentEvent, EmitError, Run, ToolCall};
pub use sink::{EventSink, ShutdownFuture, SinkError, SinkStats};
