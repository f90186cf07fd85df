//! `event-payload`: an agent event built by hand — a map literal whose `type`/`event`/
//! `event_type` is an event type, `map.insert("type", <event type>)`, or an event type passed
//! as a string literal to a send/emit helper.

use agent_events_schema::TYPE_KEYS;

use super::events::canonical_call;
use super::{Cx, Hit, Needles};

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let facts = cx.facts;
    for literal in &facts.literals {
        if let Some((event, span)) = cx.events.of_literal(literal) {
            hits.push(event_hit(span, &event, "built as a literal"));
        }
    }
    for call in facts.calls.iter().filter(|c| !c.canonical) {
        if cx.rule.listed("insert-methods", &call.name) && call.args.len() == 2 {
            let key = call.args[0].str_lit.as_ref().map(|(k, _)| k.as_str());
            if key.is_some_and(|k| TYPE_KEYS.contains(&k)) {
                if let Some((event, _)) = cx.events.of_str_arg(&call.args[1]) {
                    hits.push(event_hit(call.name_span, &event, "assembled key by key"));
                }
            }
        }
        if cx.rule.listed("send-helpers", &call.name) {
            for arg in &call.args {
                if let Some((event, span)) = cx.events.of_str_arg(arg) {
                    let how = format!("named as a string to `{}`", call.name);
                    hits.push(
                        event_hit(span, &event, &how).label(call.name_span, "a hand-rolled send helper"),
                    );
                }
            }
        }
    }
}

fn event_hit(span: crate::source::Span, event: &str, how: &str) -> Hit {
    Hit::at(span).arg("event", event).arg("how", how).arg("canonical", canonical_call(event))
}

/// A file can only hold a hand-built event if it names an event type.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.events.names().map(str::to_owned).collect() }]
}
