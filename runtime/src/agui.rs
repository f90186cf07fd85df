//! A run's events as [AG-UI](https://docs.ag-ui.com) events (the Agent-User Interaction
//! protocol), so that AG-UI clients (`@ag-ui/client`, CopilotKit, …) can consume a run.
//!
//! AG-UI is an alternative wire format, not a second source of truth: the run still emits our
//! events, and [`AgUiMapper`] turns each of them, as it arrives, into zero or more AG-UI events
//! (`serde_json::Value` objects with camelCase fields and the AG-UI `type` string). The output
//! targets AG-UI protocol [`PROTOCOL_VERSION`] (`@ag-ui/core` and `@ag-ui/client` 1.0.0): every
//! event parses with the core zod schemas (`EventSchemas`), and every run passes the client's
//! `verifyEvents` and its full `runAgent` pipeline without a warning — checked against the real
//! packages by `runtime/tests/agui.rs`.
//!
//! | our event | AG-UI events |
//! |---|---|
//! | `agent_started` | `RUN_STARTED {threadId, runId, protocolVersion}` |
//! | `user_message` | `TEXT_MESSAGE_START {role: "user"}`, `TEXT_MESSAGE_CONTENT {delta}`, `TEXT_MESSAGE_END` |
//! | `agent_thinking` | `REASONING_MESSAGE_START {role: "reasoning"}`, `REASONING_MESSAGE_CONTENT` (`thought`, then `"\n\n"` + `reasoning`), `REASONING_MESSAGE_END`, inside a `REASONING_START` … `REASONING_END` span that holds consecutive thoughts |
//! | `tool_executing` | `TOOL_CALL_START {toolCallId, toolCallName, parentMessageId}`, `TOOL_CALL_ARGS {delta: parameters as JSON}`, `TOOL_CALL_END` |
//! | `tool_completed` | `TOOL_CALL_RESULT {messageId, toolCallId, content, role: "tool"}`: `content` is `results` as JSON, or for a failed, panicked or dropped call `{"error": …, "reason": …}` as JSON |
//! | `agent_response` | `TEXT_MESSAGE_START {role: "assistant"}`, `TEXT_MESSAGE_CONTENT`, `TEXT_MESSAGE_END` |
//! | `agent_completed`, success | the `final_response` as an assistant text message (unless it is empty or repeats the run's last `agent_response`), then `RUN_FINISHED {threadId, runId, result?}` |
//! | `agent_completed`, failure | `RUN_ERROR {message: error, code: reason}` (`failed`, `panicked` or `dropped`) |
//! | custom event | `CUSTOM {name: type, value: fields}` |
//!
//! Details a client can rely on:
//! - Every AG-UI event carries our event's `timestamp`, in integer milliseconds.
//! - Ids are deterministic: the message an event creates has the id `"{run_id}:{seq}"`; a tool
//!   call keeps its `tool_call_id` (a second call reusing the id of a closed one in the same
//!   run becomes `"{tool_call_id}:{seq}"`, since AG-UI clients merge calls by id).
//! - A text delta is never empty: empty text gives a message with no `TEXT_MESSAGE_CONTENT`.
//! - Tool calls attach to the assistant message being built: the last `agent_response`, or a
//!   message the first call creates (id of that `tool_executing`); parallel calls share it,
//!   and a `user_message` or a tool result starts the next one, as a model's turns do.
//! - Every tool call gets a `TOOL_CALL_RESULT` before the run ends (our invariant), so a client
//!   never mistakes a failed call for one left for the frontend to answer. A stream that lacks
//!   one (a hand-built or cut log) gets a `dropped` result before `RUN_FINISHED`/`RUN_ERROR`.
//! - Nothing follows `RUN_FINISHED` or `RUN_ERROR`; events after them, duplicates (a `seq`
//!   already seen) and other runs' events are skipped and counted ([`AgUiMapper::skipped`]).
//!   A new `agent_started` after the end starts the next run, so a thread's runs can be fed
//!   one after another; runs that interleave need one mapper each.
//! - A stream that does not begin with `agent_started` still begins with `RUN_STARTED`.
//!
//! What AG-UI has no field for (`user_id`, `agent_name`, `event_id`, `seq`, `duration_ms`,
//! `step_number`, `agent_started.message`) is dropped, unless [`AgUiMapper::with_raw_events`]
//! attaches the whole original event to each AG-UI event as `rawEvent`.
//!
//! ```
//! use agent_events::agui::to_agui;
//! use agent_events::{testing::Recorder, EventBridge, RunContext};
//! use serde_json::json;
//!
//! let recorder = Recorder::new();
//! let bridge = EventBridge::builder().sink(recorder.clone()).build();
//! let run = bridge.start_run(RunContext::new("user-1", "thread-1", "research_agent").with_run_id("run-1"));
//! run.user_message("What is Rust?");
//! let call = run.tool_executing_with_id("search", "call-1", json!({ "query": "rust" }));
//! call.completed(["rust-lang.org"]);
//! run.completed("A programming language.", ());
//!
//! let events = to_agui(recorder.events());
//! let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
//! assert_eq!(
//!     types,
//!     [
//!         "RUN_STARTED",
//!         "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", // the user's message
//!         "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END",
//!         "TOOL_CALL_RESULT",
//!         "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", // the final response
//!         "RUN_FINISHED",
//!     ]
//! );
//! assert_eq!(events[0]["runId"], "run-1");
//! assert_eq!(events[1]["role"], "user");
//! assert_eq!(events[2]["delta"], "What is Rust?");
//! assert_eq!(events[4]["toolCallName"], "search");
//! assert_eq!(events[5]["delta"], r#"{"query":"rust"}"#);
//! assert_eq!(events[7]["content"], r#"["rust-lang.org"]"#);
//! assert_eq!(events[9]["delta"], "A programming language.");
//! assert!(events.iter().all(|e| e["timestamp"].is_i64()));
//! ```
//!
//! Incrementally, e.g. in a transport that streams one run to an AG-UI client:
//!
//! ```
//! # use agent_events::{testing::Recorder, EventBridge, RunContext};
//! # let recorder = Recorder::new();
//! # let bridge = EventBridge::builder().sink(recorder.clone()).build();
//! # bridge.start_run(RunContext::new("u", "t", "agent")).failed("no model");
//! use agent_events::agui::AgUiMapper;
//!
//! let mut mapper = AgUiMapper::new();
//! let mut sent = Vec::new();
//! for event in recorder.events() {
//!     sent.extend(mapper.map(&event)); // each one: `data: {json}\n\n` on an SSE stream
//! }
//! assert_eq!(sent[1]["type"], "RUN_ERROR");
//! assert_eq!(sent[1]["message"], "no model");
//! assert_eq!(sent[1]["code"], "failed");
//! assert!(mapper.is_finished());
//! ```

use std::collections::HashSet;

use agent_events_schema::{AgentCompleted, AgentThinking, Event, Payload, ToolCompleted, ToolExecuting};
use serde_json::{json, Map, Value};

/// The AG-UI protocol version the output follows, sent as `RUN_STARTED.protocolVersion`.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The AG-UI `type` strings this module produces.
pub mod event_type {
    /// Opens a run.
    pub const RUN_STARTED: &str = "RUN_STARTED";
    /// Closes a run that did not fail.
    pub const RUN_FINISHED: &str = "RUN_FINISHED";
    /// Ends a run that failed.
    pub const RUN_ERROR: &str = "RUN_ERROR";
    /// Opens a streamed text message.
    pub const TEXT_MESSAGE_START: &str = "TEXT_MESSAGE_START";
    /// Appends a fragment to a text message.
    pub const TEXT_MESSAGE_CONTENT: &str = "TEXT_MESSAGE_CONTENT";
    /// Closes a text message.
    pub const TEXT_MESSAGE_END: &str = "TEXT_MESSAGE_END";
    /// Opens a tool call.
    pub const TOOL_CALL_START: &str = "TOOL_CALL_START";
    /// Carries (a fragment of) a tool call's arguments, as JSON text.
    pub const TOOL_CALL_ARGS: &str = "TOOL_CALL_ARGS";
    /// Closes a tool call: its arguments are complete.
    pub const TOOL_CALL_END: &str = "TOOL_CALL_END";
    /// What a tool returned, as a tool message.
    pub const TOOL_CALL_RESULT: &str = "TOOL_CALL_RESULT";
    /// Opens a span of reasoning.
    pub const REASONING_START: &str = "REASONING_START";
    /// Opens a reasoning message.
    pub const REASONING_MESSAGE_START: &str = "REASONING_MESSAGE_START";
    /// Appends a fragment to a reasoning message.
    pub const REASONING_MESSAGE_CONTENT: &str = "REASONING_MESSAGE_CONTENT";
    /// Closes a reasoning message.
    pub const REASONING_MESSAGE_END: &str = "REASONING_MESSAGE_END";
    /// Closes a span of reasoning.
    pub const REASONING_END: &str = "REASONING_END";
    /// An application's own event.
    pub const CUSTOM: &str = "CUSTOM";
}

use event_type::*;

/// The largest integer a JavaScript number holds exactly: AG-UI's bound on `timestamp`.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Turns one run's events, in `seq` order, into AG-UI events, keeping the little state AG-UI
/// needs across events (the open reasoning span, the assistant message tool calls attach to,
/// tool-call ids). See the [module docs](self) for the mapping.
#[derive(Clone, Debug, Default)]
pub struct AgUiMapper {
    raw_events: bool,
    skipped: u64,
    state: RunState,
}

/// What the mapper knows about the run in progress; reset when the next run starts.
#[derive(Clone, Debug, Default)]
struct RunState {
    /// `(thread_id, run_id)` once `RUN_STARTED` went out.
    run: Option<(String, String)>,
    /// `RUN_FINISHED` or `RUN_ERROR` went out.
    finished: bool,
    last_seq: Option<u64>,
    /// The id of the open reasoning span.
    reasoning_span: Option<String>,
    /// The assistant message the next tool call attaches to.
    tool_parent: Option<String>,
    /// The content of the run's last `agent_response`.
    last_response: Option<String>,
    /// Our `tool_call_id` → the AG-UI `toolCallId` of each call without a result yet, in
    /// order of start.
    open_tools: Vec<(String, String)>,
    /// Every AG-UI `toolCallId` used in the run.
    used_tool_ids: HashSet<String>,
}

impl AgUiMapper {
    /// A mapper for one run (or for a thread's runs, one after another).
    pub fn new() -> Self {
        AgUiMapper::default()
    }

    /// Attaches our whole original event (the flat wire object, `user_id` included: the same
    /// object the run's user receives on our own wire) to every AG-UI event made from it, as
    /// AG-UI's `rawEvent`: nothing is lost, at the cost of size.
    pub fn with_raw_events(mut self, raw_events: bool) -> Self {
        self.raw_events = raw_events;
        self
    }

    /// How many events produced nothing: events after the run ended, a `seq` already seen,
    /// another run's events, a second `agent_started`.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Whether `RUN_FINISHED` or `RUN_ERROR` went out.
    pub fn is_finished(&self) -> bool {
        self.state.finished
    }

    /// The AG-UI events for one of our events, in order (none when it is skipped).
    pub fn map(&mut self, event: &Event) -> Vec<Value> {
        let envelope = &event.envelope;
        let is_start = matches!(event.payload, Payload::AgentStarted(_));
        if self.state.finished && is_start {
            self.state = RunState::default();
        }
        let state = &mut self.state;
        let other_run = state.run.as_ref().is_some_and(|(_, run_id)| **run_id != *envelope.run_id);
        let seen = state.last_seq.is_some_and(|last| envelope.seq <= last);
        if state.finished || other_run || seen || (is_start && state.run.is_some()) {
            self.skipped += 1;
            return Vec::new();
        }
        state.last_seq = Some(envelope.seq);

        let mut out = Out { events: Vec::new(), timestamp: timestamp_ms(envelope.timestamp) };
        if state.run.is_none() {
            let (thread_id, run_id) = (envelope.thread_id.to_string(), envelope.run_id.to_string());
            out.push(
                RUN_STARTED,
                json!({ "threadId": thread_id, "runId": run_id, "protocolVersion": PROTOCOL_VERSION }),
            );
            state.run = Some((thread_id, run_id));
        }
        if !matches!(event.payload, Payload::AgentThinking(_)) {
            if let Some(span) = state.reasoning_span.take() {
                // The span closed when the agent did something else; this event's own output
                // starts after it.
                out.push(REASONING_END, json!({ "messageId": span }));
            }
        }
        let own = if is_start { 0 } else { out.events.len() };
        let id = format!("{}:{}", envelope.run_id, envelope.seq);
        match &event.payload {
            Payload::AgentStarted(_) => {}
            Payload::UserMessage(message) => {
                state.tool_parent = None;
                out.text_message(&id, "user", &message.content);
            }
            Payload::AgentResponse(response) => {
                out.text_message(&id, "assistant", &response.content);
                state.tool_parent = Some(id);
                state.last_response = Some(response.content.clone());
            }
            Payload::AgentThinking(thinking) => state.thinking(&mut out, id, thinking),
            Payload::ToolExecuting(call) => state.tool_executing(&mut out, &id, envelope.seq, call),
            Payload::ToolCompleted(result) => state.tool_completed(&mut out, id, result),
            Payload::AgentCompleted(completed) => state.completed(&mut out, &id, completed),
            Payload::Custom(custom) => out.push(
                CUSTOM,
                json!({ "name": custom.event_type, "value": Value::Object(custom.fields.clone()) }),
            ),
        }
        if self.raw_events {
            let raw = event.to_value();
            for agui in &mut out.events[own..] {
                if let Value::Object(fields) = agui {
                    fields.insert("rawEvent".to_owned(), raw.clone());
                }
            }
        }
        out.events
    }
}

/// Maps a whole run (or a thread's runs, one after another) at once.
///
/// ```
/// use agent_events::{agui::to_agui, testing::Recorder, EventBridge, RunContext};
///
/// let recorder = Recorder::new();
/// let bridge = EventBridge::builder().sink(recorder.clone()).build();
/// bridge.start_run(RunContext::new("u", "t", "agent")).completed("", ());
/// let types: Vec<_> = to_agui(recorder.events()).iter().map(|e| e["type"].clone()).collect();
/// assert_eq!(types, ["RUN_STARTED", "RUN_FINISHED"]);
/// ```
pub fn to_agui<E: AsRef<Event>>(events: impl IntoIterator<Item = E>) -> Vec<Value> {
    let mut mapper = AgUiMapper::new();
    events.into_iter().flat_map(|event| mapper.map(event.as_ref())).collect()
}

impl RunState {
    fn thinking(&mut self, out: &mut Out, id: String, thinking: &AgentThinking) {
        if self.reasoning_span.is_none() {
            out.push(REASONING_START, json!({ "messageId": id }));
            self.reasoning_span = Some(id.clone());
        }
        out.push(REASONING_MESSAGE_START, json!({ "messageId": id, "role": "reasoning" }));
        let reasoning = thinking.reasoning.as_deref().unwrap_or("");
        let separator = if thinking.thought.is_empty() || reasoning.is_empty() { "" } else { "\n\n" };
        for delta in [thinking.thought.clone(), format!("{separator}{reasoning}")] {
            if !delta.is_empty() {
                out.push(REASONING_MESSAGE_CONTENT, json!({ "messageId": id, "delta": delta }));
            }
        }
        out.push(REASONING_MESSAGE_END, json!({ "messageId": id }));
    }

    fn tool_executing(&mut self, out: &mut Out, id: &str, seq: u64, call: &ToolExecuting) {
        let mut tool_call_id = call.tool_call_id.clone();
        if self.used_tool_ids.contains(&tool_call_id) {
            tool_call_id = format!("{tool_call_id}:{seq}");
        }
        self.used_tool_ids.insert(tool_call_id.clone());
        self.open_tools.push((call.tool_call_id.clone(), tool_call_id.clone()));
        let parent = self.tool_parent.get_or_insert_with(|| id.to_owned()).clone();
        let args = match &call.parameters {
            Some(parameters) => json_text(&Value::Object(parameters.clone())),
            None => "{}".to_owned(),
        };
        out.push(
            TOOL_CALL_START,
            json!({ "toolCallId": tool_call_id, "toolCallName": call.tool_name, "parentMessageId": parent }),
        );
        out.push(TOOL_CALL_ARGS, json!({ "toolCallId": tool_call_id, "delta": args }));
        out.push(TOOL_CALL_END, json!({ "toolCallId": tool_call_id }));
    }

    fn tool_completed(&mut self, out: &mut Out, id: String, result: &ToolCompleted) {
        let open = self.open_tools.iter().position(|(ours, _)| *ours == result.tool_call_id);
        let tool_call_id = match open {
            Some(index) => self.open_tools.remove(index).1,
            None => result.tool_call_id.clone(),
        };
        let content = if result.success {
            json_text(&result.results)
        } else {
            let mut failure = Map::new();
            let error = result.error.as_deref().unwrap_or("the tool call failed");
            failure.insert("error".to_owned(), error.into());
            if let Some(reason) = result.reason {
                failure.insert("reason".to_owned(), reason.as_str().into());
            }
            json_text(&Value::Object(failure))
        };
        out.push(
            TOOL_CALL_RESULT,
            json!({ "messageId": id, "toolCallId": tool_call_id, "content": content, "role": "tool" }),
        );
        self.tool_parent = None;
    }

    fn completed(&mut self, out: &mut Out, id: &str, completed: &AgentCompleted) {
        // Our runs close their tool calls first; a stream that did not still gets results, so
        // no client reads a call as left for the frontend to answer.
        for (_, tool_call_id) in std::mem::take(&mut self.open_tools) {
            let content =
                json!({ "error": "the run closed before the tool call completed", "reason": "dropped" });
            out.push(
                TOOL_CALL_RESULT,
                json!({
                    "messageId": format!("{id}:{tool_call_id}"),
                    "toolCallId": tool_call_id,
                    "content": json_text(&content),
                    "role": "tool",
                }),
            );
        }
        self.finished = true;
        if !completed.success {
            let mut error = Map::new();
            let message = completed.error.as_deref().unwrap_or("the run failed");
            error.insert("message".to_owned(), message.into());
            if let Some(reason) = completed.reason {
                error.insert("code".to_owned(), reason.as_str().into());
            }
            out.push(RUN_ERROR, Value::Object(error));
            return;
        }
        if let Some(answer) = completed.final_response.as_deref() {
            if !answer.is_empty() && self.last_response.as_deref() != Some(answer) {
                out.text_message(id, "assistant", answer);
            }
        }
        let (thread_id, run_id) = self.run.clone().unwrap_or_default();
        let mut finished = Map::new();
        finished.insert("threadId".to_owned(), thread_id.into());
        finished.insert("runId".to_owned(), run_id.into());
        if let Some(result) = completed.result.as_ref().filter(|r| !r.is_null()) {
            finished.insert("result".to_owned(), result.clone());
        }
        out.push(RUN_FINISHED, Value::Object(finished));
    }
}

/// The AG-UI events made from one of our events, all stamped with its time.
struct Out {
    events: Vec<Value>,
    timestamp: Option<i64>,
}

impl Out {
    fn push(&mut self, event_type: &str, fields: Value) {
        let mut event = match fields {
            Value::Object(fields) => fields,
            _ => Map::new(),
        };
        event.insert("type".to_owned(), event_type.into());
        if let Some(timestamp) = self.timestamp {
            event.insert("timestamp".to_owned(), timestamp.into());
        }
        self.events.push(Value::Object(event));
    }

    /// A whole text message; no content event for empty text.
    fn text_message(&mut self, id: &str, role: &str, content: &str) {
        self.push(TEXT_MESSAGE_START, json!({ "messageId": id, "role": role }));
        if !content.is_empty() {
            self.push(TEXT_MESSAGE_CONTENT, json!({ "messageId": id, "delta": content }));
        }
        self.push(TEXT_MESSAGE_END, json!({ "messageId": id }));
    }
}

/// Seconds since the epoch → AG-UI's integer milliseconds; `None` when not representable.
fn timestamp_ms(seconds: f64) -> Option<i64> {
    let millis = (seconds * 1000.0).round();
    // `as` saturates, and the bound check rejects NaN (every comparison with it is false).
    (millis.abs() <= MAX_SAFE_INTEGER as f64).then_some(millis as i64)
}

/// A value as compact JSON text (AG-UI carries tool arguments and results as strings).
fn json_text(value: &Value) -> String {
    // Serializing a `Value` to a `String` cannot fail: its map keys are strings.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_events_schema::{AgentResponse, AgentStarted, CloseReason, CustomEvent, Envelope, UserMessage};

    const T0: f64 = 1_700_000_000.25;

    fn ev(seq: u64, payload: Payload) -> Event {
        let envelope = Envelope::new("u1", "t1", "r1", "agent", seq, format!("e{seq}"), T0 + seq as f64);
        Event::new(envelope, payload)
    }

    fn started() -> Event {
        ev(1, Payload::AgentStarted(AgentStarted::default()))
    }

    fn response(seq: u64, content: &str) -> Event {
        ev(seq, Payload::AgentResponse(AgentResponse { content: content.into() }))
    }

    fn thinking(seq: u64, thought: &str, reasoning: Option<&str>) -> Event {
        let payload = AgentThinking {
            thought: thought.into(),
            reasoning: reasoning.map(Into::into),
            step_number: None,
        };
        ev(seq, Payload::AgentThinking(payload))
    }

    fn executing(seq: u64, id: &str, parameters: Option<Value>) -> Event {
        let parameters = parameters.map(|p| p.as_object().cloned().unwrap());
        let payload = ToolExecuting { tool_name: "search".into(), tool_call_id: id.into(), parameters };
        ev(seq, Payload::ToolExecuting(payload))
    }

    fn completed_tool(seq: u64, id: &str, results: Value) -> Event {
        ev(seq, Payload::ToolCompleted(ToolCompleted::succeeded("search", id, results)))
    }

    fn failed_tool(seq: u64, id: &str, error: &str, reason: CloseReason) -> Event {
        let payload = ToolCompleted {
            tool_name: "search".into(),
            tool_call_id: id.into(),
            results: Value::Null,
            success: false,
            error: Some(error.into()),
            reason: Some(reason),
            duration_ms: Some(3),
        };
        ev(seq, Payload::ToolCompleted(payload))
    }

    fn finished(seq: u64, final_response: Option<&str>, result: Option<Value>) -> Event {
        let payload = AgentCompleted {
            final_response: final_response.map(Into::into),
            result,
            success: true,
            ..Default::default()
        };
        ev(seq, Payload::AgentCompleted(payload))
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    #[test]
    fn a_run_starts_and_finishes_with_its_ids_and_millisecond_timestamps() {
        let events = to_agui([started(), finished(2, None, Some(json!({ "rows": 3 })))]);
        assert_eq!(
            events[0],
            json!({
                "type": "RUN_STARTED", "threadId": "t1", "runId": "r1", "protocolVersion": "1.0",
                "timestamp": 1_700_000_001_250_i64,
            })
        );
        assert_eq!(
            events[1],
            json!({
                "type": "RUN_FINISHED", "threadId": "t1", "runId": "r1", "result": { "rows": 3 },
                "timestamp": 1_700_000_002_250_i64,
            })
        );
    }

    #[test]
    fn a_null_result_is_left_out_since_agui_forbids_null_there() {
        let events = to_agui([started(), finished(2, None, Some(Value::Null))]);
        assert!(events[1].get("result").is_none(), "{}", events[1]);
    }

    #[test]
    fn a_failed_run_is_a_run_error_with_the_reason_as_code() {
        let payload = AgentCompleted {
            final_response: None,
            success: false,
            error: Some("model unavailable".into()),
            reason: Some(CloseReason::Panicked),
            ..Default::default()
        };
        let events = to_agui([started(), ev(2, Payload::AgentCompleted(payload))]);
        assert_eq!(
            events[1],
            json!({
                "type": "RUN_ERROR", "message": "model unavailable", "code": "panicked",
                "timestamp": 1_700_000_002_250_i64,
            })
        );
        let bare = AgentCompleted { success: false, ..Default::default() };
        let events = to_agui([started(), ev(2, Payload::AgentCompleted(bare))]);
        assert_eq!(events[1]["message"], "the run failed");
        assert!(events[1].get("code").is_none());
    }

    #[test]
    fn user_messages_and_responses_are_whole_text_messages_with_their_role() {
        let user = ev(2, Payload::UserMessage(UserMessage { content: "hi".into() }));
        let events = to_agui([started(), user, response(3, "hello")]);
        assert_eq!(
            types(&events[1..]),
            ["TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END"].repeat(2)
        );
        assert_eq!(events[1]["role"], "user");
        assert_eq!(events[1]["messageId"], "r1:2");
        assert_eq!(events[2]["delta"], "hi");
        assert_eq!(events[3]["messageId"], "r1:2");
        assert_eq!(events[4]["role"], "assistant");
        assert_eq!(events[5]["delta"], "hello");
        assert_eq!(events[6]["messageId"], "r1:3");
    }

    #[test]
    fn empty_text_never_makes_an_empty_delta() {
        let user = ev(2, Payload::UserMessage(UserMessage::default()));
        let events = to_agui([started(), user, response(3, ""), thinking(4, "", None)]);
        assert!(events.iter().all(|e| e.get("delta").is_none_or(|d| d != "")), "{events:#?}");
        assert_eq!(
            types(&events[1..]),
            [
                "TEXT_MESSAGE_START",
                "TEXT_MESSAGE_END",
                "TEXT_MESSAGE_START",
                "TEXT_MESSAGE_END",
                "REASONING_START",
                "REASONING_MESSAGE_START",
                "REASONING_MESSAGE_END",
            ]
        );
    }

    #[test]
    fn consecutive_thoughts_share_one_reasoning_span_closed_by_the_next_event() {
        let events = to_agui([
            started(),
            thinking(2, "plan", Some("because")),
            thinking(3, "", Some("only reasoning")),
            response(4, "done"),
        ]);
        assert_eq!(
            types(&events[1..]),
            [
                "REASONING_START",
                "REASONING_MESSAGE_START",
                "REASONING_MESSAGE_CONTENT",
                "REASONING_MESSAGE_CONTENT",
                "REASONING_MESSAGE_END",
                "REASONING_MESSAGE_START",
                "REASONING_MESSAGE_CONTENT",
                "REASONING_MESSAGE_END",
                "REASONING_END",
                "TEXT_MESSAGE_START",
                "TEXT_MESSAGE_CONTENT",
                "TEXT_MESSAGE_END",
            ]
        );
        assert_eq!(events[1]["messageId"], "r1:2");
        assert_eq!(events[2]["role"], "reasoning");
        assert_eq!(events[3]["delta"], "plan");
        assert_eq!(events[4]["delta"], "\n\nbecause");
        assert_eq!(events[6]["messageId"], "r1:3");
        assert_eq!(events[7]["delta"], "only reasoning");
        assert_eq!(events[9]["messageId"], "r1:2", "the span closes under its own id");
        assert_eq!(events[9]["timestamp"], 1_700_000_004_250_i64, "when the next event came");
    }

    #[test]
    fn the_reasoning_span_closes_before_the_run_ends() {
        let events = to_agui([started(), thinking(2, "plan", None), finished(3, None, None)]);
        assert_eq!(types(&events[events.len() - 2..]), ["REASONING_END", "RUN_FINISHED"]);
    }

    #[test]
    fn a_tool_call_is_start_args_end_then_a_result() {
        let events = to_agui([
            started(),
            executing(2, "call-1", Some(json!({ "query": "rust", "limit": 2 }))),
            completed_tool(3, "call-1", json!({ "hits": ["a"] })),
        ]);
        assert_eq!(
            types(&events[1..]),
            ["TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT"]
        );
        let at = json!(1_700_000_002_250_i64);
        assert_eq!(
            events[1],
            json!({
                "type": "TOOL_CALL_START", "toolCallId": "call-1", "toolCallName": "search",
                "parentMessageId": "r1:2", "timestamp": at,
            })
        );
        let args: Value = serde_json::from_str(events[2]["delta"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({ "query": "rust", "limit": 2 }));
        assert_eq!(events[3], json!({ "type": "TOOL_CALL_END", "toolCallId": "call-1", "timestamp": at }));
        assert_eq!(
            events[4],
            json!({
                "type": "TOOL_CALL_RESULT", "messageId": "r1:3", "toolCallId": "call-1",
                "content": r#"{"hits":["a"]}"#, "role": "tool", "timestamp": 1_700_000_003_250_i64,
            })
        );
    }

    #[test]
    fn a_call_without_parameters_has_empty_object_arguments() {
        let events = to_agui([started(), executing(2, "c", None)]);
        assert_eq!(events[2]["delta"], "{}");
    }

    #[test]
    fn failed_and_dropped_calls_get_their_error_and_reason_as_content() {
        let events = to_agui([
            started(),
            executing(2, "a", None),
            executing(3, "b", None),
            failed_tool(4, "a", "timeout", CloseReason::Failed),
            failed_tool(5, "b", "the tool call was dropped before it completed", CloseReason::Dropped),
        ]);
        let content =
            |i: usize| serde_json::from_str::<Value>(events[i]["content"].as_str().unwrap()).unwrap();
        assert_eq!(events[7]["toolCallId"], "a");
        assert_eq!(content(7), json!({ "error": "timeout", "reason": "failed" }));
        assert_eq!(events[8]["toolCallId"], "b");
        assert_eq!(
            content(8),
            json!({ "error": "the tool call was dropped before it completed", "reason": "dropped" })
        );
        assert_eq!(events[8]["role"], "tool");
    }

    #[test]
    fn tool_calls_attach_to_the_assistant_message_of_their_turn() {
        let events = to_agui([
            started(),
            response(2, "let me look"),
            executing(3, "a", None),
            executing(4, "b", None),
            completed_tool(5, "a", json!(1)),
            completed_tool(6, "b", json!(2)),
            executing(7, "c", None),
            ev(8, Payload::UserMessage(UserMessage { content: "more".into() })),
            executing(9, "d", None),
        ]);
        let parents: Vec<_> = events
            .iter()
            .filter(|e| e["type"] == TOOL_CALL_START)
            .map(|e| e["parentMessageId"].as_str().unwrap())
            .collect();
        assert_eq!(parents, ["r1:2", "r1:2", "r1:7", "r1:9"]);
    }

    #[test]
    fn a_reused_tool_call_id_gets_a_distinct_agui_id_and_keeps_it_until_its_result() {
        let events = to_agui([
            started(),
            executing(2, "x", None),
            completed_tool(3, "x", json!(1)),
            executing(4, "x", None),
            completed_tool(5, "x", json!(2)),
        ]);
        let ids: Vec<_> = events[1..].iter().map(|e| e["toolCallId"].as_str().unwrap()).collect();
        assert_eq!(ids, ["x", "x", "x", "x", "x:4", "x:4", "x:4", "x:4"]);
    }

    #[test]
    fn the_final_response_is_an_assistant_message_unless_it_repeats_the_last_response() {
        let events = to_agui([started(), finished(2, Some("42"), None)]);
        assert_eq!(
            types(&events[1..]),
            ["TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED"]
        );
        assert_eq!(events[1]["role"], "assistant");
        assert_eq!(events[1]["messageId"], "r1:2");
        assert_eq!(events[2]["delta"], "42");

        let events = to_agui([started(), response(2, "42"), finished(3, Some("42"), None)]);
        assert_eq!(types(&events[4..]), ["RUN_FINISHED"]);
        let events = to_agui([started(), finished(2, Some(""), None)]);
        assert_eq!(types(&events[1..]), ["RUN_FINISHED"]);
    }

    #[test]
    fn calls_left_open_get_a_dropped_result_before_the_run_ends() {
        let events = to_agui([started(), executing(2, "a", None), finished(3, None, None)]);
        assert_eq!(types(&events[4..]), ["TOOL_CALL_RESULT", "RUN_FINISHED"]);
        assert_eq!(events[4]["toolCallId"], "a");
        assert_eq!(events[4]["messageId"], "r1:3:a");
        assert!(events[4]["content"].as_str().unwrap().contains(r#""reason":"dropped""#));
    }

    #[test]
    fn custom_events_carry_their_type_and_fields() {
        let custom = CustomEvent::new("plan_updated").field("steps", 3);
        let events = to_agui([started(), ev(2, Payload::Custom(custom))]);
        assert_eq!(
            events[1],
            json!({
                "type": "CUSTOM", "name": "plan_updated", "value": { "steps": 3 },
                "timestamp": 1_700_000_002_250_i64,
            })
        );
    }

    #[test]
    fn nothing_follows_the_end_and_duplicates_or_other_runs_are_skipped() {
        let mut mapper = AgUiMapper::new();
        assert_eq!(mapper.map(&started()).len(), 1);
        assert_eq!(mapper.map(&response(2, "a")).len(), 3);
        assert!(mapper.map(&response(2, "a")).is_empty(), "a seq already seen");
        assert!(mapper.map(&started()).is_empty(), "a second start");
        let mut other = response(3, "b");
        other.envelope.run_id = "r2".into();
        assert!(mapper.map(&other).is_empty(), "another run");
        assert_eq!(types(&mapper.map(&finished(4, None, None))), ["RUN_FINISHED"]);
        assert!(mapper.is_finished());
        assert!(mapper.map(&response(5, "late")).is_empty());
        assert_eq!(mapper.skipped(), 4);
    }

    #[test]
    fn a_new_start_after_the_end_begins_the_next_run() {
        let in_r2 = |mut event: Event| {
            event.envelope.run_id = "r2".into();
            event
        };
        let events = to_agui([
            started(),
            executing(2, "x", None),
            completed_tool(3, "x", json!(1)),
            finished(4, None, None),
            in_r2(started()),
            in_r2(executing(2, "x", None)),
        ]);
        assert_eq!(events[6]["type"], "RUN_STARTED");
        assert_eq!(events[6]["runId"], "r2");
        assert_eq!(events[7]["toolCallId"], "x", "tool ids are per run");
    }

    #[test]
    fn a_stream_joined_late_still_begins_with_run_started() {
        let events = to_agui([response(5, "hi")]);
        assert_eq!(
            types(&events),
            ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END"]
        );
        assert_eq!(events[0]["runId"], "r1");
    }

    #[test]
    fn raw_events_attach_the_original_event_to_what_it_made() {
        let mut mapper = AgUiMapper::new().with_raw_events(true);
        let start = started();
        assert_eq!(mapper.map(&start)[0]["rawEvent"], start.to_value());
        mapper.map(&thinking(2, "plan", None));
        let event = response(3, "hi");
        let out = mapper.map(&event);
        assert_eq!(out[0]["type"], REASONING_END);
        assert!(out[0].get("rawEvent").is_none(), "the span's end is not made from this event");
        assert!(out[1..].iter().all(|e| e["rawEvent"] == event.to_value()));
        assert_eq!(out[1]["rawEvent"]["agent_name"], "agent");
    }

    #[test]
    fn timestamps_outside_what_javascript_holds_exactly_are_left_out() {
        assert_eq!(timestamp_ms(1.2506), Some(1251));
        assert_eq!(timestamp_ms(-1.0), Some(-1000));
        assert_eq!(timestamp_ms(f64::NAN), None);
        assert_eq!(timestamp_ms(f64::INFINITY), None);
        assert_eq!(timestamp_ms(1e13), None);
        let mut event = started();
        event.envelope.timestamp = f64::NAN;
        assert!(to_agui([event])[0].get("timestamp").is_none());
    }
}
