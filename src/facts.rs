//! Language-neutral facts about one file: what the rules match on.
//!
//! A front-end turns a parsed file into [`Facts`]; rules never see a syntax tree. Every
//! position is a byte [`Span`] into the file's text.

use crate::source::Span;

/// Everything the rules need to know about one file.
#[derive(Debug, Default)]
pub struct Facts {
    /// Function and method calls, in source order.
    pub calls: Vec<Call>,
    /// Map-like literals: `json!` objects, `HashMap::from([...])`, struct literals, dicts.
    pub literals: Vec<MapLiteral>,
    /// `binding["key"] = …` and `binding["data"]["key"] = …`.
    pub index_assigns: Vec<IndexAssign>,
    /// Names bound to the value of an expression that is a member chain (`let m = &ctx.ws;`,
    /// `if let Some(m) = &ctx.ws`).
    pub bindings: Vec<Binding>,
    /// Static items (also those declared inside `lazy_static!` and `thread_local!`).
    pub statics: Vec<StaticItem>,
    /// Function and method definitions.
    pub fns: Vec<FnDef>,
    /// Path mentions: imports, type paths, expression paths, after alias resolution.
    pub mentions: Vec<Mention>,
    /// `impl Trait for Type` blocks: the type and the trait, each by its last path segment as
    /// written (`impl agent_events::EventSink for Audit` is `("Audit", "EventSink")`).
    pub trait_impls: Vec<(String, String)>,
    /// One control-flow tree per function, closure and async body.
    pub bodies: Vec<Body>,
    /// The values functions return: `return value`, and a Rust function body's final
    /// expression.
    pub returned: Vec<Span>,
    /// The attribute paths on `impl` blocks, by the self type (`agent_events`).
    pub impl_attrs: Vec<(String, Vec<String>)>,
    /// Rust: value paths that are not called (a unit enum variant, `Event::Stop`) and project
    /// macro invocations (`invoke_hooks!(OnStart, self)`), where a declared vocabulary may find
    /// an event.
    pub marks: Vec<Mark>,
    /// Rust: the paths imported with a glob (`use Event::*` is `["Event"]`).
    pub glob_imports: Vec<Vec<String>>,
    /// Rust: type aliases, by name (`type E = events::Event;` is `("E", ["events", "Event"])`).
    pub type_aliases: Vec<(String, Vec<String>)>,
    /// Rust: the variants of enums that derive `Serialize`, with the names they have on the wire.
    pub wire_names: Vec<WireName>,
}

/// A variant of a serialised enum and the name serde gives it.
#[derive(Debug, Clone)]
pub struct WireName {
    /// The enum.
    pub ty: String,
    /// The variant.
    pub variant: String,
    /// Its name on the wire (after `rename_all` and `rename`).
    pub wire: String,
    /// The variant's name in its definition.
    pub span: Span,
}

impl Facts {
    /// The innermost function or method whose body holds `span` (closures and async blocks
    /// belong to it).
    pub fn enclosing_fn(&self, span: Span) -> Option<&FnDef> {
        let extents = self.fns.iter().enumerate().filter_map(|(i, f)| Some((f.extent?, i))).collect();
        crate::source::innermost(extents, &[span]).first().copied().flatten().map(|i| &self.fns[i])
    }
}

/// A place a declared vocabulary may find an event that is neither a call nor a literal.
#[derive(Debug, Clone)]
pub struct Mark {
    /// What is written.
    pub kind: MarkKind,
    /// Where.
    pub span: Span,
    /// The body it is in.
    pub body: BodyId,
}

/// What a [`Mark`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkKind {
    /// A value path whose last segment is capitalised, not called (`Event::Stop`), resolved.
    Path(Vec<String>),
    /// A macro that is not one of the standard library's: its name (last path segment) and its
    /// first token when that is an identifier.
    Macro {
        /// The macro's name, without `!`.
        name: String,
        /// Its first argument, when that is an identifier (`OnStart`).
        first: Option<String>,
    },
}

/// Identifies the body a fact occurs in.
pub type BodyId = usize;

/// A call: `f(args)`, `a::b(args)`, `recv.method(args)`.
#[derive(Debug, Clone)]
pub struct Call {
    /// The whole call expression.
    pub span: Span,
    /// The method name, or the last segment of the called path.
    pub name: String,
    /// The method name's (or the path's last segment's) span.
    pub name_span: Span,
    /// For a path call: the path, with `use` aliases resolved (`["crate", "ws", "get_manager"]`).
    pub path: Option<Vec<String>>,
    /// For a method call: the receiver as a chain of member accesses, when it is one.
    pub receiver: Option<Chain>,
    /// The arguments (not the receiver).
    pub args: Vec<Arg>,
    /// The body the call is in.
    pub body: BodyId,
    /// Whether the call is canonical (its path starts with a canonical crate).
    pub canonical: bool,
}

impl Call {
    /// Whether this is a method call (`recv.name(…)`).
    pub fn is_method(&self) -> bool {
        self.path.is_none()
    }
}

/// One argument of a call.
#[derive(Debug, Clone, Default)]
pub struct Arg {
    /// The argument expression.
    pub span: Span,
    /// Its value when it is a string literal, seen through `&`, `.to_string()`, `.into()`,
    /// `.to_owned()`, `String::from(…)`, `json!("…")`.
    pub str_lit: Option<(String, Span)>,
    /// Its name when it is a plain variable (seen through `&` and `.clone()`).
    pub ident: Option<String>,
    /// The index of the map literal it is, when it is one.
    pub literal: Option<usize>,
    /// When it is a closure: its body and its parameters' names.
    pub closure: Option<(BodyId, Vec<String>)>,
}

/// A chain of member accesses from a root: `self.ctx.ws.as_ref()?.send`.
#[derive(Debug, Clone)]
pub struct Chain {
    /// What the chain starts from.
    pub root: Root,
    /// The root's span.
    pub root_span: Span,
    /// Each access after the root, in order.
    pub segs: Vec<Seg>,
}

/// The start of a member chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// A local name (or a one-segment path).
    Ident(String),
    /// `self`.
    SelfValue,
    /// The result of a path call, e.g. `get_manager()`.
    Call(Vec<String>),
    /// Anything else.
    Other,
}

/// One access in a chain.
#[derive(Debug, Clone)]
pub struct Seg {
    /// What kind of access.
    pub kind: SegKind,
    /// The field or method name (empty for `?`, `.await`, indexing).
    pub name: String,
    /// From the chain's start to the end of this access.
    pub span: Span,
}

/// The kind of a chain access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegKind {
    /// `.field`
    Field,
    /// `.method(…)`; the number of arguments.
    Method(usize),
    /// `?`
    Try,
    /// `.await`
    Await,
    /// `[…]`
    Index,
}

/// A map-like literal.
#[derive(Debug, Clone)]
pub struct MapLiteral {
    /// The whole literal.
    pub span: Span,
    /// What kind of literal.
    pub kind: LiteralKind,
    /// Its entries with literal keys, in source order.
    pub entries: Vec<Entry>,
    /// False when some key is not a literal (or a struct literal has `..base`): the key set
    /// is not fully known.
    pub complete: bool,
    /// The name it is bound to (`let ev = json!({…});`), if any.
    pub binding: Option<String>,
    /// The literal this one is the value of, if nested.
    pub parent: Option<usize>,
    /// The body it is in.
    pub body: BodyId,
}

/// The kind of a map-like literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralKind {
    /// A `json!` object.
    Json,
    /// `HashMap::from([(k, v), …])` and the like.
    MapFrom,
    /// A struct literal, with its path.
    Struct(String),
    /// A Python dict: `{"type": …}` or `dict(type=…)`.
    Dict,
}

/// One entry of a map literal.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key (a struct field's name without `r#`).
    pub key: String,
    /// The key's span.
    pub key_span: Span,
    /// The value.
    pub value: Value,
    /// The value as written.
    pub value_span: Span,
}

/// What a literal entry holds, as far as the rules care.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string literal (also through `.to_string()`, `.into()` and the like).
    Str(String, Span),
    /// A nested map literal (index into [`Facts::literals`]).
    Map(usize),
    /// Anything else.
    Other,
}

/// `binding["k1"]["k2"] = …` (Rust `json!` values and Python dicts).
#[derive(Debug, Clone)]
pub struct IndexAssign {
    /// The indexed variable.
    pub binding: String,
    /// The string keys, outermost first.
    pub keys: Vec<String>,
    /// The whole assignment.
    pub span: Span,
    /// The body it is in.
    pub body: BodyId,
    /// The assigned value, when it is a string.
    pub value: Option<(String, Span)>,
}

/// A name bound to a member chain.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The bound name.
    pub name: String,
    /// The chain it is bound to.
    pub chain: Chain,
    /// The body it is in.
    pub body: BodyId,
}

/// A static item.
#[derive(Debug, Clone)]
pub struct StaticItem {
    /// Its name.
    pub name: String,
    /// The name's span.
    pub name_span: Span,
    /// The last segment of its type after looking through wrappers (`Arc`, `Mutex`, `Lazy` …).
    pub type_name: Option<String>,
}

/// A function or method definition.
#[derive(Debug, Clone)]
pub struct FnDef {
    /// Its name.
    pub name: String,
    /// The name's span.
    pub name_span: Span,
    /// The type of the `impl` block or the trait it is defined in.
    pub owner: Option<String>,
    /// The trait an `impl` block implements, for methods in `impl Trait for Type`.
    pub trait_impl: Option<String>,
    /// Whether it takes `self`.
    pub has_self: bool,
    /// Parameters other than `self`.
    pub params: usize,
    /// The parameters' names, where they are plain names (not patterns), `self` left out.
    pub param_names: Vec<String>,
    /// From the name to the end of the body, when it has one.
    pub extent: Option<Span>,
    /// Its attributes' paths (`agent_events::tool`, `test`).
    pub attrs: Vec<String>,
}

impl FnDef {
    /// Whether it is test code: a `#[test]`/`#[tokio::test]`-like function, or one in a
    /// `#[cfg(test)]` module.
    pub fn is_test(&self) -> bool {
        self.attrs
            .iter()
            .any(|a| a == "test" || a.ends_with("::test") || a.ends_with("_test") || a == "cfg(test)")
    }

    /// Whether its body (from its name to its closing brace) holds `span`.
    pub fn holds(&self, span: Span) -> bool {
        self.extent.is_some_and(|e| e.contains(span))
    }

    /// How reports name it: `impl DataAgent::run`, `fn helper`.
    pub fn item_path(&self) -> String {
        match &self.owner {
            Some(owner) => format!("impl {owner}::{}", self.name),
            None => format!("fn {}", self.name),
        }
    }
}

/// A path mentioned in the code.
#[derive(Debug, Clone)]
pub struct Mention {
    /// The path with `use` aliases resolved.
    pub path: Vec<String>,
    /// Where it is written.
    pub span: Span,
    /// How it is used.
    pub kind: MentionKind,
    /// The self type of the `impl` block the mention is in, if any.
    pub in_impl_of: Option<String>,
}

/// How a path is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionKind {
    /// In a `use` item.
    Import,
    /// As a type.
    Type,
    /// Called or constructed: the callee of a call, a struct literal's path.
    Expr,
    /// Referred to as a value, not called (`handler = WebSocketNotifier`, an assignment's target).
    Value,
}

/// A body's control-flow tree: the calls and literals it evaluates, in evaluation order, with
/// its branches, loops and exits.
#[derive(Debug, Clone)]
pub struct Body {
    /// The function's name, for the body of a named function or method.
    pub name: Option<String>,
    /// The tree.
    pub tree: Node,
    /// Whether it is the body of a `stream!`/`try_stream!` macro.
    pub stream: bool,
}

/// A node of a control-flow tree.
#[derive(Debug, Clone)]
pub enum Node {
    /// Children evaluated one after the other.
    Seq(Vec<Node>),
    /// Exactly one of the arms runs (an `if` without `else` has an empty arm).
    Branch(Vec<Node>),
    /// A loop: `infinite` for `loop`, otherwise the body may run zero or more times.
    Loop {
        /// The loop's label, without the quote.
        label: Option<String>,
        /// The body (for `while`, the condition first).
        body: Box<Node>,
        /// Whether the loop only ends by `break`.
        infinite: bool,
    },
    /// Control leaves: `?`, `return`, `raise`, `break`, `continue`.
    Exit(Exit),
    /// The first node of an arm that runs only when a simple condition holds (or does not):
    /// two arms under the same condition, in one body, are taken together.
    Guard(Guard),
    /// A call (index into [`Facts::calls`]).
    Call(usize),
    /// A map literal (index into [`Facts::literals`]).
    Literal(usize),
    /// A mark (index into [`Facts::marks`]).
    Mark(usize),
    /// A closure, async block or `stream!` body defined here (its own body, by id).
    Nested(BodyId),
}

impl Node {
    /// An empty sequence.
    pub fn empty() -> Node {
        Node::Seq(Vec::new())
    }

    /// Whether it is an empty sequence: nothing happens.
    pub fn is_empty(&self) -> bool {
        matches!(self, Node::Seq(nodes) if nodes.is_empty())
    }
}

impl Default for Node {
    /// Nothing: an empty sequence.
    fn default() -> Self {
        Node::empty()
    }
}

/// A simple condition an arm runs under: a name or member chain tested for presence
/// (`if self.bridge:`, `if ctx.ws.is_some()`, `if x is not None`), and whether it holds there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The condition, as written without white space (`self.bridge`).
    pub key: String,
    /// Whether the arm runs when it holds (`true`) or when it does not.
    pub holds: bool,
}

/// A point where control leaves.
#[derive(Debug, Clone)]
pub struct Exit {
    /// How it leaves.
    pub kind: ExitKind,
    /// Where.
    pub span: Span,
}

/// How control leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitKind {
    /// `?`
    Question,
    /// `return`
    Return,
    /// `raise`, outside any `try` with handlers.
    Raise,
    /// `break`, with its label.
    Break(Option<String>),
    /// `continue`, with its label.
    Continue(Option<String>),
    /// A future dropped at an `.await`: one that another `select!` arm may win over, or a
    /// task whose handle is `abort()`ed. Only the pairs opened inside `scope` are cut; the
    /// path goes on after the future.
    Cancel {
        /// The future that may be dropped.
        scope: Span,
        /// What drops it: `select!` or `abort()`.
        by: &'static str,
    },
}

/// A compact, line-oriented rendering of facts for snapshot tests: spans are shown as the source
/// text they cover, trees as `(seq)`, `{arm | arm}`, `loop(…)`, `c<call>`, `l<literal>`.
#[cfg(test)]
pub(crate) mod render {
    use std::fmt::Write;

    use super::*;

    /// Renders `facts` of the file `text`.
    pub(crate) fn render(facts: &Facts, text: &str) -> String {
        let src = |s: Span| -> String {
            let t = text.get(s.start..s.end).unwrap_or("<bad span>");
            let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
            if t.chars().count() > 48 {
                format!("`{}…`", t.chars().take(47).collect::<String>())
            } else {
                format!("`{t}`")
            }
        };
        let mut out = String::new();
        let o = &mut out;
        if !facts.calls.is_empty() {
            o.push_str("calls:\n");
        }
        for (i, c) in facts.calls.iter().enumerate() {
            let callee = match (&c.path, &c.receiver) {
                (Some(path), _) => path.join("::"),
                (None, Some(chain)) => format!("<{}>.{}", chain_text(chain), c.name),
                (None, None) => format!("<?>.{}", c.name),
            };
            let _ = write!(o, "  c{i} b{} {callee}", c.body);
            if c.name_span.start > c.name_span.end || text.get(c.name_span.start..c.name_span.end).is_none() {
                o.push_str(" <bad name span>");
            }
            if c.canonical {
                o.push_str(" canonical");
            }
            let _ = writeln!(o, " {}", src(c.span));
            for a in &c.args {
                let _ = write!(o, "      arg {}", src(a.span));
                if let Some((s, sp)) = &a.str_lit {
                    let _ = write!(o, " str={s:?}@{}", src(*sp));
                }
                if let Some(id) = &a.ident {
                    let _ = write!(o, " ident={id}");
                }
                if let Some(l) = a.literal {
                    let _ = write!(o, " l{l}");
                }
                if let Some((b, params)) = &a.closure {
                    let _ = write!(o, " closure=b{b}({})", params.join(", "));
                }
                o.push('\n');
            }
        }
        if !facts.literals.is_empty() {
            o.push_str("literals:\n");
        }
        for (i, l) in facts.literals.iter().enumerate() {
            let kind = match &l.kind {
                LiteralKind::Json => "json".to_owned(),
                LiteralKind::MapFrom => "map-from".to_owned(),
                LiteralKind::Struct(path) => format!("struct {path}"),
                LiteralKind::Dict => "dict".to_owned(),
            };
            let _ = write!(o, "  l{i} b{} {kind}", l.body);
            if !l.complete {
                o.push_str(" incomplete");
            }
            if let Some(b) = &l.binding {
                let _ = write!(o, " bound={b}");
            }
            if let Some(p) = l.parent {
                let _ = write!(o, " parent=l{p}");
            }
            let _ = writeln!(o, " {}", src(l.span));
            for e in &l.entries {
                let value = match &e.value {
                    Value::Str(s, _) => format!("{s:?}"),
                    Value::Map(m) => format!("l{m}"),
                    Value::Other => "other".to_owned(),
                };
                let _ =
                    writeln!(o, "      {:?}@{} = {value} ({})", e.key, src(e.key_span), src(e.value_span));
            }
        }
        if !facts.index_assigns.is_empty() {
            o.push_str("index assigns:\n");
        }
        for a in &facts.index_assigns {
            let keys: String = a.keys.iter().map(|k| format!("[{k:?}]")).collect();
            let value = a.value.as_ref().map_or_else(|| "other".to_owned(), |(s, _)| format!("{s:?}"));
            let _ = writeln!(o, "  b{} {}{keys} = {value} {}", a.body, a.binding, src(a.span));
        }
        if !facts.bindings.is_empty() {
            o.push_str("bindings:\n");
        }
        for b in &facts.bindings {
            let _ = writeln!(o, "  b{} {} = {}", b.body, b.name, chain_text(&b.chain));
        }
        if !facts.statics.is_empty() {
            o.push_str("statics:\n");
        }
        for s in &facts.statics {
            let _ =
                writeln!(o, "  {}: {} {}", s.name, s.type_name.as_deref().unwrap_or("?"), src(s.name_span));
        }
        if !facts.fns.is_empty() {
            o.push_str("fns:\n");
        }
        for f in &facts.fns {
            let _ = write!(o, "  {}", f.item_path());
            if let Some(t) = &f.trait_impl {
                let _ = write!(o, " (impl {t})");
            }
            if f.has_self {
                o.push_str(" self");
            }
            let _ = write!(o, " params={}", f.params);
            if !f.attrs.is_empty() {
                let _ = write!(o, " attrs=[{}]", f.attrs.join(", "));
            }
            match f.extent {
                Some(e) => {
                    let _ = writeln!(o, " {}", src(e));
                }
                None => o.push_str(" (no body)\n"),
            }
        }
        if !facts.mentions.is_empty() {
            o.push_str("mentions:\n");
        }
        for m in &facts.mentions {
            let kind = match m.kind {
                MentionKind::Import => "import",
                MentionKind::Type => "type",
                MentionKind::Expr => "expr",
                MentionKind::Value => "value",
            };
            let _ = write!(o, "  {kind} {} {}", m.path.join("::"), src(m.span));
            if let Some(owner) = &m.in_impl_of {
                let _ = write!(o, " in {owner}");
            }
            o.push('\n');
        }
        render_extra(facts, o);
        o.push_str("bodies:\n");
        for (i, b) in facts.bodies.iter().enumerate() {
            let _ = writeln!(o, "  b{i} {}: {}", b.name.as_deref().unwrap_or("-"), tree(&b.tree, text));
        }
        out
    }

    fn render_extra(facts: &Facts, o: &mut String) {
        for (ty, trait_name) in &facts.trait_impls {
            let _ = writeln!(o, "trait impl: {ty}: {trait_name}");
        }
        for (ty, attrs) in &facts.impl_attrs {
            let _ = writeln!(o, "impl attrs: {ty} [{}]", attrs.join(", "));
        }
        for (i, m) in facts.marks.iter().enumerate() {
            let what = match &m.kind {
                MarkKind::Path(path) => path.join("::"),
                MarkKind::Macro { name, first } => format!("{name}!({})", first.as_deref().unwrap_or("…")),
            };
            let _ = writeln!(o, "mark m{i} b{}: {what}", m.body);
        }
        for w in &facts.wire_names {
            let _ = writeln!(o, "wire name: {}::{} = {}", w.ty, w.variant, w.wire);
        }
        for path in &facts.glob_imports {
            let _ = writeln!(o, "glob import: {}::*", path.join("::"));
        }
        for (name, path) in &facts.type_aliases {
            let _ = writeln!(o, "type alias: {name} = {}", path.join("::"));
        }
    }

    fn chain_text(chain: &Chain) -> String {
        let mut s = match &chain.root {
            Root::Ident(name) => name.clone(),
            Root::SelfValue => "self".to_owned(),
            Root::Call(path) => format!("{}()", path.join("::")),
            Root::Other => "?".to_owned(),
        };
        for seg in &chain.segs {
            match seg.kind {
                SegKind::Field => {
                    let _ = write!(s, ".{}", seg.name);
                }
                SegKind::Method(n) => {
                    let _ = write!(s, ".{}/{n}", seg.name);
                }
                SegKind::Try => s.push('?'),
                SegKind::Await => s.push_str(".await"),
                SegKind::Index => s.push_str("[]"),
            }
        }
        s
    }

    /// A tree: `(a b)` a sequence, `{a | b}` a branch, `loop(…)`, `c0` a call, `l0` a literal.
    pub(crate) fn tree(node: &Node, text: &str) -> String {
        match node {
            Node::Seq(children) => {
                let inner: Vec<String> = children.iter().map(|c| tree(c, text)).collect();
                format!("({})", inner.join(" "))
            }
            Node::Branch(arms) => {
                let inner: Vec<String> = arms.iter().map(|c| tree(c, text)).collect();
                format!("{{{}}}", inner.join(" | "))
            }
            Node::Loop { label, body, infinite } => {
                let label = label.as_ref().map_or_else(String::new, |l| format!("'{l} "));
                let kind = if *infinite { "loop!" } else { "loop" };
                format!("{kind}({label}{})", tree(body, text))
            }
            Node::Exit(exit) => {
                let kind = match &exit.kind {
                    ExitKind::Question => "?".to_owned(),
                    ExitKind::Return => "return".to_owned(),
                    ExitKind::Raise => "raise".to_owned(),
                    ExitKind::Break(l) => {
                        format!("break{}", l.as_ref().map_or_else(String::new, |l| format!(" '{l}")))
                    }
                    ExitKind::Continue(l) => {
                        format!("continue{}", l.as_ref().map_or_else(String::new, |l| format!(" '{l}")))
                    }
                    ExitKind::Cancel { by, .. } => format!("cancel by {by}"),
                };
                let at: String = text
                    .get(exit.span.start..exit.span.end)
                    .unwrap_or("<bad span>")
                    .chars()
                    .take(16)
                    .collect();
                format!("exit:{kind}`{}`", at.split_whitespace().collect::<Vec<_>>().join(" "))
            }
            Node::Call(i) => format!("c{i}"),
            Node::Literal(i) => format!("l{i}"),
            Node::Mark(i) => format!("m{i}"),
            Node::Nested(b) => format!("b{b}"),
            Node::Guard(g) => format!("if{}`{}`", if g.holds { "" } else { "!" }, g.key),
        }
    }
}
