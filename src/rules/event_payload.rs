//! `event-payload`: an agent event built by hand — a map literal whose `type`/`event`/
//! `event_type` is an event type, `map.insert("type", <event type>)`, or an event type passed
//! as a string literal to a send/emit helper.

use agent_events_schema::{EventType, FieldType, TYPE_KEYS};

use super::{Cx, Hit, ListDecl, Needles};

/// Methods that set a map entry; helpers that take an event type as a string (all-users ones
/// too); methods that turn a typed model into a payload.
pub(super) const LISTS: &[ListDecl] = &[
    ListDecl::names("insert-methods"),
    ListDecl::names("send-helpers"),
    ListDecl::names("broadcast-methods"),
    ListDecl::names("serializers"),
];

/// The event type a name spells (`agent_started_event`, `ToolCompletedEvent`): a known type,
/// alone or before `_…`; `user_message` never (it names what users write).
fn event_named(cx: &Cx<'_>, name: &str) -> Option<String> {
    let snake = to_snake(name);
    cx.events.names().filter(|e| *e != "user_message").find_map(|e| {
        let rest = snake.strip_prefix(e)?;
        (rest.is_empty() || rest.starts_with('_')).then(|| e.to_owned())
    })
}

/// `ToolCompletedEvent` → `tool_completed_event`; snake case stays as it is.
fn to_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A typed event model serialised by hand into a send (`websocket.send_text(json.dumps(
/// agent_started_event.model_dump()))`): the model is named for its event type.
fn serialised_models(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for (i, call) in cx.facts.calls.iter().enumerate() {
        if !call.is_method() || !cx.rule.listed("serializers", &call.name) {
            continue;
        }
        let Some(chain) = call.receiver.as_ref().filter(|c| c.segs.is_empty()) else { continue };
        let named = match &chain.root {
            crate::facts::Root::Ident(name) => event_named(cx, name),
            crate::facts::Root::Call(path) => path.last().and_then(|n| event_named(cx, n)),
            _ => None,
        };
        let Some(event) = named else { continue };
        let Some(send) = cx.sends().of_call(i).map(|s| &cx.facts.calls[s]) else { continue };
        let how = format!("a model serialised by hand into `{}`", send.name);
        hits.push(event_hit(cx, chain.root_span, &event, &how).label(send.name_span, "sent here"));
    }
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let facts = cx.facts;
    let test_code = is_test_path(cx.rel);
    for (i, literal) in facts.literals.iter().enumerate() {
        let Some(found) = cx.event_of(i) else { continue };
        let mut hit = event_hit(cx, found.span, &found.event, "built as a literal");
        if let Some(send) = cx.sent_by(i) {
            hit = hit.label(send.name_span, format!("sent by `{}`", send.name));
        }
        if let Some(fix) = (test_code && found.known).then(|| typed(cx, literal, &found.event)).flatten() {
            hit = hit.fix(fix);
        }
        hits.push(hit);
    }
    // `ev["type"] = "tool_executing"`
    for assign in &facts.index_assigns {
        if let ([key], Some((value, span))) = (assign.keys.as_slice(), &assign.value) {
            // Whether a `user_message` assembled this way is sent to a user is not known.
            if TYPE_KEYS.contains(&key.as_str()) && cx.events.is_event(value) && value != "user_message" {
                hits.push(event_hit(cx, *span, value, "assembled key by key"));
            }
        }
    }
    serialised_models(cx, hits);
    for call in facts.calls.iter().filter(|c| !c.canonical) {
        if cx.rule.listed("insert-methods", &call.name) && call.args.len() == 2 {
            let key = call.args[0].str_lit.as_ref().map(|(k, _)| k.as_str());
            if key.is_some_and(|k| TYPE_KEYS.contains(&k)) {
                if let Some((event, _)) =
                    cx.events.of_str_arg(&call.args[1]).filter(|(e, _)| e != "user_message")
                {
                    hits.push(event_hit(cx, call.name_span, &event, "assembled key by key"));
                }
            }
        }
        if cx.rule.listed("send-helpers", &call.name) || cx.rule.listed("broadcast-methods", &call.name) {
            for arg in &call.args {
                if let Some((event, span)) = cx.events.of_str_arg(arg) {
                    let how = format!("named as a string to `{}`", call.name);
                    hits.push(
                        event_hit(cx, span, &event, &how).label(call.name_span, "a hand-rolled send helper"),
                    );
                }
            }
        }
    }
}

fn event_hit(cx: &Cx<'_>, span: crate::source::Span, event: &str, how: &str) -> Hit {
    Hit::at(span).arg("event", event).arg("how", how).arg("canonical", cx.canonical_call(event))
}

/// A file can only hold a hand-built event if it names an event type.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    // A typed model may spell its type in camel case (`ToolCompletedEvent`).
    let camel = |name: &str| -> String {
        name.split('_')
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect()
    };
    vec![{ cx.events.names().flat_map(|n| [n.to_owned(), camel(n)]).collect() }]
}

/// Test code: a file under a `tests` folder, or named `*_test.rs` / `*_tests.rs` / `tests.rs`.
pub(super) fn is_test_path(rel: &str) -> bool {
    let mut parts = rel.split('/');
    let file = parts.next_back().unwrap_or_default();
    parts.any(|p| p == "tests")
        || file.ends_with("_test.rs")
        || file.ends_with("_tests.rs")
        || file == "tests.rs"
}

/// `tool_executing` → `ToolExecuting`.
fn type_name(event: &str) -> String {
    event.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

/// Unsafe fix for test code: a hand-built expected event whose fields are all known and whose
/// required fields are all present becomes the schema crate's typed payload.
fn typed(cx: &Cx<'_>, literal: &crate::facts::MapLiteral, event: &str) -> Option<crate::fix::Fix> {
    use crate::facts::{LiteralKind, Value};
    let ty: EventType = event.parse().ok()?;
    if literal.kind != LiteralKind::Json || !literal.complete || literal.parent.is_some() {
        return None;
    }
    let mut fields = Vec::new();
    for entry in &literal.entries {
        if TYPE_KEYS.contains(&entry.key.as_str()) {
            continue;
        }
        let spec = ty.field(&entry.key)?;
        let written = cx.text.get(entry.value_span.start..entry.value_span.end)?.trim();
        let value = match (&entry.value, spec.ty) {
            (_, _) if written == "null" && spec.nullable && spec.ty != FieldType::Any => "None".to_owned(),
            (Value::Str(..), FieldType::String) => format!("{written}.into()"),
            (Value::Str(s, _), FieldType::Reason) => {
                let reason = s.parse::<agent_events_schema::CloseReason>().ok()?;
                format!("agent_events::schema::CloseReason::{reason:?}")
            }
            (_, FieldType::Boolean | FieldType::UnsignedInteger | FieldType::Number) => written.to_owned(),
            (_, FieldType::Object) => {
                format!("serde_json::json!({written}).as_object().cloned().unwrap_or_default()")
            }
            (_, FieldType::Any) => format!("serde_json::json!({written})"),
            _ => return None,
        };
        let optional = !spec.required || (spec.nullable && spec.ty != FieldType::Any);
        let value = if optional && value != "None" { format!("Some({value})") } else { value };
        fields.push(format!("{}: {value}", entry.key));
    }
    let present: Vec<&str> = literal.entries.iter().map(|e| e.key.as_str()).collect();
    if ty.required_fields().any(|f| !present.contains(&f)) {
        return None;
    }
    if !ty.fields().iter().all(|f| present.contains(&f.name)) {
        fields.push("..Default::default()".to_owned());
    }
    let name = type_name(event);
    let content = format!(
        "agent_events::schema::Payload::{name}(agent_events::schema::{name} {{ {} }})",
        fields.join(", ")
    );
    Some(crate::fix::Fix::replace(crate::fix::Applicability::Unsafe, literal.span, content))
}
