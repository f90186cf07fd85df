//! `manager-access`: a websocket manager reached through another object (`ctx.websocket_manager`,
//! `context.websocket_manager()`) and used to send — directly, or through a name bound to it.
//! Presence checks, field declarations and passing the manager along are not sends.

use std::collections::{BTreeSet, HashMap};

use super::{Cx, Hit, ListDecl, Needles};
use crate::facts::{Call, Chain, Root, SegKind};

/// What reaches a manager; what hands it on; what a sending method starts with; presence checks.
pub(super) const LISTS: &[ListDecl] = &[
    ListDecl::names("accessors"),
    ListDecl::names("passthrough"),
    ListDecl::names("send-prefixes"),
    ListDecl::names("presence"),
];

/// The index of the last accessor segment (`context.websocket_bridge.websocket_manager` reaches
/// the manager in two hops) when everything after it only passes the manager through.
fn manager_seg(cx: &Cx<'_>, chain: &Chain) -> Option<usize> {
    let at = chain.segs.iter().rposition(|s| {
        matches!(s.kind, SegKind::Field | SegKind::Method(0)) && cx.rule.listed("accessors", &s.name)
    })?;
    let passes = chain.segs[at + 1..].iter().all(|s| match s.kind {
        SegKind::Try | SegKind::Await => true,
        SegKind::Method(_) => cx.rule.listed("passthrough", &s.name),
        SegKind::Field | SegKind::Index => false,
    });
    passes.then_some(at)
}

/// A sending method: one of `send-prefixes`, alone or followed by `_…` (`send`, `send_to_user`).
fn is_send(cx: &Cx<'_>, method: &str) -> bool {
    !cx.rule.listed("presence", method)
        && cx
            .rule
            .list("send-prefixes")
            .iter()
            .any(|p| method == p || method.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('_')))
}

/// The calls of each body on a plain name seen through passthrough methods (`m.send_…()`,
/// `m.lock().await.send_…()`), by body and name, in source order.
fn calls_on_names<'f>(cx: &Cx<'f>) -> HashMap<(usize, &'f str), Vec<&'f Call>> {
    let mut on: HashMap<(usize, &str), Vec<&Call>> = HashMap::new();
    for call in &cx.facts.calls {
        let Some(receiver) = &call.receiver else { continue };
        let Root::Ident(name) = &receiver.root else { continue };
        let passes = receiver.segs.iter().all(|s| match s.kind {
            SegKind::Try | SegKind::Await => true,
            SegKind::Method(_) => cx.rule.listed("passthrough", &s.name),
            _ => false,
        });
        if passes {
            on.entry((call.body, name.as_str())).or_default().push(call);
        }
    }
    on
}

/// The first agent-event send on `name` in `body` (after `after`), with what makes it one.
fn agent_send_on<'f>(
    cx: &Cx<'f>,
    on: &HashMap<(usize, &'f str), Vec<&'f Call>>,
    body: usize,
    name: &str,
    after: usize,
) -> Option<(&'f Call, (String, String))> {
    on.get(&(body, name))?
        .iter()
        .filter(|c| c.span.start > after && is_send(cx, &c.name))
        .find_map(|c| agent_event_send(cx, c).map(|why| (*c, why)))
}

/// What makes a send through a manager an agent-event send: its method names an event type
/// (`send_agent_thinking`), or an argument is an agent event (a type named as a string, a
/// hand-built event, or a name bound to one). `None` for other sends (`{"type": "log"}`).
fn agent_event_send(cx: &Cx<'_>, send: &Call) -> Option<(String, String)> {
    if let Some(event) = cx.events.of_method_name(&send.name, cx.rule.list("send-prefixes")) {
        return Some((format!("`{event}` event"), format!("`{}` names it", send.name)));
    }
    if let Some(found) = send.args.iter().find_map(|arg| cx.event_of_arg(send, arg)) {
        return Some((format!("`{}` event", found.event), format!("`{}` is given one", send.name)));
    }
    // A hand-built event serialised into an argument (`message.to_json()`, `json.dumps(event)`).
    let index = cx.facts.calls.iter().position(|c| std::ptr::eq(c, send))?;
    if let Some(found) = cx.sends().sent_by_call(index).iter().find_map(|l| cx.event_of(*l)) {
        return Some((format!("`{}` event", found.event), format!("`{}` is given one", send.name)));
    }
    // Inside a legacy emitter (`_emit_websocket_event`, `notify_tool_completed`), every send
    // carries an agent event.
    let emitter = cx.facts.bodies.get(send.body).and_then(|b| b.name.as_deref())?;
    cx.send_lists
        .is_emitter_fn(emitter, cx.events)
        .then(|| ("agent events".to_owned(), format!("`{emitter}` sends them")))
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let facts = cx.facts;
    let on = calls_on_names(cx);
    let mut seen = BTreeSet::new();
    for call in facts.calls.iter().filter(|c| c.is_method()) {
        let Some(chain) = &call.receiver else { continue };
        let Some(at) = manager_seg(cx, chain) else { continue };
        // `….map(|m| m.send_…())`: the closure decides whether the manager is used to send.
        let closures: Vec<&(usize, Vec<String>)> =
            call.args.iter().filter_map(|a| a.closure.as_ref()).collect();
        let send = if closures.is_empty() {
            is_send(cx, &call.name).then(|| agent_event_send(cx, call).map(|why| (call, why))).flatten()
        } else {
            closures.iter().find_map(|(body, params)| agent_send_on(cx, &on, *body, params.first()?, 0))
        };
        let Some((send, (event, how))) = send else { continue };
        if seen.insert(chain.segs[at].span) {
            hits.push(
                Hit::at(chain.segs[at].span)
                    .arg("accessor", chain.segs[at].name.as_str())
                    .arg("method", send.name.as_str())
                    .arg("what", event)
                    .arg("how", how)
                    .label(send.name_span, "sends here"),
            );
        }
    }
    for binding in &facts.bindings {
        let Some(at) = manager_seg(cx, &binding.chain) else { continue };
        let access = binding.chain.segs[at].span;
        let Some((send, (event, how))) = agent_send_on(cx, &on, binding.body, &binding.name, access.end)
        else {
            continue;
        };
        if seen.insert(access) {
            hits.push(
                Hit::at(access)
                    .arg("accessor", binding.chain.segs[at].name.as_str())
                    .arg("method", send.name.as_str())
                    .arg("what", event)
                    .arg("how", how)
                    .label(send.name_span, format!("sends here through `{}`", binding.name)),
            );
        }
    }
}

/// The accessor is written where the manager is reached.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("accessors").to_vec() }]
}
