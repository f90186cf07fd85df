//! The JSON Schema (draft 2020-12) of the wire format, generated from the field tables.

use serde_json::{json, Map, Value};

use crate::spec::{EventType, FieldSpec, FieldType, ENVELOPE, EVENTS, SCHEMA_VERSION};

fn field_schema(field: &FieldSpec, event_type: EventType) -> Value {
    if field.name == "type" {
        return json!({ "const": event_type.as_str(), "description": field.doc });
    }
    if field.name == "v" {
        return json!({ "const": SCHEMA_VERSION, "description": field.doc });
    }
    let mut schema = match field.ty {
        FieldType::String => json!({ "type": "string" }),
        FieldType::UnsignedInteger => json!({ "type": "integer", "minimum": 0 }),
        FieldType::Number => json!({ "type": "number" }),
        FieldType::Boolean => json!({ "type": "boolean" }),
        FieldType::Object => json!({ "type": "object" }),
        FieldType::Any => json!({}),
        FieldType::Reason => json!({ "enum": ["failed", "panicked", "dropped"] }),
    };
    if field.nullable {
        if let Some(Value::String(ty)) = schema.get("type") {
            schema["type"] = json!([ty.clone(), "null"]);
        } else if let Some(Value::Array(choices)) = schema.get_mut("enum") {
            choices.push(Value::Null);
        }
    }
    schema["description"] = Value::String(field.doc.to_owned());
    schema
}

/// The JSON Schema of one event type: the envelope and the type's own fields, nothing else.
pub fn event_schema(event_type: EventType) -> Value {
    let spec = event_type.spec();
    let fields = ENVELOPE.iter().chain(spec.fields);
    let properties: Map<String, Value> =
        fields.clone().map(|f| (f.name.to_owned(), field_schema(f, event_type))).collect();
    let required: Vec<&str> = fields.filter(|f| f.required).map(|f| f.name).collect();
    json!({
        "title": spec.name,
        "description": spec.doc,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The JSON Schema of any built-in agent event: one of the seven per-type schemas.
///
/// ```
/// let schema = agent_events_schema::json_schema();
/// assert_eq!(schema["oneOf"].as_array().unwrap().len(), 7);
/// ```
pub fn json_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "agent event",
        "description": format!("One agent event as a client receives it (wire format version {SCHEMA_VERSION})."),
        "oneOf": EVENTS.iter().map(|s| event_schema(s.event_type)).collect::<Vec<_>>(),
    })
}
