//! The agent-event wire format: the one source of truth for event types and their fields.
//!
//! - [`EventType`] and [`EVENTS`]: the seven built-in types and each type's field table
//!   ([`FieldSpec`]: name, JSON type, required, nullable). The linter and the macros read
//!   these tables; nothing else lists fields.
//! - [`Event`]: typed events ([`AgentStarted`], [`ToolExecuting`] …) that serialize to the flat
//!   wire object and parse back from it.
//! - [`validate`]: names every missing, `null`-where-not-allowed, mistyped or unknown field.
//! - [`json_schema`]: the JSON Schema of the wire format, generated from the same tables.
//!
//! No async runtime, no dependencies beyond `serde` and `serde_json`.

mod event;
mod json_schema;
mod spec;
mod validate;

pub use event::{
    AgentCompleted, AgentResponse, AgentStarted, AgentThinking, CustomEvent, Envelope, Event, Payload,
    ToolCompleted, ToolExecuting, UserMessage,
};
pub use json_schema::{event_schema, json_schema};
pub use spec::{
    CloseReason, EventSpec, EventType, FieldSpec, FieldType, UnknownEventType, ENVELOPE, EVENTS,
    NESTED_PAYLOAD_KEYS, SCHEMA_VERSION, TYPE_KEYS,
};
pub use validate::{
    is_custom_type_name, validate, validate_allowing_custom, Issue, Problem, ValidationError,
};
