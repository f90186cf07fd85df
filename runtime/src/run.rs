//! A run and its tool calls: guards that make unpaired events impossible.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agent_events_schema::{
    AgentCompleted, AgentResponse, AgentStarted, AgentThinking, CloseReason, CustomEvent, Envelope, Event,
    Payload, ToolCompleted, ToolExecuting, UserMessage, ValidationError,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::bridge::BridgeInner;
use crate::json::event_fields;
use crate::metrics::bump;
use crate::sync::lock;
use crate::RunContext;

/// The handle of one agent run. Cheap to clone and `Send + Sync + 'static`, so tools can run
/// on spawned tasks with their own handle.
///
/// The run is closed by [`Run::completed`] or [`Run::failed`] on any handle, or, when the last
/// handle goes away unclosed, with `success: false` and `reason: "dropped"` (or `"panicked"`
/// if that happens while the thread panics). Closing a run first closes its open tool calls,
/// so `agent_completed` is always the run's last event.
#[derive(Clone)]
pub struct Run {
    inner: Arc<RunInner>,
}

struct RunInner {
    bridge: Arc<BridgeInner>,
    ctx: RunContext,
    started: Instant,
    state: Mutex<RunState>,
}

#[derive(Default)]
struct RunState {
    seq: u64,
    closed: bool,
    thinking_steps: u64,
    /// Open tool calls, oldest first.
    open_tools: Vec<OpenTool>,
}

struct OpenTool {
    id: Arc<str>,
    name: Arc<str>,
    started: Instant,
}

/// How a tool call or run ends.
enum Outcome {
    Success { results: Value, final_response: Option<String> },
    Failure { reason: CloseReason, error: String },
}

impl Outcome {
    fn unfinished(what: &str) -> Outcome {
        if std::thread::panicking() {
            Outcome::Failure { reason: CloseReason::Panicked, error: format!("{what} panicked") }
        } else {
            Outcome::Failure {
                reason: CloseReason::Dropped,
                error: format!("{what} was dropped before it completed"),
            }
        }
    }
}

fn now_epoch_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Serializes a user value without letting a failing or panicking `Serialize` escape.
fn to_json(value: impl Serialize) -> Value {
    crate::json::json_of(&value)
}

impl RunInner {
    fn lock(&self) -> MutexGuard<'_, RunState> {
        // A poisoned lock only means a panic elsewhere; the state itself is always consistent
        // (every mutation is a single assignment), so emission goes on.
        lock(&self.state)
    }

    /// Emits while holding the run's lock, so `seq` order is delivery order for every sink.
    fn emit_locked(&self, state: &mut RunState, payload: Payload) {
        state.seq += 1;
        let ctx = &self.ctx;
        let envelope = Envelope::new(
            ctx.user_id.clone(),
            ctx.thread_id.clone(),
            ctx.run_id.clone(),
            ctx.agent_name.clone(),
            state.seq,
            uuid::Uuid::new_v4().to_string(),
            now_epoch_seconds(),
        );
        self.bridge.deliver(Event::new(envelope, payload));
    }

    /// Emits unless the run is closed; returns whether it emitted.
    fn emit_open(&self, payload: Payload) -> bool {
        let mut state = self.lock();
        if state.closed {
            bump(&self.bridge.counters.after_close);
            return false;
        }
        self.emit_locked(&mut state, payload);
        true
    }

    fn clean(&self, value: &mut Value) {
        let applied = self.bridge.policy.apply(value);
        if applied.truncated {
            bump(&self.bridge.counters.truncated_payloads);
        }
        if applied.hook_failed {
            bump(&self.bridge.counters.validation_failures);
        }
    }

    fn clean_object(&self, object: Map<String, Value>) -> Map<String, Value> {
        let (object, applied) = self.bridge.policy.apply_object(object);
        if applied.truncated {
            bump(&self.bridge.counters.truncated_payloads);
        }
        if applied.hook_failed {
            bump(&self.bridge.counters.validation_failures);
        }
        object
    }

    fn open_tool(self: &Arc<Self>, name: String, id: Option<String>, parameters: Value) -> ToolCall {
        let parameters = match parameters {
            Value::Null => None,
            Value::Object(map) => Some(self.clean_object(map)),
            other => Some(self.clean_object(Map::from_iter([("value".to_owned(), other)]))),
        };
        let mut state = self.lock();
        if state.closed {
            bump(&self.bridge.counters.after_close);
            return ToolCall { run: self.clone(), id: "".into(), name: name.into(), open: false };
        }
        let mut id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if state.open_tools.iter().any(|t| *t.id == *id) {
            // Two open calls with one id could not be paired; keep both distinguishable.
            id = format!("{id}:{}", state.seq + 1);
        }
        let id: Arc<str> = id.into();
        let name: Arc<str> = name.into();
        state.open_tools.push(OpenTool { id: id.clone(), name: name.clone(), started: Instant::now() });
        let payload = ToolExecuting { tool_name: name.to_string(), tool_call_id: id.to_string(), parameters };
        self.emit_locked(&mut state, Payload::ToolExecuting(payload));
        ToolCall { run: self.clone(), id, name, open: true }
    }

    fn close_tool(&self, id: &str, outcome: Outcome) {
        let mut state = self.lock();
        let Some(index) = state.open_tools.iter().position(|t| &*t.id == id) else {
            bump(&self.bridge.counters.late_completions);
            return;
        };
        let tool = state.open_tools.remove(index);
        self.emit_locked(&mut state, tool_completed(&tool, outcome));
    }

    fn close(&self, outcome: Outcome) {
        let mut state = self.lock();
        if state.closed {
            bump(&self.bridge.counters.late_completions);
            return;
        }
        let tool_reason = match &outcome {
            Outcome::Failure { reason: CloseReason::Panicked, .. } => CloseReason::Panicked,
            _ => CloseReason::Dropped,
        };
        for tool in std::mem::take(&mut state.open_tools) {
            let outcome = Outcome::Failure {
                reason: tool_reason,
                error: "the run closed before the tool call completed".into(),
            };
            self.emit_locked(&mut state, tool_completed(&tool, outcome));
        }
        let duration_ms = Some(millis_since(self.started));
        let payload = match outcome {
            Outcome::Success { results, final_response } => AgentCompleted {
                final_response,
                result: Some(results).filter(|r| !r.is_null()),
                success: true,
                duration_ms,
                error: None,
                reason: None,
            },
            Outcome::Failure { reason, error } => AgentCompleted {
                final_response: None,
                result: None,
                success: false,
                duration_ms,
                error: Some(error),
                reason: Some(reason),
            },
        };
        self.emit_locked(&mut state, Payload::AgentCompleted(payload));
        state.closed = true;
    }
}

fn tool_completed(tool: &OpenTool, outcome: Outcome) -> Payload {
    let duration_ms = Some(millis_since(tool.started));
    let (results, success, error, reason) = match outcome {
        Outcome::Success { results, .. } => (results, true, None, None),
        Outcome::Failure { reason, error } => (Value::Null, false, Some(error), Some(reason)),
    };
    Payload::ToolCompleted(ToolCompleted {
        tool_name: tool.name.to_string(),
        tool_call_id: tool.id.to_string(),
        results,
        success,
        duration_ms,
        error,
        reason,
    })
}

impl Drop for RunInner {
    fn drop(&mut self) {
        // The last handle is gone: close the run if nobody did.
        if !self.lock().closed {
            self.close(Outcome::unfinished("the run"));
        }
    }
}

/// An application event type, usually derived: `#[derive(Serialize, AgentEvent)]`. Its type is
/// the snake-case type name (or `#[agent_event(name = "…")]`), checked at compile time against
/// the built-in types. Its fields are what serde makes of it:
///
/// | the type | its fields on the wire |
/// |---|---|
/// | a struct with named fields | its fields |
/// | a unit struct | none |
/// | a newtype struct | the inner value's (serde's newtype is transparent) |
/// | a tuple struct | `value`: the fields as an array |
/// | an enum with `#[serde(tag = "…")]` | the tag and the variant's fields |
/// | an enum with serde's default tagging | `value` for a unit variant (its name); one field named after a data variant |
///
/// Any other value that is not a JSON object is sent as `value`.
pub trait AgentEvent: Serialize {
    /// The wire `type`.
    const EVENT_TYPE: &'static str;
}

/// Why [`Run::emit`] sent nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The custom event's type or fields are invalid.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The run is already closed.
    #[error("the run is already closed")]
    RunClosed,
}

impl Run {
    pub(crate) fn start(bridge: Arc<BridgeInner>, ctx: RunContext, started: AgentStarted) -> Run {
        let inner = Arc::new(RunInner { bridge, ctx, started: Instant::now(), state: Mutex::default() });
        inner.emit_open(Payload::AgentStarted(started));
        Run { inner }
    }

    /// Who the run belongs to.
    pub fn context(&self) -> &RunContext {
        &self.inner.ctx
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.inner.ctx.run_id
    }

    /// Whether the run has sent `agent_completed`.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    /// Emits `agent_thinking`, numbering the steps of the run 1, 2, 3….
    pub fn thinking(&self, thought: impl Into<String>) {
        self.thinking_event(thought.into(), None);
    }

    /// Emits `agent_thinking` with the longer reasoning behind the step.
    pub fn thinking_with_reasoning(&self, thought: impl Into<String>, reasoning: impl Into<String>) {
        self.thinking_event(thought.into(), Some(reasoning.into()));
    }

    fn thinking_event(&self, thought: String, reasoning: Option<String>) {
        let mut state = self.inner.lock();
        if state.closed {
            bump(&self.inner.bridge.counters.after_close);
            return;
        }
        state.thinking_steps += 1;
        let step_number = Some(state.thinking_steps);
        self.inner.emit_locked(
            &mut state,
            Payload::AgentThinking(AgentThinking { thought, reasoning, step_number }),
        );
    }

    /// Emits `user_message`: the message the run answers.
    pub fn user_message(&self, content: impl Into<String>) {
        self.inner.emit_open(Payload::UserMessage(UserMessage { content: content.into() }));
    }

    /// Emits `agent_response`: text for the user during the run.
    pub fn agent_response(&self, content: impl Into<String>) {
        self.inner.emit_open(Payload::AgentResponse(AgentResponse { content: content.into() }));
    }

    /// Emits an application-defined event. Its fields pass the payload policy like
    /// `parameters` do.
    pub fn emit(&self, event: CustomEvent) -> Result<(), EmitError> {
        if let Err(e) = event.check() {
            bump(&self.inner.bridge.counters.validation_failures);
            return Err(EmitError::Invalid(e));
        }
        let fields = self.inner.clean_object(event.fields);
        let payload = Payload::Custom(CustomEvent { event_type: event.event_type, fields });
        if self.inner.emit_open(payload) {
            Ok(())
        } else {
            Err(EmitError::RunClosed)
        }
    }

    /// Emits a custom event type defined with `#[derive(AgentEvent)]`.
    pub fn emit_event<E: AgentEvent>(&self, event: &E) -> Result<(), EmitError> {
        let fields = event_fields(event);
        self.emit(CustomEvent { event_type: E::EVENT_TYPE.to_owned(), fields })
    }

    /// Emits `tool_executing` with a fresh `tool_call_id` and returns the guard that will emit
    /// the matching `tool_completed`. `parameters` is serialized (`()` for none); a value that
    /// is not an object is sent as `{"value": …}`.
    pub fn tool_executing(&self, tool_name: impl Into<String>, parameters: impl Serialize) -> ToolCall {
        self.inner.open_tool(tool_name.into(), None, to_json(parameters))
    }

    /// Like [`Run::tool_executing`], with the `tool_call_id` the model gave the call.
    pub fn tool_executing_with_id(
        &self,
        tool_name: impl Into<String>,
        tool_call_id: impl Into<String>,
        parameters: impl Serialize,
    ) -> ToolCall {
        self.inner.open_tool(tool_name.into(), Some(tool_call_id.into()), to_json(parameters))
    }

    /// Closes the run successfully: closes open tool calls, then emits `agent_completed` with
    /// `success: true`. `result` is serialized (`()` for none).
    pub fn completed(self, final_response: impl Into<String>, result: impl Serialize) {
        let mut results = to_json(result);
        self.inner.clean(&mut results);
        self.inner.close(Outcome::Success { results, final_response: Some(final_response.into()) });
    }

    /// Closes the run as failed (`reason: "failed"`).
    pub fn failed(self, error: impl fmt::Display) {
        self.inner
            .close(Outcome::Failure { reason: CloseReason::Failed, error: crate::json::display_of(&error) });
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").field("context", &self.inner.ctx).field("closed", &self.is_closed()).finish()
    }
}

/// An open tool call. Emits exactly one `tool_completed` for its `tool_executing`: on
/// [`ToolCall::completed`], [`ToolCall::failed`], or when dropped unfinished (`success: false`,
/// `reason: "dropped"`, or `"panicked"` during a panic). Owns a handle to its run, so it can be
/// moved into a spawned task.
#[must_use = "a tool call dropped at once closes as failed; keep it and call `completed` or `failed`"]
pub struct ToolCall {
    run: Arc<RunInner>,
    id: Arc<str>,
    name: Arc<str>,
    open: bool,
}

impl ToolCall {
    /// The `tool_call_id` sent in `tool_executing` (empty when the run was already closed and
    /// nothing was sent).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The tool's name.
    pub fn tool_name(&self) -> &str {
        &self.name
    }

    /// A handle to the run this call belongs to.
    pub fn run(&self) -> Run {
        Run { inner: self.run.clone() }
    }

    /// Closes the call successfully with these results (serialized; capped and redacted).
    /// If the run already closed the call, nothing is emitted and a late completion is counted.
    pub fn completed(mut self, results: impl Serialize) {
        if std::mem::take(&mut self.open) {
            let mut results = to_json(results);
            self.run.clean(&mut results);
            self.run.close_tool(&self.id, Outcome::Success { results, final_response: None });
        }
    }

    /// Closes the call as failed (`reason: "failed"`).
    pub fn failed(mut self, error: impl fmt::Display) {
        if std::mem::take(&mut self.open) {
            self.run.close_tool(
                &self.id,
                Outcome::Failure { reason: CloseReason::Failed, error: crate::json::display_of(&error) },
            );
        }
    }
}

impl Drop for ToolCall {
    fn drop(&mut self) {
        if std::mem::take(&mut self.open) {
            self.run.close_tool(&self.id, Outcome::unfinished("the tool call"));
        }
    }
}

impl fmt::Debug for ToolCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCall").field("tool_name", &self.name).field("tool_call_id", &self.id).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_static<T: Send + Sync + 'static>() {}

    #[test]
    fn handles_can_cross_threads() {
        assert_send_sync_static::<Run>();
        assert_send_sync_static::<ToolCall>();
        assert_send_sync_static::<crate::EventBridge>();
    }
}
