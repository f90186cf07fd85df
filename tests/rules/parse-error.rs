//! `parse-error`: a file the linter cannot parse. The shapes above the merge conflict look odd
//! but are Rust, so the only finding is the conflict marker.

use serde_json::{json, Value};

use crate::websocket::{WebSocketManager, WsError};

/// Frames a browser may send, e.g. `{"type": "ping"}`; an unbalanced `{` in a doc comment.
pub const PING: &str = r#"{"type": "ping", "note": "a lone { in a raw string"}"#; // silent: a raw string

pub fn opening_brace() -> char {
    '{' // silent: a char literal
}

// A commented-out block with an unbalanced brace: fn legacy( {   silent: a comment

macro_rules! frame {
    ($kind:literal => $($key:literal : $value:expr),* $(,)?) => {
        json!({ "type": $kind, $($key: $value),* })
    };
}

pub fn thinking(thought: &str) -> Value {
    frame!("agent_thinking" => "thought": thought,) // silent: a macro with its own grammar
}

pub fn raw_identifier(r#type: &str) -> Value {
    json!({ "kind": r#type }) // silent: a raw identifier
}

pub async fn send_first(manager: &WebSocketManager, user_id: &str, frames: Vec<Value>) -> Result<(), WsError> {
    let Some(first) = frames.into_iter().next() else { return Ok(()) }; // silent: let-else
    let sent = 'send: {
        if first.is_null() {
            break 'send false; // silent: a labelled block
        }
        true
    };
    if sent {
        manager.send_to_user(user_id, first).await?;
    }
    Ok(())
}

pub async fn run_tool(manager: &WebSocketManager, emitter: &crate::user_emitter::UserEmitter, user_id: &str) {
<<<<<<< HEAD // `<` can start a qualified path, so the parser only fails on the next line
    let _ = manager.send_tool_executing(user_id, "search", &json!({})).await; // expect: parse-error
=======
    let _ = emitter.notify_tool_executing("search", &json!({})).await;
>>>>>>> feature/user-emitter
}
