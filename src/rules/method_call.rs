//! `method-call`: calls of exactly the listed method names, whatever the receiver.

use super::{Cx, Hit, Needles};

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for call in cx.facts.calls.iter().filter(|c| !c.canonical && cx.rule.listed("methods", &c.name)) {
        let event = cx
            .rule
            .list("prefixes")
            .iter()
            .find_map(|p| call.name.strip_prefix(p.as_str())?.strip_prefix('_'));
        let canonical = match event {
            Some("agent_error") if cx.lang == crate::frontend::Lang::Rust => "`run.failed(err)`".to_owned(),
            Some("agent_error") => cx.canonical_call("agent_completed"),
            Some(event) if cx.events.is_event(event) => cx.canonical_call(event),
            _ if cx.lang == crate::frontend::Lang::Rust => "the `Run` of the request".to_owned(),
            _ => cx.canonical_call("…"),
        };
        hits.push(Hit::at(call.name_span).arg("name", call.name.as_str()).arg("canonical", canonical));
    }
}

/// The method's name is written at the call.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("methods").to_vec() }]
}
