//! `unpaired`: from a legacy `tool_executing` emission, a path through the body's control-flow
//! tree that reaches an exit (`?`, `return`, a `break`/`continue` leaving the loop that holds the
//! emission) or the end of the body without a `tool_completed` for the same tool.
//!
//! Legacy emissions: calls of `<prefix>_tool_executing` / `<prefix>_tool_completed`, send
//! helpers given the type as a string, and hand-built event literals. The same tool: the first
//! string argument that is not an event type (the literal's `tool_name`); when either side has
//! none, they match. Panics and cancellation at `.await` are the runtime guard's job. The body
//! of a function that is itself an emission (`fn send_tool_executing`) is not checked: its
//! callers are.

use std::collections::{BTreeMap, BTreeSet};

use super::{Cx, Hit, ListDecl, Needles};
use crate::facts::{Exit, ExitKind, Guard, Node, Value};
use crate::source::Span;

/// Prefixes of legacy emission methods; helpers that take the event type as a string.
pub(super) const LISTS: &[ListDecl] = &[ListDecl::names("emit-prefixes"), ListDecl::names("send-helpers")];

#[derive(Clone, Debug)]
struct Emission {
    span: Span,
    key: Option<String>,
    /// How many loops enclose it in its body.
    depth: usize,
    /// The conditions it was sent under (`if self.bridge:`).
    guards: Vec<Guard>,
}

/// The guard an arm starts with, if any.
fn arm_guard(arm: &Node) -> Option<&Guard> {
    match arm {
        Node::Guard(g) => Some(g),
        Node::Seq(children) => match children.first() {
            Some(Node::Guard(g)) => Some(g),
            _ => None,
        },
        _ => None,
    }
}

enum Leaf {
    Executing(Span, Option<String>),
    Completed(Option<String>),
}

fn classify(cx: &Cx<'_>, node: &Node) -> Option<Leaf> {
    let facts = cx.facts;
    match node {
        Node::Call(i) => {
            let call = &facts.calls[*i];
            if call.canonical {
                return None;
            }
            let key = || {
                call.args.iter().find_map(|a| {
                    a.str_lit.as_ref().filter(|(s, _)| !cx.events.is_event(s)).map(|(s, _)| s.clone())
                })
            };
            match cx.events.of_method_name(&call.name, cx.rule.list("emit-prefixes")) {
                Some("tool_executing") => return Some(Leaf::Executing(call.name_span, key())),
                Some("tool_completed") => return Some(Leaf::Completed(key())),
                _ => {}
            }
            if cx.rule.listed("send-helpers", &call.name) {
                for arg in &call.args {
                    match arg.str_lit.as_ref() {
                        Some((s, span)) if s == "tool_executing" => {
                            return Some(Leaf::Executing(*span, key()))
                        }
                        Some((s, _)) if s == "tool_completed" => return Some(Leaf::Completed(key())),
                        _ => {}
                    }
                }
            }
            None
        }
        Node::Literal(i) => {
            let literal = &facts.literals[*i];
            // A literal is an emission when it is sent, not when it is kept (a capture hook's log).
            cx.sent_by(*i)?;
            let super::events::Typed { event, span, .. } = cx.event_of(*i)?;
            let key = literal.entries.iter().find_map(|e| match &e.value {
                Value::Str(s, _) if e.key == "tool_name" => Some(s.clone()),
                _ => None,
            });
            match event.as_str() {
                "tool_executing" => Some(Leaf::Executing(span, key)),
                "tool_completed" => Some(Leaf::Completed(key)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Emissions that may be open: index into `emissions` → nothing (a set).
type Open = std::collections::BTreeSet<usize>;

struct LoopFrame {
    label: Option<String>,
    depth: usize,
    breaks: Option<Open>,
    continues: Option<Open>,
}

struct Walk<'c, 'a> {
    cx: &'c Cx<'a>,
    /// `tool_executing` emissions in an arm of a branch another arm of which sends
    /// `tool_completed`: a dispatcher sending the one event it is asked for, not a pair.
    dispatched: BTreeSet<Span>,
    emissions: Vec<Emission>,
    by_span: BTreeMap<Span, usize>,
    loops: Vec<LoopFrame>,
    /// The conditions of the arms being walked.
    guards: Vec<Guard>,
    /// The first exit found for each emission left open.
    unpaired: BTreeMap<usize, Option<Exit>>,
}

fn union(a: Option<Open>, b: Option<Open>) -> Option<Open> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        (a, None) => a,
        (None, b) => b,
    }
}

impl Walk<'_, '_> {
    fn report(&mut self, open: &Open, exit: Option<&Exit>, only_deeper_than: Option<usize>) {
        for &e in open {
            if only_deeper_than.is_none_or(|d| self.emissions[e].depth > d) {
                self.unpaired.entry(e).or_insert_with(|| exit.cloned());
            }
        }
    }

    fn node(&mut self, node: &Node, state: Option<Open>) -> Option<Open> {
        let mut open = state?;
        match node {
            Node::Seq(children) => {
                let mut state = Some(open);
                for child in children {
                    state = self.node(child, state);
                }
                state
            }
            Node::Branch(arms) => arms.iter().fold(None, |acc, arm| {
                let mut incoming = open.clone();
                let guard = arm_guard(arm);
                if let Some(g) = guard {
                    // An emission sent under `if c:` does not reach an arm that runs when `c`
                    // does not hold (the same condition, tested again in the same body).
                    let emissions = &self.emissions;
                    incoming.retain(|e| {
                        !emissions[*e].guards.iter().any(|h| h.key == g.key && h.holds != g.holds)
                    });
                    self.guards.push(g.clone());
                }
                let out = self.node(arm, Some(incoming));
                if guard.is_some() {
                    self.guards.pop();
                }
                union(acc, out)
            }),
            Node::Loop { label, body, infinite } => {
                self.loops.push(LoopFrame {
                    label: label.clone(),
                    depth: self.loops.len() + 1,
                    breaks: None,
                    continues: None,
                });
                let mut entry = open;
                for _ in 0..4 {
                    let out = self.node(body, Some(entry.clone()));
                    let continues = self.loops.last_mut().and_then(|f| f.continues.take());
                    let next = union(union(Some(entry.clone()), out), continues).unwrap_or_default();
                    if next == entry {
                        break;
                    }
                    entry = next;
                }
                let frame = self.loops.pop()?;
                if *infinite {
                    frame.breaks
                } else {
                    union(Some(entry), frame.breaks)
                }
            }
            Node::Exit(exit) => {
                match &exit.kind {
                    ExitKind::Question | ExitKind::Return | ExitKind::Raise => {
                        self.report(&open, Some(exit), None)
                    }
                    ExitKind::Break(label) | ExitKind::Continue(label) => {
                        let target = match label {
                            Some(l) => self.loops.iter().rposition(|f| f.label.as_deref() == Some(l)),
                            None => self.loops.len().checked_sub(1),
                        };
                        if let Some(t) = target {
                            let depth = self.loops[t].depth;
                            self.report(&open, Some(exit), Some(depth - 1));
                            let outside: Open =
                                open.iter().copied().filter(|e| self.emissions[*e].depth < depth).collect();
                            let frame = &mut self.loops[t];
                            let slot = if matches!(exit.kind, ExitKind::Break(_)) {
                                &mut frame.breaks
                            } else {
                                &mut frame.continues
                            };
                            *slot = union(slot.take(), Some(outside));
                        }
                    }
                }
                None
            }
            leaf => {
                match classify(self.cx, leaf) {
                    Some(Leaf::Executing(span, _)) if self.dispatched.contains(&span) => {}
                    Some(Leaf::Executing(span, key)) => {
                        let depth = self.loops.len();
                        let next = self.emissions.len();
                        let id = *self.by_span.entry(span).or_insert(next);
                        if id == next {
                            self.emissions.push(Emission { span, key, depth, guards: self.guards.clone() });
                        }
                        open.insert(id);
                    }
                    Some(Leaf::Completed(key)) => {
                        let emissions = &self.emissions;
                        open.retain(|e| match (&emissions[*e].key, &key) {
                            (Some(a), Some(b)) => a != b,
                            _ => false,
                        });
                    }
                    None => {}
                }
                Some(open)
            }
        }
    }
}

/// The leaves of a tree, in order.
fn leaves<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    match node {
        Node::Seq(children) | Node::Branch(children) => children.iter().for_each(|c| leaves(c, out)),
        Node::Loop { body, .. } => leaves(body, out),
        leaf => out.push(leaf),
    }
}

/// Collects the `tool_executing` emissions that sit in one arm of a branch while another arm
/// sends `tool_completed` (`if event == "tool_executing": … elif event == "tool_completed": …`).
fn find_dispatch(cx: &Cx<'_>, node: &Node, dispatched: &mut BTreeSet<Span>) {
    match node {
        Node::Branch(arms) => {
            let kinds: Vec<(Vec<Span>, bool)> = arms
                .iter()
                .map(|arm| {
                    let mut found = Vec::new();
                    leaves(arm, &mut found);
                    let mut executing = Vec::new();
                    let mut completes = false;
                    for leaf in found {
                        match classify(cx, leaf) {
                            Some(Leaf::Executing(span, _)) => executing.push(span),
                            Some(Leaf::Completed(_)) => completes = true,
                            None => {}
                        }
                    }
                    (executing, completes)
                })
                .collect();
            for (i, (executing, completes)) in kinds.iter().enumerate() {
                let other_completes = kinds.iter().enumerate().any(|(j, (_, c))| j != i && *c);
                if other_completes && !completes {
                    dispatched.extend(executing.iter().copied());
                }
            }
            arms.iter().for_each(|arm| find_dispatch(cx, arm, dispatched));
        }
        Node::Seq(children) => children.iter().for_each(|c| find_dispatch(cx, c, dispatched)),
        Node::Loop { body, .. } => find_dispatch(cx, body, dispatched),
        _ => {}
    }
}

fn describe(exit: &Option<Exit>) -> &'static str {
    match exit.as_ref().map(|e| &e.kind) {
        Some(ExitKind::Question) => "the `?`",
        Some(ExitKind::Return) => "the `return`",
        Some(ExitKind::Raise) => "the `raise`",
        Some(ExitKind::Break(_)) => "the `break`",
        Some(ExitKind::Continue(_)) => "the `continue`",
        None => "the end of the body",
    }
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    for body in &cx.facts.bodies {
        // The body of a `send_tool_executing`-like wrapper is the emission itself: its callers
        // are the ones that must pair it.
        let wrapper =
            body.name.as_deref().and_then(|n| cx.events.of_method_name(n, cx.rule.list("emit-prefixes")));
        if wrapper.is_some() {
            continue;
        }
        let mut dispatched = BTreeSet::new();
        let mut all = Vec::new();
        leaves(&body.tree, &mut all);
        let kinds: Vec<Leaf> = all.iter().filter_map(|leaf| classify(cx, leaf)).collect();
        if !kinds.iter().any(|k| matches!(k, Leaf::Executing(..))) {
            continue;
        }
        if kinds.iter().any(|k| matches!(k, Leaf::Completed(_))) {
            find_dispatch(cx, &body.tree, &mut dispatched);
        }
        let mut walk = Walk {
            cx,
            dispatched,
            emissions: Vec::new(),
            by_span: BTreeMap::new(),
            loops: Vec::new(),
            guards: Vec::new(),
            unpaired: BTreeMap::new(),
        };
        if let Some(open) = walk.node(&body.tree, Some(Open::new())) {
            walk.report(&open, None, None);
        }
        for (e, exit) in &walk.unpaired {
            let emission = &walk.emissions[*e];
            let mut hit = Hit::at(emission.span).arg("exit", describe(exit));
            if let Some(exit) = exit {
                hit = hit.label(exit.span, "leaves here before `tool_completed` is sent");
            }
            hits.push(hit);
        }
    }
}

/// Every legacy `tool_executing` emission spells `tool_executing`.
pub fn needles(_cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ vec!["tool_executing".to_owned()] }]
}
