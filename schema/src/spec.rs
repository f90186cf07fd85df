//! The field tables: which fields each event type carries, which are required, which may be
//! `null`, and what JSON type each holds. The linter, the macros, the validator and the JSON
//! Schema all read these tables; nothing else lists fields.

use std::fmt;
use std::str::FromStr;

/// Version of the wire format, sent as `v` in every event.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON type a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A JSON integer that is not negative.
    UnsignedInteger,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// Any JSON value.
    Any,
    /// One of the [`CloseReason`] strings: `failed`, `panicked`, `dropped`.
    Reason,
}

impl FieldType {
    /// Whether `value` (known not to be `null`) has this type.
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match self {
            FieldType::String => value.is_string(),
            FieldType::UnsignedInteger => value.is_u64(),
            FieldType::Number => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::Object => value.is_object(),
            FieldType::Any => true,
            FieldType::Reason => matches!(value, Value::String(s) if s.parse::<CloseReason>().is_ok()),
        }
    }

    /// A short description used in validation messages, e.g. `a string`.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::UnsignedInteger => "a non-negative integer",
            FieldType::Number => "a number",
            FieldType::Boolean => "a boolean",
            FieldType::Object => "an object",
            FieldType::Any => "any JSON value",
            FieldType::Reason => "one of \"failed\", \"panicked\", \"dropped\"",
        }
    }
}

/// One field of the wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The JSON key.
    pub name: &'static str,
    /// The JSON type of a non-null value.
    pub ty: FieldType,
    /// A required field must be present in every event of its type.
    pub required: bool,
    /// Whether `null` is allowed. Optional fields may always be `null` or absent.
    pub nullable: bool,
    /// What the field means, for docs and the JSON Schema.
    pub doc: &'static str,
}

const fn required(name: &'static str, ty: FieldType, doc: &'static str) -> FieldSpec {
    FieldSpec { name, ty, required: true, nullable: false, doc }
}

const fn required_nullable(name: &'static str, ty: FieldType, doc: &'static str) -> FieldSpec {
    FieldSpec { name, ty, required: true, nullable: true, doc }
}

const fn optional(name: &'static str, ty: FieldType, doc: &'static str) -> FieldSpec {
    FieldSpec { name, ty, required: false, nullable: true, doc }
}

/// The envelope: fields every event carries, filled in by the bridge, never by agent code.
/// `type` is listed here too, since it is on every event.
pub const ENVELOPE: &[FieldSpec] = &[
    required("v", FieldType::UnsignedInteger, "Schema version of the wire format."),
    required("type", FieldType::String, "The event type."),
    required("event_id", FieldType::String, "Unique id of this event."),
    required("seq", FieldType::UnsignedInteger, "Position of the event in its run: 1, 2, 3…"),
    required("timestamp", FieldType::Number, "When the event was emitted, in seconds since the Unix epoch."),
    required("user_id", FieldType::String, "The user the run belongs to; only their subscribers receive it."),
    required("thread_id", FieldType::String, "The conversation thread of the run."),
    required("run_id", FieldType::String, "The agent run the event belongs to."),
    required("agent_name", FieldType::String, "The agent that emitted the event."),
];

/// The seven built-in event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A run began.
    AgentStarted,
    /// The agent reports a reasoning step.
    AgentThinking,
    /// A tool call began.
    ToolExecuting,
    /// A tool call ended, successfully or not.
    ToolCompleted,
    /// A run ended, successfully or not.
    AgentCompleted,
    /// The user's message that the run answers.
    UserMessage,
    /// Text the agent sends to the user during the run.
    AgentResponse,
}

impl EventType {
    /// Every built-in type, in lifecycle order.
    pub const ALL: [EventType; 7] = [
        EventType::AgentStarted,
        EventType::AgentThinking,
        EventType::ToolExecuting,
        EventType::ToolCompleted,
        EventType::AgentCompleted,
        EventType::UserMessage,
        EventType::AgentResponse,
    ];

    /// The wire name, e.g. `tool_executing`.
    pub const fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The type's field table.
    pub const fn spec(self) -> &'static EventSpec {
        match self {
            EventType::AgentStarted => &EVENTS[0],
            EventType::AgentThinking => &EVENTS[1],
            EventType::ToolExecuting => &EVENTS[2],
            EventType::ToolCompleted => &EVENTS[3],
            EventType::AgentCompleted => &EVENTS[4],
            EventType::UserMessage => &EVENTS[5],
            EventType::AgentResponse => &EVENTS[6],
        }
    }

    /// The type's own fields (not the envelope).
    pub fn fields(self) -> &'static [FieldSpec] {
        self.spec().fields
    }

    /// The names of the type's own required fields, e.g. `tool_name`, `tool_call_id`.
    pub fn required_fields(self) -> impl Iterator<Item = &'static str> {
        self.fields().iter().filter(|f| f.required).map(|f| f.name)
    }

    /// The spec of one of the type's own fields.
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Whether a slow subscriber may lose this event before being disconnected
    /// (`agent_thinking`, `agent_response`): losing it changes no run's lifecycle.
    pub const fn is_droppable(self) -> bool {
        matches!(self, EventType::AgentThinking | EventType::AgentResponse)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not one of the seven built-in event types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEventType(pub String);

impl fmt::Display for UnknownEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an agent event type", self.0)
    }
}

impl std::error::Error for UnknownEventType {}

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// The field table of one event type.
#[derive(Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// The type.
    pub event_type: EventType,
    /// The wire name.
    pub name: &'static str,
    /// What the event means.
    pub doc: &'static str,
    /// The type's own fields, in wire order.
    pub fields: &'static [FieldSpec],
}

/// Every built-in event type's field table, in the order of [`EventType::ALL`].
pub const EVENTS: [EventSpec; 7] = [
    EventSpec {
        event_type: EventType::AgentStarted,
        name: "agent_started",
        doc: "A run began. Always the first event of a run, exactly once.",
        fields: &[optional("message", FieldType::String, "What the agent was asked to do.")],
    },
    EventSpec {
        event_type: EventType::AgentThinking,
        name: "agent_thinking",
        doc: "The agent reports a reasoning step.",
        fields: &[
            required("thought", FieldType::String, "The step, as shown to the user."),
            optional("reasoning", FieldType::String, "Longer reasoning behind the step."),
            optional("step_number", FieldType::UnsignedInteger, "1, 2, 3… within the run."),
        ],
    },
    EventSpec {
        event_type: EventType::ToolExecuting,
        name: "tool_executing",
        doc: "A tool call began. Always followed by exactly one tool_completed with the same tool_call_id.",
        fields: &[
            required("tool_name", FieldType::String, "The tool being called."),
            required("tool_call_id", FieldType::String, "Pairs this event with its tool_completed."),
            optional("parameters", FieldType::Object, "The call's arguments, capped and redacted."),
        ],
    },
    EventSpec {
        event_type: EventType::ToolCompleted,
        name: "tool_completed",
        doc: "A tool call ended, successfully or not.",
        fields: &[
            required("tool_name", FieldType::String, "The tool that was called."),
            required("tool_call_id", FieldType::String, "The id sent in the matching tool_executing."),
            required_nullable(
                "results",
                FieldType::Any,
                "What the tool returned, capped and redacted; null when it failed.",
            ),
            required("success", FieldType::Boolean, "Whether the tool succeeded."),
            optional("duration_ms", FieldType::UnsignedInteger, "Milliseconds since tool_executing."),
            optional("error", FieldType::String, "Why the tool failed."),
            optional("reason", FieldType::Reason, "How a failed call closed: failed, panicked or dropped."),
        ],
    },
    EventSpec {
        event_type: EventType::AgentCompleted,
        name: "agent_completed",
        doc: "A run ended, successfully or not. Always the last event of a run, exactly once.",
        fields: &[
            required_nullable(
                "final_response",
                FieldType::String,
                "The answer shown to the user; null when the run failed.",
            ),
            optional("result", FieldType::Any, "Structured result of the run, capped and redacted."),
            required("success", FieldType::Boolean, "Whether the run succeeded."),
            optional("duration_ms", FieldType::UnsignedInteger, "Milliseconds since agent_started."),
            optional("error", FieldType::String, "Why the run failed."),
            optional("reason", FieldType::Reason, "How a failed run closed: failed, panicked or dropped."),
        ],
    },
    EventSpec {
        event_type: EventType::UserMessage,
        name: "user_message",
        doc: "The user's message that the run answers.",
        fields: &[required("content", FieldType::String, "The message text.")],
    },
    EventSpec {
        event_type: EventType::AgentResponse,
        name: "agent_response",
        doc: "Text the agent sends to the user during the run.",
        fields: &[required("content", FieldType::String, "The response text.")],
    },
];

/// Keys under which hand-built events carry their type (`{"type": "agent_started"}`).
pub const TYPE_KEYS: [&str; 3] = ["type", "event", "event_type"];

/// Keys under which hand-built events nest their own fields one level down.
pub const NESTED_PAYLOAD_KEYS: [&str; 2] = ["data", "payload"];

/// How a failed tool call or run closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Closed explicitly as failed, or the body returned `Err`.
    Failed,
    /// The guard was dropped while its thread was panicking.
    Panicked,
    /// The guard went away unfinished: early return, cancellation, or its run closed first.
    Dropped,
}

impl CloseReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::Failed => "failed",
            CloseReason::Panicked => "panicked",
            CloseReason::Dropped => "dropped",
        }
    }
}

impl FromStr for CloseReason {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "failed" => Ok(CloseReason::Failed),
            "panicked" => Ok(CloseReason::Panicked),
            "dropped" => Ok(CloseReason::Dropped),
            _ => Err(()),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_the_order_of_all() {
        for (spec, ty) in EVENTS.iter().zip(EventType::ALL) {
            assert_eq!(spec.event_type, ty);
            assert_eq!(ty.spec().name, spec.name);
            assert_eq!(ty.as_str().parse::<EventType>(), Ok(ty));
        }
    }

    #[test]
    fn required_fields_match_the_design() {
        let req = |t: EventType| t.required_fields().collect::<Vec<_>>();
        assert!(req(EventType::AgentStarted).is_empty());
        assert_eq!(req(EventType::AgentThinking), ["thought"]);
        assert_eq!(req(EventType::ToolExecuting), ["tool_name", "tool_call_id"]);
        assert_eq!(req(EventType::ToolCompleted), ["tool_name", "tool_call_id", "results", "success"]);
        assert_eq!(req(EventType::AgentCompleted), ["final_response", "success"]);
        assert_eq!(req(EventType::UserMessage), ["content"]);
        assert_eq!(req(EventType::AgentResponse), ["content"]);
    }

    #[test]
    fn no_own_field_shadows_the_envelope() {
        for spec in &EVENTS {
            for field in spec.fields {
                assert!(ENVELOPE.iter().all(|e| e.name != field.name), "{} in {}", field.name, spec.name);
            }
        }
    }

    #[test]
    fn unknown_types_are_named_in_the_error() {
        let err = "tool_started".parse::<EventType>().unwrap_err();
        assert_eq!(err.to_string(), "`tool_started` is not an agent event type");
    }
}
