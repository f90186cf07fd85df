//! `missing-field`: a hand-built event lacking a required own field of its type (read from the
//! schema crate). Fields count at the top level, one level down under `data`/`payload`, and
//! when inserted later into the same binding in the same body.

use agent_events_schema::NESTED_PAYLOAD_KEYS;

use super::events::literal_keys;
use super::{Cx, Hit, Needles};
use crate::facts::{MapLiteral, Root};

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for literal in &cx.facts.literals {
        let Some((event, type_span)) = cx.events.of_literal(literal) else { continue };
        if !literal.complete {
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
        hits.push(
            Hit::at(literal.span)
                .arg("event", event.as_str())
                .arg("fields", missing.join(", "))
                .arg("noun", noun)
                .label(type_span, format!("a `{event}` event")),
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
