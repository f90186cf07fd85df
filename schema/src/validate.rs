//! Validation of wire events against the field tables, naming every problem at once.
//!
//! ```
//! use serde_json::json;
//!
//! let err = agent_events_schema::validate(&json!({
//!     "v": 1, "type": "tool_completed", "event_id": "e1", "seq": 2, "timestamp": 1.0,
//!     "user_id": "u", "thread_id": "t", "run_id": "r", "agent_name": "a",
//!     "tool_call_id": "c1", "success": "yes",
//! }))
//! .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "invalid `tool_completed` event: `tool_name` is missing; `results` is missing; \
//!      `success` must be a boolean, found a string"
//! );
//! ```

use std::fmt;

use serde_json::{Map, Value};

use crate::spec::{EventType, FieldSpec, ENVELOPE, SCHEMA_VERSION};

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A required field is absent.
    Missing,
    /// `v` is not the schema version this crate reads.
    WrongVersion {
        /// The version found.
        found: u64,
    },
    /// The field is `null` but must hold a value.
    Null {
        /// What it must hold.
        expected: &'static str,
    },
    /// The field holds the wrong JSON type.
    WrongType {
        /// What it must hold.
        expected: &'static str,
        /// What it holds.
        found: &'static str,
    },
    /// The field is not part of the event type.
    Unknown,
    /// The `type` is not one of the built-in event types.
    UnknownType,
    /// A custom event type collides with a built-in type or is not lower snake case.
    InvalidCustomType,
    /// A custom event's own field uses an envelope key, which only the bridge fills in.
    Reserved,
}

/// One problem, at one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// The field's key (empty for the event as a whole).
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.field;
        match &self.problem {
            Problem::Missing => write!(f, "`{field}` is missing"),
            Problem::WrongVersion { found } => write!(f, "`{field}` must be {SCHEMA_VERSION}, found {found}"),
            Problem::Null { expected } => write!(f, "`{field}` is null but must be {expected}"),
            Problem::WrongType { expected, found } => {
                write!(f, "`{field}` must be {expected}, found {found}")
            }
            Problem::Unknown => write!(f, "`{field}` is not a field of this event type"),
            Problem::UnknownType => write!(f, "`type` is not one of the agent event types"),
            Problem::InvalidCustomType => {
                write!(f, "`type` of a custom event must be lower snake case and not a built-in event type")
            }
            Problem::Reserved => write!(f, "`{field}` is an envelope field that only the bridge fills in"),
        }
    }
}

/// Why a value is not a valid agent event: every problem found, in field order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// The event's `type`, when it has a string one.
    pub event_type: Option<String>,
    /// Every problem found.
    pub issues: Vec<Issue>,
    /// A problem that is not about one field (e.g. the value is not an object).
    pub other: Option<String>,
}

impl ValidationError {
    pub(crate) fn other(message: String) -> Self {
        ValidationError { event_type: None, issues: Vec::new(), other: Some(message) }
    }

    /// Whether `field` has a problem of this kind.
    pub fn has(&self, field: &str, problem: &Problem) -> bool {
        self.issues.iter().any(|i| i.field == field && &i.problem == problem)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event_type {
            Some(t) => write!(f, "invalid `{t}` event: ")?,
            None => f.write_str("invalid agent event: ")?,
        }
        let mut first = true;
        for issue in &self.issues {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{issue}")?;
        }
        if let Some(other) = &self.other {
            if !first {
                f.write_str("; ")?;
            }
            f.write_str(other)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_field(spec: &FieldSpec, object: &Map<String, Value>, issues: &mut Vec<Issue>) {
    let issue = |problem| Issue { field: spec.name.to_owned(), problem };
    match object.get(spec.name) {
        None if spec.required => issues.push(issue(Problem::Missing)),
        None => {}
        Some(Value::Null) if spec.nullable => {}
        Some(Value::Null) => issues.push(issue(Problem::Null { expected: spec.ty.describe() })),
        Some(value) if !spec.ty.accepts(value) => {
            issues.push(issue(Problem::WrongType { expected: spec.ty.describe(), found: json_kind(value) }))
        }
        Some(_) => {}
    }
}

/// Validates a wire event of one of the seven built-in types: every missing, `null`-where-not-
/// allowed, mistyped or unknown field is named.
pub fn validate(value: &Value) -> Result<(), ValidationError> {
    validate_inner(value, false)
}

/// Like [`validate`], but an event whose `type` is not built in is accepted as a custom event
/// when its envelope is valid and its type name is lower snake case.
pub fn validate_allowing_custom(value: &Value) -> Result<(), ValidationError> {
    validate_inner(value, true)
}

fn validate_inner(value: &Value, allow_custom: bool) -> Result<(), ValidationError> {
    let Value::Object(object) = value else {
        return Err(ValidationError::other(format!(
            "an agent event must be a JSON object, found {}",
            json_kind(value)
        )));
    };
    let mut issues = Vec::new();
    for spec in ENVELOPE {
        check_field(spec, object, &mut issues);
    }
    if let Some(found) = object.get("v").and_then(Value::as_u64).filter(|v| *v != u64::from(SCHEMA_VERSION)) {
        issues.push(Issue { field: "v".into(), problem: Problem::WrongVersion { found } });
    }
    let event_type = object.get("type").and_then(Value::as_str).map(str::to_owned);
    match event_type.as_deref().map(str::parse::<EventType>) {
        Some(Ok(ty)) => {
            for spec in ty.fields() {
                check_field(spec, object, &mut issues);
            }
            for key in object.keys() {
                if ENVELOPE.iter().all(|f| f.name != key) && ty.field(key).is_none() {
                    issues.push(Issue { field: key.clone(), problem: Problem::Unknown });
                }
            }
        }
        Some(Err(_)) if allow_custom && !is_custom_type_name(event_type.as_deref().unwrap_or_default()) => {
            issues.push(Issue { field: "type".into(), problem: Problem::InvalidCustomType });
        }
        Some(Err(_)) if allow_custom => {}
        Some(Err(_)) => issues.push(Issue { field: "type".into(), problem: Problem::UnknownType }),
        None => {} // reported as missing or mistyped by the envelope check
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { event_type, issues, other: None })
    }
}

/// Whether `name` can be the type of a custom event: lower snake case (`[a-z][a-z0-9_]*`) and
/// not a built-in type.
pub fn is_custom_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.parse::<EventType>().is_err()
}

pub(crate) fn check_custom(event_type: &str, fields: &Map<String, Value>) -> Result<(), ValidationError> {
    let mut issues = Vec::new();
    if !is_custom_type_name(event_type) {
        issues.push(Issue { field: "type".into(), problem: Problem::InvalidCustomType });
    }
    for key in fields.keys() {
        if ENVELOPE.iter().any(|f| f.name == key) {
            issues.push(Issue { field: key.clone(), problem: Problem::Reserved });
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { event_type: Some(event_type.to_owned()), issues, other: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base(ty: &str) -> Value {
        json!({"v": 1, "type": ty, "event_id": "e", "seq": 1, "timestamp": 2.5,
               "user_id": "u", "thread_id": "t", "run_id": "r", "agent_name": "a"})
    }

    fn with(mut v: Value, extra: Value) -> Value {
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    }

    #[test]
    fn a_complete_event_is_valid() {
        assert_eq!(validate(&base("agent_started")), Ok(()));
        let v = with(
            base("tool_completed"),
            json!({"tool_name": "s", "tool_call_id": "c", "results": null, "success": true}),
        );
        assert_eq!(validate(&v), Ok(()));
    }

    #[test]
    fn null_is_allowed_only_where_marked() {
        let v = with(base("agent_completed"), json!({"final_response": null, "success": null}));
        let err = validate(&v).unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert!(err.has("success", &Problem::Null { expected: "a boolean" }));
    }

    #[test]
    fn every_problem_is_named() {
        let v = json!({"type": "agent_thinking", "seq": -1, "step_number": "two", "tool": "x"});
        let err = validate(&v).unwrap_err();
        for field in ["v", "event_id", "timestamp", "user_id", "thread_id", "run_id", "agent_name", "thought"]
        {
            assert!(err.has(field, &Problem::Missing), "{field}: {err}");
        }
        assert!(
            err.has("seq", &Problem::WrongType { expected: "a non-negative integer", found: "an integer" })
        );
        assert!(err.has(
            "step_number",
            &Problem::WrongType { expected: "a non-negative integer", found: "a string" }
        ));
        assert!(err.has("tool", &Problem::Unknown));
    }

    #[test]
    fn unknown_types_need_the_custom_variant() {
        let v = with(base("plan_updated"), json!({"steps": 2}));
        assert!(validate(&v).unwrap_err().has("type", &Problem::UnknownType));
        assert_eq!(validate_allowing_custom(&v), Ok(()));
        let bad = base("Plan Updated");
        assert!(validate_allowing_custom(&bad).unwrap_err().has("type", &Problem::InvalidCustomType));
    }

    #[test]
    fn reason_must_be_a_known_close_reason() {
        let v = with(
            base("tool_completed"),
            json!({"tool_name": "s", "tool_call_id": "c", "results": null, "success": false, "reason": "timeout"}),
        );
        let err = validate(&v).unwrap_err();
        assert_eq!(err.to_string(), "invalid `tool_completed` event: `reason` must be one of \"failed\", \"panicked\", \"dropped\", found a string");
    }

    #[test]
    fn non_objects_are_rejected_with_their_kind() {
        assert_eq!(
            validate(&json!([1])).unwrap_err().to_string(),
            "invalid agent event: an agent event must be a JSON object, found an array"
        );
    }
}
