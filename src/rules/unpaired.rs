//! The pairing rules, driven by the vocabulary's pairs (the built-in one is `tool_executing` →
//! `tool_completed`, keyed by `tool_name`):
//!
//! - `unpaired` (`unpaired-tool-event`): from an open, a path through the body's control-flow
//!   tree that reaches an exit (`?`, `return`, a `break`/`continue` leaving the loop that holds
//!   the open) or the end of the body without a close of the same pair and key;
//! - `cfg-close` (`cfg-gated-close`): a close compiled only under a `#[cfg]` its open is not
//!   under;
//! - `twice` (`terminal-event-twice`): an `exactly-once` close sent a second time on one path;
//! - `cancelled` (`cancelled-pair`): an open in a future that `select!` or `abort()` may drop
//!   at an `.await` before its close.
//!
//! Emissions: calls of `<prefix>_<type>`, send helpers given the type as a string, hand-built
//! event literals that are sent, and the declared vocabulary's forms. The key: a declared
//! pair's `key` field of a struct literal; for string events, the first string argument that
//! is not an event type (a literal's key field); when either side has none, they match. The
//! body of a function that is itself an emission (`fn send_tool_executing`, a declared helper,
//! a canonical emitter) is not checked: its callers are.

use std::collections::{BTreeMap, BTreeSet};

use super::vocab::{Pair, Vocabulary};
use super::{Cx, Hit, Kind, ListDecl, Needles};
use crate::facts::{Exit, ExitKind, Guard, Node, Value};
use crate::source::Span;

/// Prefixes of legacy emission methods; helpers that take the event type as a string.
pub(super) const LISTS: &[ListDecl] = &[ListDecl::names("emit-prefixes"), ListDecl::names("send-helpers")];

#[derive(Clone, Debug)]
struct Emission {
    pair: usize,
    span: Span,
    key: Option<String>,
    /// The loops that enclose it in its body, by frame id.
    loops: Vec<usize>,
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

/// What a leaf is to one pair.
#[derive(Clone, Debug)]
enum Leaf {
    Open {
        pair: usize,
        span: Span,
        key: Option<String>,
    },
    /// `kind`: the close it is (one of the pair's), empty for a `Drop` guard or a nested body.
    Close {
        pair: usize,
        span: Span,
        key: Option<String>,
        kind: String,
    },
}

impl Leaf {
    fn pair(&self) -> usize {
        match self {
            Leaf::Open { pair, .. } | Leaf::Close { pair, .. } => *pair,
        }
    }
}

/// What the pairing rules know of one file.
struct Pairs<'c, 'a> {
    cx: &'c Cx<'a>,
    vocab: &'c Vocabulary,
    /// Per pair with `close-in = ["drop"]`: the types whose `Drop` sends its close.
    drop_guards: Vec<Vec<String>>,
    /// Functions a `caller:<fn>` pair lets end open, by name: the pairs they leave open. In the
    /// named caller, a call of one opens them.
    handed_over: BTreeMap<String, Vec<usize>>,
    /// Whether a nested body sends a close of a pair, by (body, pair): asked at every visit of
    /// the node, answered once.
    closes_in_body: std::cell::RefCell<BTreeMap<(usize, usize), bool>>,
}

impl<'c, 'a> Pairs<'c, 'a> {
    fn new(cx: &'c Cx<'a>) -> Self {
        let vocab = &*cx.events.vocab;
        let mut pairs = Pairs {
            cx,
            vocab,
            drop_guards: vec![Vec::new(); vocab.pairs.len()],
            handed_over: BTreeMap::new(),
            closes_in_body: Default::default(),
        };
        if vocab.pairs.iter().any(|p| p.close_in.drop) {
            let facts = cx.facts;
            let drop_types: Vec<&String> =
                facts.trait_impls.iter().filter(|(_, t)| t == "Drop").map(|(ty, _)| ty).collect();
            for (p, pair) in vocab.pairs.iter().enumerate().filter(|(_, p)| p.close_in.drop) {
                let closes_in_drop =
                    facts.bodies.iter().filter(|b| b.name.as_deref() == Some("drop")).any(|b| {
                        let mut all = Vec::new();
                        leaves(&b.tree, &mut all);
                        all.iter().any(|l| {
                            pairs.kinds(l).iter().any(|(kind, ..)| pair.close.iter().any(|c| c == kind))
                        })
                    });
                if closes_in_drop {
                    pairs.drop_guards[p] = drop_types.iter().map(|t| (*t).clone()).collect();
                }
            }
        }
        pairs
    }

    /// The event kinds a leaf sends, with the span to point at and its key for each pair key
    /// field (`None` when it has none).
    fn kinds(&self, node: &Node) -> Vec<(String, Span, KeySource)> {
        let cx = self.cx;
        let facts = cx.facts;
        if let Some(found) = self.vocab.find(facts, node) {
            // A function that returns the event it builds does not send it: its caller does.
            // Returned as the value: not an argument of a call made in the returned expression
            // (a tail `if` that sends), other than a wrapper like `Ok(…)`.
            let returned = facts.returned.iter().any(|r| {
                r.contains(found.span)
                    && !facts.calls.iter().any(|c| {
                        c.span != found.span
                            && r.contains(c.span)
                            && c.span.contains(found.span)
                            && !matches!(
                                c.name.as_str(),
                                "Ok" | "Some" | "new" | "from" | "into" | "boxed" | "pin"
                            )
                    })
            });
            if returned {
                return Vec::new();
            }
            return vec![(found.kind.clone(), found.span, KeySource::Declared(found))];
        }
        match node {
            Node::Call(i) => {
                let call = &facts.calls[*i];
                if call.canonical {
                    return Vec::new();
                }
                if let Some(ty) = cx.events.of_method_name(&call.name, cx.rule.list("emit-prefixes")) {
                    return vec![(
                        self.vocab.kind_of_string(ty).to_owned(),
                        call.name_span,
                        KeySource::Call(*i),
                    )];
                }
                if cx.rule.listed("send-helpers", &call.name) {
                    for arg in &call.args {
                        if let Some((s, span)) = arg.str_lit.as_ref() {
                            let kind = self.vocab.kind_of_string(s);
                            if self.in_some_pair(kind) {
                                return vec![(kind.to_owned(), *span, KeySource::Call(*i))];
                            }
                        }
                    }
                }
                Vec::new()
            }
            Node::Literal(i) => {
                // A literal is an emission when it is sent, not when it is kept (a capture hook's log).
                if cx.sent_by(*i).is_none() {
                    return Vec::new();
                }
                let Some(super::events::Typed { event, span, .. }) = cx.event_of(*i) else {
                    return Vec::new();
                };
                vec![(self.vocab.kind_of_string(&event).to_owned(), span, KeySource::Literal(*i))]
            }
            _ => Vec::new(),
        }
    }

    /// Whether a body (or one nested in it) sends a close of `pair`.
    fn closes_in(&self, body: usize, pair: usize, depth: usize) -> bool {
        if let Some(known) = self.closes_in_body.borrow().get(&(body, pair)) {
            return *known;
        }
        let Some(b) = self.cx.facts.bodies.get(body) else { return false };
        let close = &self.vocab.pairs[pair].close;
        let mut all = Vec::new();
        leaves(&b.tree, &mut all);
        let closes = all.iter().any(|leaf| match leaf {
            Node::Nested(inner) => depth < 8 && self.closes_in(*inner, pair, depth + 1),
            other => self.kinds(other).iter().any(|(kind, ..)| close.contains(kind)),
        });
        self.closes_in_body.borrow_mut().insert((body, pair), closes);
        closes
    }

    fn in_some_pair(&self, kind: &str) -> bool {
        self.vocab.pairs.iter().any(|p| p.open == kind || p.close.iter().any(|c| c == kind))
    }

    /// What a leaf is to each pair.
    fn classify(&self, node: &Node) -> Vec<Leaf> {
        let mut out = Vec::new();
        if let Node::Call(i) = node {
            let call = &self.cx.facts.calls[*i];
            let caller = self.cx.facts.bodies.get(call.body).and_then(|b| b.name.as_deref());
            for &p in self.handed_over.get(&call.name).into_iter().flatten() {
                if caller.is_some_and(|c| self.vocab.pairs[p].close_in.callers.iter().any(|n| n == c)) {
                    out.push(Leaf::Open { pair: p, span: call.name_span, key: None });
                }
            }
        }
        if let Node::Nested(body) = node {
            // A task or stream the function hands a declared pair to: a close in it closes.
            for p in (0..self.vocab.pairs.len()).filter(|p| !self.vocab.pairs[*p].builtin) {
                if self.closes_in(*body, p, 0) {
                    out.push(Leaf::Close { pair: p, span: Span::default(), key: None, kind: String::new() });
                }
            }
            return out;
        }
        for (kind, span, source) in self.kinds(node) {
            for (p, pair) in self.vocab.pairs.iter().enumerate() {
                let key = || self.key(pair, &source);
                if pair.open == kind {
                    out.push(Leaf::Open { pair: p, span, key: key() });
                }
                if pair.close.contains(&kind) {
                    out.push(Leaf::Close { pair: p, span, key: key(), kind: kind.clone() });
                }
            }
        }
        // A `Drop` guard constructed: the close of its pairs.
        let constructed = match node {
            Node::Literal(i) => match &self.cx.facts.literals[*i].kind {
                crate::facts::LiteralKind::Struct(path) => path.rsplit("::").next().map(str::to_owned),
                _ => None,
            },
            Node::Call(i) => {
                self.cx.facts.calls[*i].path.as_ref().filter(|p| p.len() >= 2).map(|p| p[p.len() - 2].clone())
            }
            // A unit struct: `let _guard = Guard;`.
            Node::Mark(i) => match &self.cx.facts.marks[*i].kind {
                crate::facts::MarkKind::Path(path) => path.last().cloned(),
                crate::facts::MarkKind::Macro { .. } => None,
            },
            _ => None,
        };
        if let Some(ty) = constructed {
            for (p, guards) in self.drop_guards.iter().enumerate() {
                if guards.contains(&ty) {
                    out.push(Leaf::Close { pair: p, span: Span::default(), key: None, kind: String::new() });
                }
            }
        }
        out
    }

    fn key(&self, pair: &Pair, source: &KeySource) -> Option<String> {
        let facts = self.cx.facts;
        let field = pair.key.as_deref()?;
        match source {
            KeySource::Declared(found) => Vocabulary::key_of(facts, self.cx.text, found, field),
            KeySource::Call(i) => facts.calls[*i].args.iter().find_map(|a| {
                a.str_lit.as_ref().filter(|(s, _)| !self.cx.events.is_event(s)).map(|(s, _)| s.clone())
            }),
            KeySource::Literal(i) => facts.literals[*i].entries.iter().find_map(|e| match &e.value {
                Value::Str(s, _) if e.key == field => Some(s.clone()),
                _ => None,
            }),
        }
    }
}

/// Where a leaf's key comes from.
enum KeySource {
    Declared(super::vocab::Found),
    Call(usize),
    Literal(usize),
}

/// Emissions that may be open: index into `emissions` → nothing (a set).
type Open = BTreeSet<usize>;

struct LoopFrame {
    label: Option<String>,
    /// Unique in the walk: an emission in an earlier loop is not in a later one.
    id: usize,
    breaks: Option<Open>,
    continues: Option<Open>,
}

struct Walk<'p, 'c, 'a> {
    pairs: &'p Pairs<'c, 'a>,
    /// Opens in an arm of a branch another arm of which sends the close: a dispatcher sending
    /// the one event it is asked for, not a pair.
    dispatched: BTreeSet<(usize, Span)>,
    emissions: Vec<Emission>,
    by_span: BTreeMap<(usize, Span), usize>,
    loops: Vec<LoopFrame>,
    /// The id the next loop frame gets.
    next_loop: usize,
    /// The conditions of the arms being walked.
    guards: Vec<Guard>,
    /// The first exit found for each emission left open (`None`: the end of the body).
    unpaired: BTreeMap<usize, Option<Exit>>,
    /// The `.await` at which a cancellable future holding the emission may be dropped.
    cancelled: BTreeMap<usize, Exit>,
    /// Per pair, whether the end of this body may leave it open (a named caller or the end of
    /// a stream closes it).
    end_closes: Vec<bool>,
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

impl<'p, 'c, 'a> Walk<'p, 'c, 'a> {
    fn new(pairs: &'p Pairs<'c, 'a>, dispatched: BTreeSet<(usize, Span)>, end_closes: Vec<bool>) -> Self {
        Walk {
            pairs,
            dispatched,
            emissions: Vec::new(),
            by_span: BTreeMap::new(),
            loops: Vec::new(),
            next_loop: 0,
            guards: Vec::new(),
            unpaired: BTreeMap::new(),
            cancelled: BTreeMap::new(),
            end_closes,
        }
    }

    /// Reports the open emissions (only those inside the loop `only_in`, for a `break` or
    /// `continue` that leaves it).
    fn report(&mut self, open: &Open, exit: Option<&Exit>, only_in: Option<usize>) {
        for &e in open {
            // A `break`/`continue` abandons what this iteration opened: an emission written
            // after it in the loop is one a previous iteration left open for later.
            let this_iteration = |em: &Emission| exit.is_none_or(|x| em.span.start < x.span.start);
            if only_in
                .is_none_or(|l| self.emissions[e].loops.contains(&l) && this_iteration(&self.emissions[e]))
            {
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
                self.next_loop += 1;
                self.loops.push(LoopFrame {
                    label: label.clone(),
                    id: self.next_loop,
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
                    ExitKind::Cancel { scope, .. } => {
                        for &e in &open {
                            let span = self.emissions[e].span;
                            // (Not at the open's own `.await`: whether it was sent is not the
                            // question there.)
                            let own = exit.span.contains(span);
                            if scope.contains(span) && !own {
                                self.cancelled.entry(e).or_insert_with(|| exit.clone());
                            }
                        }
                    }
                    ExitKind::Break(label) | ExitKind::Continue(label) => {
                        let target = match label {
                            Some(l) => self.loops.iter().rposition(|f| f.label.as_deref() == Some(l)),
                            None => self.loops.len().checked_sub(1),
                        };
                        if let Some(t) = target {
                            let id = self.loops[t].id;
                            self.report(&open, Some(exit), Some(id));
                            let outside: Open = open
                                .iter()
                                .copied()
                                .filter(|e| !self.emissions[*e].loops.contains(&id))
                                .collect();
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
                for l in self.pairs.classify(leaf) {
                    match l {
                        Leaf::Open { pair, span, .. } if self.dispatched.contains(&(pair, span)) => {}
                        Leaf::Open { pair, span, key } => {
                            let loops = self.loops.iter().map(|f| f.id).collect();
                            let next = self.emissions.len();
                            let id = *self.by_span.entry((pair, span)).or_insert(next);
                            if id == next {
                                self.emissions.push(Emission {
                                    pair,
                                    span,
                                    key,
                                    loops,
                                    guards: self.guards.clone(),
                                });
                            }
                            open.insert(id);
                        }
                        Leaf::Close { pair, key, .. } => {
                            let emissions = &self.emissions;
                            open.retain(|e| {
                                emissions[*e].pair != pair
                                    || match (&emissions[*e].key, &key) {
                                        (Some(a), Some(b)) => a != b,
                                        _ => false,
                                    }
                            });
                        }
                    }
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

/// Collects the opens that sit in one arm of a branch while another arm sends the same pair's
/// close (`if event == "tool_executing": … elif event == "tool_completed": …`).
fn find_dispatch(pairs: &Pairs<'_, '_>, node: &Node, dispatched: &mut BTreeSet<(usize, Span)>) {
    match node {
        Node::Branch(arms) => {
            let kinds: Vec<Vec<Leaf>> = arms
                .iter()
                .map(|arm| {
                    let mut found = Vec::new();
                    leaves(arm, &mut found);
                    found.iter().flat_map(|l| pairs.classify(l)).collect()
                })
                .collect();
            for (i, arm) in kinds.iter().enumerate() {
                for leaf in arm {
                    let Leaf::Open { pair, span, .. } = leaf else { continue };
                    let closes_here =
                        arm.iter().any(|l| matches!(l, Leaf::Close { pair: p, .. } if p == pair));
                    let other_closes = kinds.iter().enumerate().any(|(j, other)| {
                        j != i && other.iter().any(|l| matches!(l, Leaf::Close { pair: p, .. } if p == pair))
                    });
                    if other_closes && !closes_here {
                        dispatched.insert((*pair, *span));
                    }
                }
            }
            arms.iter().for_each(|arm| find_dispatch(pairs, arm, dispatched));
        }
        Node::Seq(children) => children.iter().for_each(|c| find_dispatch(pairs, c, dispatched)),
        Node::Loop { body, .. } => find_dispatch(pairs, body, dispatched),
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
        Some(ExitKind::Cancel { .. }) => "a cancellation",
        None => "the end of the body",
    }
}

/// Whether a body is an emission itself (its callers pair it): a `send_tool_executing`-like
/// wrapper, a declared helper, a canonical emitter.
fn is_wrapper(cx: &Cx<'_>, name: &str) -> bool {
    let vocab = &*cx.events.vocab;
    cx.events.of_method_name(name, cx.rule.list("emit-prefixes")).is_some()
        || vocab.is_helper(name)
        || vocab.pairs.iter().filter(|p| !p.builtin).any(|p| {
            std::iter::once(&p.open)
                .chain(&p.close)
                .any(|k| name.strip_suffix(k.as_str()).is_some_and(|rest| rest.ends_with('_')))
        })
        || (vocab.has_canonical() && {
            let owner = cx.facts.fns.iter().find(|f| f.name == name).and_then(|f| f.owner.as_deref());
            vocab.is_canonical_fn(owner, name)
        })
}

/// The help of a declared pair's findings.
fn pair_help(pair: &Pair, kind: Kind) -> Option<String> {
    if pair.builtin {
        return None;
    }
    if let Some(help) = &pair.help {
        return Some(help.clone());
    }
    let close = pair.close_names();
    Some(match kind {
        Kind::Cancelled => format!(
            "send {close} from the code that cancels (the other `select!` arm, the caller of `abort()`), or from a `Drop` guard the future owns"
        ),
        Kind::CfgClose => format!("compile {close} wherever `{}` is compiled: move the `#[cfg]` inside, or give the other configurations their own close", pair.open),
        Kind::Twice => format!("send {close} once per `{}`, from one place", pair.open),
        _ => format!(
            "send {close} on every path out of the function, also on `?` and early returns (a `Drop` guard does it for every path)"
        ),
    })
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let vocab = &*cx.events.vocab;
    // The checks that need what the file may not have: not classified for nothing.
    let may_fire = match cx.rule.kind {
        Kind::Twice => vocab.pairs.iter().any(|p| p.exactly_once),
        Kind::CfgClose => cx.text.contains("cfg"),
        Kind::Cancelled => cx.facts.bodies.iter().any(|b| has_cancel(&b.tree)),
        _ => true,
    };
    if !may_fire {
        return;
    }
    let mut pairs = Pairs::new(cx);
    pairs.handed_over = handed_over(&pairs);
    // A declared vocabulary's events in test code are what the test feeds or expects, not what
    // a run sends.
    let in_tests = if vocab.declared() { test_bodies(cx.facts) } else { Vec::new() };
    for (id, body) in cx.facts.bodies.iter().enumerate() {
        if body.name.as_deref().is_some_and(|n| is_wrapper(cx, n)) {
            continue;
        }
        let declared_only = in_tests.get(id).copied().unwrap_or(false);
        let mut all = Vec::new();
        leaves(&body.tree, &mut all);
        let classified: Vec<Leaf> = all
            .iter()
            .flat_map(|leaf| pairs.classify(leaf))
            .filter(|l| !declared_only || vocab.pairs[l.pair()].builtin)
            .collect();
        if classified.is_empty() {
            continue;
        }
        match cx.rule.kind {
            Kind::CfgClose => {
                cfg_check(&pairs, body, hits);
                continue;
            }
            Kind::Twice => {
                let mut twice = Twice { pairs: &pairs, found: BTreeMap::new() };
                twice.node(&body.tree, Some(BTreeMap::new()));
                for (second, (first, kind)) in twice.found {
                    let pair = &vocab.pairs[second.0];
                    let mut hit = Hit::at(second.1)
                        .arg("event", format!("`{kind}`"))
                        .arg("open", pair.open.as_str())
                        .label(first, "closed here first, on the same path");
                    hit.help = pair_help(pair, Kind::Twice);
                    hits.push(hit);
                }
                continue;
            }
            _ => {}
        }
        if !classified.iter().any(|k| matches!(k, Leaf::Open { .. })) {
            continue;
        }
        let mut dispatched = BTreeSet::new();
        if classified.iter().any(|k| matches!(k, Leaf::Close { .. })) {
            find_dispatch(&pairs, &body.tree, &mut dispatched);
        }
        let end_closes = vocab
            .pairs
            .iter()
            .map(|p| {
                (p.close_in.stream_end && body.stream)
                    || body.name.as_deref().is_some_and(|name| called_by(cx, name, &p.close_in.callers))
            })
            .collect();
        let mut walk = Walk::new(&pairs, dispatched, end_closes);
        if let Some(open) = walk.node(&body.tree, Some(Open::new())) {
            let open: Open = open.into_iter().filter(|e| !walk.end_closes[walk.emissions[*e].pair]).collect();
            walk.report(&open, None, None);
        }
        if cx.rule.kind == Kind::Cancelled {
            for (e, exit) in &walk.cancelled {
                let emission = &walk.emissions[*e];
                let pair = &vocab.pairs[emission.pair];
                let ExitKind::Cancel { by, .. } = exit.kind else { continue };
                let mut hit = Hit::at(emission.span)
                    .arg("open", pair.open.as_str())
                    .arg("closed", pair.closed_words())
                    .arg("by", by)
                    .label(
                        exit.span,
                        format!("{by} may drop the future here, before {} is sent", pair.close_names()),
                    );
                hit.help = pair_help(pair, Kind::Cancelled);
                hits.push(hit);
            }
            continue;
        }
        for (e, exit) in &walk.unpaired {
            let emission = &walk.emissions[*e];
            let pair = &vocab.pairs[emission.pair];
            let mut hit = Hit::at(emission.span)
                .arg("exit", describe(exit))
                .arg("open", pair.open.as_str())
                .arg("closed", pair.closed_words());
            if let Some(exit) = exit {
                hit = hit.label(exit.span, format!("leaves here before {} is sent", pair.close_names()));
            }
            hit.help = pair_help(pair, Kind::Unpaired);
            if !pair.builtin {
                hit.note = Some(format!("`{}` opens here", pair.open));
            }
            hits.push(hit);
        }
    }
}

/// Per body, whether it is test code: in a `#[test]` function or a `#[cfg(test)]` module
/// (closures and async blocks belong to the function around them). A body is placed by its
/// first call, literal or mark.
fn test_bodies(facts: &crate::facts::Facts) -> Vec<bool> {
    let tests: Vec<Span> = facts.fns.iter().filter(|f| f.is_test()).filter_map(|f| f.extent).collect();
    let mut first: Vec<Option<Span>> = vec![None; facts.bodies.len()];
    let spans = facts.calls.iter().map(|c| (c.body, c.span));
    let spans = spans.chain(facts.literals.iter().map(|l| (l.body, l.span)));
    for (body, span) in spans.chain(facts.marks.iter().map(|m| (m.body, m.span))) {
        if let Some(slot @ None) = first.get_mut(body) {
            *slot = Some(span);
        }
    }
    first.into_iter().map(|s| s.is_some_and(|s| tests.iter().any(|t| t.contains(s)))).collect()
}

/// Whether a tree holds a cancellation point (`select!`, an aborted task).
fn has_cancel(node: &Node) -> bool {
    match node {
        Node::Seq(children) | Node::Branch(children) => children.iter().any(has_cancel),
        Node::Loop { body, .. } => has_cancel(body),
        Node::Exit(exit) => matches!(exit.kind, ExitKind::Cancel { .. }),
        _ => false,
    }
}

/// The functions that end with a `caller:<fn>` pair open and are called by that caller: the
/// pairs each leaves open at its end.
fn handed_over(pairs: &Pairs<'_, '_>) -> BTreeMap<String, Vec<usize>> {
    let cx = pairs.cx;
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for body in &cx.facts.bodies {
        let Some(name) = body.name.as_deref() else { continue };
        let handing: Vec<usize> = (0..pairs.vocab.pairs.len())
            .filter(|p| called_by(cx, name, &pairs.vocab.pairs[*p].close_in.callers))
            .collect();
        if handing.is_empty() {
            continue;
        }
        let mut walk = Walk::new(pairs, BTreeSet::new(), vec![false; pairs.vocab.pairs.len()]);
        if let Some(open) = walk.node(&body.tree, Some(Open::new())) {
            let mut left: Vec<usize> =
                open.iter().map(|e| walk.emissions[*e].pair).filter(|p| handing.contains(p)).collect();
            left.sort_unstable();
            left.dedup();
            if !left.is_empty() {
                out.entry(name.to_owned()).or_default().extend(left);
            }
        }
    }
    out
}

/// Whether one of `callers` (function names) calls `name` in this file.
fn called_by(cx: &Cx<'_>, name: &str, callers: &[String]) -> bool {
    !callers.is_empty()
        && cx.facts.calls.iter().any(|c| {
            c.name == name
                && cx
                    .facts
                    .bodies
                    .get(c.body)
                    .and_then(|b| b.name.as_deref())
                    .is_some_and(|b| callers.iter().any(|n| n == b))
        })
}

/// The `#[cfg(…)]` conditions each leaf is compiled under.
fn cfg_leaves<'n>(node: &'n Node, cfgs: &mut Vec<String>, out: &mut Vec<(&'n Node, Vec<String>)>) {
    match node {
        Node::Seq(children) => {
            let before = cfgs.len();
            for child in children {
                match child {
                    Node::Guard(g) if g.key.starts_with("cfg(") => cfgs.push(g.key.clone()),
                    other => cfg_leaves(other, cfgs, out),
                }
            }
            cfgs.truncate(before);
        }
        Node::Branch(children) => children.iter().for_each(|c| cfg_leaves(c, cfgs, out)),
        Node::Loop { body, .. } => cfg_leaves(body, cfgs, out),
        leaf => out.push((leaf, cfgs.clone())),
    }
}

/// `cfg(not(P))` for `cfg(P)` and the other way round.
fn negation(cfg: &str) -> String {
    match cfg.strip_prefix("cfg(not(").and_then(|c| c.strip_suffix("))")) {
        Some(inner) => format!("cfg({inner})"),
        None => format!("cfg(not({}))", &cfg[4..cfg.len().saturating_sub(1)]),
    }
}

fn cfg_check(pairs: &Pairs<'_, '_>, body: &crate::facts::Body, hits: &mut Vec<Hit>) {
    let mut all = Vec::new();
    cfg_leaves(&body.tree, &mut Vec::new(), &mut all);
    let mut opens = Vec::new();
    let mut closes = Vec::new();
    for (leaf, cfgs) in &all {
        for l in pairs.classify(leaf) {
            match l {
                Leaf::Open { pair, span, .. } => opens.push((pair, span, cfgs.clone())),
                Leaf::Close { pair, span, kind, .. } => closes.push((pair, span, cfgs.clone(), kind)),
            }
        }
    }
    let mut reported = BTreeSet::new();
    for (pair, open_span, open_cfgs) in &opens {
        let mine: Vec<&(usize, Span, Vec<String>, String)> = closes.iter().filter(|c| c.0 == *pair).collect();
        if mine.is_empty() {
            continue;
        }
        // Compiled wherever the open is: a close under no condition the open lacks, or closes
        // under a condition and under its negation.
        let extra = |c: &Vec<String>| -> Vec<String> {
            c.iter().filter(|k| !open_cfgs.contains(k)).cloned().collect()
        };
        let covered = mine.iter().any(|c| extra(&c.2).is_empty())
            || mine.iter().any(|c| {
                let e = extra(&c.2);
                e.len() == 1 && mine.iter().any(|d| extra(&d.2) == vec![negation(&e[0])])
            });
        if covered {
            continue;
        }
        for close in mine {
            if !reported.insert(close.1) {
                continue;
            }
            let gate = extra(&close.2).join(", ");
            let p = &pairs.vocab.pairs[*pair];
            let mut hit = Hit::at(close.1)
                .arg("close", format!("`{}`", if close.3.is_empty() { &p.close[0] } else { &close.3 }))
                .arg("cfg", format!("#[{}]", gate))
                .arg("open", p.open.as_str())
                .label(*open_span, "opens here, in every configuration");
            hit.help = pair_help(p, Kind::CfgClose);
            hits.push(hit);
        }
    }
}

/// The terminal closes already sent on a path, by (pair, key): where.
type Seen = BTreeMap<(usize, Option<String>), Span>;

struct Twice<'p, 'c, 'a> {
    pairs: &'p Pairs<'c, 'a>,
    /// (pair, second) → first.
    found: BTreeMap<(usize, Span), (Span, String)>,
}

fn merge(a: Option<Seen>, b: Option<Seen>) -> Option<Seen> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            for (k, v) in b {
                a.entry(k).or_insert(v);
            }
            Some(a)
        }
        (a, None) => a,
        (None, b) => b,
    }
}

impl Twice<'_, '_, '_> {
    fn node(&mut self, node: &Node, state: Option<Seen>) -> Option<Seen> {
        let mut seen = state?;
        match node {
            Node::Seq(children) => children.iter().try_fold(seen, |s, c| self.node(c, Some(s))),
            Node::Branch(arms) => arms.iter().fold(None, |acc, arm| {
                let out = self.node(arm, Some(seen.clone()));
                merge(acc, out)
            }),
            Node::Loop { body, .. } => {
                // Twice round: a close the loop sends again after another of its own is found.
                let once = self.node(body, Some(seen.clone()));
                let twice = self.node(body, once.clone());
                merge(merge(Some(seen), once), twice)
            }
            Node::Exit(_) => None,
            leaf => {
                for l in self.pairs.classify(leaf) {
                    let pair = l.pair();
                    if !self.pairs.vocab.pairs[pair].exactly_once {
                        continue;
                    }
                    match l {
                        Leaf::Open { key, .. } => {
                            seen.retain(|(p, k), _| {
                                *p != pair || (k.is_some() && key.is_some() && *k != key)
                            });
                        }
                        Leaf::Close { span, key, kind, .. } if span != Span::default() => {
                            let earlier = seen.iter().find(|((p, k), first)| {
                                *p == pair && **first != span && (k.is_none() || key.is_none() || *k == key)
                            });
                            if let Some((_, first)) = earlier {
                                self.found.entry((pair, span)).or_insert((*first, kind));
                            } else {
                                seen.insert((pair, key), span);
                            }
                        }
                        Leaf::Close { .. } => {}
                    }
                }
                Some(seen)
            }
        }
    }
}

/// The strings a file must hold: the built-in pair's open spells `tool_executing`; a declared
/// pair's, one of the vocabulary's forms.
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    let vocab = &*cx.events.vocab;
    let mut group = vec!["tool_executing".to_owned()];
    // A declared pair fires where its open is written; a terminal close sent twice, where the
    // close is.
    let declared: Vec<&Pair> = vocab.pairs.iter().filter(|p| !p.builtin).collect();
    group.extend(match cx.rule.kind {
        Kind::Twice => {
            vocab.needles_of(|k| declared.iter().any(|p| p.exactly_once && p.close.iter().any(|c| c == k)))
        }
        _ => vocab.needles_of(|k| declared.iter().any(|p| p.open == k)),
    });
    vec![group]
}
