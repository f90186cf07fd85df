//! `manager-access`: a websocket manager reached through another object (`ctx.websocket_manager`,
//! `context.websocket_manager()`) and used to send — directly, or through a name bound to it.
//! Presence checks, field declarations and passing the manager along are not sends.

use std::collections::BTreeSet;

use super::{Cx, Hit, ListDecl, Needles};
use crate::facts::{Chain, Root, SegKind};

/// What reaches a manager; what hands it on; what a sending method starts with; presence checks.
pub(super) const LISTS: &[ListDecl] = &[
    ListDecl::names("accessors"),
    ListDecl::names("passthrough"),
    ListDecl::names("send-prefixes"),
    ListDecl::names("presence"),
];

/// The index of the accessor segment when everything after it only passes the manager through.
fn manager_seg(cx: &Cx<'_>, chain: &Chain) -> Option<usize> {
    let at = chain.segs.iter().position(|s| {
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

/// Whether a body calls a sending method on `name` (seen through passthrough methods).
fn sends_through<'f>(cx: &Cx<'f>, body: usize, name: &str) -> Option<&'f crate::facts::Call> {
    cx.facts.calls.iter().find(|call| {
        call.body == body
            && is_send(cx, &call.name)
            && call.receiver.as_ref().is_some_and(|r| {
                r.root == Root::Ident(name.to_owned())
                    && r.segs.iter().all(|s| match s.kind {
                        SegKind::Try | SegKind::Await => true,
                        SegKind::Method(_) => cx.rule.listed("passthrough", &s.name),
                        _ => false,
                    })
            })
    })
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let facts = cx.facts;
    let mut seen = BTreeSet::new();
    for call in facts.calls.iter().filter(|c| c.is_method()) {
        let Some(chain) = &call.receiver else { continue };
        let Some(at) = manager_seg(cx, chain) else { continue };
        // `….map(|m| m.send_…())`: the closure decides whether the manager is used to send.
        let closures: Vec<&(usize, Vec<String>)> =
            call.args.iter().filter_map(|a| a.closure.as_ref()).collect();
        let send = if closures.is_empty() {
            is_send(cx, &call.name).then_some(call)
        } else {
            closures.iter().find_map(|(body, params)| sends_through(cx, *body, params.first()?))
        };
        if let Some(send) = send {
            if seen.insert(chain.segs[at].span) {
                hits.push(
                    Hit::at(chain.segs[at].span)
                        .arg("accessor", chain.segs[at].name.as_str())
                        .arg("method", send.name.as_str())
                        .label(send.name_span, "sends here"),
                );
            }
        }
    }
    for binding in &facts.bindings {
        let Some(at) = manager_seg(cx, &binding.chain) else { continue };
        let access = binding.chain.segs[at].span;
        let send = facts.calls.iter().find(|call| {
            call.body == binding.body
                && call.span.start > access.end
                && is_send(cx, &call.name)
                && call.receiver.as_ref().is_some_and(|r| {
                    r.root == Root::Ident(binding.name.clone())
                        && r.segs.iter().all(|s| match s.kind {
                            SegKind::Try | SegKind::Await => true,
                            SegKind::Method(_) => cx.rule.listed("passthrough", &s.name),
                            _ => false,
                        })
                })
        });
        if let Some(send) = send {
            if seen.insert(access) {
                hits.push(
                    Hit::at(access)
                        .arg("accessor", binding.chain.segs[at].name.as_str())
                        .arg("method", send.name.as_str())
                        .label(send.name_span, format!("sends here through `{}`", binding.name)),
                );
            }
        }
    }
}

/// The accessor is written where the manager is reached.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("accessors").to_vec() }]
}
