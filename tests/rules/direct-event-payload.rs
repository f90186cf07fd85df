//! `direct-event-payload`: agent events assembled by hand in a legacy websocket layer.
//!
//! This file lives under `tests/`, so the linter treats it as test code: a hand-built expected
//! event whose fields are all literals is offered the typed-payload fix.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::websocket::{now_secs, WebSocketManager, WsError};

const AGENT_THINKING: &str = "agent_thinking";
const LIFECYCLE: [&str; 2] = ["agent_started", "agent_completed"]; // silent: a list of names, no event

pub struct WsMessage {
    pub event_type: String,
    pub user_id: String,
    pub content: Option<String>,
}

pub struct Notifier {
    manager: WebSocketManager,
    user_id: String,
}

impl Notifier {
    pub async fn thinking(&self, thought: &str, step: u32) -> Result<(), WsError> {
        let frame = json!({
            "type": "agent_thinking", // expect: direct-event-payload
            "thought": thought,
            "step_number": step,
        });
        self.manager.send_to_user(&self.user_id, frame).await
    }

    pub async fn started(&self, agent_name: &str) -> Result<(), WsError> {
        self.manager.send_event(&self.user_id, "agent_started", json!({ "agent_name": agent_name })).await // expect: direct-event-payload
    }

    pub async fn step(&self, thought: &str) -> Result<(), WsError> {
        self.emit_websocket_event(AGENT_THINKING, json!({ "thought": thought })).await // expect: direct-event-payload
    }

    /// The mobile client reads `event` and wants the fields under `payload`.
    pub async fn mobile_tool_started(&self, tool: &str, args: &Value) -> Result<(), WsError> {
        let frame = json!({
            "event": "tool_executing", // expect: direct-event-payload
            "payload": { "tool_name": tool, "tool_call_id": "call_1", "parameters": args },
        });
        self.manager.send_to_user(&self.user_id, frame).await
    }

    pub async fn tool_done(&self, tool: &str, results: Value) -> Result<(), WsError> {
        let mut frame = json!({ "tool_name": tool, "tool_call_id": "call_1", "results": results });
        frame["type"] = json!("tool_completed"); // expect: direct-event-payload
        frame["success"] = json!(true);
        self.manager.send_to_user(&self.user_id, frame).await
    }

    pub async fn reply(&self, text: &str) -> Result<(), WsError> {
        let message = WsMessage {
            event_type: "agent_response".to_string(), // expect: direct-event-payload
            user_id: self.user_id.clone(),
            content: Some(text.to_string()),
        };
        self.manager.send_to_user(&self.user_id, message.to_json()).await
    }

    /// Replays the end of the last run to a reconnecting browser.
    pub async fn replay(&self, answer: &str) -> Result<(), WsError> {
        let batch = json!({
            "type": "replay", // silent: not an agent event type
            "events": [
                { "type": "agent_started", "user_id": self.user_id }, // expect: direct-event-payload
                { "type": "agent_completed", "final_response": answer, "success": true }, // expect: direct-event-payload
            ],
        });
        self.manager.send_to_user(&self.user_id, batch).await
    }

    pub async fn heartbeat(&self) -> Result<(), WsError> {
        // silent: `heartbeat` is not an agent event type
        self.manager.send_to_user(&self.user_id, json!({ "type": "heartbeat", "ts": now_secs() })).await
    }

    pub async fn forward(&self, event_type: &str, data: Value) -> Result<(), WsError> {
        // silent: the type is a parameter, not an event type written here
        self.manager.send_event(&self.user_id, event_type, data).await
    }

    async fn emit_websocket_event(&self, event_type: &str, data: Value) -> Result<(), WsError> {
        let mut message = json!({ "type": event_type, "timestamp": now_secs() }); // silent: the type is a variable
        if let (Some(fields), Value::Object(extra)) = (message.as_object_mut(), data) {
            fields.extend(extra);
        }
        self.manager.send_to_user(&self.user_id, message).await
    }
}

/// Flat string maps for v1 browser clients.
pub fn v1_response_frame(text: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("type", "agent_response".to_string()), // expect: direct-event-payload
        ("content", text.to_string()),
    ])
}

pub fn v1_question_frame(content: &str) -> BTreeMap<&'static str, String> {
    let mut frame = BTreeMap::new();
    // silent: a `user_message` is what clients send; assembled here, it is not known to reach a user
    frame.insert("event_type", String::from("user_message"));
    frame.insert("content", content.to_string());
    frame
}

/// Labels shown next to each event in the admin timeline.
pub fn timeline_labels() -> HashMap<&'static str, &'static str> {
    let mut labels = HashMap::new();
    labels.insert("agent_started", "Started"); // silent: an event type as a map key, not as `type`
    labels.insert("tool_executing", "Running a tool"); // silent: the same
    labels
}

/// Frames a lagging browser must still get.
pub fn is_lifecycle(frame: &Value) -> bool {
    match frame["type"].as_str() {
        Some("tool_executing") | Some("tool_completed") => true, // silent: a match on a received frame
        Some(other) => LIFECYCLE.contains(&other),
        None => false,
    }
}

pub fn keep_for_v1(frame: &Value, stream_thinking: bool) -> bool {
    frame["type"] != "agent_thinking" || stream_thinking // silent: a comparison
}

pub fn log_delivery(user: &str, frame: &Value) {
    println!("sent agent_started to {user}"); // silent: a log message
    eprintln!("frame {} for {user} (tool_completed carries results)", frame["type"]); // silent: the same
    // A comment quoting json!({ "type": "agent_started" }) is not code. silent: a comment
}

pub fn parse_fixture() -> Value {
    serde_json::from_str(r#"{"type": "agent_started", "agent_name": "data_agent"}"#).unwrap() // silent: a string
}

pub fn search(run: &agent_events::Run, query: &str) -> usize {
    let call = run.tool_executing("search", json!({ "query": query })); // silent: canonical, and the literal has no type
    call.completed(3);
    3
}

#[test]
fn tool_completed_frame_matches_the_client_contract() {
    let expected = json!({
        "type": "tool_completed", // expect: direct-event-payload
        "tool_name": "search",
        "tool_call_id": "call_1",
        "results": ["hit"],
        "success": true,
    });
    let thinking = json!({ "type": "agent_thinking", "thought": "Reading the question" }); // expect: direct-event-payload
    assert_eq!(expected["type"], "tool_completed"); // silent: a comparison in an assertion
    assert_eq!(thinking["thought"], "Reading the question");
}

/// Seen in real code: `user_message` is what clients send.
pub async fn client_asks(client: &mut TestClient) {
    // silent: a test client sending `user_message` to the server
    client.send(json!({ "type": "user_message", "payload": { "content": "hi" } })).await;
}

pub async fn echo_to_thread(manager: &WebSocketManager, thread_id: &str, text: &str) -> Result<(), WsError> {
    let echo = json!({ "type": "user_message", "content": text }); // expect: direct-event-payload
    manager.send_to_thread(thread_id, echo).await
}

/// Seen in real code: test-case descriptors whose other keys are no event fields.
pub fn access_cases() -> Vec<Value> {
    // silent: a descriptor, not an event
    vec![json!({ "event_type": "tool_completed", "expected_js_access_patterns": ["event.data.result"] })]
}

/// Seen in real code: types the schema does not list, sent as agent events.
pub async fn report_error(manager: &WebSocketManager, user_id: &str, error: &str) -> Result<(), WsError> {
    let notification = json!({ "type": "agent_error", "run_id": run_id(), "error": error }); // expect: direct-event-payload
    manager.send_to_user(user_id, notification).await
}

pub fn status_row(name: &str, rows: &mut Vec<Value>) {
    // silent: an `agent_` type that is never sent: a row of a status table
    rows.extend([json!({ "type": "agent_status_row", "name": name })]);
}

/// Seen in real code: typed event models serialised by hand onto a raw socket.
pub async fn stream_started(socket: &mut WebSocket, agent_started_event: &AgentStartedEvent) -> Result<(), WsError> {
    socket.send(Message::Text(agent_started_event.to_json())).await // expect: direct-event-payload
}

pub async fn stream_status(socket: &mut WebSocket, status_update: &StatusUpdate) -> Result<(), WsError> {
    socket.send(Message::Text(status_update.to_json())).await // silent: not named for an agent event
}
