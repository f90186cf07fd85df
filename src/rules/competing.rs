//! `competing`: a type outside canonical code that defines agent-event emission methods
//! (`send_agent_started`, `notify_tool_completed` …): one finding per type and file, at its
//! first such method. Types implementing one of the `sink-traits` (the runtime's `EventSink`)
//! are sinks, not competitors.

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
        let sink = facts.trait_impls.iter().any(|(ty, t)| ty == owner && cx.rule.listed("sink-traits", t))
            || f.trait_impl.as_deref().is_some_and(|t| cx.rule.listed("sink-traits", t));
        // `send_user_message` is what a client does (a chat front-end sending the user's text).
        let emits = cx
            .events
            .of_method_name(&f.name, cx.rule.list("emit-prefixes"))
            .is_some_and(|e| e != "user_message")
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, RawConfig};
    use crate::lint::Linter;

    /// The `competing-emitter` findings of `src` under the configuration `config`.
    fn competing(config: &str, src: &str) -> usize {
        let raw: RawConfig = toml::from_str(config).expect("configuration");
        let config = Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new()).expect("valid");
        let report = Linter::new(&config).lint_text("src/lib.rs", &[], src);
        report.findings.iter().filter(|f| f.rule == "competing-emitter").count()
    }

    #[test]
    fn implementors_of_a_listed_sink_trait_are_not_competitors() {
        let src =
            "struct A;\nimpl A { fn emit_agent_started(&self) {} }\nimpl Receiver for A { fn f(&self) {} }\n";
        assert_eq!(competing("", src), 1);
        assert_eq!(competing("[rules.competing-emitter]\nextend-sink-traits = [\"Receiver\"]\n", src), 0);
        assert_eq!(competing("", &src.replace("Receiver", "agent_events::EventSink")), 0);
        let replaced = "[rules.competing-emitter]\nsink-traits = [\"Receiver\"]\n";
        assert_eq!(competing(replaced, &src.replace("Receiver", "EventSink")), 1);
    }
}
