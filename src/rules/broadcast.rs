//! `broadcast`: an agent event sent through an all-users method: an event type named as a
//! string, an inline hand-built event, or a variable bound to one earlier in the same body.

use super::{Cx, Hit, ListDecl, Needles};

/// The all-users methods.
pub(super) const LISTS: &[ListDecl] = &[ListDecl::names("broadcast-methods")];

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for call in cx.facts.calls.iter().filter(|c| !c.canonical && cx.rule.listed("broadcast-methods", &c.name))
    {
        let event = call.args.iter().find_map(|arg| cx.event_of_arg(call, arg));
        if let Some(super::events::Typed { event, span, .. }) = event {
            hits.push(
                Hit::at(call.name_span)
                    .arg("event", event.as_str())
                    .arg("method", call.name.as_str())
                    .label(span, format!("{} `{event}` event", super::article(event.as_str()))),
            );
        }
    }
}

/// The all-users method is named at the call, and the event it carries names its type (as a
/// string, or in a literal in the same body).
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![cx.rule.list("broadcast-methods").to_vec(), cx.events.names().map(str::to_owned).collect()]
}
