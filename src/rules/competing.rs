//! `competing`: a type outside canonical code that defines agent-event emission methods
//! (`send_agent_started`, `notify_tool_completed` …): one finding per type and file, at its
//! first such method. Types implementing the runtime's `EventSink` are sinks, not competitors.

use std::collections::BTreeMap;

use super::{Cx, Hit, ListDecl, Needles};

/// Prefixes of emission method names; further such names; traits whose implementors are sinks.
pub(super) const LISTS: &[ListDecl] =
    &[ListDecl::names("emit-prefixes"), ListDecl::names("extra-methods"), ListDecl::names("sink-traits")];
use crate::facts::FnDef;

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let facts = cx.facts;
    let mut first: BTreeMap<&str, &FnDef> = BTreeMap::new();
    for f in &facts.fns {
        let Some(owner) = f.owner.as_deref() else { continue };
        let sink = facts.sink_impls.iter().any(|s| s == owner)
            || f.trait_impl.as_deref().is_some_and(|t| cx.rule.listed("sink-traits", t));
        let emits = cx.events.of_method_name(&f.name, cx.rule.list("emit-prefixes")).is_some()
            || cx.rule.listed("extra-methods", &f.name);
        if sink || !emits {
            continue;
        }
        let slot = first.entry(owner).or_insert(f);
        if f.name_span.start < slot.name_span.start {
            *slot = f;
        }
    }
    for (owner, f) in first {
        hits.push(Hit::at(f.name_span).arg("type", owner).arg("method", f.name.as_str()));
    }
}

/// An emission method's name contains an event type, or is listed.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{
        cx.events.names().map(str::to_owned).chain(cx.rule.list("extra-methods").iter().cloned()).collect()
    }]
}
