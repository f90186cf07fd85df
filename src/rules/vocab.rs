//! A project's declared event vocabulary (`[vocabulary]` in the configuration): its event kinds
//! and what the code writes for each (enum variants, structs, helper functions, a project
//! macro's first argument, string types), the functions allowed to send them, the sinks that
//! deliver them, and the open/close pairs the pairing rules check. A project that declares
//! nothing has the built-in vocabulary: the schema's string types and the one pair
//! `tool_executing` → `tool_completed`, keyed by `tool_name`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::facts::{Call, Facts, LiteralKind, MarkKind, Node, Value};
use crate::source::Span;

/// `[vocabulary]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawVocabulary {
    /// Event kinds, by name.
    #[serde(default)]
    pub events: BTreeMap<String, RawKind>,
    /// The canonical emitters and the sinks.
    #[serde(default)]
    pub emitters: RawEmitters,
    /// Open/close pairs.
    #[serde(default)]
    pub pairs: Vec<RawPair>,
}

/// `[vocabulary.events.<kind>]`: what the code writes for one event kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawKind {
    /// Enum variants, `Enum::Variant` (constructed as a struct, a tuple or a unit variant; also
    /// through `use Enum::*` and a type alias of the enum).
    #[serde(default)]
    pub variants: Vec<String>,
    /// Struct names (a struct literal or `Name::new(…)`).
    #[serde(default)]
    pub structs: Vec<String>,
    /// Helper functions and methods whose call sends it: `send_turn_started`, or
    /// `EventHelper::send_turn_started`.
    #[serde(default)]
    pub helpers: Vec<String>,
    /// A project macro with its first argument: `invoke_hooks!(OnStart)`.
    #[serde(default)]
    pub macros: Vec<String>,
    /// String event types (`"turn_started"` in a hand-built event or given to a send helper).
    #[serde(default)]
    pub strings: Vec<String>,
    /// The name the event has on the wire; checked against the enum's serde attributes.
    #[serde(default)]
    pub wire: Option<String>,
}

/// `[vocabulary.emitters]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawEmitters {
    /// The functions allowed to build and send events: `emit`, `EventHelper::send`,
    /// `EventHelper::*`.
    #[serde(default)]
    pub canonical: Vec<String>,
    /// Methods that deliver an event to its run's user: `send`, `tx.send`, `dispatch`.
    #[serde(default)]
    pub sinks: Vec<String>,
    /// Methods that deliver to every user: `broadcast_tx.send`.
    #[serde(default)]
    pub broadcast: Vec<String>,
}

/// `[[vocabulary.pairs]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPair {
    /// The kind that opens.
    pub open: String,
    /// The kinds that close (`["turn_completed", "turn_failed"]`), or one kind.
    pub close: OneOrMany,
    /// A field both halves carry that must match (`tool_call_id`).
    #[serde(default)]
    pub key: Option<String>,
    /// Where else the close may happen: `"drop"` (a `Drop` guard constructed after the open),
    /// `"stream-end"` (the end of a `stream!` body), `"caller:<fn>"` (the named function,
    /// which calls the one that opens).
    #[serde(default)]
    pub close_in: Vec<String>,
    /// The close is terminal: sent at most once on a path.
    #[serde(default)]
    pub exactly_once: bool,
    /// The help of this pair's findings.
    #[serde(default)]
    pub help: Option<String>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Many.
    Many(Vec<String>),
}

/// A declared way of writing an event kind.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Form {
    /// `Enum::Variant`.
    Variant(String, String),
    /// A struct name.
    Struct(String),
    /// A helper: its owner type, if given, and its name.
    Helper(Option<String>, String),
    /// A macro and its first argument.
    Macro(String, String),
}

/// One declared event kind.
#[derive(Clone, Debug)]
pub struct KindDef {
    /// Its name.
    pub name: String,
    forms: Vec<Form>,
    /// Its string types.
    pub strings: Vec<String>,
    /// Its wire name.
    pub wire: Option<String>,
}

/// A function allowed to send events: `name`, `Type::name`, `Type::*`.
#[derive(Clone, Debug)]
struct FnPattern {
    owner: Option<String>,
    name: String,
}

impl FnPattern {
    fn parse(text: &str) -> Option<FnPattern> {
        let (owner, name) = match text.rsplit_once("::") {
            Some((owner, name)) => (Some(owner.rsplit("::").next()?.to_owned()), name),
            None => (None, text),
        };
        let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        (ident(name) || name == "*")
            .then(|| FnPattern { owner, name: name.to_owned() })
            .filter(|p| p.owner.as_deref().is_none_or(ident))
    }

    fn matches(&self, owner: Option<&str>, name: &str) -> bool {
        (self.name == "*" || self.name == name) && self.owner.as_deref().is_none_or(|o| Some(o) == owner)
    }
}

/// A sink method, with the field or variable it is called on when given (`tx.send`).
#[derive(Clone, Debug)]
struct SinkPattern {
    receiver: Option<String>,
    method: String,
}

impl SinkPattern {
    fn parse(text: &str) -> Option<SinkPattern> {
        let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        let (receiver, method) = match text.rsplit_once('.') {
            Some((r, m)) => (Some(r.rsplit('.').next()?.to_owned()), m),
            None => (None, text),
        };
        (ident(method) && receiver.as_deref().is_none_or(ident))
            .then(|| SinkPattern { receiver, method: method.to_owned() })
    }

    fn matches(&self, call: &Call) -> bool {
        if !call.is_method() || call.name != self.method {
            return false;
        }
        let Some(want) = &self.receiver else { return true };
        let Some(chain) = &call.receiver else { return false };
        let last = chain.segs.iter().rev().find(|s| matches!(s.kind, crate::facts::SegKind::Field));
        match last {
            Some(seg) => &seg.name == want,
            None => matches!(&chain.root, crate::facts::Root::Ident(n) if n == want),
        }
    }
}

/// Where a pair's close may also happen.
#[derive(Clone, Debug, Default)]
pub struct CloseIn {
    /// A `Drop` guard constructed after the open.
    pub drop: bool,
    /// The end of a `stream!` body.
    pub stream_end: bool,
    /// Functions that call the one that opens and close for it.
    pub callers: Vec<String>,
}

/// One open/close pair.
#[derive(Clone, Debug)]
pub struct Pair {
    /// The opening kind.
    pub open: String,
    /// The closing kinds.
    pub close: Vec<String>,
    /// The field that must match.
    pub key: Option<String>,
    /// Where else the close may happen.
    pub close_in: CloseIn,
    /// Whether the close is terminal (sent at most once on a path).
    pub exactly_once: bool,
    /// The help of its findings, when declared.
    pub help: Option<String>,
    /// Whether it is the built-in pair.
    pub builtin: bool,
}

impl Pair {
    /// How a message names its close: `completed` for the built-in pair, else
    /// `` closed (`turn_completed` or `turn_failed`) ``.
    pub fn closed_words(&self) -> String {
        if self.builtin {
            return "completed".to_owned();
        }
        let names: Vec<String> = self.close.iter().map(|c| format!("`{c}`")).collect();
        format!("closed ({})", names.join(" or "))
    }

    /// The closing kinds, for a label: `` `tool_completed` ``, `` `a` or `b` ``.
    pub fn close_names(&self) -> String {
        self.close.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or ")
    }
}

/// The vocabulary in force.
#[derive(Clone, Debug)]
pub struct Vocabulary {
    /// Declared kinds.
    pub kinds: Vec<KindDef>,
    /// Pairs: the built-in one first.
    pub pairs: Vec<Pair>,
    canonical: Vec<FnPattern>,
    sinks: Vec<SinkPattern>,
    broadcast: Vec<SinkPattern>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            kinds: Vec::new(),
            pairs: vec![Pair {
                open: "tool_executing".to_owned(),
                close: vec!["tool_completed".to_owned()],
                key: Some("tool_name".to_owned()),
                close_in: CloseIn::default(),
                exactly_once: false,
                help: None,
                builtin: true,
            }],
            canonical: Vec::new(),
            sinks: Vec::new(),
            broadcast: Vec::new(),
        }
    }
}

/// An event a node of a body's tree is.
#[derive(Clone, Debug)]
pub struct Found {
    /// The kind's name.
    pub kind: String,
    /// Where to point.
    pub span: Span,
    /// The struct literal it is, when it is one (its fields give keys).
    pub literal: Option<usize>,
    /// Whether it builds the event (a variant or a struct), not calls a helper that sends it.
    pub built: bool,
}

fn ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

impl Vocabulary {
    /// The vocabulary from `[vocabulary]`; errors name the key. `builtin_kinds` are the string
    /// types known without declaration.
    pub fn new(raw: RawVocabulary, builtin_kinds: &[&str]) -> Result<Vocabulary, String> {
        let mut vocab = Vocabulary::default();
        for (name, kind) in raw.events {
            let at = |key: &str, i: usize| format!("`vocabulary.events.{name}.{key}[{i}]`");
            if !ident(&name) {
                return Err(format!("`vocabulary.events.{name}`: a kind's name is an identifier"));
            }
            let mut forms = Vec::new();
            for (i, v) in kind.variants.iter().enumerate() {
                let segs: Vec<&str> = v.split("::").collect();
                match segs.as_slice() {
                    [.., e, variant] if ident(e) && ident(variant) => {
                        forms.push(Form::Variant((*e).to_owned(), (*variant).to_owned()))
                    }
                    _ => {
                        return Err(format!(
                            "{}: `{v}` is not an enum variant like `Event::TaskStarted`",
                            at("variants", i)
                        ))
                    }
                }
            }
            for (i, s) in kind.structs.iter().enumerate() {
                let last = s.rsplit("::").next().unwrap_or_default();
                if !ident(last) {
                    return Err(format!("{}: `{s}` is not a struct name", at("structs", i)));
                }
                forms.push(Form::Struct(last.to_owned()));
            }
            for (i, h) in kind.helpers.iter().enumerate() {
                let p = FnPattern::parse(h)
                    .filter(|p| p.name != "*")
                    .ok_or_else(|| format!("{}: `{h}` is not a function like `send_turn_started` or `EventHelper::send_turn_started`", at("helpers", i)))?;
                forms.push(Form::Helper(p.owner, p.name));
            }
            for (i, m) in kind.macros.iter().enumerate() {
                let parsed = m.split_once("!(").and_then(|(name, rest)| {
                    let first = rest.strip_suffix(')')?.trim();
                    let name = name.rsplit("::").next()?.trim();
                    (ident(name) && ident(first)).then(|| Form::Macro(name.to_owned(), first.to_owned()))
                });
                match parsed {
                    Some(form) => forms.push(form),
                    None => {
                        return Err(format!(
                            "{}: `{m}` is not a macro with its first argument, like `invoke_hooks!(OnStart)`",
                            at("macros", i)
                        ))
                    }
                }
            }
            for (i, s) in kind.strings.iter().enumerate() {
                if !ident(s) {
                    return Err(format!("{}: `{s}` is not an event type string", at("strings", i)));
                }
            }
            if forms.is_empty() && kind.strings.is_empty() {
                return Err(format!(
                    "`vocabulary.events.{name}`: declares no way to write it (give `variants`, `structs`, `helpers`, `macros` or `strings`)"
                ));
            }
            vocab.kinds.push(KindDef { name, forms, strings: kind.strings, wire: kind.wire });
        }
        let known = |k: &str, vocab: &Vocabulary| {
            vocab.kinds.iter().any(|d| d.name == k) || builtin_kinds.contains(&k)
        };
        for (i, pair) in raw.pairs.into_iter().enumerate() {
            let at = format!("vocabulary.pairs[{i}]");
            let close = match pair.close {
                OneOrMany::One(c) => vec![c],
                OneOrMany::Many(c) => c,
            };
            if close.is_empty() {
                return Err(format!("`{at}.close`: names no kind"));
            }
            for k in std::iter::once(&pair.open).chain(&close) {
                if !known(k, &vocab) {
                    let names: Vec<&str> = vocab
                        .kinds
                        .iter()
                        .map(|d| d.name.as_str())
                        .chain(builtin_kinds.iter().copied())
                        .collect();
                    let hint = match super::closest(k, names) {
                        Some(near) => format!("; did you mean `{near}`?"),
                        None => " (declare it under `[vocabulary.events]`)".to_owned(),
                    };
                    let key = if *k == pair.open { "open" } else { "close" };
                    return Err(format!("`{at}.{key}`: there is no event kind `{k}`{hint}"));
                }
            }
            let mut close_in = CloseIn::default();
            for (j, place) in pair.close_in.iter().enumerate() {
                match place.as_str() {
                    "drop" => close_in.drop = true,
                    "stream-end" => close_in.stream_end = true,
                    other => match other.strip_prefix("caller:").filter(|n| ident(n)) {
                        Some(name) => close_in.callers.push(name.to_owned()),
                        None => {
                            return Err(format!(
                                "`{at}.close-in[{j}]`: `{place}` is not a place (expected `drop`, `stream-end` or `caller:<function>`)"
                            ))
                        }
                    },
                }
            }
            if let Some(key) = &pair.key {
                if !ident(key) {
                    return Err(format!("`{at}.key`: `{key}` is not a field name"));
                }
            }
            vocab.pairs.push(Pair {
                open: pair.open,
                close,
                key: pair.key,
                close_in,
                exactly_once: pair.exactly_once,
                help: pair.help,
                builtin: false,
            });
        }
        for (key, list, out) in [
            ("canonical", &raw.emitters.canonical, None),
            ("sinks", &raw.emitters.sinks, Some(false)),
            ("broadcast", &raw.emitters.broadcast, Some(true)),
        ] {
            for (i, entry) in list.iter().enumerate() {
                let at = format!("`vocabulary.emitters.{key}[{i}]`");
                match out {
                    None => {
                        vocab.canonical.push(FnPattern::parse(entry).ok_or_else(|| {
                            format!("{at}: `{entry}` is not a function like `emit`, `Hub::send` or `Hub::*`")
                        })?);
                    }
                    Some(broadcast) => {
                        let p = SinkPattern::parse(entry).ok_or_else(|| {
                            format!("{at}: `{entry}` is not a method like `send` or `tx.send`")
                        })?;
                        if broadcast {
                            vocab.broadcast.push(p);
                        } else {
                            vocab.sinks.push(p);
                        }
                    }
                }
            }
        }
        Ok(vocab)
    }

    /// Whether anything is declared.
    pub fn declared(&self) -> bool {
        !self.kinds.is_empty() || self.pairs.len() > 1 || !self.sinks.is_empty() || !self.broadcast.is_empty()
    }

    /// The declared string types, by kind: `(string, kind)`.
    pub fn strings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.kinds.iter().flat_map(|k| k.strings.iter().map(move |s| (s.as_str(), k.name.as_str())))
    }

    /// The kind a string type stands for: a declared one's kind, else itself.
    pub fn kind_of_string<'s>(&'s self, s: &'s str) -> &'s str {
        self.strings().find(|(string, _)| *string == s).map_or(s, |(_, kind)| kind)
    }

    /// The declared kind a node of a tree is, by its declared forms (not its strings).
    pub fn find(&self, facts: &Facts, node: &Node) -> Option<Found> {
        if self.kinds.is_empty() {
            return None;
        }
        let hit = |kind: &KindDef, span: Span, literal: Option<usize>| Found {
            kind: kind.name.clone(),
            span,
            literal,
            built: true,
        };
        match node {
            Node::Literal(i) => {
                let lit = &facts.literals[*i];
                let LiteralKind::Struct(path) = &lit.kind else { return None };
                let path: Vec<String> = path.split("::").map(str::to_owned).collect();
                self.kinds
                    .iter()
                    .find(|k| k.forms.iter().any(|f| self.path_is(facts, f, &path, true, lit.span)))
                    .map(|k| hit(k, lit.span, Some(*i)))
            }
            Node::Call(i) => {
                let call = &facts.calls[*i];
                let k = self.kinds.iter().find(|k| {
                    k.forms.iter().any(|f| match (f, &call.path) {
                        (Form::Helper(None, name), _) => &call.name == name,
                        (Form::Helper(Some(owner), name), Some(path)) => {
                            path.len() >= 2
                                && &path[path.len() - 1] == name
                                && (&path[path.len() - 2] == owner || path[path.len() - 2] == "Self")
                        }
                        (Form::Helper(Some(_), name), None) => &call.name == name,
                        (_, Some(path)) => self.path_is(facts, f, path, false, call.span),
                        _ => false,
                    })
                })?;
                let helper = k.forms.iter().any(|f| matches!(f, Form::Helper(_, name) if *name == call.name));
                Some(Found { built: !helper, ..hit(k, call.span, None) })
            }
            Node::Mark(i) => {
                let mark = &facts.marks[*i];
                let k = self.kinds.iter().find(|k| {
                    k.forms.iter().any(|f| match (&mark.kind, f) {
                        (MarkKind::Macro { name, first: Some(first) }, Form::Macro(m, arg)) => {
                            name == m && first == arg
                        }
                        (MarkKind::Path(path), _) => {
                            matches!(f, Form::Variant(..)) && self.path_is(facts, f, path, false, mark.span)
                        }
                        _ => false,
                    })
                })?;
                Some(hit(k, mark.span, None))
            }
            _ => None,
        }
    }

    /// Whether a constructed path (at `at`) is a variant or struct form: `Event::X`, `X` under
    /// `use Event::*`, `Alias::X` with `type Alias = Event;`, `Self::X` in `impl Event`,
    /// `Struct`/`Struct::new`.
    fn path_is(&self, facts: &Facts, form: &Form, path: &[String], literal: bool, at: Span) -> bool {
        let in_impl_of = |ty: &str| facts.enclosing_fn(at).is_some_and(|f| f.owner.as_deref() == Some(ty));
        match form {
            Form::Variant(e, v) => match path {
                [.., a, b] if b == v => {
                    a == e
                        || (a == "Self" && in_impl_of(e))
                        || facts
                            .type_aliases
                            .iter()
                            .any(|(alias, target)| alias == a && target.last() == Some(e))
                }
                [b] if b == v => facts.glob_imports.iter().any(|g| g.last() == Some(e)),
                _ => false,
            },
            Form::Struct(s) => match path {
                [.., last] if literal => last == s || (last == "Self" && in_impl_of(s)),
                [.., ty, ctor] => {
                    (ty == s || (ty == "Self" && in_impl_of(s))) && matches!(ctor.as_str(), "new" | "default")
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The key a found event carries: its struct literal's field `key`, as a string or as the
    /// value's text.
    pub fn key_of(facts: &Facts, text: &str, found: &Found, key: &str) -> Option<String> {
        let lit = &facts.literals[found.literal?];
        let entry = lit.entries.iter().find(|e| e.key == key)?;
        Some(match &entry.value {
            Value::Str(s, _) => s.clone(),
            _ => text.get(entry.value_span.start..entry.value_span.end)?.split_whitespace().collect(),
        })
    }

    /// Whether a function is a canonical emitter.
    pub fn is_canonical_fn(&self, owner: Option<&str>, name: &str) -> bool {
        self.canonical.iter().any(|p| p.matches(owner, name))
    }

    /// The declared enum and struct names (`Event`): the types events have.
    pub fn event_types(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .kinds
            .iter()
            .flat_map(|k| &k.forms)
            .filter_map(|f| match f {
                Form::Variant(e, _) => Some(e.as_str()),
                Form::Struct(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether a function name is a declared helper.
    pub fn is_helper(&self, name: &str) -> bool {
        self.kinds.iter().flat_map(|k| &k.forms).any(|f| matches!(f, Form::Helper(_, n) if n == name))
    }

    /// The canonical emitters, for a help text: `` `EventHelper::*` or `emit` ``.
    pub fn canonical_names(&self) -> String {
        let written = |p: &FnPattern| match &p.owner {
            Some(owner) => format!("`{owner}::{}`", p.name),
            None => format!("`{}`", p.name),
        };
        self.canonical.iter().map(written).collect::<Vec<_>>().join(" or ")
    }

    /// The strings a file must hold for a sink or an emitter to be in it.
    pub fn emitter_needles(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.sinks.iter().chain(&self.broadcast).map(|s| s.method.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether canonical emitters are declared.
    pub fn has_canonical(&self) -> bool {
        !self.canonical.is_empty()
    }

    /// Whether a call delivers through a declared sink; `Some(true)` for a broadcast sink.
    pub fn sink(&self, call: &Call) -> Option<bool> {
        if self.broadcast.iter().any(|p| p.matches(call)) {
            Some(true)
        } else if self.sinks.iter().any(|p| p.matches(call)) {
            Some(false)
        } else {
            None
        }
    }

    /// The strings a file must hold for a declared form to be in it (the prefilter's).
    pub fn needles(&self) -> Vec<String> {
        self.needles_of(|_| true)
    }

    /// The strings a file must hold for a form of one of the kinds `wanted` accepts.
    pub fn needles_of(&self, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        for kind in self.kinds.iter().filter(|k| wanted(&k.name)) {
            for form in &kind.forms {
                out.push(match form {
                    Form::Variant(_, v) => v.clone(),
                    Form::Struct(s) => s.clone(),
                    Form::Helper(_, name) => name.clone(),
                    Form::Macro(_, first) => first.clone(),
                });
            }
            out.extend(kind.strings.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The strings a file must hold for `event-wire-name` to fire: the variants declared with a
/// wire name (their definition spells them).
pub fn wire_needles(vocab: &Vocabulary) -> Vec<Vec<String>> {
    let variants = vocab
        .kinds
        .iter()
        .filter(|k| k.wire.is_some())
        .flat_map(|k| &k.forms)
        .filter_map(|f| match f {
            Form::Variant(_, v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    vec![variants]
}

/// `event-wire-name`: a declared variant whose serde name is not the kind's `wire`.
pub fn check_wire(cx: &super::Cx<'_>, hits: &mut Vec<super::Hit>) {
    let vocab = &*cx.events.vocab;
    for kind in &vocab.kinds {
        let Some(wire) = &kind.wire else { continue };
        for form in &kind.forms {
            let Form::Variant(e, v) = form else { continue };
            for w in cx.facts.wire_names.iter().filter(|w| &w.ty == e && &w.variant == v && &w.wire != wire) {
                hits.push(
                    super::Hit::at(w.span)
                        .arg("variant", format!("{e}::{v}"))
                        .arg("actual", w.wire.as_str())
                        .arg("wire", wire.as_str())
                        .arg("kind", kind.name.as_str()),
                );
            }
        }
    }
}
