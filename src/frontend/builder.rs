//! The facts builder both front-ends lower their syntax trees through.
//!
//! A front-end walks its own syntax tree (`syn`'s or Ruff's) and knows its language: paths and
//! aliases, macros, name resolution, which expressions are strings. What a fact *is* — how
//! literals nest, what a binding or an index assignment records, how control-flow trees are
//! shaped, how deep code may nest — is decided here, once, for both languages: see
//! [`FactsBuilder`] and [`Lowering`].

use super::ParseError;
use crate::facts::*;
use crate::source::Span;

/// How deep a front-end's walk may go (one level per expression, `json!` value included, and in
/// Python per statement, annotation and `elif`) before the file is refused as a `parse-error`. Real code stays far below it; CPython refuses
/// much less (200 nested brackets, 100 indentation levels), and the Rust front-end applies the
/// same limit to its pre-parse estimate ([`super::rust::check_nesting`]).
pub const MAX_NESTING: usize = 2_000;

/// The longest member chain (`a.b().c?…`) a front-end follows: real code stays far below it,
/// and a call keeps its receiver's chain, so longer ones would cost their square.
pub const MAX_CHAIN: usize = 64;

/// Below this much stack, a nested step runs on a new stack segment.
const RED_ZONE: usize = 128 * 1024;

/// The size of each new stack segment.
const SEGMENT: usize = 4 * 1024 * 1024;

/// Runs a step of a recursive walk, on a new stack segment when little stack is left: a walk as
/// deep as [`MAX_NESTING`] never overflows the stack, whatever stack it starts on.
pub fn grow<R>(step: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, step)
}

/// Drops a syntax tree `depth` levels deep on a stack large enough for its recursive drop.
pub fn drop_deep<T>(tree: T, depth: usize) {
    if depth < 1_000 {
        drop(tree);
    } else {
        stacker::grow(depth * 1024 + (1 << 20), move || drop(tree));
    }
}

/// The parse error of a file whose walk went deeper than [`MAX_NESTING`]; `detail` follows the
/// limit in the message.
pub fn too_deep_error(span: Span, detail: &str) -> ParseError {
    ParseError { message: format!("the code nests deeper than {MAX_NESTING} levels{detail}"), span }
}

/// A sequence: the nodes run one after the other. Nested sequences are spliced in and empty
/// ones left out, and a sequence of one node is that node, so the tree of an expression without
/// calls or literals is empty however deep the expression is. Allocates only for a sequence of
/// two nodes or more (and reuses a spliced sequence's vector when it comes first).
pub fn seq(nodes: impl IntoIterator<Item = Node>) -> Node {
    let mut flat = Flat::Empty;
    for node in nodes {
        match node {
            Node::Seq(inner) => flat.splice(inner),
            node => flat.push(node),
        }
    }
    match flat {
        Flat::Empty => Node::empty(),
        Flat::One(node) => node,
        Flat::Many(nodes) => Node::Seq(nodes),
    }
}

/// A sequence under construction.
enum Flat {
    Empty,
    One(Node),
    Many(Vec<Node>),
}

impl Flat {
    fn push(&mut self, node: Node) {
        *self = match std::mem::replace(self, Flat::Empty) {
            Flat::Empty => Flat::One(node),
            Flat::One(first) => {
                let mut nodes = Vec::with_capacity(4);
                nodes.push(first);
                nodes.push(node);
                Flat::Many(nodes)
            }
            Flat::Many(mut nodes) => {
                nodes.push(node);
                Flat::Many(nodes)
            }
        }
    }

    fn splice(&mut self, inner: Vec<Node>) {
        if matches!(self, Flat::Empty) && inner.len() > 1 {
            *self = Flat::Many(inner);
            return;
        }
        for node in inner {
            self.push(node);
        }
    }
}

/// An `if` whose condition is a simple presence test (`key`, `!key` for absence): each arm
/// starts with its [`Guard`], so that two `if`s on the same condition are taken together.
/// Without a key, or when both arms do nothing, the plain [`branch`].
pub fn guarded(key: Option<String>, then: Node, otherwise: Node) -> Node {
    match key {
        Some(key) if !(then.is_empty() && otherwise.is_empty()) => {
            let (key, holds) = match key.strip_prefix('!') {
                Some(key) => (key.to_owned(), false),
                None => (key, true),
            };
            Node::Branch(vec![
                seq([Node::Guard(Guard { key: key.clone(), holds }), then]),
                seq([Node::Guard(Guard { key, holds: !holds }), otherwise]),
            ])
        }
        _ => branch([then, otherwise]),
    }
}

/// Whether a condition, written without white space, is a name or member chain (`self.bridge`,
/// `ctx.websocket_manager`): what a presence test tests.
pub fn is_plain_chain(key: &str) -> bool {
    !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// A branch: exactly one of the arms runs. A branch whose arms all do nothing is nothing; a
/// branch without arms (`match never {}`) never completes, and is kept.
pub fn branch<A: AsRef<[Node]> + Into<Vec<Node>>>(arms: A) -> Node {
    let slice = arms.as_ref();
    if !slice.is_empty() && slice.iter().all(Node::is_empty) {
        return Node::empty();
    }
    Node::Branch(arms.into())
}

/// Owns the [`Facts`] of one file while a front-end lowers it, and decides once, for both
/// languages, what each fact means:
///
/// - **Bodies.** Body 0 is the file's top level; [`Lowering::with_body`] opens the next one
///   (a function, closure, async block, lambda, static initialiser). Every call, literal,
///   binding and index assignment belongs to the body open when it is recorded.
/// - **Literals.** [`FactsBuilder::new_literal`] starts a complete map literal with no entries.
///   The literal an expression *is* ([`FactsBuilder::literal_of`]) is one created while the
///   expression was walked, spanning exactly the expression's value, and not already nested in
///   another literal: a nested literal is part of its parent, never a value of its own.
///   [`Lowering::entry_value`] makes such a literal the entry's value and links its parent.
/// - **Arguments** ([`Lowering::arg`]) know the string and the literal they are, and a closure
///   argument its body: the first body opened while walking it.
/// - **Bindings.** A name bound to a map literal names that literal; otherwise it records the
///   member chain of its value, when the chain has at least one access ([`FactsBuilder::bind`]).
/// - **Index assignments.** `root["k1"]["k2"] = value` is recorded when the root is a plain
///   name and every key is a string literal; a computed key anywhere (`ev[k]["x"]`,
///   `ev["data"][k]`) means the keys are not a fixed path, and nothing is recorded.
/// - **Mentions** carry the type whose `impl` block or class body the walk is in
///   ([`FactsBuilder::replace_owner`]).
/// - **Trees** are built with [`seq`] and [`branch`]: flattened, with no empty parts.
/// - **Nesting.** [`Lowering::nested`] counts the walk's depth: past [`MAX_NESTING`] the walk
///   stops going deeper and the first place that was too deep is kept, for the front-end to
///   refuse the file; every step runs with enough stack ([`grow`]).
#[derive(Debug)]
pub struct FactsBuilder {
    facts: Facts,
    body: BodyId,
    owner: Option<String>,
    depth: usize,
    max_depth: usize,
    too_deep: Option<Span>,
}

impl Default for FactsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl FactsBuilder {
    /// A builder with body 0, the file's top level, open.
    pub fn new() -> Self {
        let mut facts = Facts::default();
        facts.bodies.push(Body { name: None, tree: Node::empty(), stream: false });
        FactsBuilder { facts, body: 0, owner: None, depth: 0, max_depth: 0, too_deep: None }
    }

    /// The facts built.
    pub fn finish(self) -> Facts {
        self.facts
    }

    /// The facts built so far.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The facts, for records with no shared semantic (functions, statics, `impl` attributes).
    pub fn facts_mut(&mut self) -> &mut Facts {
        &mut self.facts
    }

    /// The body open now.
    pub fn body(&self) -> BodyId {
        self.body
    }

    /// The id the next body opened will get.
    pub fn next_body(&self) -> BodyId {
        self.facts.bodies.len()
    }

    /// Sets the tree of the file's top level (body 0).
    pub fn set_top_level(&mut self, tree: Node) {
        self.facts.bodies[0].tree = tree;
    }

    /// The type whose `impl` block or class body the walk is in.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Enters (or, with `None`, leaves) an `impl` block or class body; returns the previous
    /// owner, to put back when the block ends.
    pub fn replace_owner(&mut self, owner: Option<String>) -> Option<String> {
        std::mem::replace(&mut self.owner, owner)
    }

    /// Records a mentioned path, in the current owner.
    pub fn mention(&mut self, path: Vec<String>, span: Span, kind: MentionKind) {
        let in_impl_of = self.owner.clone();
        self.facts.mentions.push(Mention { path, span, kind, in_impl_of });
    }

    /// Records that `ty` implements `trait_name`.
    pub fn trait_impl(&mut self, ty: String, trait_name: String) {
        self.facts.trait_impls.push((ty, trait_name));
    }

    /// Records a call; its node.
    pub fn call(&mut self, call: Call) -> Node {
        let idx = self.facts.calls.len();
        self.facts.calls.push(call);
        Node::Call(idx)
    }

    // ---- literals ------------------------------------------------------------------------

    /// The index the next literal will get: literals created from here on have this index or
    /// a higher one.
    pub fn next_literal(&self) -> usize {
        self.facts.literals.len()
    }

    /// Starts a map literal in the current body: complete, with no entries, unbound, not nested.
    pub fn new_literal(&mut self, span: Span, kind: LiteralKind) -> usize {
        let idx = self.facts.literals.len();
        self.facts.literals.push(MapLiteral {
            span,
            kind,
            entries: Vec::new(),
            complete: true,
            binding: None,
            parent: None,
            body: self.body,
        });
        idx
    }

    /// Adds an entry to a literal; the entry's index.
    pub fn push_entry(&mut self, literal: usize, entry: Entry) -> usize {
        let entries = &mut self.facts.literals[literal].entries;
        entries.push(entry);
        entries.len() - 1
    }

    /// Sets the value of a literal's entry.
    pub fn set_entry_value(&mut self, literal: usize, entry: usize, value: Value) {
        self.facts.literals[literal].entries[entry].value = value;
    }

    /// Marks a literal's key set as not fully known.
    pub fn incomplete(&mut self, literal: usize) {
        self.facts.literals[literal].complete = false;
    }

    /// The literal spanning exactly `span` among those created since `since`, not nested in
    /// another literal (see [`FactsBuilder`]); the first such one.
    pub fn literal_of(&self, since: usize, span: Span) -> Option<usize> {
        let literals = self.facts.literals.get(since..)?;
        literals.iter().position(|l| l.parent.is_none() && l.span == span).map(|i| since + i)
    }

    /// Nests `child` in `parent`: it is the value of one of the parent's entries.
    pub fn adopt(&mut self, parent: usize, child: usize) {
        self.facts.literals[child].parent = Some(parent);
    }

    // ---- bindings and assignments -----------------------------------------------------------

    /// Records what `name` is bound to in the current body: the literal it names, else the
    /// member chain of its value when the chain has at least one access.
    pub fn bind(&mut self, name: String, literal: Option<usize>, chain: Option<Chain>) {
        if let Some(lit) = literal {
            self.facts.literals[lit].binding = Some(name);
        } else if let Some(chain) = chain.filter(|c| !c.segs.is_empty()) {
            self.facts.bindings.push(Binding { name, chain, body: self.body });
        }
    }

    /// Whether `root[k1][k2]… = …` is an index assignment to record (see [`FactsBuilder`]): the
    /// root is a name and there is at least one key, every one a string literal.
    pub fn is_index_path(root: Option<&str>, keys: &[Option<String>]) -> bool {
        root.is_some() && !keys.is_empty() && keys.iter().all(Option::is_some)
    }

    /// Records `root[k1][k2]… = value`, its keys as written (left to right).
    pub fn index_assign(
        &mut self,
        root: String,
        keys: Vec<String>,
        span: Span,
        value: Option<(String, Span)>,
    ) {
        let body = self.body;
        self.facts.index_assigns.push(IndexAssign { binding: root, keys, span, body, value });
    }

    // ---- nesting ---------------------------------------------------------------------------

    /// Where the walk first went deeper than [`MAX_NESTING`], if it did.
    pub fn too_deep(&self) -> Option<Span> {
        self.too_deep
    }

    /// The deepest the walk went (at most [`MAX_NESTING`]).
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }
}

/// A front-end's walker: it owns a [`FactsBuilder`] and tells it how to walk, and what the
/// value of, an expression of its language is. The provided methods are the lowering steps
/// both languages share.
pub trait Lowering: Sized {
    /// The language's expression type.
    type Expr;

    /// The builder.
    fn builder(&mut self) -> &mut FactsBuilder;

    /// The builder, to read.
    fn built(&self) -> &FactsBuilder;

    /// Walks an expression: its node in the current body's tree.
    fn lower_expr(&mut self, e: &Self::Expr) -> Node;

    /// The span of an expression, from its first token to its last.
    fn span(&self, e: &Self::Expr) -> Span;

    /// The span of the expression whose value `e` really is (through `&`, parentheses, `await`
    /// and the like): what a literal it is spans.
    fn value_span(&self, e: &Self::Expr) -> Span;

    /// The member chain `e` is, when it is one.
    fn chain(&self, e: &Self::Expr) -> Option<Chain>;

    /// The string `e` is, when it is a string literal or a known string constant.
    fn str_value(&self, e: &Self::Expr) -> Option<(String, Span)>;

    /// Walks a body with `build`: facts recorded meanwhile belong to it, and its tree is what
    /// `build` returns. The enclosing body is open again afterwards.
    fn with_body(&mut self, name: Option<String>, build: impl FnOnce(&mut Self) -> Node) -> BodyId {
        let b = self.builder();
        let id = b.facts.bodies.len();
        b.facts.bodies.push(Body { name, tree: Node::empty(), stream: false });
        let outer = std::mem::replace(&mut b.body, id);
        let tree = build(self);
        let b = self.builder();
        b.facts.bodies[id].tree = tree;
        b.body = outer;
        id
    }

    /// One level deeper into the syntax tree. Past [`MAX_NESTING`] levels, `step` is not run
    /// (the result is empty) and the first such place, `at`, is kept; otherwise `step` runs,
    /// on a new stack segment when little stack is left.
    fn nested<R: Default>(&mut self, at: impl FnOnce(&Self) -> Span, step: impl FnOnce(&mut Self) -> R) -> R {
        if self.built().depth >= MAX_NESTING {
            if self.built().too_deep.is_none() {
                let span = at(self);
                self.builder().too_deep = Some(span);
            }
            return R::default();
        }
        let b = self.builder();
        b.depth += 1;
        b.max_depth = b.max_depth.max(b.depth);
        let result = grow(|| step(self));
        self.builder().depth -= 1;
        result
    }

    /// The literal `e` is, among those created since `since` (see [`FactsBuilder::literal_of`]).
    fn literal_of(&self, since: usize, e: &Self::Expr) -> Option<usize> {
        if since >= self.built().next_literal() {
            return None;
        }
        self.built().literal_of(since, self.value_span(e))
    }

    /// Binds `name` to `value`, walked since literal `since` (see [`FactsBuilder::bind`]).
    fn bind(&mut self, name: String, since: usize, value: &Self::Expr) {
        let literal = self.literal_of(since, value);
        let chain = if literal.is_none() { self.chain(value) } else { None };
        self.builder().bind(name, literal, chain);
    }

    /// Walks the value of an entry of literal `parent`: its node, and what the entry holds — a
    /// map literal that is the whole value (then nested in `parent`), a string, or other.
    fn entry_value(&mut self, parent: usize, value: &Self::Expr) -> (Node, Value) {
        let since = self.built().next_literal();
        let node = self.lower_expr(value);
        if let Some(child) = self.literal_of(since, value) {
            self.builder().adopt(parent, child);
            return (node, Value::Map(child));
        }
        let value = match self.str_value(value) {
            Some((s, span)) => Value::Str(s, span),
            None => Value::Other,
        };
        (node, value)
    }

    /// Walks a call argument: its node, and the argument as the rules see it — the string it is,
    /// the literal it is, its name when it is a plain variable (`ident`), and, when it is a
    /// closure with the parameters `closure`, the closure's body: the first body opened while
    /// the argument is walked.
    fn arg(
        &mut self,
        value: &Self::Expr,
        ident: Option<String>,
        closure: Option<Vec<String>>,
    ) -> (Node, Arg) {
        let since = self.built().next_literal();
        let next_body = self.built().next_body();
        let node = self.lower_expr(value);
        let arg = Arg {
            span: self.span(value),
            str_lit: self.str_value(value),
            ident,
            literal: self.literal_of(since, value),
            closure: closure.map(|params| (next_body, params)),
        };
        (node, arg)
    }

    /// Records `root[k1][k2]… = value` if it is an index path ([`FactsBuilder::is_index_path`]);
    /// `keys` outermost first (as the syntax tree nests them), `None` for a computed key.
    fn index_assign(
        &mut self,
        root: Option<String>,
        mut keys: Vec<Option<String>>,
        value: &Self::Expr,
        span: impl FnOnce(&Self) -> Span,
    ) {
        if !FactsBuilder::is_index_path(root.as_deref(), &keys) {
            return;
        }
        let Some(root) = root else { return };
        keys.reverse();
        let keys = keys.into_iter().flatten().collect();
        let span = span(self);
        let value = self.str_value(value);
        self.builder().index_assign(root, keys, span, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(i: usize) -> Node {
        Node::Call(i)
    }

    fn shape(node: &Node) -> String {
        crate::facts::render::tree(node, "")
    }

    #[test]
    fn sequences_are_flat_and_leave_out_empty_parts() {
        assert_eq!(shape(&seq([])), "()");
        assert_eq!(shape(&seq([Node::empty(), Node::empty()])), "()");
        assert_eq!(shape(&seq([Node::empty(), call(1)])), "c1");
        assert_eq!(
            shape(&seq([seq([call(1), call(2)]), Node::empty(), seq([call(3)]), call(4)])),
            "(c1 c2 c3 c4)"
        );
        // Only sequences are spliced: a loop or a branch stays one node, even when empty.
        let looped = Node::Loop { label: None, body: Box::new(Node::empty()), infinite: false };
        assert_eq!(shape(&seq([looped, call(1)])), "(loop(()) c1)");
        // However deep, an expression without calls is nothing.
        let mut deep = Node::empty();
        for _ in 0..10_000 {
            deep = seq([deep, Node::empty()]);
        }
        assert!(deep.is_empty());
    }

    #[test]
    fn branches_with_nothing_in_them_are_nothing_but_armless_ones_stay() {
        assert!(branch([Node::empty(), Node::empty()]).is_empty());
        assert_eq!(shape(&branch([Node::empty(), call(1)])), "{() | c1}");
        assert_eq!(shape(&branch(vec![call(1), call(2), Node::empty()])), "{c1 | c2 | ()}");
        // `match never {}` never completes: the walk must not go on past it.
        assert_eq!(shape(&branch(Vec::new())), "{}");
    }

    /// A toy language to drive the provided lowering steps with.
    #[derive(Debug)]
    enum Toy {
        /// A string literal.
        Str(&'static str, Span),
        /// A dict of string keys.
        Dict(Span, Vec<(&'static str, Toy)>),
        /// `name.field`
        Field(&'static str, &'static str, Span),
        /// `await e`: its value is `e`'s.
        Await(Box<Toy>),
        /// A closure: its body is a body of its own.
        Lambda(Span, Box<Toy>),
        /// Anything else.
        Other(Span),
    }

    impl Toy {
        fn span(&self) -> Span {
            match self {
                Toy::Str(_, s)
                | Toy::Dict(s, _)
                | Toy::Field(_, _, s)
                | Toy::Lambda(s, _)
                | Toy::Other(s) => *s,
                Toy::Await(e) => e.span(),
            }
        }
    }

    #[derive(Default)]
    struct ToyWalker {
        b: FactsBuilder,
    }

    impl Lowering for ToyWalker {
        type Expr = Toy;

        fn builder(&mut self) -> &mut FactsBuilder {
            &mut self.b
        }

        fn built(&self) -> &FactsBuilder {
            &self.b
        }

        fn lower_expr(&mut self, e: &Toy) -> Node {
            match e {
                Toy::Dict(span, entries) => {
                    let idx = self.b.new_literal(*span, LiteralKind::Dict);
                    let mut nodes = Vec::new();
                    for (key, value) in entries {
                        let (node, value) = self.entry_value(idx, value);
                        nodes.push(node);
                        let entry =
                            Entry { key: (*key).to_owned(), key_span: *span, value, value_span: *span };
                        self.b.push_entry(idx, entry);
                    }
                    nodes.push(Node::Literal(idx));
                    seq(nodes)
                }
                Toy::Await(inner) => self.lower_expr(inner),
                Toy::Lambda(_, body) => {
                    self.with_body(None, |w| w.lower_expr(body));
                    Node::empty()
                }
                _ => Node::empty(),
            }
        }

        fn span(&self, e: &Toy) -> Span {
            e.span()
        }

        fn value_span(&self, e: &Toy) -> Span {
            e.span()
        }

        fn chain(&self, e: &Toy) -> Option<Chain> {
            let (root, field, span) = match e {
                Toy::Field(root, field, span) => (root, field, *span),
                e => return Some(Chain { root: Root::Other, root_span: e.span(), segs: Vec::new() }),
            };
            let seg = Seg { kind: SegKind::Field, name: (*field).to_owned(), span };
            Some(Chain { root: Root::Ident((*root).to_owned()), root_span: span, segs: vec![seg] })
        }

        fn str_value(&self, e: &Toy) -> Option<(String, Span)> {
            match e {
                Toy::Str(s, span) => Some(((*s).to_owned(), *span)),
                _ => None,
            }
        }
    }

    fn sp(start: usize, end: usize) -> Span {
        Span::new(start, end)
    }

    #[test]
    fn nested_literals_link_to_their_parent_and_are_never_a_value_of_their_own() {
        let mut w = ToyWalker::default();
        let inner = Toy::Dict(sp(10, 20), vec![("tool_name", Toy::Str("x", sp(12, 15)))]);
        let outer = Toy::Dict(sp(0, 30), vec![("type", Toy::Str("t", sp(2, 5))), ("data", inner)]);
        let since = w.b.next_literal();
        let node = w.lower_expr(&outer);
        assert_eq!(shape(&node), "(l1 l0)");
        let facts = w.b.facts();
        assert_eq!(facts.literals[1].parent, Some(0));
        assert!(matches!(facts.literals[0].entries[1].value, Value::Map(1)));
        assert!(matches!(&facts.literals[0].entries[0].value, Value::Str(s, _) if s == "t"));
        assert_eq!(w.literal_of(since, &outer), Some(0));
        // Once nested, the inner literal is not the value of an expression spanning it.
        assert_eq!(w.b.literal_of(since, sp(10, 20)), None);
        // Only literals created since the mark count, and `await` looks through to the value.
        assert_eq!(w.b.literal_of(w.b.next_literal(), sp(0, 30)), None);
        let awaited = Toy::Await(Box::new(Toy::Dict(sp(40, 50), Vec::new())));
        let since = w.b.next_literal();
        w.lower_expr(&awaited);
        assert_eq!(w.literal_of(since, &awaited), Some(2));
    }

    #[test]
    fn a_binding_names_its_literal_or_records_a_chain_with_an_access() {
        let mut w = ToyWalker::default();
        let dict = Toy::Dict(sp(0, 4), Vec::new());
        let since = w.b.next_literal();
        w.lower_expr(&dict);
        w.bind("ev".to_owned(), since, &dict);
        w.bind("m".to_owned(), w.b.next_literal(), &Toy::Field("ctx", "ws", sp(5, 11)));
        w.bind("plain".to_owned(), w.b.next_literal(), &Toy::Other(sp(12, 13)));
        let facts = w.b.finish();
        assert_eq!(facts.literals[0].binding.as_deref(), Some("ev"));
        let bound: Vec<&str> = facts.bindings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(bound, ["m"]);
    }

    #[test]
    fn index_assignments_need_a_name_and_only_literal_keys() {
        let mut w = ToyWalker::default();
        let value = Toy::Str("tool_executing", sp(20, 36));
        let key = |k: &str| Some(k.to_owned());
        // `ev["data"]["type"] = …`: keys come outermost first and are stored as written.
        w.index_assign(Some("ev".into()), vec![key("type"), key("data")], &value, |_| sp(0, 36));
        w.index_assign(Some("ev".into()), vec![key("x"), None], &value, |_| sp(0, 1)); // ev[k]["x"]
        w.index_assign(Some("ev".into()), vec![None, key("data")], &value, |_| sp(0, 2)); // ev["data"][k]
        w.index_assign(None, vec![key("type")], &value, |_| sp(0, 3)); // obj.attr["type"]
        w.index_assign(Some("ev".into()), Vec::new(), &value, |_| sp(0, 4)); // ev = …
        let facts = w.b.finish();
        assert_eq!(facts.index_assigns.len(), 1);
        let assign = &facts.index_assigns[0];
        assert_eq!(
            (assign.binding.as_str(), assign.keys.as_slice()),
            ("ev", ["data".to_owned(), "type".to_owned()].as_slice())
        );
        assert_eq!(assign.value.as_ref().map(|v| v.0.as_str()), Some("tool_executing"));
    }

    #[test]
    fn arguments_know_their_string_literal_and_closure_body() {
        let mut w = ToyWalker::default();
        w.with_body(None, |_| Node::empty());
        let (node, s) = w.arg(&Toy::Str("tool_executing", sp(0, 16)), None, None);
        assert!(node.is_empty());
        assert_eq!(s.str_lit.map(|(s, _)| s).as_deref(), Some("tool_executing"));
        let (node, d) = w.arg(&Toy::Dict(sp(20, 30), Vec::new()), Some("ev".into()), None);
        assert_eq!(
            (shape(&node).as_str(), d.literal, d.ident.as_deref(), d.span),
            ("l0", Some(0), Some("ev"), sp(20, 30))
        );
        let lambda = Toy::Lambda(sp(40, 60), Box::new(Toy::Dict(sp(50, 60), Vec::new())));
        let (_, c) = w.arg(&lambda, None, Some(vec!["x".into()]));
        // The closure's body is the one opened while walking it; its literal is not the argument.
        assert_eq!((c.closure, c.literal), (Some((2, vec!["x".to_owned()])), None));
        assert_eq!(w.b.facts().literals[1].body, 2);
    }

    #[test]
    fn facts_belong_to_the_body_open_when_they_are_recorded() {
        let mut w = ToyWalker::default();
        let outer = w.with_body(Some("f".into()), |w| {
            let inner = w.with_body(None, |w| w.lower_expr(&Toy::Dict(sp(0, 2), Vec::new())));
            assert_eq!(inner, 2);
            w.b.mention(vec!["a".into()], sp(0, 1), MentionKind::Expr);
            w.lower_expr(&Toy::Dict(sp(3, 5), Vec::new()))
        });
        assert_eq!(outer, 1);
        assert_eq!(w.b.body(), 0);
        assert_eq!(w.b.next_body(), 3);
        let facts = w.b.finish();
        let bodies: Vec<BodyId> = facts.literals.iter().map(|l| l.body).collect();
        assert_eq!(bodies, [2, 1]);
        assert_eq!(facts.bodies[1].name.as_deref(), Some("f"));
        assert_eq!(shape(&facts.bodies[1].tree), "l1");
        assert_eq!(shape(&facts.bodies[2].tree), "l0");
    }

    #[test]
    fn mentions_carry_the_owner_they_are_in() {
        let mut b = FactsBuilder::new();
        let outer = b.replace_owner(Some("Emitter".into()));
        b.mention(vec!["Event".into()], sp(0, 5), MentionKind::Type);
        b.replace_owner(outer);
        b.mention(vec!["Event".into()], sp(6, 11), MentionKind::Type);
        let owners: Vec<Option<&str>> = b.facts().mentions.iter().map(|m| m.in_impl_of.as_deref()).collect();
        assert_eq!(owners, [Some("Emitter"), None]);
    }

    /// Walks `depth` nested levels through the guard.
    fn descend(w: &mut ToyWalker, depth: usize) -> Node {
        if depth == 0 {
            return Node::Call(0);
        }
        w.nested(|_| sp(depth, depth + 1), |w| descend(w, depth - 1))
    }

    #[test]
    fn the_nesting_guard_stops_at_the_limit_and_keeps_the_first_place() {
        let mut w = ToyWalker::default();
        assert_eq!(shape(&descend(&mut w, MAX_NESTING)), "c0");
        assert_eq!((w.b.too_deep(), w.b.max_depth()), (None, MAX_NESTING));
        // Far too deep, on a small stack: refused at the limit, never overflowing.
        let (node, too_deep, max) = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let mut w = ToyWalker::default();
                let node = descend(&mut w, 100_000);
                (node.is_empty(), w.b.too_deep(), w.b.max_depth())
            })
            .expect("thread")
            .join()
            .expect("no overflow");
        assert!(node);
        assert_eq!(too_deep, Some(sp(100_000 - MAX_NESTING, 100_000 - MAX_NESTING + 1)));
        assert_eq!(max, MAX_NESTING);
        assert!(too_deep_error(sp(0, 1), "").message.contains("nests deeper than 2000 levels"));
    }

    #[test]
    fn deep_trees_are_dropped_on_a_large_enough_stack() {
        let mut node = Node::empty();
        for _ in 0..200_000 {
            node = Node::Loop { label: None, body: Box::new(node), infinite: false };
        }
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || drop_deep(node, 200_000))
            .expect("thread")
            .join()
            .expect("no overflow");
    }
}
