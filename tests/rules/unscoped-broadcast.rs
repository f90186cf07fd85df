//! `unscoped-broadcast`: agent events sent to every connected user.

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::websocket::{now_secs, WebSocketManager};

pub struct Dashboard {
    manager: WebSocketManager,
    name: String,
}

impl Dashboard {
    /// Tells open dashboards that fresh numbers are available.
    pub async fn publish_refresh(&self, table: &str) {
        let event = json!({ "type": "agent_completed", "final_response": format!("{table} refreshed"), "success": true });
        self.manager.broadcast(event).await; // expect: unscoped-broadcast
    }

    pub async fn start_scheduled(&self, job: &str) {
        self.manager.broadcast_to_all("agent_started", json!({ "agent_name": self.name, "job": job })).await; // expect: unscoped-broadcast
    }

    pub async fn announce(&self, text: &str) -> usize {
        self.manager
            .broadcast(json!({ "type": "agent_response", "content": text })) // expect: unscoped-broadcast
            .await
    }

    pub async fn mirror_thought(&self, thought: &str) {
        let frame = json!({ "event": "agent_thinking", "thought": thought });
        self.manager.send_to_all(&frame).await; // expect: unscoped-broadcast
    }

    /// Tells every browser to reconnect elsewhere.
    pub async fn shutdown(&self) {
        let notice = json!({ "type": "server_shutdown", "reconnect_after_ms": 5000 });
        self.manager.broadcast(notice).await; // silent: a maintenance notice, not an agent event
    }

    pub async fn relay(&self, message: Value) -> usize {
        self.manager.broadcast(message).await // silent: what `message` holds is not known here
    }

    pub async fn reply(&self, user_id: &str, text: &str) {
        let event = json!({ "type": "agent_response", "content": text });
        let _ = self.manager.send_to_user(user_id, event).await; // silent: sent to one user
    }

    pub fn log_refresh(&self, table: &str) {
        println!("broadcast agent_completed for {table} at {}", now_secs()); // silent: a log message
    }
}

/// One run's events fan out to its own subscribers over a tokio broadcast channel.
pub fn run_channel() -> (broadcast::Sender<Value>, broadcast::Receiver<Value>) {
    broadcast::channel(64) // silent: a channel, not an all-users method
}

pub fn forward(tx: &broadcast::Sender<Value>, thought: &str) {
    let _ = tx.send(json!({ "type": "agent_thinking", "thought": thought })); // silent: `send` is not an all-users method
}

pub async fn finished(run: agent_events::Run, manager: &WebSocketManager, answer: &str) {
    run.completed(answer, ()); // silent: the canonical run, scoped to its user
    manager.broadcast(json!({ "type": "server_shutdown", "in_seconds": 60 })).await;
}
