//! What goes on the wire: event frames and control frames, for WebSocket and SSE.

use agent_events_schema::Event;
use serde::Serialize;
use serde_json::json;

/// A control frame: something the client must know that is not an event.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Control {
    /// Events between the resume cursor and the buffer were lost (how many, if known).
    Gap { missed: Option<u64> },
    /// The resume cursor is unknown; the whole buffer follows.
    Reset,
    /// The connection fell behind and is closed; the client resumes after its last cursor.
    Lagged,
    /// The credentials expired; the connection is closed.
    TokenExpired,
    /// The server is shutting down; the connection is closed.
    Shutdown,
    /// The user's events cannot be read now; the connection is closed.
    Unavailable,
}

impl Control {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Control::Gap { .. } => "gap",
            Control::Reset => "reset",
            Control::Lagged => "lagged",
            Control::TokenExpired => "token_expired",
            Control::Shutdown => "shutdown",
            Control::Unavailable => "unavailable",
        }
    }

    /// `{"control": "<name>", …}`.
    pub(crate) fn json(&self) -> String {
        let value = match self {
            Control::Gap { missed } => json!({ "control": self.name(), "missed": missed }),
            Control::Reset => json!({ "control": self.name(), "reason": "unknown_cursor" }),
            Control::Lagged | Control::TokenExpired | Control::Shutdown | Control::Unavailable => {
                json!({ "control": self.name() })
            }
        };
        value.to_string()
    }
}

#[derive(Serialize)]
struct WsEnvelope<'a> {
    cursor: &'a str,
    event: &'a Event,
}

/// A WebSocket text frame: `{"cursor": "…", "event": {…}}`.
pub(crate) fn ws_event(cursor: &str, event: &Event) -> Result<String, serde_json::Error> {
    serde_json::to_string(&WsEnvelope { cursor, event })
}

/// An SSE event: `id: <cursor>`, `event: <type>`, `data: <event json>`.
pub(crate) fn sse_event(cursor: &str, event: &Event) -> Result<String, serde_json::Error> {
    let data = serde_json::to_string(event)?;
    // A custom type name cannot hold a line break, but the wire must not depend on it.
    let event_type: String = event.type_name().chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    Ok(format!("id: {cursor}\nevent: {event_type}\ndata: {data}\n\n"))
}

/// An SSE control event: `event: agent_events.<name>` with the control JSON as data, and no id
/// (so it does not move the browser's `Last-Event-ID`).
pub(crate) fn sse_control(control: Control) -> String {
    format!("event: agent_events.{}\ndata: {}\n\n", control.name(), control.json())
}

/// The SSE keep-alive comment.
pub(crate) const SSE_KEEP_ALIVE: &str = ": keep-alive\n\n";
