//! Which hand-built payloads are sent, and how: the judgement the event rules share. A payload is
//! sent when it is written inside an argument of a sending call (`send_json({…})`,
//! `ws.send_text(json.dumps({…}))`), or bound to a name that such an argument uses later in the
//! same body (`completion = {…}` … `await emitter.send_message(completion)`).
//!
//! A sending call is a send helper or an all-users method (the shared lists `send-helpers` and
//! `broadcast-methods`), or a function or method whose name is one of `send-prefixes`, alone or
//! before `_`. A send goes to a user when it is a send helper, an all-users method, a method
//! naming a user or thread (`send_to_user`), or a method on a receiver whose name holds one of
//! `server-senders` (`manager`, `notifier` …) — a test client's `client.send(…)` does not.

use std::collections::HashMap;

use super::SharedLists;
use crate::facts::{Call, Facts, Root};
use crate::source::Span;

/// The name lists the analysis reads (the shared lists, as configured).
#[derive(Clone, Debug, Default)]
pub struct SendLists {
    emit_prefixes: Vec<String>,
    helpers: Vec<String>,
    broadcast: Vec<String>,
    prefixes: Vec<String>,
    server_senders: Vec<String>,
}

impl SendLists {
    /// The lists as they are in `shared`.
    pub fn new(shared: &SharedLists) -> SendLists {
        let names = |name: &str| shared.lists.get(name).map(|l| l.names.clone()).unwrap_or_default();
        SendLists {
            emit_prefixes: names("emit-prefixes"),
            helpers: names("send-helpers"),
            broadcast: names("broadcast-methods"),
            prefixes: names("send-prefixes"),
            server_senders: names("server-senders"),
        }
    }

    /// Whether a call sends what its arguments hold.
    pub fn is_send(&self, call: &Call) -> bool {
        let name = call.name.as_str();
        self.helpers.iter().chain(&self.broadcast).any(|h| h == name)
            || self
                .prefixes
                .iter()
                .any(|p| name == p || name.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('_')))
    }

    /// Whether a function is a legacy emitter: a send helper, or named for the event it sends
    /// (`notify_agent_thinking`, `send_tool_executing`, `notify_agent_error`). What it sends is
    /// built for an emitter.
    pub fn is_emitter_fn(&self, name: &str, events: &super::Events) -> bool {
        let agent_like = self.emit_prefixes.iter().any(|p| {
            name.strip_prefix(p.as_str())
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|event| event.starts_with("agent_") || event.starts_with("tool_"))
        });
        self.helpers.iter().any(|h| h == name)
            || agent_like
            || events.of_method_name(name, &self.emit_prefixes).is_some()
    }

    /// Whether a sending call goes from the server to a user.
    pub fn to_user(&self, call: &Call) -> bool {
        let name = call.name.as_str();
        let receiver_names: Vec<String> = call
            .receiver
            .iter()
            .flat_map(|r| {
                let last = r.segs.iter().rev().find(|s| !s.name.is_empty()).map(|s| s.name.as_str());
                let root = match &r.root {
                    Root::Ident(name) => Some(name.as_str()),
                    _ => None,
                };
                [last, root].into_iter().flatten().map(str::to_ascii_lowercase)
            })
            .collect();
        // A test client sends to the server, whatever its method is called.
        if receiver_names.iter().any(|n| n.contains("client")) {
            return false;
        }
        self.helpers.iter().chain(&self.broadcast).any(|h| h == name)
            || name.contains("user")
            || name.contains("thread")
            || receiver_names.iter().any(|n| self.server_senders.iter().any(|s| n.contains(s.as_str())))
    }
}

/// How each literal of a file is sent.
#[derive(Debug, Default)]
pub struct Sends {
    /// Per literal: the call that sends it, if any.
    literal: Vec<Option<usize>>,
    /// Per call: the sending call whose argument holds it, if any.
    call: Vec<Option<usize>>,
    /// Per literal: whether a function returns it (to a caller that sends it).
    returned: Vec<bool>,
    /// Per sending call: the literals it sends.
    by_call: HashMap<usize, Vec<usize>>,
}

/// For each item (by span), the sending call whose argument holds it (the innermost).
fn enclosing_send_args(facts: &Facts, lists: &SendLists, items: &[Span]) -> Vec<Option<usize>> {
    let args: Vec<(Span, usize)> = facts
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| lists.is_send(c))
        .flat_map(|(i, c)| c.args.iter().map(move |a| (a.span, i)))
        .collect();
    crate::source::innermost(args, items)
}

impl Sends {
    /// The sends of a file.
    pub fn new(facts: &Facts, lists: &SendLists) -> Sends {
        let literal_spans: Vec<Span> = facts.literals.iter().map(|l| l.span).collect();
        let mut literal = enclosing_send_args(facts, lists, &literal_spans);
        let call_spans: Vec<Span> = facts.calls.iter().map(|c| c.span).collect();
        let call_inside = enclosing_send_args(facts, lists, &call_spans);
        // The calls that use a name, by body and name: as an argument or as the receiver's root.
        let mut uses: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
        for (i, call) in facts.calls.iter().enumerate() {
            let mut names: Vec<&str> = call.args.iter().filter_map(|a| a.ident.as_deref()).collect();
            if let Some(Root::Ident(root)) = call.receiver.as_ref().map(|r| &r.root) {
                names.push(root);
            }
            names.sort_unstable();
            names.dedup();
            for name in names {
                uses.entry((call.body, name)).or_default().push(i);
            }
        }
        for (i, lit) in facts.literals.iter().enumerate() {
            if literal[i].is_some() {
                continue;
            }
            let Some(name) = lit.binding.as_deref() else { continue };
            let Some(calls) = uses.get(&(lit.body, name)) else { continue };
            literal[i] =
                calls.iter().filter(|c| facts.calls[**c].span.start >= lit.span.end).find_map(|&c| {
                    let call = &facts.calls[c];
                    let as_arg = call.args.iter().any(|a| a.ident.as_deref() == Some(name));
                    if as_arg && lists.is_send(call) {
                        Some(c)
                    } else {
                        call_inside[c]
                    }
                });
        }
        let mut by_call: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, call) in literal.iter().enumerate() {
            if let Some(call) = call {
                by_call.entry(*call).or_default().push(i);
            }
        }
        let returns: Vec<(Span, ())> = facts.returned.iter().map(|s| (*s, ())).collect();
        let returned =
            crate::source::innermost(returns, &literal_spans).into_iter().map(|r| r.is_some()).collect();
        Sends { literal, call: call_inside, returned, by_call }
    }

    /// Whether a function returns a literal (in its returned value).
    pub fn returned(&self, literal: usize) -> bool {
        self.returned.get(literal).copied().unwrap_or(false)
    }

    /// The sending call whose argument holds call `i` (`send_text(json.dumps(event.model_dump()))`).
    pub fn of_call(&self, call: usize) -> Option<usize> {
        self.call.get(call).copied().flatten()
    }

    /// The literals a call sends.
    pub fn sent_by_call(&self, call: usize) -> &[usize] {
        self.by_call.get(&call).map_or(&[], Vec::as_slice)
    }

    /// The call that sends a literal, if it is sent.
    pub fn of_literal(&self, literal: usize) -> Option<usize> {
        self.literal.get(literal).copied().flatten()
    }
}
