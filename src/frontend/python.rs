//! The Python front-end: parses a file with Ruff's parser and lowers it into [`Facts`] through
//! the [`FactsBuilder`], which decides what each fact means for both languages.
//!
//! Names are resolved through the file's imports (`from x import get_websocket_manager as gwm`
//! makes `gwm()` a call of `x.get_websocket_manager`). A call `a.b.c(…)` is a path call when `a`
//! is an imported name, a class or function of the file, or a capitalised name (a class);
//! otherwise it is a method call on the member chain `a.b`. Strings, comments and docstrings
//! are never facts; the arguments of mock assertions (`m.assert_called_once_with(…)`) are not
//! walked.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    self as ast, Decorator, ElifElseClause, ExceptHandler, Expr, Parameters, PySourceType, Stmt,
};
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::{Ranged, TextRange};

use super::builder::{
    branch, drop_deep, grow, guarded, seq, too_deep_error, FactsBuilder, Lowering, MAX_CHAIN,
};
use super::ParseError;
use crate::comments::Comment;
use crate::facts::*;
use crate::source::Span;

/// Types looked through when naming the type of a module-level variable.
const WRAPPERS: &[&str] =
    &["Optional", "Union", "ClassVar", "Final", "Annotated", "Type", "type", "ContextVar", "WeakValue"];

/// Methods of `unittest.mock` objects whose arguments describe expected calls, not calls.
fn is_mock_assertion(name: &str) -> bool {
    name.starts_with("assert_called")
        || name.starts_with("assert_awaited")
        || name.starts_with("assert_not_")
        || matches!(name, "assert_any_call" | "assert_any_await" | "assert_has_calls" | "assert_has_awaits")
}

/// What the Python front-end is told besides the text.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Call patterns of the project's canonical adapter (`self._websocket_adapter.emit_*`):
    /// matching calls are canonical.
    pub canonical_calls: Vec<String>,
}

/// Parses a Python file: its facts, or the first syntax error; and its comments either way.
pub fn parse(text: &str, options: &Options) -> (Result<Facts, ParseError>, Vec<Comment>) {
    let parsed = parse_unchecked_source(text, PySourceType::Python);
    let comments = crate::comments::python_comments(text, parsed.tokens());
    let error =
        parsed.errors().first().map(|e| ParseError { message: e.error.to_string(), span: span(e.location) });
    // The tree of a file with errors is walked too: the walk measures its depth for the drop.
    let module = parsed.syntax();
    let mut walker = Walker::new(options);
    walker.collect_names(&module.body, true);
    let tree = walker.suite(&module.body);
    walker.b.set_top_level(tree);
    let error = match walker.b.too_deep() {
        Some(span) => {
            let depth = Depth::of(&module.body);
            drop_deep(parsed, depth);
            Some(error.unwrap_or_else(|| too_deep_error(span, " (CPython cannot compile it either)")))
        }
        None => {
            drop_deep(parsed, walker.b.max_depth());
            error
        }
    };
    match error {
        Some(e) => (Err(e), comments),
        None => (Ok(walker.b.finish()), comments),
    }
}

/// The names a function body binds (assignments, loop and `with` targets, walrus, `except … as`),
/// not looking into nested functions and classes; and the names it declares `global`.
#[derive(Default)]
struct Locals(HashSet<String>, HashSet<String>);

impl Locals {
    fn target(&mut self, e: &Expr) {
        match e {
            Expr::Name(n) => {
                self.0.insert(n.id.to_string());
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
            Expr::Starred(s) => self.target(&s.value),
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for Locals {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                self.0.insert(f.name.id.to_string());
                return;
            }
            Stmt::ClassDef(c) => {
                self.0.insert(c.name.id.to_string());
                return;
            }
            Stmt::Assign(a) => a.targets.iter().for_each(|t| self.target(t)),
            Stmt::Global(g) => self.1.extend(g.names.iter().map(|n| n.id.to_string())),
            Stmt::AnnAssign(a) => self.target(&a.target),
            Stmt::AugAssign(a) => self.target(&a.target),
            Stmt::For(f) => self.target(&f.target),
            Stmt::With(w) => {
                w.items.iter().filter_map(|i| i.optional_vars.as_deref()).for_each(|v| self.target(v))
            }
            Stmt::Try(t) => {
                for ExceptHandler::ExceptHandler(h) in &t.handlers {
                    if let Some(name) = &h.name {
                        self.0.insert(name.id.to_string());
                    }
                }
            }
            _ => {}
        }
        grow(|| visitor::walk_stmt(self, stmt));
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Named(n) => self.target(&n.target),
            Expr::Lambda(_) => return,
            _ => {}
        }
        grow(|| visitor::walk_expr(self, expr));
    }
}

/// Measures the depth of a syntax tree, without limit (for the drop of a tree the walk refused).
#[derive(Default)]
struct Depth {
    current: usize,
    max: usize,
}

impl Depth {
    fn of(suite: &[Stmt]) -> usize {
        let mut d = Depth::default();
        d.visit_body(suite);
        d.max
    }
}

impl<'a> Visitor<'a> for Depth {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.current += 1;
        self.max = self.max.max(self.current);
        grow(|| visitor::walk_stmt(self, stmt));
        self.current -= 1;
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        self.current += 1;
        self.max = self.max.max(self.current);
        grow(|| visitor::walk_expr(self, expr));
        self.current -= 1;
    }
}

fn span(range: TextRange) -> Span {
    Span::new(range.start().to_usize(), range.end().to_usize())
}

/// `*` matches any run of characters; everything else matches itself.
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    if parts.is_empty() {
        return rest.is_empty();
    }
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.len() >= part.len() && rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The direct child expressions (and annotations) of a node.
#[derive(Default)]
struct Children<'a> {
    exprs: Vec<&'a Expr>,
    annotations: Vec<&'a Expr>,
}

impl<'a> Visitor<'a> for Children<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        self.exprs.push(expr);
    }
    fn visit_annotation(&mut self, expr: &'a Expr) {
        self.annotations.push(expr);
    }
    fn visit_stmt(&mut self, _: &'a Stmt) {}
}

fn children(e: &Expr) -> Children<'_> {
    let mut c = Children::default();
    visitor::walk_expr(&mut c, e);
    c
}

/// The presence test an `if` condition is, as a guard key with `!` for "absent": `self.bridge`,
/// `not ws`, `ws is None`, `ws is not None`. Other conditions have no key.
fn guard_key(test: &Expr) -> Option<String> {
    match test {
        Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => {
            guard_key(&u.operand).map(|k| k.strip_prefix('!').map_or_else(|| format!("!{k}"), str::to_owned))
        }
        Expr::Compare(c)
            if c.ops.len() == 1 && matches!(c.comparators.first(), Some(Expr::NoneLiteral(_))) =>
        {
            let key = dotted(&c.left)?.join(".");
            match c.ops.first()? {
                ast::CmpOp::IsNot => Some(key),
                ast::CmpOp::Is => Some(format!("!{key}")),
                _ => None,
            }
        }
        Expr::Name(_) | Expr::Attribute(_) => dotted(test).map(|p| p.join(".")),
        // `if stream_updates and self.bridge:`: the same conjunction, tested again, is the same
        // condition.
        Expr::BoolOp(b) if b.op == ast::BoolOp::And => {
            let keys: Option<Vec<String>> = b.values.iter().map(guard_key).collect();
            keys.map(|k| format!("({})", k.join("&&")))
        }
        _ => None,
    }
}

/// `a.b.c` as `["a", "b", "c"]`, when it is a dotted name of at most [`MAX_CHAIN`] parts.
fn dotted(e: &Expr) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = e;
    loop {
        if parts.len() > MAX_CHAIN {
            return None;
        }
        match cur {
            Expr::Name(n) => {
                parts.push(n.id.to_string());
                break;
            }
            Expr::Attribute(a) => {
                parts.push(a.attr.id.to_string());
                cur = &a.value;
            }
            _ => return None,
        }
    }
    parts.reverse();
    Some(parts)
}

fn decorator_path(d: &Decorator) -> String {
    let e = match &d.expression {
        Expr::Call(c) => &*c.func,
        e => e,
    };
    dotted(e).map(|d| d.join(".")).unwrap_or_default()
}

struct Walker<'o> {
    options: &'o Options,
    b: FactsBuilder,
    /// Imported names → the dotted path they stand for.
    imports: HashMap<String, Vec<String>>,
    /// Classes and functions defined at module level.
    defined: HashSet<String>,
    /// String constants (`TOOL_EXECUTING = "tool_executing"`), also class-level ones.
    consts: HashMap<String, String>,
    /// Per enclosing `try … finally`: the finally block's tree and the loop depth it is at.
    finally: Vec<(Node, usize)>,
    loops: usize,
    /// Inside the body of a `try` with handlers: a `raise` goes to a handler.
    in_handled_try: usize,
    /// The local names of the enclosing functions, innermost last.
    locals: Vec<HashSet<String>>,
    /// The names each enclosing function declares `global`, innermost last.
    globals: Vec<HashSet<String>>,
}

impl<'o> Walker<'o> {
    fn new(options: &'o Options) -> Self {
        Walker {
            options,
            b: FactsBuilder::new(),
            imports: HashMap::new(),
            defined: HashSet::new(),
            consts: HashMap::new(),
            finally: Vec::new(),
            loops: 0,
            in_handled_try: 0,
            locals: Vec::new(),
            globals: Vec::new(),
        }
    }

    /// Imports anywhere in the file (an import inside a function binds for the whole file, as
    /// `use` aliases do in Rust), module-level definitions and string constants.
    fn collect_names(&mut self, suite: &[Stmt], module_level: bool) {
        grow(|| self.collect_names_inner(suite, module_level))
    }

    fn collect_names_inner(&mut self, suite: &[Stmt], module_level: bool) {
        for stmt in suite {
            match stmt {
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let path: Vec<String> = alias.name.id.split('.').map(str::to_owned).collect();
                        match &alias.asname {
                            Some(as_name) => {
                                self.imports.insert(as_name.id.to_string(), path);
                            }
                            None => {
                                let first = path[0].clone();
                                self.imports.insert(first.clone(), vec![first]);
                            }
                        }
                    }
                }
                Stmt::ImportFrom(i) => {
                    let module: Vec<String> = i
                        .module
                        .as_ref()
                        .map(|m| m.id.split('.').map(str::to_owned).collect())
                        .unwrap_or_default();
                    for alias in &i.names {
                        if alias.name.id.as_str() == "*" {
                            continue;
                        }
                        let mut path = module.clone();
                        path.push(alias.name.id.to_string());
                        let local = alias.asname.as_ref().unwrap_or(&alias.name).id.to_string();
                        self.imports.insert(local, path);
                    }
                }
                Stmt::FunctionDef(f) => {
                    if module_level {
                        self.defined.insert(f.name.id.to_string());
                    }
                    self.collect_names(&f.body, false);
                }
                Stmt::ClassDef(c) => {
                    if module_level {
                        self.defined.insert(c.name.id.to_string());
                    }
                    for s in &c.body {
                        if let Stmt::Assign(a) = s {
                            self.string_const(&a.targets, &a.value);
                        }
                    }
                    self.collect_names(&c.body, false);
                }
                Stmt::Assign(a) if module_level => self.string_const(&a.targets, &a.value),
                Stmt::If(s) => {
                    self.collect_names(&s.body, module_level);
                    for clause in &s.elif_else_clauses {
                        self.collect_names(&clause.body, module_level);
                    }
                }
                Stmt::Try(t) => {
                    self.collect_names(&t.body, module_level);
                    for ExceptHandler::ExceptHandler(h) in &t.handlers {
                        self.collect_names(&h.body, module_level);
                    }
                    self.collect_names(&t.orelse, module_level);
                    self.collect_names(&t.finalbody, module_level);
                }
                Stmt::With(w) => self.collect_names(&w.body, module_level),
                Stmt::For(f) => self.collect_names(&f.body, module_level),
                Stmt::While(w) => self.collect_names(&w.body, module_level),
                _ => {}
            }
        }
    }

    fn string_const(&mut self, targets: &[Expr], value: &Expr) {
        if let ([Expr::Name(n)], Expr::StringLiteral(s)) = (targets, value) {
            self.consts.insert(n.id.to_string(), s.value.to_str().to_owned());
        }
    }

    /// The dotted path a name stands for, through imports.
    fn resolve(&self, name: &str) -> Vec<String> {
        self.imports.get(name).cloned().unwrap_or_else(|| vec![name.to_owned()])
    }

    /// Whether a name is known as a module, class or function rather than a value.
    fn is_item(&self, name: &str) -> bool {
        !self.is_local(name)
            && (self.imports.contains_key(name)
                || self.defined.contains(name)
                || name.chars().next().is_some_and(char::is_uppercase))
    }

    /// Whether a name is a parameter or a variable of an enclosing function (it shadows a
    /// module-level item of the same name, as pytest fixtures do).
    fn is_local(&self, name: &str) -> bool {
        self.locals.iter().any(|scope| scope.contains(name))
    }

    /// A function or lambda body (see [`Lowering::with_body`]): `finally` blocks, loops and
    /// handled `try`s do not reach into it.
    fn function_body(&mut self, name: Option<String>, build: impl FnOnce(&mut Self) -> Node) -> BodyId {
        let finally = std::mem::take(&mut self.finally);
        let loops = std::mem::replace(&mut self.loops, 0);
        let handled = std::mem::replace(&mut self.in_handled_try, 0);
        let id = self.with_body(name, build);
        self.finally = finally;
        self.loops = loops;
        self.in_handled_try = handled;
        id
    }

    // ---- statements ------------------------------------------------------------------------

    fn suite(&mut self, suite: &[Stmt]) -> Node {
        seq(suite.iter().map(|s| self.stmt(s)))
    }

    fn exprs<'e>(&mut self, exprs: impl IntoIterator<Item = &'e Expr>) -> Vec<Node> {
        exprs.into_iter().map(|e| self.expr(e)).collect()
    }

    /// An exit, preceded by the `finally` blocks it runs through.
    fn exit(&self, kind: ExitKind, range: TextRange) -> Node {
        let leaves_loop = matches!(kind, ExitKind::Break(_) | ExitKind::Continue(_));
        let mut nodes: Vec<Node> = self
            .finally
            .iter()
            .rev()
            .filter(|(_, depth)| !leaves_loop || *depth >= self.loops)
            .map(|(node, _)| node.clone())
            .collect();
        nodes.push(Node::Exit(Exit { kind, span: span(range) }));
        seq(nodes)
    }

    fn stmt(&mut self, stmt: &Stmt) -> Node {
        self.nested(|_| span(stmt.range()), |w| w.stmt_inner(stmt))
    }

    fn stmt_inner(&mut self, stmt: &Stmt) -> Node {
        match stmt {
            Stmt::FunctionDef(f) => self.function(f),
            Stmt::ClassDef(c) => {
                let mut nodes: Vec<Node> = Vec::new();
                for d in &c.decorator_list {
                    nodes.push(self.expr(&d.expression));
                }
                if let Some(args) = &c.arguments {
                    nodes.extend(self.exprs(args.args.iter()));
                }
                let outer = self.b.replace_owner(Some(c.name.id.to_string()));
                nodes.push(self.suite(&c.body));
                self.b.replace_owner(outer);
                seq(nodes)
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.b.facts_mut().returned.push(span(v.range()));
                }
                let value = r.value.as_ref().map_or_else(Node::empty, |v| self.expr(v));
                seq([value, self.exit(ExitKind::Return, r.range)])
            }
            Stmt::Raise(r) => {
                let mut nodes: Vec<Node> = r.exc.iter().chain(r.cause.iter()).map(|e| self.expr(e)).collect();
                if self.in_handled_try == 0 {
                    nodes.push(self.exit(ExitKind::Raise, r.range));
                }
                seq(nodes)
            }
            Stmt::Break(b) => self.exit(ExitKind::Break(None), b.range),
            Stmt::Continue(c) => self.exit(ExitKind::Continue(None), c.range),
            Stmt::Assign(a) => {
                let first_new = self.b.next_literal();
                let value = self.expr(&a.value);
                let mut nodes = vec![value];
                for target in &a.targets {
                    nodes.push(self.target(target, &a.value));
                    self.bind_target(target, &a.value, first_new);
                }
                if self.b.body() == 0 && self.b.owner().is_none() {
                    for target in &a.targets {
                        if let Expr::Name(n) = target {
                            let ty = self.constructed_type(&a.value);
                            self.static_item(n, ty);
                        }
                    }
                } else {
                    // `global _manager` … `_manager = WebSocketManager()`: a lazy module-level
                    // instance, made on first use.
                    for target in &a.targets {
                        let Expr::Name(n) = target else { continue };
                        if self.globals.last().is_some_and(|g| g.contains(n.id.as_str())) {
                            if let Some(ty) = self.constructed_type(&a.value) {
                                self.static_item(n, Some(ty));
                            }
                        }
                    }
                }
                seq(nodes)
            }
            Stmt::AnnAssign(a) => {
                self.annotation(&a.annotation);
                let first_new = self.b.next_literal();
                let mut nodes = Vec::new();
                if let Some(value) = &a.value {
                    nodes.push(self.expr(value));
                    nodes.push(self.target(&a.target, value));
                    self.bind_target(&a.target, value, first_new);
                }
                if self.b.body() == 0 && self.b.owner().is_none() {
                    if let Expr::Name(n) = &*a.target {
                        let ty = self
                            .annotated_type(&a.annotation)
                            .or_else(|| a.value.as_deref().and_then(|v| self.constructed_type(v)));
                        self.static_item(n, ty);
                    }
                }
                seq(nodes)
            }
            Stmt::AugAssign(a) => seq([self.expr(&a.value), self.expr(&a.target)]),
            Stmt::Expr(e) => self.expr(&e.value),
            Stmt::If(s) => {
                let test = self.expr(&s.test);
                let body = self.suite(&s.body);
                let rest = self.clauses(&s.elif_else_clauses);
                seq([test, guarded(guard_key(&s.test), body, rest)])
            }
            Stmt::While(w) => {
                let infinite = matches!(&*w.test, Expr::BooleanLiteral(b) if b.value);
                self.loops += 1;
                let test = self.expr(&w.test);
                let body = self.suite(&w.body);
                self.loops -= 1;
                let orelse = self.suite(&w.orelse);
                seq([Node::Loop { label: None, body: Box::new(seq([test, body])), infinite }, orelse])
            }
            Stmt::For(f) => {
                let iter = self.expr(&f.iter);
                self.loops += 1;
                let target = self.expr(&f.target);
                let body = self.suite(&f.body);
                self.loops -= 1;
                let orelse = self.suite(&f.orelse);
                seq([
                    iter,
                    Node::Loop { label: None, body: Box::new(seq([target, body])), infinite: false },
                    orelse,
                ])
            }
            Stmt::With(w) => {
                let mut nodes = Vec::new();
                for item in &w.items {
                    let first_new = self.b.next_literal();
                    nodes.push(self.expr(&item.context_expr));
                    if let Some(vars) = &item.optional_vars {
                        self.bind_target(vars, &item.context_expr, first_new);
                    }
                }
                nodes.push(self.suite(&w.body));
                seq(nodes)
            }
            Stmt::Match(m) => {
                let subject = self.expr(&m.subject);
                let mut arms = Vec::new();
                let mut exhaustive = false;
                for case in &m.cases {
                    let guard = case.guard.as_ref().map_or_else(Node::empty, |g| self.expr(g));
                    exhaustive |= case.guard.is_none() && case.pattern.is_irrefutable();
                    arms.push(seq([guard, self.suite(&case.body)]));
                }
                if !exhaustive {
                    arms.push(Node::empty());
                }
                seq([subject, branch(arms)])
            }
            Stmt::Try(t) => {
                let finally = self.suite(&t.finalbody);
                let guarded = !t.finalbody.is_empty();
                if guarded {
                    self.finally.push((finally.clone(), self.loops));
                }
                let handled = !t.handlers.is_empty();
                self.in_handled_try += usize::from(handled);
                let body = self.suite(&t.body);
                self.in_handled_try -= usize::from(handled);
                let orelse = self.suite(&t.orelse);
                let mut arms = vec![seq([body, orelse])];
                for ExceptHandler::ExceptHandler(h) in &t.handlers {
                    let ty = h.type_.as_ref().map_or_else(Node::empty, |e| self.expr(e));
                    arms.push(seq([ty, self.suite(&h.body)]));
                }
                if guarded {
                    self.finally.pop();
                }
                seq([branch(arms), finally])
            }
            Stmt::Assert(a) => {
                let mut nodes = vec![self.expr(&a.test)];
                if let Some(msg) = &a.msg {
                    nodes.push(self.expr(msg));
                }
                seq(nodes)
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let path = alias.name.id.split('.').map(str::to_owned).collect();
                    self.b.mention(path, span(alias.name.range), MentionKind::Import);
                }
                Node::empty()
            }
            Stmt::ImportFrom(i) => {
                let module: Vec<String> = i
                    .module
                    .as_ref()
                    .map(|m| m.id.split('.').map(str::to_owned).collect())
                    .unwrap_or_default();
                for alias in &i.names {
                    let mut path = module.clone();
                    path.push(alias.name.id.to_string());
                    self.b.mention(path, span(alias.name.range), MentionKind::Import);
                }
                Node::empty()
            }
            Stmt::TypeAlias(t) => {
                self.annotation(&t.value);
                Node::empty()
            }
            Stmt::Delete(d) => seq(self.exprs(d.targets.iter())),
            Stmt::Global(_) | Stmt::Nonlocal(_) | Stmt::Pass(_) | Stmt::IpyEscapeCommand(_) => Node::empty(),
        }
    }

    fn clauses(&mut self, clauses: &[ElifElseClause]) -> Node {
        match clauses.first() {
            Some(first) => self.nested(|_| span(first.range), |w| w.clauses_inner(clauses)),
            None => Node::empty(),
        }
    }

    fn clauses_inner(&mut self, clauses: &[ElifElseClause]) -> Node {
        let Some((first, rest)) = clauses.split_first() else { return Node::empty() };
        match &first.test {
            Some(test) => {
                let key = guard_key(test);
                let test = self.expr(test);
                let body = self.suite(&first.body);
                let rest = self.clauses(rest);
                seq([test, guarded(key, body, rest)])
            }
            None => self.suite(&first.body),
        }
    }

    /// A function definition: its facts and body; the node of its decorators.
    fn function(&mut self, f: &ast::StmtFunctionDef) -> Node {
        let attrs: Vec<String> = f.decorator_list.iter().map(decorator_path).collect();
        let decorators = seq(f.decorator_list.iter().map(|d| self.expr(&d.expression)));
        let in_class = self.b.owner().is_some();
        let is_static = attrs.iter().any(|a| a == "staticmethod");
        let is_class = attrs.iter().any(|a| a == "classmethod");
        let params = self.parameters(&f.parameters);
        let positional = f.parameters.posonlyargs.len() + f.parameters.args.len();
        let has_self = in_class && !is_static && !is_class && positional > 0;
        let skip_first = in_class && !is_static && positional > 0;
        if let Some(returns) = &f.returns {
            self.annotation(returns);
        }
        let name = f.name.id.to_string();
        let owner = self.b.owner().map(str::to_owned);
        self.b.facts_mut().fns.push(FnDef {
            name: name.clone(),
            name_span: span(f.name.range),
            owner,
            trait_impl: None,
            has_self,
            params: params - usize::from(skip_first),
            param_names: f
                .parameters
                .iter()
                .skip(usize::from(skip_first))
                .map(|p| p.name().id.to_string())
                .collect(),
            extent: Some(Span::new(f.name.range.start().to_usize(), f.range.end().to_usize())),
            attrs,
        });
        let class = self.b.replace_owner(None);
        let mut locals = Locals::default();
        f.parameters.iter().for_each(|p| {
            locals.0.insert(p.name().id.to_string());
        });
        locals.visit_body(&f.body);
        // Names declared `global` are the module's, not the function's.
        let globals = std::mem::take(&mut locals.1);
        locals.0.retain(|n| !globals.contains(n));
        self.locals.push(locals.0);
        self.globals.push(globals);
        self.function_body(Some(name), |w| w.suite(&f.body));
        self.globals.pop();
        self.locals.pop();
        self.b.replace_owner(class);
        decorators
    }

    /// Walks parameter annotations and defaults; the number of parameters.
    fn parameters(&mut self, p: &Parameters) -> usize {
        let mut count = 0;
        for param in p.iter() {
            count += 1;
            if let Some(annotation) = param.annotation() {
                self.annotation(annotation);
            }
            if let Some(default) = param.default() {
                self.expr(default);
            }
        }
        count
    }

    /// A module-level variable; `ty` is the class it is built from or annotated with.
    fn static_item(&mut self, name: &ast::ExprName, ty: Option<String>) {
        self.b.facts_mut().statics.push(StaticItem {
            name: name.id.to_string(),
            name_span: span(name.range),
            type_name: ty,
        });
    }

    /// `WebSocketManager()` / `mod.WebSocketManager(…)`: the class's name.
    fn constructed_type(&self, value: &Expr) -> Option<String> {
        let Expr::Call(c) = value else { return None };
        let path = dotted(&c.func)?;
        let name =
            self.resolve(&path[0]).last().cloned().filter(|_| path.len() == 1).or(path.last().cloned())?;
        name.chars().next().is_some_and(char::is_uppercase).then_some(name)
    }

    /// The class an annotation names, through `Optional[…]`, `X | None` and the like.
    fn annotated_type(&self, e: &Expr) -> Option<String> {
        grow(|| self.annotated_type_inner(e))
    }

    fn annotated_type_inner(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(_) | Expr::Attribute(_) => {
                let path = dotted(e)?;
                let name = if path.len() == 1 { self.resolve(&path[0]).pop()? } else { path.last()?.clone() };
                (name != "None").then_some(name)
            }
            Expr::Subscript(s) => {
                let outer = dotted(&s.value)?.pop()?;
                if !WRAPPERS.contains(&outer.as_str()) {
                    return Some(outer);
                }
                match &*s.slice {
                    Expr::Tuple(t) => t.elts.iter().find_map(|e| self.annotated_type(e)),
                    inner => self.annotated_type(inner),
                }
            }
            Expr::BinOp(b) => self.annotated_type(&b.left).or_else(|| self.annotated_type(&b.right)),
            _ => None,
        }
    }

    /// Records what an assignment target binds from `value` (see [`Lowering::bind`]).
    fn bind_target(&mut self, target: &Expr, value: &Expr, first_new: usize) {
        if let Expr::Name(n) = target {
            self.bind(n.id.to_string(), first_new, value);
        }
    }

    /// Walks an assignment target; `ev["k"] = v` and `ev["data"]["k"] = v` are index assigns.
    fn target(&mut self, target: &Expr, value: &Expr) -> Node {
        if let Expr::Subscript(_) = target {
            let mut keys = Vec::new();
            let mut e = target;
            while let Expr::Subscript(s) = e {
                keys.push(match &*s.slice {
                    Expr::StringLiteral(k) => Some(k.value.to_str().to_owned()),
                    _ => None,
                });
                e = &s.value;
            }
            let root = match e {
                Expr::Name(n) => Some(n.id.to_string()),
                _ => None,
            };
            let whole = Span::new(target.start().to_usize(), value.end().to_usize());
            self.index_assign(root, keys, value, |_| whole);
        }
        match target {
            Expr::Name(_) => Node::empty(),
            e => self.expr(e),
        }
    }

    fn annotation(&mut self, e: &Expr) {
        self.nested(|_| span(e.range()), |w| w.annotation_inner(e))
    }

    fn annotation_inner(&mut self, e: &Expr) {
        match e {
            Expr::Name(_) | Expr::Attribute(_) => {
                if let Some(path) = self.item_path(e) {
                    self.b.mention(path, span(e.range()), MentionKind::Type);
                }
            }
            Expr::StringLiteral(_) => {}
            e => {
                let c = children(e);
                for child in c.exprs.into_iter().chain(c.annotations) {
                    self.annotation(child);
                }
            }
        }
    }

    /// The resolved path of a dotted name whose root is an import or a definition of the file.
    fn item_path(&self, e: &Expr) -> Option<Vec<String>> {
        let path = dotted(e)?;
        let root = &path[0];
        if self.is_local(root) || !(self.imports.contains_key(root) || self.defined.contains(root)) {
            return None;
        }
        let mut resolved = self.resolve(root);
        resolved.extend(path[1..].iter().cloned());
        Some(resolved)
    }

    // ---- expressions -----------------------------------------------------------------------

    fn expr(&mut self, e: &Expr) -> Node {
        self.nested(|_| span(e.range()), |w| w.expr_inner(e))
    }

    fn expr_inner(&mut self, e: &Expr) -> Node {
        match e {
            Expr::Call(c) => self.call(c),
            Expr::Dict(d) => self.dict(d),
            Expr::Name(n) => {
                if let Some(path) = self.item_path(e) {
                    self.b.mention(path, span(n.range), MentionKind::Value);
                }
                Node::empty()
            }
            Expr::Attribute(a) => {
                if let Some(path) = self.item_path(e) {
                    self.b.mention(path, span(a.range), MentionKind::Value);
                    return Node::empty();
                }
                self.expr(&a.value)
            }
            Expr::BoolOp(b) => {
                let mut values = b.values.iter();
                let first = values.next().map_or_else(Node::empty, |v| self.expr(v));
                let rest = seq(values.map(|v| self.expr(v)));
                seq([first, branch([Node::empty(), rest])])
            }
            Expr::If(i) => {
                let test = self.expr(&i.test);
                let body = self.expr(&i.body);
                let orelse = self.expr(&i.orelse);
                seq([test, branch([body, orelse])])
            }
            Expr::Named(n) => {
                let first_new = self.b.next_literal();
                let value = self.expr(&n.value);
                self.bind_target(&n.target, &n.value, first_new);
                value
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    self.parameters(p);
                }
                self.function_body(None, |w| w.expr(&l.body));
                Node::empty()
            }
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                let c = children(e);
                let body = seq(self.exprs(c.exprs));
                Node::Loop { label: None, body: Box::new(body), infinite: false }
            }
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => Node::empty(),
            e => {
                let c = children(e);
                for a in c.annotations {
                    self.annotation(a);
                }
                seq(self.exprs(c.exprs))
            }
        }
    }

    /// A dict literal: its keys and values are walked, nested dicts and strings linked into
    /// its entries.
    fn dict(&mut self, d: &ast::ExprDict) -> Node {
        let idx = self.b.new_literal(span(d.range), LiteralKind::Dict);
        let mut values = Vec::new();
        let mut nodes = Vec::new();
        for item in &d.items {
            match &item.key {
                Some(Expr::StringLiteral(k)) => {
                    let entry = self.b.push_entry(
                        idx,
                        Entry {
                            key: k.value.to_str().to_owned(),
                            key_span: span(k.range),
                            value: Value::Other,
                            value_span: span(item.value.range()),
                        },
                    );
                    values.push((Some(entry), &item.value));
                }
                key => {
                    if let Some(key) = key {
                        nodes.push(self.expr(key));
                    }
                    self.b.incomplete(idx);
                    values.push((None, &item.value));
                }
            }
        }
        nodes.extend(self.dict_values(idx, &values));
        nodes.push(Node::Literal(idx));
        seq(nodes)
    }

    /// Walks entry values, linking nested dicts and strings into the literal's entries (see
    /// [`Lowering::entry_value`]).
    fn dict_values(&mut self, idx: usize, values: &[(Option<usize>, &Expr)]) -> Vec<Node> {
        let mut nodes = Vec::new();
        for (entry, value) in values {
            match entry {
                Some(entry) => {
                    let (node, v) = self.entry_value(idx, value);
                    nodes.push(node);
                    self.b.set_entry_value(idx, *entry, v);
                }
                None => nodes.push(self.expr(value)),
            }
        }
        nodes
    }

    /// Whether `a` in `a.b(…)` makes it a path call: a dotted name whose root is an item.
    fn is_path_root(&self, e: &Expr) -> bool {
        dotted(e).is_some_and(|path| self.is_item(&path[0]))
    }

    fn call(&mut self, c: &ast::ExprCall) -> Node {
        let whole = span(c.range());
        let mut nodes = Vec::new();
        let (path, receiver, name, name_span) = match &*c.func {
            Expr::Name(n) => {
                let path = self.resolve(n.id.as_str());
                if self.is_item(n.id.as_str()) {
                    self.b.mention(path.clone(), span(n.range), MentionKind::Expr);
                }
                (Some(path.clone()), None, path.last().cloned().unwrap_or_default(), span(n.range))
            }
            Expr::Attribute(a) if self.is_path_root(&a.value) => {
                let dotted_path = dotted(&a.value).unwrap_or_default();
                let mut path = self.resolve(&dotted_path[0]);
                path.extend(dotted_path[1..].iter().cloned());
                path.push(a.attr.id.to_string());
                if self.imports.contains_key(&dotted_path[0]) || self.defined.contains(&dotted_path[0]) {
                    self.b.mention(path[..path.len() - 1].to_vec(), span(a.value.range()), MentionKind::Expr);
                }
                (Some(path), None, a.attr.id.to_string(), span(a.attr.range))
            }
            Expr::Attribute(a) => {
                nodes.push(self.expr(&a.value));
                (None, self.chain(&a.value), a.attr.id.to_string(), span(a.attr.range))
            }
            other => {
                nodes.push(self.expr(other));
                (None, None, String::new(), span(other.range()))
            }
        };
        if path.as_ref().is_some_and(|p| p.len() == 1 && p[0] == "dict") {
            return self.dict_call(c, nodes);
        }
        let skip_args = is_mock_assertion(&name);
        let mut args = Vec::new();
        if !skip_args {
            let values = c.arguments.args.iter().chain(c.arguments.keywords.iter().map(|k| &k.value));
            for value in values {
                let (ident, closure) = match value {
                    Expr::Name(n) => (Some(n.id.to_string()), None),
                    Expr::Lambda(l) => (
                        None,
                        Some(
                            l.parameters
                                .iter()
                                .flat_map(|p| p.iter())
                                .map(|p| p.name().id.to_string())
                                .collect(),
                        ),
                    ),
                    _ => (None, None),
                };
                let (node, arg) = self.arg(value, ident, closure);
                nodes.push(node);
                args.push(arg);
            }
        }
        let canonical = match (&path, &receiver) {
            (None, Some(_)) => self.is_canonical_call(&c.func),
            _ => false,
        };
        let body = self.b.body();
        nodes.push(self.b.call(Call { span: whole, name, name_span, path, receiver, args, body, canonical }));
        seq(nodes)
    }

    /// `dict(type="tool_executing", …)`: a dict literal with the keywords as keys.
    fn dict_call(&mut self, c: &ast::ExprCall, mut nodes: Vec<Node>) -> Node {
        let idx = self.b.new_literal(span(c.range()), LiteralKind::Dict);
        if !c.arguments.args.is_empty() {
            self.b.incomplete(idx);
        }
        nodes.extend(self.exprs(c.arguments.args.iter()));
        let mut values = Vec::new();
        for k in &c.arguments.keywords {
            match &k.arg {
                Some(name) => {
                    let entry = self.b.push_entry(
                        idx,
                        Entry {
                            key: name.id.to_string(),
                            key_span: span(name.range),
                            value: Value::Other,
                            value_span: span(k.value.range()),
                        },
                    );
                    values.push((Some(entry), &k.value));
                }
                None => {
                    self.b.incomplete(idx);
                    values.push((None, &k.value));
                }
            }
        }
        nodes.extend(self.dict_values(idx, &values));
        nodes.push(Node::Literal(idx));
        seq(nodes)
    }

    /// Whether a method call matches one of the configured canonical call patterns.
    fn is_canonical_call(&self, func: &Expr) -> bool {
        if self.options.canonical_calls.is_empty() {
            return false;
        }
        let Some(path) = dotted(func) else { return false };
        let written = path.join(".");
        self.options.canonical_calls.iter().any(|p| wildcard(p, &written))
    }
}

impl Lowering for Walker<'_> {
    type Expr = Expr;

    fn builder(&mut self) -> &mut FactsBuilder {
        &mut self.b
    }

    fn built(&self) -> &FactsBuilder {
        &self.b
    }

    fn lower_expr(&mut self, e: &Expr) -> Node {
        self.expr(e)
    }

    fn span(&self, e: &Expr) -> Span {
        span(e.range())
    }

    /// An awaited expression's value is the awaited one's.
    fn value_span(&self, e: &Expr) -> Span {
        match e {
            Expr::Await(a) => span(a.value.range()),
            e => span(e.range()),
        }
    }

    /// The value of a string literal (not an f-string), or of a string constant of the file.
    fn str_value(&self, e: &Expr) -> Option<(String, Span)> {
        match e {
            Expr::StringLiteral(s) => Some((s.value.to_str().to_owned(), span(s.range))),
            Expr::Name(n) => self.consts.get(n.id.as_str()).map(|v| (v.clone(), span(n.range))),
            Expr::Attribute(a) if matches!(&*a.value, Expr::Name(_)) => {
                self.consts.get(a.attr.id.as_str()).map(|v| (v.clone(), span(a.range)))
            }
            _ => None,
        }
    }

    /// A member chain: `self.context.websocket_manager`, `get_manager().ws`. Chains longer than
    /// [`MAX_CHAIN`] are not followed.
    fn chain(&self, e: &Expr) -> Option<Chain> {
        let mut ops: Vec<(&Expr, SegKind, String)> = Vec::new();
        let mut cur = e;
        let (root, root_span) = loop {
            if ops.len() > MAX_CHAIN {
                return Some(Chain { root: Root::Other, root_span: span(e.range()), segs: Vec::new() });
            }
            match cur {
                Expr::Name(n) => {
                    let root =
                        if n.id.as_str() == "self" { Root::SelfValue } else { Root::Ident(n.id.to_string()) };
                    break (root, span(n.range));
                }
                Expr::Call(c) => match &*c.func {
                    // `getattr(obj, "websocket_manager", None)` is `obj.websocket_manager`.
                    Expr::Name(f)
                        if f.id.as_str() == "getattr"
                            && !self.is_local("getattr")
                            && (2..=3).contains(&c.arguments.args.len())
                            && c.arguments.keywords.is_empty()
                            && matches!(c.arguments.args.get(1), Some(Expr::StringLiteral(_))) =>
                    {
                        let Some(Expr::StringLiteral(name)) = c.arguments.args.get(1) else {
                            break (Root::Other, span(c.range()));
                        };
                        ops.push((cur, SegKind::Field, name.value.to_str().to_owned()));
                        cur = &c.arguments.args[0];
                    }
                    Expr::Attribute(a) if !self.is_path_root(&a.value) => {
                        ops.push((cur, SegKind::Method(c.arguments.len()), a.attr.id.to_string()));
                        cur = &a.value;
                    }
                    func => {
                        let root = match dotted(func) {
                            Some(path) => {
                                let mut resolved = self.resolve(&path[0]);
                                resolved.extend(path[1..].iter().cloned());
                                Root::Call(resolved)
                            }
                            None => Root::Other,
                        };
                        break (root, span(c.range()));
                    }
                },
                Expr::Attribute(a) => {
                    ops.push((cur, SegKind::Field, a.attr.id.to_string()));
                    cur = &a.value;
                }
                Expr::Await(a) => {
                    ops.push((cur, SegKind::Await, String::new()));
                    cur = &a.value;
                }
                Expr::Subscript(s) => {
                    ops.push((cur, SegKind::Index, String::new()));
                    cur = &s.value;
                }
                other => break (Root::Other, span(other.range())),
            }
        };
        let segs = ops
            .into_iter()
            .rev()
            .map(|(node, kind, name)| Seg {
                kind,
                name,
                span: Span::new(root_span.start, node.end().to_usize()),
            })
            .collect();
        Some(Chain { root, root_span, segs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> Facts {
        parse(src, &Options::default()).0.expect("parses")
    }

    /// Lowers `src` and snapshots the source followed by its facts and comments.
    fn snapshot(name: &str, src: &str) {
        let options = Options { canonical_calls: vec!["self._adapter.emit_*".to_owned()] };
        let (facts, comments) = parse(src, &options);
        let mut out = format!("{src}----\n{}", crate::facts::render::render(&facts.expect("parses"), src));
        for c in comments {
            out.push_str(&format!("comment {:?} own_line={}\n", &src[c.span.start..c.span.end], c.own_line));
        }
        insta::assert_snapshot!(name, out);
    }

    #[test]
    fn calls_and_member_chains() {
        snapshot(
            "calls",
            r#"# agent-events: allow(competing-emitter)
from app.ws import get_websocket_manager as gwm  # the getter
import app.events as ev
import json

async def run(self, ctx, websocket_manager):
    gwm().send_to_user(ctx.user_id, "hi")
    await self.ctx.ws.send_json(json.dumps({"type": "agent_started"}), key=KIND)
    self._adapter.emit_agent_thinking("x")
    ev.helpers.notify(ctx)
    Manager.get_instance().broadcast(lambda m, n=1: m.done())
    websocket_manager.send()
    ctx.items[0].first().run()
    factory()(1)
    s = "x # not a comment"  # a comment
    mock.assert_called_once_with(gwm(), {"type": "x"})

KIND = "agent_thinking"
"#,
        );
    }

    #[test]
    fn dicts_bindings_and_index_assigns() {
        snapshot(
            "dicts",
            r#"def build(ctx, key):
    event = {"type": "tool_executing", "data": {"tool_name": "x", "n": 1}, key: 2, **extra}
    other = dict(type=KIND, payload={"a": "b"}, **rest)
    partial = dict(base, extra="y")
    event["data"]["status"] = "running"
    event["type"] = KIND
    event[key]["x"] = "y"
    event["data"][key] = "z"
    obj.attr["k"] = "v"
    event["v"]: str = "annotated"
    m = ctx.websocket_manager
    with ctx.lock() as lock, open(p) as f:
        lock.release()
    if (n := ctx.notifier.get()) is not None:
        n.send()
    a = b = ctx.pair
    x, y = ctx.tuple
    return await {"k": "v"}

KIND = "agent_started"
"#,
        );
    }

    #[test]
    fn definitions_statics_and_mentions() {
        snapshot(
            "items",
            r#"import os.path
from typing import Optional
from app.ws import WebSocketManager as WSM
from app.util import *
from . import sibling

manager: Optional[WSM] = None
registry = Registry()
bridge = app.ws.Bridge()
plain = 1
notifier: "Notifier" = make()

@dataclass
class Emitter(Base, metaclass=Meta):
    NAME = "emitter"
    sink: WSM

    def __init__(self, manager: WSM) -> None:
        self.manager = manager

    @staticmethod
    def build(a, b=default(), *args, c, **kw) -> "Emitter":
        return Emitter(WSM())

    @classmethod
    def create(cls):
        return cls()

    @app.route("/x")
    async def send_agent_started(self, user_id: str):
        def inner(WSM):
            WSM.send()
        os.path.join(user_id)

def helper(x: list[WSM] | None = None):
    sibling.call(x)
"#,
        );
    }

    #[test]
    fn control_flow_trees() {
        snapshot(
            "control_flow",
            r#"def flow(e):
    e.a()
    if e.b():
        e.c()
    elif e.d() and e.e():
        return e.f()
    else:
        raise e.g()
    while True:
        for x in e.h():
            if x.i():
                break
            continue
        else:
            e.j()
    while e.k():
        e.l()
    try:
        e.m()
        raise Error()
    except ValueError as err:
        e.n(err)
    else:
        e.o()
    finally:
        e.p()
    for y in e.q():
        try:
            return e.r()
        finally:
            e.s()
    match e.t():
        case 1 if e.u():
            e.v()
        case _:
            e.w()
    match e.x():
        case [a, b]:
            pass
    v = e.y() if e.z() else [c.go() for c in e.all()]
    assert e.check(), e.msg()
    del e.items[e.idx()]
    e.count += e.step()
"#,
        );
    }
    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(wildcard("self._adapter.emit_*", "self._adapter.emit_agent_started"));
        assert!(!wildcard("self._adapter.emit_*", "self._adapter.send_agent_started"));
        assert!(wildcard("*.emit_*", "a.b.emit_x"));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("exact", "exactly"));
    }

    #[test]
    fn imports_resolve_and_decide_path_calls() {
        let f = facts(
            "from app.ws import get_websocket_manager as gwm\nimport json\n\
             def f(ws, ctx):\n    gwm()\n    ws.send_text(json.dumps({'type': 'agent_started'}))\n    \
             AgentWebSocketBridge.get_instance()\n",
        );
        let calls: Vec<(Option<Vec<String>>, &str)> =
            f.calls.iter().map(|c| (c.path.clone(), c.name.as_str())).collect();
        assert_eq!(
            calls[0],
            (Some(vec!["app".into(), "ws".into(), "get_websocket_manager".into()]), "get_websocket_manager")
        );
        assert_eq!(calls[1], (Some(vec!["json".into(), "dumps".into()]), "dumps"));
        assert_eq!(calls[2], (None, "send_text"));
        assert_eq!(
            calls[3].0.as_deref().map(|p| p.join(".")),
            Some("AgentWebSocketBridge.get_instance".into())
        );
        assert_eq!(f.literals.len(), 1);
        assert_eq!(f.literals[0].entries[0].key, "type");
    }

    #[test]
    fn finally_blocks_run_before_exits() {
        let f = facts("def f(e):\n    try:\n        e.a()\n        return 1\n    finally:\n        e.b()\n");
        let tree = format!("{:?}", f.bodies[1].tree);
        let exit = tree.find("Exit").unwrap();
        assert!(tree[..exit].matches("Call(1)").count() >= 1, "{tree}");
    }

    #[test]
    fn syntax_errors_are_parse_errors_with_a_span() {
        let (result, _) = parse("print 'hello'\n", &Options::default());
        let e = result.unwrap_err();
        assert!(e.span.start <= 14, "{e:?}");
    }

    #[test]
    fn deep_nesting_is_a_parse_error_never_a_stack_overflow() {
        // On the test thread's small stack: the walk and the drop grow their stack as needed.
        let n = 100_000;
        for src in [
            format!("x = {}y\n", "not ".repeat(n)),
            format!("x = {}y\n", "-".repeat(n)),
            format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)),
            format!("x = {}b\n", "a.".repeat(n)),
            format!("x = {}1\n", "1+".repeat(n)),
            format!("x = {}1{}\n", "(lambda: ".repeat(n), ")".repeat(n)),
        ] {
            let (result, _) = parse(&src, &Options::default());
            let e = result.expect_err("too deep");
            assert!(e.message.contains("nests deeper"), "{}", e.message);
        }
        // Deep but within the limit: linted.
        let src = format!("x = {}y\nnotify_agent_started()\n", "not ".repeat(1_500));
        assert_eq!(facts(&src).calls.len(), 1);
    }

    #[test]
    fn expressions_without_calls_leave_no_tree() {
        let f = facts("def f(a):\n    x = [[[a + 1]]] if a else -a\n    return x\n");
        let tree = format!("{:?}", f.bodies[1].tree);
        assert!(!tree.contains("Seq([Seq"), "{tree}");
    }
}
