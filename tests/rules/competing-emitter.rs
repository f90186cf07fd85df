//! `competing-emitter`: types that define their own agent-event emission methods.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::websocket::{WebSocketManager, WsError};

/// Anything that can stream an agent's progress somewhere.
pub trait AgentEventEmitter {
    fn emit_agent_started(&self, agent_name: &str); // expect: competing-emitter
    fn emit_tool_executing(&self, tool_name: &str, params: &Value);
    fn emit_agent_completed(&self, final_response: &str);
}

pub struct Notifier {
    manager: Arc<WebSocketManager>,
    user_id: String,
}

impl Notifier {
    pub fn new(manager: Arc<WebSocketManager>, user_id: &str) -> Self { // silent: not an emission method
        Notifier { manager, user_id: user_id.to_string() }
    }

    pub async fn send_heartbeat(&self) -> Result<(), WsError> { // silent: `heartbeat` is not an event type
        self.manager.send_to_user(&self.user_id, json!({ "type": "heartbeat" })).await
    }

    pub async fn send_agent_thinking(&self, thought: &str) -> Result<(), WsError> { // expect: competing-emitter
        self.manager.send_to_user(&self.user_id, json!({ "thought": thought })).await
    }

    pub async fn send_tool_executing(&self, tool_name: &str) -> Result<(), WsError> { // silent: one finding per type and file
        self.manager.send_to_user(&self.user_id, json!({ "tool_name": tool_name })).await
    }
}

impl Notifier {
    pub async fn send_agent_completed(&self, answer: &str) -> Result<(), WsError> { // silent: the same type, a second `impl` block
        self.manager.send_to_user(&self.user_id, json!({ "final_response": answer })).await
    }
}

pub struct UserEmitter {
    manager: Arc<WebSocketManager>,
    user_id: String,
}

impl UserEmitter {
    pub async fn notify_user_joined(&self) -> Result<(), WsError> { // silent: `user_joined` is not an event type
        self.manager.send_to_user(&self.user_id, json!({ "type": "presence" })).await
    }

    pub async fn notify_agent_error(&self, error: &str) -> Result<(), WsError> { // expect: competing-emitter
        self.manager.send_to_user(&self.user_id, json!({ "error": error })).await
    }
}

/// Prints events instead of sending them; used by the command-line runner.
pub struct LoggingEmitter;

impl AgentEventEmitter for LoggingEmitter {
    fn emit_agent_started(&self, agent_name: &str) { // expect: competing-emitter
        println!("[agent_started] {agent_name}");
    }

    fn emit_tool_executing(&self, tool_name: &str, params: &Value) {
        println!("[tool_executing] {tool_name} {params}");
    }

    fn emit_agent_completed(&self, final_response: &str) {
        println!("[agent_completed] {final_response}");
    }
}

/// Receives events from the bridge: a sink, not a competitor.
pub struct AuditSink;

impl agent_events::EventSink for AuditSink {
    fn deliver(&self, event: &Arc<agent_events::schema::Event>) -> Result<(), agent_events::SinkError> {
        let _ = event;
        Ok(())
    }
}

impl AuditSink {
    pub fn emit_agent_completed(&self, summary: &str) { // silent: the type implements `EventSink`
        println!("audit: {summary}");
    }
}

/// A free function is not a type that competes.
pub async fn send_agent_started(manager: &WebSocketManager, user_id: &str) -> Result<(), WsError> { // silent: not a method of a type
    manager.send_to_user(user_id, json!({ "agent_name": "data_agent" })).await
}

pub struct Metrics;

impl Metrics {
    pub fn emit_counter(&self, name: &str) { // silent: `counter` is not an event type
        let _ = name;
    }

    pub fn publish_stats(&self) {} // silent: `stats` is not an event type
}

/// Seen in real code: a chat front-end's controller sending what the user typed.
pub struct AppController;

impl AppController {
    pub async fn send_user_message(&mut self) -> bool { // silent: what clients send
        true
    }
}
