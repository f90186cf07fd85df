//! Rewrites of Python code, matched on Ruff's syntax tree.
//!
//! - `$x` binds any expression (the same expression, compared structurally, wherever `$x`
//!   repeats); `$$$xs` binds a list: call arguments (keyword arguments included) or the elements
//!   of a list, tuple or set; a lone `$$$` on a line of its own between statements is a gap of
//!   any statements.
//! - A pattern is an expression, or a sequence of statements within one block. Whitespace,
//!   comments, line continuations, redundant parentheses and trailing commas do not matter;
//!   `await` and attribute chains match as written.
//! - The replacement is one template for the whole match: each lone `$$$` line of the template
//!   takes the statements of the pattern's gap of the same rank, re-indented to where the
//!   template puts them (so a template may wrap them in `try:` … `finally:`). The replacement
//!   keeps the block's indentation; bound text is kept as written; strings are never re-indented.
//!   A gap placed in a new block that matched no statement becomes `pass`.

use ruff_python_ast::comparable::{ComparableExpr, ComparableStmt};
use ruff_python_ast::token::TokenKind;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{ArgOrKeyword, Expr, Keyword, ModModule, Stmt};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::source::Span;

const VAR: &str = "__ae_var_";
const LIST: &str = "__ae_list_";
const GAP: &str = "__ae_gap";

/// A checked Python pattern and its template.
#[derive(Clone, Debug)]
pub struct Pattern {
    shape: Shape,
    /// The template, dedented, without leading and trailing blank lines.
    template: String,
}

#[derive(Clone, Debug)]
enum Shape {
    Expr(Box<Expr>),
    /// Statements and gaps: no gap first, last or twice in a row.
    Stmts(Vec<Item>),
}

#[derive(Clone, Debug)]
enum Item {
    Stmt(Box<Stmt>),
    Gap,
}

/// Replaces `$$$name` (`*__ae_list_name`), a lone `$$$` line (`__ae_gap`) and `$name`
/// (`__ae_var_name`) with Python the parser reads.
fn mark(pattern: &str) -> String {
    let mut out = String::new();
    for line in pattern.split_inclusive('\n') {
        if line.trim() == "$$$" {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(indent);
            out.push_str(GAP);
            if line.ends_with('\n') {
                out.push('\n');
            }
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let list = rest[i..].starts_with("$$$");
            let after = &rest[i + if list { 3 } else { 1 }..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if list {
                out.push('*');
                out.push_str(LIST);
            } else {
                out.push_str(VAR);
            }
            out.push_str(&name);
            rest = &after[name.len()..];
        }
        out.push_str(rest);
    }
    out
}

/// Removes the common indentation and the blank lines around a template.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let last = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(first, |l| l + 1);
    let lines = &lines[first..last.max(first)];
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| if l.trim().is_empty() { "" } else { &l[common..] }.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The number of lone `$$$` lines of a template.
fn template_gaps(template: &str) -> usize {
    template.lines().filter(|l| l.trim() == "$$$").count()
}

impl Pattern {
    /// Checks a pattern: it parses as Python, and the template has one lone `$$$` line per gap
    /// between the pattern's statements.
    pub fn new(pattern: &str, replace: &str) -> Result<Pattern, String> {
        let marked = mark(&dedent(pattern));
        // The front-end's parse first: it refuses code nested too deep to walk.
        crate::frontend::python::parse(&marked, &Default::default()).0.map_err(|e| e.message)?;
        let parsed = ruff_python_parser::parse_module(&marked).map_err(|e| e.error.to_string())?;
        let mut body = parsed.into_syntax().body;
        let template = dedent(replace);
        let is_gap = |s: &Stmt| matches!(s, Stmt::Expr(e) if matches!(&*e.value, Expr::Name(n) if n.id.as_str() == GAP));
        let shape = if body.len() == 1 && !is_gap(&body[0]) && matches!(body[0], Stmt::Expr(_)) {
            let Some(Stmt::Expr(e)) = body.pop() else { unreachable!() };
            Shape::Expr(e.value)
        } else {
            let mut items: Vec<Item> = Vec::new();
            for stmt in body {
                if is_gap(&stmt) {
                    if !matches!(items.last(), None | Some(Item::Gap)) {
                        items.push(Item::Gap);
                    }
                } else {
                    items.push(Item::Stmt(Box::new(stmt)));
                }
            }
            if matches!(items.last(), Some(Item::Gap)) {
                items.pop();
            }
            if items.is_empty() {
                return Err("`match` is empty".into());
            }
            Shape::Stmts(items)
        };
        let gaps = match &shape {
            Shape::Expr(_) => 0,
            Shape::Stmts(items) => items.iter().filter(|i| matches!(i, Item::Gap)).count(),
        };
        let written = template_gaps(&template);
        if written != gaps {
            return Err(format!(
                "`replace` has {written} lone `$$$` line(s) but `match` has {gaps} gap(s) between statements"
            ));
        }
        Ok(Pattern { shape, template })
    }
}

/// What a metavariable bound.
#[derive(Clone, Copy)]
enum Bound<'c> {
    Expr(&'c Expr),
    /// A list: its range, `None` when empty.
    List(Option<TextRange>),
}

struct Matcher<'c> {
    binds: Vec<(String, Bound<'c>)>,
}

fn meta_name<'p>(e: &'p Expr, prefix: &str) -> Option<&'p str> {
    match e {
        Expr::Name(n) => n.id.as_str().strip_prefix(prefix),
        _ => None,
    }
}

/// The name of a list metavariable written `*__ae_list_name`.
fn list_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Starred(s) => meta_name(&s.value, LIST),
        _ => None,
    }
}

struct HasMeta(bool);

impl<'a> Visitor<'a> for HasMeta {
    fn visit_expr(&mut self, e: &'a Expr) {
        if let Expr::Name(n) = e {
            self.0 |= n.id.as_str().starts_with("__ae_");
        }
        visitor::walk_expr(self, e);
    }
}

fn expr_has_meta(e: &Expr) -> bool {
    let mut v = HasMeta(false);
    v.visit_expr(e);
    v.0
}

fn stmt_has_meta(s: &Stmt) -> bool {
    let mut v = HasMeta(false);
    v.visit_stmt(s);
    v.0
}

impl<'c> Matcher<'c> {
    fn bind(&mut self, name: &str, bound: Bound<'c>) -> bool {
        if let Some((_, previous)) = self.binds.iter().find(|(n, _)| n == name) {
            return match (previous, bound) {
                (Bound::Expr(a), Bound::Expr(b)) => ComparableExpr::from(*a) == ComparableExpr::from(b),
                _ => false,
            };
        }
        self.binds.push((name.to_owned(), bound));
        true
    }

    fn opt(&mut self, p: Option<&Expr>, c: Option<&'c Expr>) -> bool {
        match (p, c) {
            (None, None) => true,
            (Some(p), Some(c)) => self.expr(p, c),
            _ => false,
        }
    }

    fn exprs(&mut self, p: &[Expr], c: &'c [Expr]) -> bool {
        let p: Vec<ArgOrKeyword<'_>> = p.iter().map(ArgOrKeyword::Arg).collect();
        let c: Vec<ArgOrKeyword<'c>> = c.iter().map(ArgOrKeyword::Arg).collect();
        self.list(&p, &c)
    }

    /// Matches a pattern list (with `$$$xs` elements) against code elements, backtracking.
    fn list(&mut self, p: &[ArgOrKeyword<'_>], c: &[ArgOrKeyword<'c>]) -> bool {
        let Some(first) = p.first() else { return c.is_empty() };
        if let ArgOrKeyword::Arg(e) = first {
            if let Some(name) = list_name(e) {
                for k in 0..=c.len() {
                    let saved = self.binds.len();
                    let range = (k > 0).then(|| TextRange::new(c[0].range().start(), c[k - 1].range().end()));
                    if (name.is_empty() || self.bind(name, Bound::List(range))) && self.list(&p[1..], &c[k..])
                    {
                        return true;
                    }
                    self.binds.truncate(saved);
                }
                return false;
            }
        }
        let Some(code) = c.first().copied() else { return false };
        let saved = self.binds.len();
        let ok = match (first, code) {
            (ArgOrKeyword::Arg(p), ArgOrKeyword::Arg(c)) => self.expr(p, c),
            (ArgOrKeyword::Keyword(p), ArgOrKeyword::Keyword(c)) => self.keyword(p, c),
            _ => false,
        };
        if ok && self.list(&p[1..], &c[1..]) {
            return true;
        }
        self.binds.truncate(saved);
        false
    }

    fn keyword(&mut self, p: &Keyword, c: &'c Keyword) -> bool {
        p.arg.as_ref().map(|a| a.as_str()) == c.arg.as_ref().map(|a| a.as_str())
            && self.expr(&p.value, &c.value)
    }

    fn expr(&mut self, p: &Expr, c: &'c Expr) -> bool {
        if let Some(name) = meta_name(p, VAR) {
            return self.bind(name, Bound::Expr(c));
        }
        let saved = self.binds.len();
        let ok = match (p, c) {
            (Expr::Name(p), Expr::Name(c)) => p.id == c.id,
            (Expr::Attribute(p), Expr::Attribute(c)) => {
                p.attr.as_str() == c.attr.as_str() && self.expr(&p.value, &c.value)
            }
            (Expr::Call(p), Expr::Call(c)) => {
                let pa: Vec<ArgOrKeyword<'_>> = p.arguments.iter_source_order().collect();
                let ca: Vec<ArgOrKeyword<'c>> = c.arguments.iter_source_order().collect();
                self.expr(&p.func, &c.func) && self.list(&pa, &ca)
            }
            (Expr::Await(p), Expr::Await(c)) => self.expr(&p.value, &c.value),
            (Expr::Subscript(p), Expr::Subscript(c)) => {
                self.expr(&p.value, &c.value) && self.expr(&p.slice, &c.slice)
            }
            (Expr::Starred(p), Expr::Starred(c)) => self.expr(&p.value, &c.value),
            (Expr::List(p), Expr::List(c)) => self.exprs(&p.elts, &c.elts),
            (Expr::Tuple(p), Expr::Tuple(c)) => self.exprs(&p.elts, &c.elts),
            (Expr::Set(p), Expr::Set(c)) => self.exprs(&p.elts, &c.elts),
            (Expr::Dict(p), Expr::Dict(c)) => {
                p.items.len() == c.items.len()
                    && p.items.iter().zip(&c.items).all(|(p, c)| {
                        self.opt(p.key.as_ref(), c.key.as_ref()) && self.expr(&p.value, &c.value)
                    })
            }
            (Expr::BinOp(p), Expr::BinOp(c)) => {
                p.op == c.op && self.expr(&p.left, &c.left) && self.expr(&p.right, &c.right)
            }
            (Expr::UnaryOp(p), Expr::UnaryOp(c)) => p.op == c.op && self.expr(&p.operand, &c.operand),
            (Expr::BoolOp(p), Expr::BoolOp(c)) => p.op == c.op && self.exprs(&p.values, &c.values),
            (Expr::Compare(p), Expr::Compare(c)) => {
                p.ops == c.ops && self.expr(&p.left, &c.left) && self.exprs(&p.comparators, &c.comparators)
            }
            (Expr::If(p), Expr::If(c)) => {
                self.expr(&p.test, &c.test) && self.expr(&p.body, &c.body) && self.expr(&p.orelse, &c.orelse)
            }
            (Expr::Named(p), Expr::Named(c)) => {
                self.expr(&p.target, &c.target) && self.expr(&p.value, &c.value)
            }
            (Expr::Yield(p), Expr::Yield(c)) => self.opt(p.value.as_deref(), c.value.as_deref()),
            _ => !expr_has_meta(p) && ComparableExpr::from(p) == ComparableExpr::from(c),
        };
        if !ok {
            self.binds.truncate(saved);
        }
        ok
    }

    fn stmt(&mut self, p: &Stmt, c: &'c Stmt) -> bool {
        let saved = self.binds.len();
        let ok = match (p, c) {
            (Stmt::Expr(p), Stmt::Expr(c)) => self.expr(&p.value, &c.value),
            (Stmt::Assign(p), Stmt::Assign(c)) => {
                p.targets.len() == c.targets.len()
                    && p.targets.iter().zip(&c.targets).all(|(p, c)| self.expr(p, c))
                    && self.expr(&p.value, &c.value)
            }
            (Stmt::AnnAssign(p), Stmt::AnnAssign(c)) => {
                self.expr(&p.target, &c.target)
                    && self.expr(&p.annotation, &c.annotation)
                    && self.opt(p.value.as_deref(), c.value.as_deref())
            }
            (Stmt::AugAssign(p), Stmt::AugAssign(c)) => {
                p.op == c.op && self.expr(&p.target, &c.target) && self.expr(&p.value, &c.value)
            }
            (Stmt::Return(p), Stmt::Return(c)) => self.opt(p.value.as_deref(), c.value.as_deref()),
            (Stmt::Raise(p), Stmt::Raise(c)) => {
                self.opt(p.exc.as_deref(), c.exc.as_deref())
                    && self.opt(p.cause.as_deref(), c.cause.as_deref())
            }
            _ => !stmt_has_meta(p) && ComparableStmt::from(p) == ComparableStmt::from(c),
        };
        if !ok {
            self.binds.truncate(saved);
        }
        ok
    }

    /// Matches statements and gaps from the start of `code`; the index ranges of the runs.
    fn stmts(&mut self, items: &[Item], code: &'c [Stmt], at: usize) -> Option<Vec<(usize, usize)>> {
        let Some(first) = items.first() else { return Some(Vec::new()) };
        match first {
            Item::Gap => {
                for skip in 0..=code.len() {
                    let saved = self.binds.len();
                    if let Some(runs) = self.stmts(&items[1..], &code[skip..], at + skip) {
                        return Some(runs);
                    }
                    self.binds.truncate(saved);
                }
                None
            }
            Item::Stmt(p) => {
                let c = code.first()?;
                let saved = self.binds.len();
                if !self.stmt(p, c) {
                    return None;
                }
                let Some(mut runs) = self.stmts(&items[1..], &code[1..], at + 1) else {
                    self.binds.truncate(saved);
                    return None;
                };
                match (items.get(1), runs.first_mut()) {
                    (Some(Item::Stmt(_)), Some(next)) => next.0 = at,
                    _ => runs.insert(0, (at, at + 1)),
                }
                Some(runs)
            }
        }
    }
}

/// The expressions and blocks that hold the finding.
struct Collect<'a> {
    within: TextRange,
    exprs: Vec<&'a Expr>,
    blocks: Vec<&'a [Stmt]>,
}

impl<'a> Visitor<'a> for Collect<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if stmt.range().contains_range(self.within) {
            visitor::walk_stmt(self, stmt);
        }
    }

    fn visit_body(&mut self, body: &'a [Stmt]) {
        let (Some(first), Some(last)) = (body.first(), body.last()) else { return };
        if TextRange::new(first.start(), last.end()).contains_range(self.within) {
            self.blocks.push(body);
            visitor::walk_body(self, body);
        }
    }

    fn visit_expr(&mut self, e: &'a Expr) {
        if e.range().contains_range(self.within) {
            self.exprs.push(e);
            // Strings are left as written: nothing inside an f-string is rewritten.
            if !matches!(e, Expr::FString(_) | Expr::TString(_)) {
                visitor::walk_expr(self, e);
            }
        }
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn line_after(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

fn indentation(text: &str, at: usize) -> &str {
    let start = line_start(text, at);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Whether an expression's text can be followed by `.`, `(` or `[` without parentheses.
fn atomic(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Name(_)
            | Expr::Attribute(_)
            | Expr::Call(_)
            | Expr::Subscript(_)
            | Expr::List(_)
            | Expr::Dict(_)
            | Expr::Set(_)
            | Expr::ListComp(_)
            | Expr::SetComp(_)
            | Expr::DictComp(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::FString(_)
            | Expr::NoneLiteral(_)
            | Expr::BooleanLiteral(_)
    )
}

struct Render<'t, 'c> {
    text: &'t str,
    binds: &'t [(String, Bound<'c>)],
    /// Ranges of string tokens that span lines: their lines are never re-indented.
    strings: &'t [TextRange],
}

impl Render<'_, '_> {
    /// Substitutes the metavariables of one template line.
    fn line(&self, line: &str, out: &mut String) {
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            let list = rest[i..].starts_with("$$$");
            let after = &rest[i + if list { 3 } else { 1 }..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let tail = &after[name.len()..];
            match self.binds.iter().find(|(n, _)| *n == name).map(|(_, b)| *b) {
                Some(Bound::Expr(e)) => {
                    out.push_str(&rest[..i]);
                    let written = &self.text[e.range().to_std_range()];
                    let wrap = !atomic(e) && (tail.starts_with(['.', '(', '[']) || rest[..i].ends_with('.'));
                    if wrap {
                        out.push('(');
                    }
                    out.push_str(written);
                    if wrap {
                        out.push(')');
                    }
                }
                Some(Bound::List(Some(r))) => {
                    out.push_str(&rest[..i]);
                    out.push_str(&self.text[r.to_std_range()]);
                }
                Some(Bound::List(None)) => {
                    // An empty list takes the separator before it along.
                    let before = &rest[..i];
                    let trimmed = before.trim_end();
                    out.push_str(trimmed.strip_suffix(',').map_or(before, str::trim_end));
                }
                None => out.push_str(&rest[..i + (rest[i..].len() - tail.len())]),
            }
            rest = tail;
        }
        out.push_str(rest);
    }

    fn in_string(&self, at: usize) -> bool {
        let at = TextSize::try_from(at).unwrap_or_default();
        self.strings.iter().any(|r| r.start() < at && at < r.end())
    }

    /// The lines of a gap (whole lines of the code, `start..end`), re-indented from `from` to `to`.
    fn gap(&self, start: usize, end: usize, from: &str, to: &str, out: &mut Vec<String>) {
        let mut at = start;
        for line in self.text[start..end].split_inclusive('\n') {
            let content = line.trim_end_matches(['\n', '\r']);
            if self.in_string(at) {
                out.push(content.to_owned());
            } else if content.trim().is_empty() {
                out.push(String::new());
            } else {
                let body = content.strip_prefix(from).unwrap_or_else(|| content.trim_start());
                out.push(format!("{to}{body}"));
            }
            at += line.len();
        }
    }
}

fn string_ranges(parsed: &Parsed<ModModule>, text: &str) -> Vec<TextRange> {
    parsed
        .tokens()
        .iter()
        .filter(|t| {
            matches!(t.kind(), TokenKind::String | TokenKind::FStringMiddle | TokenKind::TStringMiddle)
        })
        .map(Ranged::range)
        .filter(|r| text[r.to_std_range()].contains('\n'))
        .collect()
}

/// The edit a pattern makes for a finding at `within`, if it matches code around it: the span
/// replaced and the new text.
pub fn edit_for(
    pattern: &Pattern,
    text: &str,
    parsed: &Parsed<ModModule>,
    within: Span,
) -> Option<(Span, String)> {
    let within = TextRange::new(TextSize::try_from(within.start).ok()?, TextSize::try_from(within.end).ok()?);
    let module = parsed.syntax();
    let mut found = Collect { within, exprs: Vec::new(), blocks: Vec::new() };
    found.visit_body(&module.body);
    let strings = string_ranges(parsed, text);
    match &pattern.shape {
        Shape::Expr(p) => {
            for c in found.exprs.iter().rev() {
                let mut m = Matcher { binds: Vec::new() };
                if m.expr(p, c) {
                    let render = Render { text, binds: &m.binds, strings: &strings };
                    let indent = indentation(text, c.start().to_usize());
                    let mut out = String::new();
                    for (i, line) in pattern.template.lines().enumerate() {
                        if i > 0 {
                            out.push('\n');
                            if !line.is_empty() {
                                out.push_str(indent);
                            }
                        }
                        render.line(line, &mut out);
                    }
                    return Some((Span::new(c.start().to_usize(), c.end().to_usize()), out));
                }
            }
            None
        }
        Shape::Stmts(items) => {
            for block in found.blocks.iter().rev() {
                for start in 0..block.len() {
                    let mut m = Matcher { binds: Vec::new() };
                    let Some(runs) = m.stmts(items, &block[start..], start) else { continue };
                    let covered = runs.iter().any(|(a, b)| {
                        TextRange::new(block[*a].start(), block[*b - 1].end()).contains_range(within)
                    });
                    if !covered {
                        continue;
                    }
                    let render = Render { text, binds: &m.binds, strings: &strings };
                    let first = block[runs[0].0].start().to_usize();
                    let last = block[runs[runs.len() - 1].1 - 1].end().to_usize();
                    let indent = indentation(text, first);
                    let mut lines: Vec<String> = Vec::new();
                    let mut gaps = runs.windows(2);
                    for line in pattern.template.lines() {
                        if line.trim() == "$$$" {
                            let Some([(_, end), (next, _)]) = gaps.next() else { continue };
                            let to = format!("{indent}{}", &line[..line.len() - line.trim_start().len()]);
                            let after = block[*end - 1].end().to_usize();
                            let before = block[*next].start().to_usize();
                            let (gap_start, gap_end) = if end == next {
                                (line_after(text, after), line_start(text, before))
                            } else {
                                let s = block[*end].start().to_usize();
                                let e = block[*next - 1].end().to_usize();
                                (
                                    line_after(text, after).min(line_start(text, s)),
                                    line_start(text, before).max(line_after(text, e)),
                                )
                            };
                            let mut gap = Vec::new();
                            if gap_start < gap_end {
                                render.gap(gap_start, gap_end.min(before), indent, &to, &mut gap);
                            }
                            if end == next && to.len() > indent.len() {
                                gap.push(format!("{to}pass"));
                            }
                            lines.extend(gap);
                            continue;
                        }
                        let mut out = String::new();
                        if !line.is_empty() {
                            out.push_str(indent);
                        }
                        render.line(line, &mut out);
                        lines.push(out);
                    }
                    let mut content = lines.join("\n");
                    if let Some(stripped) = content.strip_prefix(indent) {
                        content = stripped.to_owned();
                    }
                    return Some((Span::new(first, last), content));
                }
            }
            None
        }
    }
}

/// The fix a rewrite makes in a Python file for a finding at `within`, with the imports its
/// `uses` names that the file lacks. A rewrite written for every language whose result here
/// would not be Python is not offered.
pub fn fix_for(
    rewrite: &super::Rewrite,
    text: &str,
    parsed: &Parsed<ModModule>,
    within: Span,
) -> Option<crate::fix::Fix> {
    let pattern = rewrite.python.as_ref()?;
    let (span, content) = edit_for(pattern, text, parsed, within)?;
    let mut edits = vec![crate::fix::Edit { span, content }];
    edits.extend(imports(text, parsed, &rewrite.def.uses));
    let fix = crate::fix::Fix { applicability: rewrite.def.applicability, edits };
    if rewrite.shared {
        let (fixed, applied, _) = crate::fix::apply(text, &[&fix]);
        if applied == 0 || ruff_python_parser::parse_module(&fixed).is_err() {
            return None;
        }
    }
    Some(fix)
}

/// [`fix_for`] on a file's text: `None` too when the file does not parse (or is nested too deep
/// for the front-end).
pub fn fix_in(rewrite: &super::Rewrite, text: &str, within: Span) -> Option<crate::fix::Fix> {
    crate::frontend::python::parse(text, &Default::default()).0.ok()?;
    let parsed = ruff_python_parser::parse_module(text).ok()?;
    fix_for(rewrite, text, &parsed, within)
}

/// An import a rewrite needs: `from module import name` (`as alias`), or `import module`.
#[derive(Debug, PartialEq, Eq)]
enum Import {
    From { module: String, name: String, alias: Option<String> },
    Plain { module: String, alias: Option<String> },
}

/// The imports of `uses` entries written as Python import statements (entries that are not, such
/// as Rust paths, are for other languages).
fn wanted_imports(uses: &[String]) -> Vec<Import> {
    let mut out = Vec::new();
    for entry in uses {
        let Ok(parsed) = ruff_python_parser::parse_module(entry) else { continue };
        for stmt in &parsed.syntax().body {
            match stmt {
                Stmt::ImportFrom(i) if i.level == 0 => {
                    let Some(module) = &i.module else { continue };
                    for a in &i.names {
                        out.push(Import::From {
                            module: module.to_string(),
                            name: a.name.to_string(),
                            alias: a.asname.as_ref().map(ToString::to_string),
                        });
                    }
                }
                Stmt::Import(i) => {
                    for a in &i.names {
                        out.push(Import::Plain {
                            module: a.name.to_string(),
                            alias: a.asname.as_ref().map(ToString::to_string),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn is_docstring(s: &Stmt) -> bool {
    matches!(s, Stmt::Expr(e) if e.value.is_string_literal_expr())
}

fn is_future(s: &Stmt) -> bool {
    matches!(s, Stmt::ImportFrom(i) if i.module.as_ref().is_some_and(|m| m.as_str() == "__future__"))
}

/// The edits adding the imports the file lacks: a name merged into the file's top-level
/// `from module import …` of the same module, else a new line after the module docstring, the
/// `__future__` imports and the imports that follow them.
pub fn imports(text: &str, parsed: &Parsed<ModModule>, uses: &[String]) -> Vec<crate::fix::Edit> {
    let body = &parsed.syntax().body;
    let mut merged: Vec<(usize, String)> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for want in wanted_imports(uses) {
        let present = body.iter().any(|s| match (s, &want) {
            (Stmt::ImportFrom(i), Import::From { module, name, alias }) => {
                i.level == 0
                    && i.module.as_ref().is_some_and(|m| m.as_str() == module)
                    && i.names.iter().any(|a| {
                        a.name.as_str() == name && a.asname.as_ref().map(ToString::to_string) == *alias
                    })
            }
            (Stmt::Import(i), Import::Plain { module, alias }) => i
                .names
                .iter()
                .any(|a| a.name.as_str() == module && a.asname.as_ref().map(ToString::to_string) == *alias),
            _ => false,
        });
        if present {
            continue;
        }
        match &want {
            Import::From { module, name, alias } => {
                let written = match alias {
                    Some(a) => format!("{name} as {a}"),
                    None => name.clone(),
                };
                let existing = body.iter().find_map(|s| match s {
                    Stmt::ImportFrom(i)
                        if i.level == 0
                            && i.module.as_ref().is_some_and(|m| m.as_str() == module)
                            && !i.names.iter().any(|a| a.name.as_str() == "*") =>
                    {
                        i.names.last().map(|a| a.end().to_usize())
                    }
                    _ => None,
                });
                match existing {
                    Some(at) => {
                        if !merged.iter().any(|(_, w)| *w == written) {
                            merged.push((at, written));
                        }
                    }
                    None => {
                        let line = format!("from {module} import {written}");
                        if !lines.contains(&line) {
                            lines.push(line);
                        }
                    }
                }
            }
            Import::Plain { module, alias } => {
                let line = match alias {
                    Some(a) => format!("import {module} as {a}"),
                    None => format!("import {module}"),
                };
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
        }
    }
    let mut edits: Vec<crate::fix::Edit> = Vec::new();
    // Several names merged into one statement make one edit.
    let mut points: Vec<usize> = merged.iter().map(|(at, _)| *at).collect();
    points.dedup();
    for at in points {
        let names: Vec<&str> = merged.iter().filter(|(a, _)| *a == at).map(|(_, w)| w.as_str()).collect();
        edits.push(crate::fix::Edit { span: Span::new(at, at), content: format!(", {}", names.join(", ")) });
    }
    if !lines.is_empty() {
        let mut i = 0;
        if body.first().is_some_and(is_docstring) {
            i = 1;
        }
        while body.get(i).is_some_and(is_future) {
            i += 1;
        }
        while body.get(i).is_some_and(|s| matches!(s, Stmt::Import(_) | Stmt::ImportFrom(_))) {
            i += 1;
        }
        let block = lines.join("\n");
        let edit = if i == 0 {
            let at = body.first().map_or(text.len(), |s| line_start(text, s.start().to_usize()));
            let blank = if body.is_empty() { "" } else { "\n" };
            crate::fix::Edit { span: Span::new(at, at), content: format!("{block}\n{blank}") }
        } else {
            let after = body[i - 1].end().to_usize();
            let at = line_after(text, after);
            let before_is_import =
                matches!(body[i - 1], Stmt::Import(_) | Stmt::ImportFrom(_)) && !is_future(&body[i - 1]);
            let lead = if at == text.len() && !text.ends_with('\n') { "\n" } else { "" };
            let sep = if before_is_import { "" } else { "\n" };
            crate::fix::Edit { span: Span::new(at, at), content: format!("{lead}{sep}{block}\n") }
        };
        edits.push(edit);
    }
    edits
}

/// The edits that make `from old import Name` (the imported name written at `name`) import
/// `new_name` from `module` instead, keeping an `as` alias: the statement is rewritten when it
/// imports that name alone, else the name leaves it and a new import follows it. When the file
/// already imports the new name from that module, the old name is only removed.
pub fn rename_import(text: &str, name: Span, module: &str, new_name: &str) -> Option<Vec<crate::fix::Edit>> {
    let parsed = ruff_python_parser::parse_module(text).ok()?;
    let body = &parsed.syntax().body;
    let (stmt, index) = body.iter().find_map(|s| match s {
        Stmt::ImportFrom(i) => {
            let k = i.names.iter().position(|a| a.name.start().to_usize() == name.start)?;
            Some((i, k))
        }
        _ => None,
    })?;
    let alias = &stmt.names[index];
    let bound = alias.asname.as_ref().map(ToString::to_string);
    let line = match &bound {
        Some(a) => format!("from {module} import {new_name} as {a}"),
        None => format!("from {module} import {new_name}"),
    };
    let present = body.iter().any(|s| {
        matches!(s, Stmt::ImportFrom(i) if i.level == 0
            && i.module.as_ref().is_some_and(|m| m.as_str() == module)
            && i.names.iter().any(|a| a.name.as_str() == new_name && a.asname.as_ref().map(ToString::to_string) == bound))
    });
    let edit =
        |start: usize, end: usize, content: String| crate::fix::Edit { span: Span::new(start, end), content };
    let (start, end) = (stmt.start().to_usize(), stmt.end().to_usize());
    if stmt.names.len() == 1 {
        if present {
            let from = line_start(text, start);
            return Some(vec![edit(from, line_after(text, end), String::new())]);
        }
        return Some(vec![edit(start, end, line)]);
    }
    let removal = if index + 1 < stmt.names.len() {
        edit(alias.start().to_usize(), stmt.names[index + 1].start().to_usize(), String::new())
    } else {
        edit(stmt.names[index - 1].end().to_usize(), alias.end().to_usize(), String::new())
    };
    let mut edits = vec![removal];
    if !present {
        let at = line_after(text, end);
        let lead = if at == text.len() && !text.ends_with('\n') { "\n" } else { "" };
        edits.push(edit(at, at, format!("{lead}{line}\n")));
    }
    Some(edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Applicability;
    use crate::rewrite::{Rewrite, RewriteDef};

    fn rewrite(pattern: &str, replace: &str, uses: &[&str]) -> Rewrite {
        Rewrite::new_python(RewriteDef {
            pattern: pattern.into(),
            replace: replace.into(),
            applicability: Applicability::Safe,
            uses: uses.iter().map(|u| (*u).to_owned()).collect(),
        })
        .unwrap()
    }

    fn apply_with(rw: &Rewrite, text: &str, needle: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_module(text).unwrap();
        let at = text.find(needle).unwrap();
        let fix = fix_for(rw, text, &parsed, Span::new(at, at + needle.len()))?;
        let fixed = crate::fix::apply(text, &[&fix]).0;
        assert!(ruff_python_parser::parse_module(&fixed).is_ok(), "the result parses:\n{fixed}");
        Some(fixed)
    }

    fn apply(pattern: &str, replace: &str, text: &str, needle: &str) -> Option<String> {
        apply_with(&rewrite(pattern, replace, &[]), text, needle)
    }

    #[test]
    fn expressions_match_whatever_the_layout() {
        let pattern = "$ctx.websocket_manager.send_agent_thinking($ctx.user_id, $t)";
        let replace = "emit($ctx, \"agent_thinking\", thought=$t)";
        let text = "async def f(context):\n    await (context.websocket_manager\n        .send_agent_thinking(  # who\n            context.user_id, \\\n            \"hm\",\n        ))\n";
        assert_eq!(
            apply(pattern, replace, text, "send_agent_thinking").unwrap(),
            "async def f(context):\n    await (emit(context, \"agent_thinking\", thought=\"hm\"))\n"
        );
        let other = "async def f(a, b):\n    await a.websocket_manager.send_agent_thinking(b.user_id, 1)\n";
        assert_eq!(apply(pattern, replace, other, "send_agent_thinking"), None, "$ctx binds one thing");
        let same = "async def f(a):\n    await a . websocket_manager.send_agent_thinking((a).user_id, 1)\n";
        assert!(apply(pattern, replace, same, "send_agent_thinking").is_some(), "parentheses do not matter");
    }

    #[test]
    fn await_and_attribute_chains_match_as_written() {
        let pattern = "await $m.send_event($e)";
        let text = "async def f(m):\n    await m.send_event(1)\n    m.send_event(2)\n    await m.inner.send_event(3)\n";
        assert_eq!(
            apply(pattern, "await emit($e)", text, "send_event(1)").unwrap(),
            "async def f(m):\n    await emit(1)\n    m.send_event(2)\n    await m.inner.send_event(3)\n"
        );
        assert_eq!(apply(pattern, "await emit($e)", text, "send_event(2)"), None);
        let chain = "self.context.websocket_manager.send_event($e)";
        assert_eq!(apply(chain, "emit($e)", text, "send_event(3)"), None, "m.inner is not self.context…");
    }

    #[test]
    fn lists_bind_arguments_keywords_included() {
        let pattern = "$n.notify_tool_executing($$$args)";
        let text =
            "async def f(n):\n    await n.notify_tool_executing(\"search\", {\"q\": 1}, call_id=\"c1\",)\n";
        assert_eq!(
            apply(pattern, "emit_tool_executing(ctx, $$$args)", text, "notify").unwrap(),
            "async def f(n):\n    await emit_tool_executing(ctx, \"search\", {\"q\": 1}, call_id=\"c1\")\n"
        );
        let empty = "def f(n):\n    n.notify_tool_executing()\n";
        assert_eq!(
            apply(pattern, "emit_tool_executing(ctx, $$$args)", empty, "notify").unwrap(),
            "def f(n):\n    emit_tool_executing(ctx)\n"
        );
        let keywords = "$n.notify_agent_completed($r, success=$s, $$$rest)";
        let text = "def f(n):\n    n.notify_agent_completed(res, success=True, duration_ms=3)\n";
        assert_eq!(
            apply(keywords, "done($r, $s, $$$rest)", text, "notify").unwrap(),
            "def f(n):\n    done(res, True, duration_ms=3)\n"
        );
    }

    const PAIR: &str = "
        await $m.send_tool_executing($name, $$$params)
        $$$
        await $m.send_tool_completed($name, $$$results)
    ";
    const TRY: &str = "
        await emit_tool_executing($name, $$$params)
        try:
            $$$
        finally:
            await emit_tool_completed($name, $$$results)
    ";

    #[test]
    fn a_pair_with_a_gap_becomes_try_finally_in_nested_blocks() {
        let text = "class Agent:\n    async def run(self, m):\n        if self.ready:\n            await m.send_tool_executing(\"search\", q)\n            # the work\n            result = await tool(\n                q,\n            )\n            if not result:\n                raise Failed()\n            await m.send_tool_completed(\"search\", result)  # done\n        return 1\n";
        assert_eq!(
            apply(PAIR, TRY, text, "send_tool_executing").unwrap(),
            "class Agent:\n    async def run(self, m):\n        if self.ready:\n            await emit_tool_executing(\"search\", q)\n            try:\n                # the work\n                result = await tool(\n                    q,\n                )\n                if not result:\n                    raise Failed()\n            finally:\n                await emit_tool_completed(\"search\", result)  # done\n        return 1\n"
        );
        let other_tool = "async def f(m):\n    await m.send_tool_executing(\"a\")\n    await m.send_tool_completed(\"b\")\n";
        assert_eq!(apply(PAIR, TRY, other_tool, "send_tool_executing"), None, "$name binds one tool");
    }

    #[test]
    fn an_empty_gap_in_a_new_block_becomes_pass_and_strings_keep_their_lines() {
        let adjacent = "async def f(m):\n    await m.send_tool_executing(\"a\")\n    await m.send_tool_completed(\"a\", 1)\n";
        assert_eq!(
            apply(PAIR, TRY, adjacent, "send_tool_completed").unwrap(),
            "async def f(m):\n    await emit_tool_executing(\"a\")\n    try:\n        pass\n    finally:\n        await emit_tool_completed(\"a\", 1)\n"
        );
        let doc = "async def f(m):\n    await m.send_tool_executing(\"a\")\n    x = \"\"\"one\n  two\n\"\"\"\n    y = f\"\"\"{x}\n  three\"\"\"\n    await m.send_tool_completed(\"a\", x)\n";
        assert_eq!(
            apply(PAIR, TRY, doc, "send_tool_executing").unwrap(),
            "async def f(m):\n    await emit_tool_executing(\"a\")\n    try:\n        x = \"\"\"one\n  two\n\"\"\"\n        y = f\"\"\"{x}\n  three\"\"\"\n    finally:\n        await emit_tool_completed(\"a\", x)\n"
        );
    }

    #[test]
    fn async_blocks_decorators_and_comprehensions_are_searched() {
        let rw = rewrite("$n.notify_agent_thinking($t)", "emit_thinking($t)", &[]);
        let text = "async def f(n, xs):\n    async with lock:\n        async for x in xs:\n            await n.notify_agent_thinking(x)\n";
        assert_eq!(
            apply_with(&rw, text, "notify").unwrap(),
            "async def f(n, xs):\n    async with lock:\n        async for x in xs:\n            await emit_thinking(x)\n"
        );
        let comp = "def f(n, xs):\n    return [n.notify_agent_thinking(x) for x in xs if x]\n";
        assert_eq!(
            apply_with(&rw, comp, "notify").unwrap(),
            "def f(n, xs):\n    return [emit_thinking(x) for x in xs if x]\n"
        );
        let deco = rewrite("$app.on_event($$$a)", "$app.subscribe($$$a)", &[]);
        let text = "@bus.on_event(\"tool_completed\", late=True)\n@other\ndef handler(e):\n    pass\n";
        assert_eq!(
            apply_with(&deco, text, "on_event").unwrap(),
            "@bus.subscribe(\"tool_completed\", late=True)\n@other\ndef handler(e):\n    pass\n"
        );
    }

    #[test]
    fn f_strings_are_left_intact() {
        let rw = rewrite("$n.notify_agent_thinking($t)", "emit_thinking($t)", &[]);
        let text = "def f(n, x):\n    n.notify_agent_thinking(f\"step {x!r:>{10}} {{ok}}\")\n";
        assert_eq!(
            apply_with(&rw, text, "notify").unwrap(),
            "def f(n, x):\n    emit_thinking(f\"step {x!r:>{10}} {{ok}}\")\n"
        );
        let inside = "def f(n, x):\n    log(f\"{n.notify_agent_thinking(x)}\")\n";
        assert_eq!(apply_with(&rw, inside, "notify"), None, "nothing inside an f-string is rewritten");
    }

    #[test]
    fn bound_expressions_keep_their_precedence() {
        let rw = rewrite("notify($x)", "$x.emit()", &[]);
        let text = "notify(a or b)\n";
        assert_eq!(apply_with(&rw, text, "notify").unwrap(), "(a or b).emit()\n");
    }

    #[test]
    fn sequences_without_gaps_and_assignments() {
        let rw = rewrite(
            "$ev = {\"type\": \"agent_thinking\", \"thought\": $t}\nawait $ws.send_json($ev)",
            "await emit_thinking($t)",
            &[],
        );
        let text = "async def f(ws):\n    ev = {'type': 'agent_thinking', 'thought': 'x',}\n    await ws.send_json(ev)\n    done()\n";
        assert_eq!(
            apply_with(&rw, text, "send_json").unwrap(),
            "async def f(ws):\n    await emit_thinking('x')\n    done()\n"
        );
    }

    #[test]
    fn patterns_and_files_nested_too_deep_are_refused() {
        crate::lint::on_worker_stack(|| {
            let deep = format!("{}x{}", "[".repeat(3_000), "]".repeat(3_000));
            let def = RewriteDef {
                pattern: deep.clone(),
                replace: "y".into(),
                applicability: Applicability::Safe,
                uses: Vec::new(),
            };
            assert!(matches!(Rewrite::new_python(def), Err(crate::rewrite::RewriteError::Python(_))));
            let rw = rewrite("$n.notify_agent_thinking($t)", "emit($t)", &[]);
            assert!(fix_in(&rw, &deep, Span::new(0, 1)).is_none());
        });
    }

    #[test]
    fn templates_must_have_one_gap_line_per_gap() {
        let def = RewriteDef {
            pattern: "a()\n$$$\nb()".into(),
            replace: "c()".into(),
            applicability: Applicability::Safe,
            uses: Vec::new(),
        };
        assert!(matches!(Rewrite::new_python(def), Err(crate::rewrite::RewriteError::Python(_))));
        let bad = RewriteDef {
            pattern: "a(".into(),
            replace: "c()".into(),
            applicability: Applicability::Safe,
            uses: Vec::new(),
        };
        assert!(Rewrite::new_python(bad).is_err());
    }

    #[test]
    fn renamed_imports_keep_their_alias_and_their_neighbours() {
        let rename = |text: &str, needle: &str| {
            let at = text.find(needle).unwrap();
            let edits =
                rename_import(text, Span::new(at, at + needle.len()), "app.events.adapter", "EventAdapter")
                    .unwrap();
            let fix = crate::fix::Fix { applicability: Applicability::Unsafe, edits };
            crate::fix::apply(text, &[&fix]).0
        };
        assert_eq!(
            rename("from app.ws import WebSocketNotifier as N\n", "WebSocketNotifier"),
            "from app.events.adapter import EventAdapter as N\n"
        );
        assert_eq!(
            rename(
                "from app.ws import (\n    Other,\n    WebSocketNotifier,\n)\nx = 1\n",
                "WebSocketNotifier"
            ),
            "from app.ws import (\n    Other,\n)\nfrom app.events.adapter import EventAdapter\nx = 1\n"
        );
        assert_eq!(
            rename("from app.ws import WebSocketNotifier, Other\n", "WebSocketNotifier"),
            "from app.ws import Other\nfrom app.events.adapter import EventAdapter\n"
        );
        assert_eq!(
            rename(
                "from app.events.adapter import EventAdapter\nfrom app.ws import WebSocketNotifier\n",
                "WebSocketNotifier"
            ),
            "from app.events.adapter import EventAdapter\n"
        );
    }

    #[test]
    fn uses_merges_imports_after_the_docstring_and_future_imports_never_twice() {
        let rw = rewrite(
            "$n.notify_agent_thinking($t)",
            "emit(\"agent_thinking\", $t)",
            &["from app.events.adapter import emit", "agent_events::Run"],
        );
        let text = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport os\n\n\ndef f(n):\n    n.notify_agent_thinking(1)\n";
        assert_eq!(
            apply_with(&rw, text, "notify").unwrap(),
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport os\nfrom app.events.adapter import emit\n\n\ndef f(n):\n    emit(\"agent_thinking\", 1)\n"
        );
        let merged =
            "from app.events.adapter import (\n    other,\n)\n\ndef f(n):\n    n.notify_agent_thinking(1)\n";
        assert_eq!(
            apply_with(&rw, merged, "notify").unwrap(),
            "from app.events.adapter import (\n    other, emit,\n)\n\ndef f(n):\n    emit(\"agent_thinking\", 1)\n"
        );
        let present = "from app.events.adapter import emit\n\ndef f(n):\n    n.notify_agent_thinking(1)\n";
        assert_eq!(
            apply_with(&rw, present, "notify").unwrap(),
            "from app.events.adapter import emit\n\ndef f(n):\n    emit(\"agent_thinking\", 1)\n"
        );
        let future_only = "from __future__ import annotations\ndef f(n):\n    n.notify_agent_thinking(1)\n";
        assert_eq!(
            apply_with(&rw, future_only, "notify").unwrap(),
            "from __future__ import annotations\n\nfrom app.events.adapter import emit\ndef f(n):\n    emit(\"agent_thinking\", 1)\n"
        );
        let bare =
            "# agent-events: allow-file(singleton-manager)\ndef f(n):\n    n.notify_agent_thinking(1)\n";
        assert_eq!(
            apply_with(&rw, bare, "notify").unwrap(),
            "# agent-events: allow-file(singleton-manager)\nfrom app.events.adapter import emit\n\ndef f(n):\n    emit(\"agent_thinking\", 1)\n"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Statements of a body: `{i}` is the indentation of the block they are written in.
        const FRAGMENTS: &[&str] = &[
            "{i}await m.send_tool_executing(\"search\", q)\n",
            "{i}await m.send_tool_completed(\"search\", r)\n",
            "{i}await m.send_tool_completed(\"search\", r)  # done\n",
            "{i}r = await tool(\n{i}    q,  # why\n{i})\n",
            "{i}# a comment\n",
            "\n",
            "{i}x = \"\"\"one\n  two\n\"\"\"\n",
            "{i}total = 1 + \\\n{i}    2\n",
            "{i}n.notify_agent_thinking(f\"{{x}} {x!r}\")\n",
            "{i}await n.notify_agent_thinking(x, step=1,)\n",
            "{i}if r:\n{i}    raise Failed(r)\n",
            "{i}ys = [n.notify_agent_thinking(y) for y in ys]\n",
            "{i}return r\n",
        ];

        fn program(parts: &[(usize, bool)]) -> String {
            let mut out = String::from("async def run(m, n, q, x, ys):\n");
            let mut depth = 1;
            for (k, (fragment, nest)) in parts.iter().enumerate() {
                let indent = "    ".repeat(depth);
                out.push_str(&FRAGMENTS[*fragment % FRAGMENTS.len()].replace("{i}", &indent));
                if *nest && depth < 4 {
                    out.push_str(&format!("{indent}while cond_{k}():\n"));
                    depth += 1;
                    out.push_str(&format!("{}pass\n", "    ".repeat(depth)));
                }
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]
            #[test]
            fn a_rewrite_that_applies_leaves_a_file_that_parses(
                parts in proptest::collection::vec((0usize..13, proptest::bool::ANY), 1..14),
                which in 0usize..3,
            ) {
                let text = program(&parts);
                prop_assume!(ruff_python_parser::parse_module(&text).is_ok());
                let rw = match which {
                    0 => rewrite(PAIR, TRY, &["from app.events.adapter import emit_tool_executing, emit_tool_completed"]),
                    1 => rewrite("$n.notify_agent_thinking($$$a)", "emit(\n    \"agent_thinking\",\n    $$$a\n)", &["from app.events.adapter import emit"]),
                    _ => rewrite("await $m.send_tool_completed($name, $r)\n$$$\nreturn $r", "return await done($name, $r)\n$$$", &[]),
                };
                let parsed = ruff_python_parser::parse_module(&text).unwrap();
                for needle in ["send_tool_executing", "send_tool_completed", "notify_agent_thinking"] {
                    for (at, _) in text.match_indices(needle) {
                        if let Some(fix) = fix_for(&rw, &text, &parsed, Span::new(at, at + needle.len())) {
                            let fixed = crate::fix::apply(&text, &[&fix]).0;
                            prop_assert!(
                                ruff_python_parser::parse_module(&fixed).is_ok(),
                                "{}\n---\n{}", text, fixed
                            );
                        }
                    }
                }
            }
        }
    }
}
