//! A declared vocabulary's emitters: an event delivered through a declared sink outside the
//! canonical emitters (`direct-event-payload`), a function outside them that delivers events it
//! did not build (`competing-emitter`), and an event delivered through a broadcast sink
//! (`unscoped-broadcast`).

use super::{Cx, Hit, Kind};
use crate::facts::{Call, FnDef, Node};
use crate::source::Span;

/// The declared events built in a call's body before the call ends: (kind, span).
fn built_before(cx: &Cx<'_>, call: &Call) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let vocab = &*cx.events.vocab;
    for (i, lit) in cx.facts.literals.iter().enumerate() {
        if lit.body == call.body && lit.span.end <= call.span.end {
            if let Some(f) = vocab.find(cx.facts, &Node::Literal(i)) {
                out.push((f.kind, f.span));
            }
        }
    }
    for (i, c) in cx.facts.calls.iter().enumerate() {
        if c.body == call.body && c.span.end <= call.span.end {
            if let Some(f) = vocab.find(cx.facts, &Node::Call(i)).filter(|f| f.built) {
                out.push((f.kind, f.span));
            }
        }
    }
    out.sort_by_key(|(_, s)| *s);
    out
}

fn receiver_text(cx: &Cx<'_>, call: &Call) -> String {
    let start = call.receiver.as_ref().map_or(call.name_span.start, |r| r.root_span.start);
    cx.text
        .get(start..call.name_span.end)
        .map_or_else(|| call.name.clone(), |t| t.split_whitespace().collect())
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let vocab = &*cx.events.vocab;
    if !vocab.declared() {
        return;
    }
    let canonical_help = || format!("send it through {}", vocab.canonical_names());
    let mut competing_reported = std::collections::BTreeSet::new();
    for call in &cx.facts.calls {
        let Some(broadcast) = vocab.sink(call) else { continue };
        let function = cx.facts.enclosing_fn(call.span);
        // Test code feeds events to what it tests.
        if function.is_some_and(FnDef::is_test) {
            continue;
        }
        if function.is_some_and(|f| vocab.is_canonical_fn(f.owner.as_deref(), &f.name)) && !broadcast {
            continue;
        }
        let built = built_before(cx, call);
        // The event delivered: the one built inside the call's arguments, else the last one built
        // before it in the same body.
        let event = built.iter().rev().find(|(_, s)| call.span.start <= s.start).or(built.last());
        let sink = receiver_text(cx, call);
        match (cx.rule.kind, broadcast, event) {
            (Kind::Broadcast, true, Some((kind, span))) => {
                hits.push(
                    Hit::at(call.name_span)
                        .arg("event", kind.as_str())
                        .arg("method", sink.as_str())
                        .label(*span, format!("the `{kind}` event")),
                );
            }
            (Kind::EventPayload, false, Some((kind, span))) if vocab.has_canonical() => {
                let mut hit = Hit::at(*span)
                    .arg("event", kind.as_str())
                    .arg("how", format!("delivered through `{sink}` outside the canonical emitters"))
                    .label(call.name_span, "the raw sink");
                hit.help = Some(canonical_help());
                hit.note = Some("not sent by a canonical emitter".to_owned());
                hits.push(hit);
            }
            (Kind::Competing, false, None) if vocab.has_canonical() => {
                let Some(f) = function else { continue };
                // It handles events: its signature or body names an event type.
                let types = vocab.event_types();
                let handles_events =
                    cx.facts.mentions.iter().any(|m| {
                        f.holds(m.span) && m.path.last().is_some_and(|l| types.contains(&l.as_str()))
                    });
                // Callers hand it the events: what it sends is one of its parameters (a relay
                // forwarding a stream it reads is a fan-out, not an emitter).
                let forwards_a_parameter =
                    call.args.iter().any(|a| a.ident.as_ref().is_some_and(|n| f.param_names.contains(n)));
                let test = f.is_test() || !forwards_a_parameter;
                if !handles_events || test || !competing_reported.insert(f.name_span) {
                    continue;
                }
                let mut hit = Hit::at(f.name_span)
                    .arg("type", f.owner.as_deref().unwrap_or(f.name.as_str()))
                    .arg("method", f.name.as_str())
                    .label(call.name_span, format!("delivers events through `{sink}`"));
                hit.help = Some(format!("keep one way to send events: {}", canonical_help()));
                hit.note = Some("a second way to send events".to_owned());
                hits.push(hit);
            }
            _ => {}
        }
    }
}
