//! `context-manager-call`: a websocket manager reached through the request context and used to
//! send.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::websocket::{WebSocketManager, WsError};

/// The request an agent serves.
#[derive(Clone)]
pub struct AgentContext {
    pub user_id: String,
    pub thread_id: String,
    pub websocket_manager: Option<Arc<WebSocketManager>>, // silent: a field declaration
    pub ws_bridge: Option<Arc<Mutex<MobileBridge>>>,
}

impl AgentContext {
    pub fn for_socket(user_id: &str, thread_id: &str, manager: Arc<WebSocketManager>) -> Self {
        AgentContext {
            user_id: user_id.to_string(),
            thread_id: thread_id.to_string(),
            websocket_manager: Some(manager), // silent: building a context
            ws_bridge: None,
        }
    }

    /// The manager attached to this request, if the transport set one.
    pub fn websocket_manager(&self) -> Option<Arc<WebSocketManager>> {
        self.websocket_manager.clone() // silent: handing it on, not sending
    }
}

pub struct DataAgent {
    context: AgentContext,
}

impl DataAgent {
    pub async fn think(&self, thought: &str) -> Result<(), WsError> {
        if let Some(manager) = &self.context.websocket_manager { // expect: context-manager-call
            manager.send_agent_thinking(&self.context.user_id, thought).await?;
        }
        Ok(())
    }

    pub async fn reply(&self, text: &str) -> Result<(), WsError> {
        self.context // expect: context-manager-call
            .websocket_manager
            .as_ref()
            .expect("data agent replies need a socket")
            .send_to_user(&self.context.user_id, json!({ "type": "agent_response", "content": text }))
            .await
    }

    pub async fn echo(&self, question: &str) -> Result<(), WsError> {
        let thread = &self.context.thread_id;
        // silent: what is sent is no agent event (no event type, no event method)
        self.context.websocket_manager().unwrap().send_to_thread(thread, json!({ "text": question })).await
    }

    /// Whether progress is streamed to a browser at all.
    pub fn is_streaming(&self) -> bool {
        self.context.websocket_manager.is_some() // silent: a presence check
    }

    pub async fn connections(&self) -> usize {
        match &self.context.websocket_manager {
            Some(manager) => manager.connection_count().await, // silent: not a sending method
            None => 0,
        }
    }
}

pub async fn run_single(ctx: &AgentContext, tool_name: &str, args: Value) -> Result<Value, WsError> {
    let Some(ws) = ctx.websocket_manager() else { return Ok(Value::Null) }; // expect: context-manager-call
    ws.send_tool_executing(&ctx.user_id, tool_name, &args).await?;
    Ok(args)
}

pub async fn respond(ctx: &AgentContext, text: &str) -> Result<(), WsError> {
    if ctx.websocket_manager.is_none() {
        // silent: a presence check, and a log line naming the field
        println!("no socket for {}: ctx.websocket_manager.send_to_thread skipped", ctx.user_id);
        return Ok(());
    }
    let manager = &ctx.websocket_manager; // expect: context-manager-call
    let reply = json!({ "type": "agent_response", "content": text });
    manager.as_ref().unwrap().send_to_thread(&ctx.thread_id, reply).await
}

pub async fn finish(ctx: &AgentContext, summary: &str) {
    if let Some(bridge) = &ctx.ws_bridge { // expect: context-manager-call
        bridge.lock().unwrap().emit_agent_completed(summary);
    }
}

pub async fn progress(ctx: &AgentContext, done: usize, total: usize) {
    let thought = format!("{done}/{total} steps");
    let sent = ctx.websocket_manager.as_ref().map(|m| m.send_agent_thinking(&ctx.user_id, &thought)); // expect: context-manager-call
    if let Some(sent) = sent {
        let _ = sent.await;
    }
}

pub async fn socket_stats(ctx: &AgentContext) -> usize {
    // silent: the closure only counts connections
    let open = ctx.websocket_manager.as_ref().map(|m| m.connection_count());
    match open {
        Some(count) => count.await,
        None => 0,
    }
}

pub fn keep_alive(ctx: &AgentContext) {
    spawn_heartbeat(ctx.websocket_manager.clone(), ctx.user_id.clone()); // silent: passing it along
}

fn spawn_heartbeat(manager: Option<Arc<WebSocketManager>>, user_id: String) {
    let _ = (manager, user_id);
}

/// A manager passed down as a parameter is not reached through another object.
pub async fn notify_done(websocket_manager: &WebSocketManager, user_id: &str) -> Result<(), WsError> {
    websocket_manager.send_to_user(user_id, json!({ "status": "done" })).await // silent: passed down, not reached through a context
}

pub async fn per_user(ctx: &AgentContext, answer: &str) -> Result<(), WsError> {
    // silent: the sanctioned factory takes the context; nothing is reached through it
    let manager = crate::context::get_websocket_manager(ctx);
    manager.send_to_user(&ctx.user_id, json!({ "content": answer })).await
}

pub fn think(run: &agent_events::Run, ctx: &AgentContext, thought: &str) {
    if ctx.websocket_manager.is_some() {
        run.thinking(thought); // silent: the canonical run handle
    }
}

pub struct MobileBridge;

impl MobileBridge {
    pub fn emit_agent_completed(&self, summary: &str) {
        let _ = summary;
    }
}

/// Seen in real code: a type's own manager streaming log lines — no agent event.
pub struct RunLogger {
    websocket_manager: Arc<WebSocketManager>,
    session_id: String,
}

impl RunLogger {
    pub async fn log(&self, message: &str) -> Result<(), WsError> {
        // silent: a `log` frame is no agent event, and `send_to_user` is given none
        self.websocket_manager.send_to_user(&self.session_id, json!({ "type": "log", "message": message })).await
    }

    pub async fn started(&self, agent_name: &str) -> Result<(), WsError> {
        let started = json!({ "type": "agent_started", "agent_name": agent_name });
        self.websocket_manager.send_to_user(&self.session_id, started).await // expect: context-manager-call
    }
}

pub struct Bridge {
    pub websocket_manager: Option<Arc<WebSocketManager>>,
}

pub struct BridgedContext {
    pub user_id: String,
    pub websocket_bridge: Bridge,
}

/// Seen in real code: the manager two hops away.
pub async fn send_started(ctx: &BridgedContext, agent_name: &str) -> Result<(), WsError> {
    if let Some(manager) = &ctx.websocket_bridge.websocket_manager { // expect: context-manager-call
        manager.send_agent_started(&ctx.user_id, agent_name).await?;
    }
    Ok(())
}
