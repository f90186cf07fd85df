//! `method-call`: calls of exactly the listed method names, whatever the receiver.

use super::{Cx, Hit, ListDecl, Needles};

/// The method names, and the prefixes before an event type in them (`notify`).
pub(super) const LISTS: &[ListDecl] = &[ListDecl::names("methods"), ListDecl::names("prefixes")];

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for call in cx.facts.calls.iter().filter(|c| !c.canonical && cx.rule.listed("methods", &c.name)) {
        let event = cx
            .rule
            .list("prefixes")
            .iter()
            .find_map(|p| call.name.strip_prefix(p.as_str())?.strip_prefix('_'));
        let api = cx.api();
        let canonical = match event {
            Some("agent_error") => api.error.clone().unwrap_or_else(|| cx.canonical_call("agent_completed")),
            Some(event) if cx.events.is_event(event) => cx.canonical_call(event),
            _ => api.fallback.clone().unwrap_or_else(|| cx.canonical_call("…")),
        };
        hits.push(Hit::at(call.name_span).arg("name", call.name.as_str()).arg("canonical", canonical));
    }
}

/// The method's name is written at the call.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("methods").to_vec() }]
}
