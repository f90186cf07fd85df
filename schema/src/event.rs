//! Typed events: what the bridge emits and what tests build expected events from.
//!
//! An [`Event`] is an [`Envelope`] (identity and ordering, filled in by the bridge) plus a
//! [`Payload`] (the type and its own fields). On the wire it is one flat JSON object:
//!
//! ```
//! use agent_events_schema::{Envelope, Event, Payload, ToolExecuting};
//!
//! let event = Event::new(
//!     Envelope::new("user-1", "thread-1", "run-1", "data_agent", 2, "ev-2", 1_700_000_000.5),
//!     Payload::ToolExecuting(ToolExecuting::new("search", "call-1")),
//! );
//! let json = serde_json::to_value(&event).unwrap();
//! assert_eq!(json["type"], "tool_executing");
//! assert_eq!(json["tool_name"], "search");
//! assert_eq!(json["seq"], 2);
//! let back: Event = serde_json::from_value(json).unwrap();
//! assert_eq!(back, event);
//! ```

use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::spec::{CloseReason, EventType, SCHEMA_VERSION};
use crate::validate::{self, ValidationError};

/// The identity and position of an event: the fields the bridge fills in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub v: u32,
    /// Unique id of this event.
    pub event_id: Arc<str>,
    /// 1, 2, 3… within the run.
    pub seq: u64,
    /// Seconds since the Unix epoch.
    pub timestamp: f64,
    /// The user the run belongs to.
    pub user_id: Arc<str>,
    /// The conversation thread.
    pub thread_id: Arc<str>,
    /// The run.
    pub run_id: Arc<str>,
    /// The agent.
    pub agent_name: Arc<str>,
}

impl Envelope {
    /// An envelope of the current schema version.
    pub fn new(
        user_id: impl Into<Arc<str>>,
        thread_id: impl Into<Arc<str>>,
        run_id: impl Into<Arc<str>>,
        agent_name: impl Into<Arc<str>>,
        seq: u64,
        event_id: impl Into<Arc<str>>,
        timestamp: f64,
    ) -> Self {
        Envelope {
            v: SCHEMA_VERSION,
            event_id: event_id.into(),
            seq,
            timestamp,
            user_id: user_id.into(),
            thread_id: thread_id.into(),
            run_id: run_id.into(),
            agent_name: agent_name.into(),
        }
    }
}

/// `agent_started`: a run began.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentStarted {
    /// What the agent was asked to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `agent_thinking`: a reasoning step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentThinking {
    /// The step, as shown to the user.
    pub thought: String,
    /// Longer reasoning behind the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// 1, 2, 3… within the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_number: Option<u64>,
}

impl AgentThinking {
    /// A thought with no reasoning or step number.
    pub fn new(thought: impl Into<String>) -> Self {
        AgentThinking { thought: thought.into(), ..Default::default() }
    }
}

/// `tool_executing`: a tool call began.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolExecuting {
    /// The tool being called.
    pub tool_name: String,
    /// Pairs this event with its `tool_completed`.
    pub tool_call_id: String,
    /// The call's arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
}

impl ToolExecuting {
    /// A call with no parameters.
    pub fn new(tool_name: impl Into<String>, tool_call_id: impl Into<String>) -> Self {
        ToolExecuting { tool_name: tool_name.into(), tool_call_id: tool_call_id.into(), parameters: None }
    }
}

/// `tool_completed`: a tool call ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCompleted {
    /// The tool that was called.
    pub tool_name: String,
    /// The id sent in the matching `tool_executing`.
    pub tool_call_id: String,
    /// What the tool returned; `null` when it failed. Always present on the wire.
    pub results: Value,
    /// Whether the tool succeeded.
    pub success: bool,
    /// Milliseconds since `tool_executing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How a failed call closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloseReason>,
}

impl ToolCompleted {
    /// A successful completion with these results.
    pub fn succeeded(tool_name: impl Into<String>, tool_call_id: impl Into<String>, results: Value) -> Self {
        ToolCompleted {
            tool_name: tool_name.into(),
            tool_call_id: tool_call_id.into(),
            results,
            success: true,
            ..Default::default()
        }
    }
}

/// `agent_completed`: a run ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentCompleted {
    /// The answer shown to the user; `null` when the run failed. Always present on the wire.
    #[serde(deserialize_with = "present_nullable")]
    pub final_response: Option<String>,
    /// Structured result of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Whether the run succeeded.
    pub success: bool,
    /// Milliseconds since `agent_started`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How a failed run closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloseReason>,
}

/// Deserializes a required field that may be `null` (a missing key is an error, not `None`).
fn present_nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// `user_message`: the user's message that the run answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMessage {
    /// The message text.
    pub content: String,
}

/// `agent_response`: text the agent sends during the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentResponse {
    /// The response text.
    pub content: String,
}

/// An event type defined by the application, with its own flat fields.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomEvent {
    /// The wire `type`: lower snake case, not one of the built-in types.
    pub event_type: String,
    /// The event's own fields (no envelope keys).
    pub fields: Map<String, Value>,
}

impl CustomEvent {
    /// An event of this type with no fields yet.
    pub fn new(event_type: impl Into<String>) -> Self {
        CustomEvent { event_type: event_type.into(), fields: Map::new() }
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Checks the type name and the field names: why this event cannot be sent, if it cannot.
    pub fn check(&self) -> Result<(), ValidationError> {
        validate::check_custom(&self.event_type, &self.fields)
    }
}

/// The type of an event and its own fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// `agent_started`
    AgentStarted(AgentStarted),
    /// `agent_thinking`
    AgentThinking(AgentThinking),
    /// `tool_executing`
    ToolExecuting(ToolExecuting),
    /// `tool_completed`
    ToolCompleted(ToolCompleted),
    /// `agent_completed`
    AgentCompleted(AgentCompleted),
    /// `user_message`
    UserMessage(UserMessage),
    /// `agent_response`
    AgentResponse(AgentResponse),
    /// An application-defined type.
    Custom(CustomEvent),
}

impl Payload {
    /// The built-in type, or `None` for a custom event.
    pub fn event_type(&self) -> Option<EventType> {
        Some(match self {
            Payload::AgentStarted(_) => EventType::AgentStarted,
            Payload::AgentThinking(_) => EventType::AgentThinking,
            Payload::ToolExecuting(_) => EventType::ToolExecuting,
            Payload::ToolCompleted(_) => EventType::ToolCompleted,
            Payload::AgentCompleted(_) => EventType::AgentCompleted,
            Payload::UserMessage(_) => EventType::UserMessage,
            Payload::AgentResponse(_) => EventType::AgentResponse,
            Payload::Custom(_) => return None,
        })
    }

    /// The wire `type`.
    pub fn type_name(&self) -> &str {
        match self {
            Payload::Custom(custom) => &custom.event_type,
            builtin => builtin.event_type().map_or("", EventType::as_str),
        }
    }

    /// The `tool_call_id` of a `tool_executing` or `tool_completed`.
    pub fn tool_call_id(&self) -> Option<&str> {
        match self {
            Payload::ToolExecuting(e) => Some(&e.tool_call_id),
            Payload::ToolCompleted(e) => Some(&e.tool_call_id),
            _ => None,
        }
    }

    fn from_fields(event_type: &str, fields: Map<String, Value>) -> Result<Self, serde_json::Error> {
        let value = Value::Object(fields);
        let Ok(ty) = event_type.parse::<EventType>() else {
            let Value::Object(fields) = value else { unreachable!("built from a map") };
            return Ok(Payload::Custom(CustomEvent { event_type: event_type.to_owned(), fields }));
        };
        Ok(match ty {
            EventType::AgentStarted => Payload::AgentStarted(serde_json::from_value(value)?),
            EventType::AgentThinking => Payload::AgentThinking(serde_json::from_value(value)?),
            EventType::ToolExecuting => Payload::ToolExecuting(serde_json::from_value(value)?),
            EventType::ToolCompleted => Payload::ToolCompleted(serde_json::from_value(value)?),
            EventType::AgentCompleted => Payload::AgentCompleted(serde_json::from_value(value)?),
            EventType::UserMessage => Payload::UserMessage(serde_json::from_value(value)?),
            EventType::AgentResponse => Payload::AgentResponse(serde_json::from_value(value)?),
        })
    }
}

/// One agent event, as a client receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Identity and position.
    pub envelope: Envelope,
    /// Type and own fields.
    pub payload: Payload,
}

impl Event {
    /// Joins an envelope and a payload.
    pub fn new(envelope: Envelope, payload: Payload) -> Self {
        Event { envelope, payload }
    }

    /// The wire `type`.
    pub fn type_name(&self) -> &str {
        self.payload.type_name()
    }

    /// The built-in type, or `None` for a custom event.
    pub fn event_type(&self) -> Option<EventType> {
        self.payload.event_type()
    }

    /// The event as one flat JSON object.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Parses and validates a wire event; custom types are accepted when their envelope is valid.
    pub fn from_value(value: Value) -> Result<Self, ValidationError> {
        validate::validate_allowing_custom(&value)?;
        Event::deserialize(value).map_err(|e| ValidationError::other(e.to_string()))
    }
}

impl AsRef<Event> for Event {
    fn as_ref(&self) -> &Event {
        self
    }
}

/// The flat wire shape, serialized without building an intermediate map.
#[derive(Serialize)]
struct WireRef<'a> {
    v: u32,
    #[serde(rename = "type")]
    ty: &'a str,
    event_id: &'a str,
    seq: u64,
    timestamp: f64,
    user_id: &'a str,
    thread_id: &'a str,
    run_id: &'a str,
    agent_name: &'a str,
    #[serde(flatten)]
    fields: FieldsRef<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum FieldsRef<'a> {
    AgentStarted(&'a AgentStarted),
    AgentThinking(&'a AgentThinking),
    ToolExecuting(&'a ToolExecuting),
    ToolCompleted(&'a ToolCompleted),
    AgentCompleted(&'a AgentCompleted),
    UserMessage(&'a UserMessage),
    AgentResponse(&'a AgentResponse),
    Custom(&'a Map<String, Value>),
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = &self.envelope;
        let fields = match &self.payload {
            Payload::AgentStarted(p) => FieldsRef::AgentStarted(p),
            Payload::AgentThinking(p) => FieldsRef::AgentThinking(p),
            Payload::ToolExecuting(p) => FieldsRef::ToolExecuting(p),
            Payload::ToolCompleted(p) => FieldsRef::ToolCompleted(p),
            Payload::AgentCompleted(p) => FieldsRef::AgentCompleted(p),
            Payload::UserMessage(p) => FieldsRef::UserMessage(p),
            Payload::AgentResponse(p) => FieldsRef::AgentResponse(p),
            Payload::Custom(c) => FieldsRef::Custom(&c.fields),
        };
        WireRef {
            v: e.v,
            ty: self.type_name(),
            event_id: &e.event_id,
            seq: e.seq,
            timestamp: e.timestamp,
            user_id: &e.user_id,
            thread_id: &e.thread_id,
            run_id: &e.run_id,
            agent_name: &e.agent_name,
            fields,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    /// Accepts only valid events (see [`crate::validate_allowing_custom`]), so that a parsed
    /// event always serializes back to the same object.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        validate::validate_allowing_custom(&value).map_err(D::Error::custom)?;
        let Value::Object(mut map) = value else {
            return Err(D::Error::custom("an agent event must be a JSON object"));
        };
        let event_type = match map.remove("type") {
            Some(Value::String(s)) => s,
            _ => return Err(D::Error::custom("missing `type`")),
        };
        let mut envelope = Map::new();
        for field in crate::spec::ENVELOPE {
            if let Some(value) = map.remove(field.name) {
                envelope.insert(field.name.to_owned(), value);
            }
        }
        let envelope: Envelope = serde_json::from_value(Value::Object(envelope)).map_err(D::Error::custom)?;
        let payload = Payload::from_fields(&event_type, map).map_err(D::Error::custom)?;
        Ok(Event { envelope, payload })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope() -> Envelope {
        Envelope::new("u1", "t1", "r1", "agent", 1, "e1", 1.5)
    }

    #[test]
    fn wire_object_is_flat_and_ordered() {
        let ev = Event::new(envelope(), Payload::UserMessage(UserMessage { content: "hi".into() }));
        let text = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            text,
            r#"{"v":1,"type":"user_message","event_id":"e1","seq":1,"timestamp":1.5,"user_id":"u1","thread_id":"t1","run_id":"r1","agent_name":"agent","content":"hi"}"#
        );
    }

    #[test]
    fn required_nullable_fields_are_always_sent() {
        let ev = Event::new(
            envelope(),
            Payload::AgentCompleted(AgentCompleted { success: false, ..Default::default() }),
        );
        let v = ev.to_value();
        assert_eq!(v["final_response"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("final_response"));
        assert!(!v.as_object().unwrap().contains_key("result"));
        let tc = Event::new(envelope(), Payload::ToolCompleted(ToolCompleted::default())).to_value();
        assert!(tc.as_object().unwrap().contains_key("results"));
    }

    #[test]
    fn custom_events_round_trip() {
        let ev = Event::new(envelope(), Payload::Custom(CustomEvent::new("plan_updated").field("steps", 3)));
        let v = ev.to_value();
        assert_eq!(v["type"], "plan_updated");
        assert_eq!(v["steps"], 3);
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), ev);
    }

    #[test]
    fn deserializing_rejects_a_missing_required_field_by_name() {
        let mut v =
            Event::new(envelope(), Payload::ToolExecuting(ToolExecuting::new("search", "c1"))).to_value();
        v.as_object_mut().unwrap().remove("tool_name");
        let err = serde_json::from_value::<Event>(v).unwrap_err().to_string();
        assert!(err.contains("`tool_name` is missing"), "{err}");
        let err = serde_json::from_value::<Event>(json!({"type": "agent_started"})).unwrap_err().to_string();
        assert!(err.contains("`event_id` is missing"), "{err}");
    }
}
