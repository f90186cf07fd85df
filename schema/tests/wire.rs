//! The typed structs, the field tables, the validator and the JSON Schema agree with each other.

use agent_events_schema::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn compiled_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("urn:agent-events", json_schema()).expect("schema resource");
    let index =
        compiler.compile("urn:agent-events", &mut schemas).expect("the generated JSON Schema compiles");
    (schemas, index)
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9 _-]{0,12}"
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (0u32..3).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(text(), json_value(), 0..3).prop_map(|m| m.into_iter().collect())
}

fn reason() -> impl Strategy<Value = Option<CloseReason>> {
    prop::option::of(prop_oneof![
        Just(CloseReason::Failed),
        Just(CloseReason::Panicked),
        Just(CloseReason::Dropped)
    ])
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        prop::option::of(text()).prop_map(|message| Payload::AgentStarted(AgentStarted { message })),
        (text(), prop::option::of(text()), prop::option::of(any::<u64>())).prop_map(
            |(thought, reasoning, step_number)| {
                Payload::AgentThinking(AgentThinking { thought, reasoning, step_number })
            }
        ),
        (text(), text(), prop::option::of(object())).prop_map(|(tool_name, tool_call_id, parameters)| {
            Payload::ToolExecuting(ToolExecuting { tool_name, tool_call_id, parameters })
        }),
        (
            text(),
            text(),
            json_value(),
            any::<bool>(),
            prop::option::of(any::<u64>()),
            prop::option::of(text()),
            reason()
        )
            .prop_map(|(tool_name, tool_call_id, results, success, duration_ms, error, reason)| {
                Payload::ToolCompleted(ToolCompleted {
                    tool_name,
                    tool_call_id,
                    results,
                    success,
                    duration_ms,
                    error,
                    reason,
                })
            }),
        (
            prop::option::of(text()),
            prop::option::of(json_value()),
            any::<bool>(),
            prop::option::of(any::<u64>()),
            prop::option::of(text()),
            reason()
        )
            .prop_map(|(final_response, result, success, duration_ms, error, reason)| {
                // `result: Some(Value::Null)` is sent as `null` and read back as `None`.
                let result = result.filter(|r| !r.is_null());
                Payload::AgentCompleted(AgentCompleted {
                    final_response,
                    result,
                    success,
                    duration_ms,
                    error,
                    reason,
                })
            }),
        text().prop_map(|content| Payload::UserMessage(UserMessage { content })),
        text().prop_map(|content| Payload::AgentResponse(AgentResponse { content })),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (payload(), 1u64..1_000_000, text(), 0u32..2_000_000_000).prop_map(|(payload, seq, user, ts)| {
        Event::new(
            Envelope::new(user, "thread", "run", "agent", seq, format!("ev-{seq}"), f64::from(ts) + 0.25),
            payload,
        )
    })
}

/// A change to one field of a valid wire event.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    SetNull(usize),
    SetValue(usize, Value),
    Add(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::SetNull),
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::SetValue(i, v)),
        (text(), json_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ]
}

fn apply(mut value: Value, mutation: &Mutation) -> Value {
    let object = value.as_object_mut().expect("events are objects");
    let keys: Vec<String> = object.keys().filter(|k| *k != "type").cloned().collect();
    let pick = |i: usize| keys[i % keys.len()].clone();
    match mutation {
        Mutation::Remove(i) => {
            object.remove(&pick(*i));
        }
        Mutation::SetNull(i) => {
            object.insert(pick(*i), Value::Null);
        }
        Mutation::SetValue(i, v) => {
            object.insert(pick(*i), v.clone());
        }
        Mutation::Add(k, v) => {
            object.insert(k.clone(), v.clone());
        }
    }
    value
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn typed_events_round_trip_and_are_valid(event in event()) {
        let (schemas, index) = compiled_schema();
        let value = serde_json::to_value(&event).unwrap();
        prop_assert_eq!(validate(&value), Ok(()));
        prop_assert!(schemas.validate(&value, index).is_ok(), "JSON Schema rejects {}", value);
        let text = serde_json::to_string(&event).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, event);
    }

    #[test]
    fn the_validator_and_the_json_schema_agree(event in event(), mutations in prop::collection::vec(mutation(), 1..3)) {
        let (schemas, index) = compiled_schema();
        let value = mutations.iter().fold(serde_json::to_value(&event).unwrap(), apply);
        let ours = validate(&value);
        let theirs = schemas.validate(&value, index);
        prop_assert_eq!(
            ours.is_ok(),
            theirs.is_ok(),
            "validator: {:?}\nschema: {:?}\nvalue: {}",
            ours,
            theirs.err().map(|e| e.to_string()),
            value
        );
    }
}

#[test]
fn every_field_in_the_tables_is_emitted_by_the_typed_struct() {
    // A fully populated event of each type serializes exactly the table's fields.
    let full = [
        Payload::AgentStarted(AgentStarted { message: Some("m".into()) }),
        Payload::AgentThinking(AgentThinking {
            thought: "t".into(),
            reasoning: Some("r".into()),
            step_number: Some(1),
        }),
        Payload::ToolExecuting(ToolExecuting {
            tool_name: "n".into(),
            tool_call_id: "c".into(),
            parameters: Some(Map::new()),
        }),
        Payload::ToolCompleted(ToolCompleted {
            tool_name: "n".into(),
            tool_call_id: "c".into(),
            results: json!(1),
            success: false,
            duration_ms: Some(3),
            error: Some("e".into()),
            reason: Some(CloseReason::Failed),
        }),
        Payload::AgentCompleted(AgentCompleted {
            final_response: Some("f".into()),
            result: Some(json!({})),
            success: false,
            duration_ms: Some(3),
            error: Some("e".into()),
            reason: Some(CloseReason::Dropped),
        }),
        Payload::UserMessage(UserMessage { content: "c".into() }),
        Payload::AgentResponse(AgentResponse { content: "c".into() }),
    ];
    for payload in full {
        let ty = payload.event_type().unwrap();
        let value = Event::new(Envelope::new("u", "t", "r", "a", 1, "e", 1.0), payload).to_value();
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = ENVELOPE.iter().chain(ty.fields()).map(|f| f.name).collect();
        keys.sort_unstable();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{ty}");
    }
}

#[test]
fn a_missing_field_is_named_by_both_checks() {
    let (schemas, index) = compiled_schema();
    let mut value = Event::new(
        Envelope::new("u", "t", "r", "a", 1, "e", 1.0),
        Payload::ToolExecuting(ToolExecuting::new("search", "c1")),
    )
    .to_value();
    value.as_object_mut().unwrap().remove("tool_call_id");
    assert_eq!(
        validate(&value).unwrap_err().to_string(),
        "invalid `tool_executing` event: `tool_call_id` is missing"
    );
    assert!(schemas.validate(&value, index).is_err());
}

#[test]
fn another_schema_version_is_rejected_by_both_checks() {
    let (schemas, index) = compiled_schema();
    let mut value = Event::new(
        Envelope::new("u", "t", "r", "a", 1, "e", 1.0),
        Payload::UserMessage(UserMessage { content: "hi".into() }),
    )
    .to_value();
    value["v"] = json!(SCHEMA_VERSION + 1);
    assert!(schemas.validate(&value, index).is_err());
    assert_eq!(
        validate(&value).unwrap_err().to_string(),
        format!("invalid `user_message` event: `v` must be {SCHEMA_VERSION}, found {}", SCHEMA_VERSION + 1)
    );
}
