//! `user-emitter-call`: calls of the legacy per-user emitter's `notify_*` methods.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::user_emitter::UserEmitter;
use crate::websocket::WsError;

pub struct ToolRunner {
    emitter: UserEmitter,
    idle: Arc<Notify>,
}

impl ToolRunner {
    pub async fn run(&self, tool_name: &str, call_id: &str, args: Value) -> Result<Value, WsError> {
        self.emitter.notify_tool_executing(tool_name, call_id, &args).await?; // expect: user-emitter-call
        let result = json!({ "rows": 3 });
        self.emitter.notify_tool_completed(tool_name, call_id, &result, true).await?; // expect: user-emitter-call
        self.idle.notify_one(); // silent: tokio's `Notify`, not an emitter
        Ok(result)
    }

    pub async fn answer(&self, question: &str) -> Result<String, WsError> {
        self.emitter.notify_agent_started("data_agent").await?; // expect: user-emitter-call
        self.emitter.notify_agent_thinking(question).await?; // expect: user-emitter-call
        let answer = format!("{} rows match", 3);
        self.emitter.notify_agent_completed(&answer).await?; // agent-events: allow(user-emitter-call) -- silent: suppressed, migrated in PR 12
        Ok(answer)
    }

    pub async fn fail(&self, error: &str) {
        if let Err(e) = self.emitter.notify_agent_error(error).await { // expect: user-emitter-call
            eprintln!("notify_agent_error not delivered: {e}"); // silent: a log message
        }
        self.idle.notify_waiters(); // silent: not in the list
    }

    pub async fn joined(&self) -> Result<(), WsError> {
        self.emitter.notify_user_joined().await // silent: a presence frame, not in the list
    }

    pub async fn started_by_path(&self) -> Result<(), WsError> {
        UserEmitter::notify_agent_started(&self.emitter, "data_agent").await // expect: user-emitter-call
    }
}

/// A test double that records what it was told; defining the methods is not calling them.
pub struct RecordingEmitter {
    pub seen: std::sync::Mutex<Vec<String>>,
}

impl RecordingEmitter {
    pub async fn notify_agent_started(&self, agent_name: &str) -> Result<(), WsError> { // silent: a definition
        self.seen.lock().unwrap().push(format!("notify_agent_started {agent_name}")); // silent: a string
        Ok(())
    }
}

pub fn run_tool(run: &agent_events::Run, wake: &Notify, query: &str) {
    let call = run.tool_executing("search", json!({ "query": query })); // silent: the canonical run handle
    wake.notify_one();
    call.completed(());
}
