//! `missing-field`: a hand-built event lacking a required own field of its type (read from the
//! schema crate). Fields count at the top level, one level down under `data`/`payload`, and
//! when inserted later into the same binding in the same body.

use agent_events_schema::NESTED_PAYLOAD_KEYS;

use super::events::literal_keys;
use super::{Cx, Hit, Needles};
use crate::facts::{LiteralKind, MapLiteral, Root};
use crate::fix::{Applicability, Edit, Fix};
use crate::source::Span;

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for (i, literal) in cx.facts.literals.iter().enumerate() {
        // Only payloads judged agent events of this schema: a known type, sent through a send
        // path or built in a legacy emitter — not every dict with a matching `type` (expected
        // events in tests, requests a client builds, another protocol's samples).
        let Some(found) = cx.event_of(i).filter(|t| t.known) else { continue };
        let (event, type_span) = (found.event, found.span);
        let judged = cx.is_sent(i) || cx.built_in_emitter(i);
        if !literal.complete || !judged {
            continue;
        }
        let mut keys: Vec<&str> = literal_keys(cx.facts, literal);
        keys.extend(later_keys(cx, literal));
        let missing: Vec<String> = cx
            .events
            .required(&event)
            .iter()
            .filter(|f| !keys.contains(&f.as_str()))
            .map(|f| format!("`{f}`"))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let noun = if missing.len() == 1 { "field" } else { "fields" };
        let absent: Vec<&String> =
            cx.events.required(&event).iter().filter(|f| !keys.contains(&f.as_str())).collect();
        let fix = match literal.kind {
            LiteralKind::Json => add_fields(cx.text, literal, &event, &absent),
            LiteralKind::Dict => add_python_fields(cx.text, literal, &event, &absent),
            _ => None,
        };
        let mut hit = Hit::at(literal.span);
        if let Some(fix) = fix {
            hit = hit.fix(fix);
        }
        hits.push(
            hit.arg("event", event.as_str())
                .arg("fields", missing.join(", "))
                .arg("noun", noun)
                .label(type_span, format!("{} `{event}` event", super::article(event.as_str()))),
        );
    }
}

/// Keys inserted after the literal into the variable it is bound to, in the same body.
fn later_keys<'f>(cx: &Cx<'f>, literal: &MapLiteral) -> Vec<&'f str> {
    let Some(binding) = literal.binding.as_deref() else { return Vec::new() };
    let facts = cx.facts;
    let mut keys = Vec::new();
    for call in &facts.calls {
        let later = call.body == literal.body && call.span.start >= literal.span.end;
        let on_binding = call.receiver.as_ref().is_some_and(|r| r.root == Root::Ident(binding.to_owned()));
        if later && on_binding && call.name == "insert" {
            if let Some((key, _)) = call.args.first().and_then(|a| a.str_lit.as_ref()) {
                keys.push(key.as_str());
            }
        }
    }
    for assign in &facts.index_assigns {
        if assign.binding == binding && assign.body == literal.body && assign.span.start >= literal.span.end {
            match assign.keys.as_slice() {
                [nested, key, ..] if NESTED_PAYLOAD_KEYS.contains(&nested.as_str()) => {
                    keys.push(key.as_str())
                }
                [key, ..] => keys.push(key.as_str()),
                [] => {}
            }
        }
    }
    keys
}

/// A hand-built event names its type.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.events.names().map(str::to_owned).collect() }]
}

/// The Python spelling of a placeholder.
fn python_placeholder(event: &str, field: &str) -> &'static str {
    match placeholder(event, field) {
        "null" => "None",
        "false" => "False",
        other => other,
    }
}

/// Unsafe fix for a Python dict (`{"type": …}` or `dict(type=…)`): the missing keys with
/// placeholder values after the last entry, one per line when the dict spans lines.
fn add_python_fields(text: &str, literal: &MapLiteral, event: &str, missing: &[&String]) -> Option<Fix> {
    let last = literal.entries.iter().max_by_key(|e| e.value_span.end)?;
    let at = last.value_span.end;
    let written = text.get(literal.span.start..literal.span.end)?;
    let call = !written.starts_with('{');
    let multi_line = written.contains('\n');
    let indent = crate::source::indentation_at(text, last.key_span.start);
    let mut content = String::new();
    for field in missing {
        let value = python_placeholder(event, field);
        let entry = if call { format!("{field}={value}") } else { format!("\"{field}\": {value}") };
        if multi_line && text[literal.span.start..last.key_span.start].contains('\n') {
            content.push_str(&format!(",\n{indent}{entry}"));
        } else {
            content.push_str(&format!(", {entry}"));
        }
    }
    Some(Fix { applicability: Applicability::Unsafe, edits: vec![Edit { span: Span::new(at, at), content }] })
}

/// A value for a missing field that compiles and is plainly a placeholder.
fn placeholder(event: &str, field: &str) -> &'static str {
    use agent_events_schema::FieldType;
    let spec = event.parse::<agent_events_schema::EventType>().ok().and_then(|t| t.field(field));
    match spec {
        Some(f) if f.nullable => "null",
        Some(f) => match f.ty {
            FieldType::String => "\"TODO\"",
            FieldType::Boolean => "false",
            FieldType::UnsignedInteger | FieldType::Number => "0",
            FieldType::Object => "{}",
            FieldType::Reason => "\"failed\"",
            FieldType::Any => "null",
        },
        None => "null",
    }
}

/// Unsafe fix: the missing keys with placeholder values, before the object's closing brace.
fn add_fields(text: &str, literal: &MapLiteral, event: &str, missing: &[&String]) -> Option<Fix> {
    let inner = text.get(literal.span.start..literal.span.end)?;
    let close = literal.span.start + inner.rfind('}')?;
    let head = text[..close].trim_end();
    let at = head.len();
    let last = head.chars().last()?;
    let multi_line = text[literal.span.start..close].contains('\n');
    let mut content = String::new();
    let mut need_comma = last != ',' && last != '{';
    if multi_line {
        let indent = crate::source::indentation_at(text, at);
        for field in missing {
            if need_comma {
                content.push(',');
            }
            content.push_str(&format!("\n{indent}\"{field}\": {},", placeholder(event, field)));
            need_comma = false;
        }
    } else {
        for field in missing {
            content.push_str(if need_comma { ", " } else { " " });
            content.push_str(&format!("\"{field}\": {}", placeholder(event, field)));
            need_comma = true;
        }
        if last == ',' {
            content.push(',');
        }
    }
    Some(Fix { applicability: Applicability::Unsafe, edits: vec![Edit { span: Span::new(at, at), content }] })
}
