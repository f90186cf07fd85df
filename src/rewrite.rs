//! Rewrites as data: a pattern with metavariables and a replacement template, matched on Rust
//! tokens here and on Python syntax trees in [`python`]. A rewrite configured for every language
//! applies to the languages its pattern parses in; one in a rule's Python section to Python only.
//!
//! For Rust:
//! - `$x` binds any expression (the same text wherever `$x` repeats); `$$$xs` binds a list
//!   (e.g. the arguments of a call); a lone `$$$` between statements is a gap of any statements.
//! - A pattern is an expression, or a sequence of statements within one block (`a(); $$$ b();`).
//! - Matching is structural, on tokens: whitespace, comments and trailing commas do not matter.
//! - The replacement keeps the bound text as written; a sequence's template has one piece per run
//!   of pattern statements between gaps, and each run of matched statements is replaced by its
//!   piece. The code between them is left as it is.

use std::collections::BTreeMap;
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::Visit;

use crate::fix::{Applicability, Edit, Fix};
use crate::frontend::Lang;
use crate::source::{indentation_at, Span};

pub mod python;

const VAR: &str = "__ae_var_";
const LIST: &str = "__ae_list_";
const GAP: &str = "__ae_gap";

/// A rewrite as written in a rule or the configuration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteDef {
    /// The pattern.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The replacement template.
    pub replace: String,
    /// `safe` or `unsafe` (the default: a rewrite changes code a person should look at).
    #[serde(default = "unsafe_default")]
    pub applicability: Applicability,
    /// Paths to import when the rewrite applies (`agent_events::Run`).
    #[serde(default)]
    pub uses: Vec<String>,
}

fn unsafe_default() -> Applicability {
    Applicability::Unsafe
}

impl<'de> serde::Deserialize<'de> for Applicability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "safe" => Ok(Applicability::Safe),
            "unsafe" => Ok(Applicability::Unsafe),
            other => Err(serde::de::Error::custom(format!("`{other}` is not `safe` or `unsafe`"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pat {
    Ident(String),
    Punct(char),
    Lit(String),
    Group(Delimiter, Vec<Pat>),
    Var(String),
    List(String),
    Gap,
}

/// A checked rewrite.
#[derive(Clone, Debug)]
pub struct Rewrite {
    def: RewriteDef,
    /// An expression pattern, or the runs of a statement pattern (`None` is a gap); `None` when
    /// the pattern is not Rust.
    shape: Option<Shape>,
    /// The template's pieces, one per run (a single one for an expression).
    pieces: Vec<String>,
    /// The pattern for Python files, when it is Python.
    python: Option<python::Pattern>,
    /// Whether the rewrite was written for every language (its replacement may not be Python).
    shared: bool,
}

#[derive(Clone, Debug)]
enum Shape {
    Expr(Vec<Pat>),
    Stmts(Vec<Option<Vec<Pat>>>),
}

/// Replaces `$$$name`, `$$$` and `$name` with identifiers the tokenizer keeps.
fn mark(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let rest = &pattern[i..];
        let (prefix, skip) = if rest.starts_with("$$$") { (LIST, 2) } else { (VAR, 0) };
        for _ in 0..skip {
            chars.next();
        }
        let mut name = String::new();
        while let Some((_, n)) = chars.peek() {
            if n.is_alphanumeric() || *n == '_' {
                name.push(*n);
                chars.next();
            } else {
                break;
            }
        }
        if name.is_empty() && prefix == LIST {
            out.push_str(&format!(" {GAP} "));
        } else {
            out.push_str(prefix);
            out.push_str(&name);
        }
    }
    out
}

fn to_pats(tokens: TokenStream) -> Vec<Pat> {
    let mut pats: Vec<Pat> = tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) => {
                let s = i.to_string();
                if let Some(name) = s.strip_prefix(VAR) {
                    Pat::Var(name.to_owned())
                } else if let Some(name) = s.strip_prefix(LIST) {
                    Pat::List(name.to_owned())
                } else if s == GAP {
                    Pat::Gap
                } else {
                    Pat::Ident(s)
                }
            }
            TokenTree::Punct(p) => Pat::Punct(p.as_char()),
            TokenTree::Literal(l) => Pat::Lit(l.to_string()),
            TokenTree::Group(g) => Pat::Group(g.delimiter(), to_pats(g.stream())),
        })
        .collect();
    if matches!(pats.last(), Some(Pat::Punct(','))) {
        pats.pop();
    }
    pats
}

/// Why a rewrite is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// The pattern is not Rust tokens.
    #[error("`match` does not tokenize: {0}")]
    Tokenize(String),
    /// The pattern is empty.
    #[error("`match` is empty")]
    Empty,
    /// A Python pattern or template that does not check out.
    #[error("Python pattern: {0}")]
    Python(String),
    /// The template's pieces do not match the pattern's runs of statements.
    #[error(
        "`replace` has {pieces} piece(s) between `$$$` gaps but `match` has {runs} run(s) of statements"
    )]
    Pieces {
        /// Pieces of the template.
        pieces: usize,
        /// Runs of statements in the pattern.
        runs: usize,
    },
}

impl Rewrite {
    /// Checks a rewrite written for every language: it must check out as Rust (the pattern
    /// tokenizes, and a statement pattern's template has one piece per run of statements) or as
    /// Python ([`python::Pattern::new`]); it applies to each language it checks out in.
    pub fn new(def: RewriteDef) -> Result<Rewrite, RewriteError> {
        let python = python::Pattern::new(&def.pattern, &def.replace).ok();
        match Rewrite::rust(def.clone()) {
            Ok(mut rewrite) => {
                rewrite.python = python;
                Ok(rewrite)
            }
            Err(e) => match python {
                Some(python) => {
                    Ok(Rewrite { def, shape: None, pieces: Vec::new(), python: Some(python), shared: true })
                }
                None => Err(e),
            },
        }
    }

    /// Checks a rewrite written for Python files only.
    pub fn new_python(def: RewriteDef) -> Result<Rewrite, RewriteError> {
        let python = python::Pattern::new(&def.pattern, &def.replace).map_err(RewriteError::Python)?;
        Ok(Rewrite { def, shape: None, pieces: Vec::new(), python: Some(python), shared: false })
    }

    /// Whether the rewrite applies to files of `lang`.
    pub fn applies_to(&self, lang: Lang) -> bool {
        match lang {
            Lang::Rust => self.shape.is_some(),
            Lang::Python => self.python.is_some(),
        }
    }

    fn rust(def: RewriteDef) -> Result<Rewrite, RewriteError> {
        let tokens =
            TokenStream::from_str(&mark(&def.pattern)).map_err(|e| RewriteError::Tokenize(e.to_string()))?;
        let pats = to_pats(tokens);
        if pats.is_empty() {
            return Err(RewriteError::Empty);
        }
        let is_stmts = pats.iter().any(|p| matches!(p, Pat::Punct(';') | Pat::Gap));
        let shape = if is_stmts {
            // One item per statement (each ends at its `;`), `None` for a gap.
            let mut items: Vec<Option<Vec<Pat>>> = Vec::new();
            let mut current: Vec<Pat> = Vec::new();
            for p in pats {
                match p {
                    Pat::Gap => {
                        if !current.is_empty() {
                            items.push(Some(std::mem::take(&mut current)));
                        }
                        items.push(None);
                    }
                    Pat::Punct(';') => {
                        current.push(Pat::Punct(';'));
                        items.push(Some(std::mem::take(&mut current)));
                    }
                    other => current.push(other),
                }
            }
            if !current.is_empty() {
                items.push(Some(current));
            }
            Shape::Stmts(items)
        } else {
            Shape::Expr(pats)
        };
        let pieces: Vec<String> = match &shape {
            Shape::Expr(_) => vec![def.replace.clone()],
            Shape::Stmts(_) => def.replace.split("$$$").map(|p| p.trim().to_owned()).collect(),
        };
        if let Shape::Stmts(items) = &shape {
            let runs = items.split(Option::is_none).filter(|r| !r.is_empty()).count();
            if runs != pieces.len() {
                return Err(RewriteError::Pieces { pieces: pieces.len(), runs });
            }
        }
        Ok(Rewrite { def, shape: Some(shape), pieces, python: None, shared: true })
    }

    /// The definition.
    pub fn def(&self) -> &RewriteDef {
        &self.def
    }
}

/// A code token with its byte span.
#[derive(Clone, Debug)]
struct Tok {
    tree: TokenTree,
    span: Span,
    children: Vec<Tok>,
}

fn toks(tokens: TokenStream) -> Vec<Tok> {
    let mut out: Vec<Tok> = tokens
        .into_iter()
        .map(|tree| {
            let r = tree.span().byte_range();
            let children = match &tree {
                TokenTree::Group(g) => toks(g.stream()),
                _ => Vec::new(),
            };
            Tok { span: Span::new(r.start, r.end), tree, children }
        })
        .collect();
    if matches!(out.last().map(|t| &t.tree), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
        out.pop();
    }
    out
}

type Binds = BTreeMap<String, Option<Span>>;

struct Matcher<'t> {
    text: &'t str,
}

fn span_of(toks: &[Tok]) -> Option<Span> {
    Some(Span::new(toks.first()?.span.start, toks.last()?.span.end))
}

fn token_text(toks: &[Tok]) -> String {
    toks.iter().map(|t| t.tree.to_string()).collect::<Vec<_>>().join(" ")
}

impl Matcher<'_> {
    fn seq(&self, p: &[Pat], c: &[Tok], binds: &mut Binds, texts: &mut BTreeMap<String, String>) -> bool {
        let Some(first) = p.first() else { return c.is_empty() };
        match first {
            Pat::Var(name) | Pat::List(name) => {
                let list = matches!(first, Pat::List(_));
                let min = if list { 0 } else { 1 };
                for k in min..=c.len() {
                    let bound = &c[..k];
                    if !list && !is_expr(bound) {
                        continue;
                    }
                    if let Some(previous) = texts.get(name) {
                        if *previous != token_text(bound) {
                            continue;
                        }
                        if self.seq(&p[1..], &c[k..], binds, texts) {
                            return true;
                        }
                        continue;
                    }
                    binds.insert(name.clone(), span_of(bound));
                    texts.insert(name.clone(), token_text(bound));
                    if self.seq(&p[1..], &c[k..], binds, texts) {
                        return true;
                    }
                    binds.remove(name);
                    texts.remove(name);
                }
                false
            }
            Pat::Group(delimiter, inner) => match c.first() {
                Some(Tok { tree: TokenTree::Group(g), children, .. }) if g.delimiter() == *delimiter => {
                    let saved = (binds.clone(), texts.clone());
                    if self.seq(inner, children, binds, texts) && self.seq(&p[1..], &c[1..], binds, texts) {
                        return true;
                    }
                    (*binds, *texts) = saved;
                    false
                }
                _ => false,
            },
            Pat::Ident(s) => {
                matches!(c.first().map(|t| &t.tree), Some(TokenTree::Ident(i)) if i == s)
                    && self.seq(&p[1..], &c[1..], binds, texts)
            }
            Pat::Punct(ch) => {
                matches!(c.first().map(|t| &t.tree), Some(TokenTree::Punct(q)) if q.as_char() == *ch)
                    && self.seq(&p[1..], &c[1..], binds, texts)
            }
            Pat::Lit(s) => {
                matches!(c.first().map(|t| &t.tree), Some(TokenTree::Literal(l)) if l.to_string() == *s)
                    && self.seq(&p[1..], &c[1..], binds, texts)
            }
            Pat::Gap => self.seq(&p[1..], c, binds, texts),
        }
    }

    fn render(&self, template: &str, binds: &Binds, indent: &str) -> String {
        let mut out = String::new();
        let marked = template;
        let mut rest = marked;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = rest[i..].trim_start_matches('$');
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            match binds.get(&name) {
                Some(Some(span)) => out.push_str(&self.text[span.start..span.end]),
                Some(None) => {}
                None => out.push_str(&rest[i..i + (rest[i..].len() - after.len()) + name.len()]),
            }
            rest = &after[name.len()..];
        }
        out.push_str(rest);
        out.replace('\n', &format!("\n{indent}"))
    }
}

fn is_expr(toks: &[Tok]) -> bool {
    let stream: TokenStream = toks.iter().map(|t| t.tree.clone()).collect();
    syn::parse2::<syn::Expr>(stream).is_ok()
}

#[derive(Default)]
struct Candidates {
    exprs: Vec<(Span, TokenStream)>,
    blocks: Vec<Vec<(Span, TokenStream)>>,
}

struct Collect<'c> {
    within: Span,
    found: &'c mut Candidates,
}

fn byte_span(s: proc_macro2::Span) -> Span {
    let r = s.byte_range();
    Span::new(r.start, r.end)
}

impl<'ast> Visit<'ast> for Collect<'_> {
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        let span = byte_span(syn::spanned::Spanned::span(e));
        if span.contains(self.within) {
            self.found.exprs.push((span, e.to_token_stream()));
            syn::visit::visit_expr(self, e);
        }
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        let span = byte_span(b.brace_token.span.join());
        if span.contains(self.within) {
            let stmts = b
                .stmts
                .iter()
                .map(|s| (byte_span(syn::spanned::Spanned::span(s)), s.to_token_stream()))
                .collect();
            self.found.blocks.push(stmts);
            syn::visit::visit_block(self, b);
        }
    }
}

/// The fix a rewrite makes for a finding at `within`, if its pattern matches code around it.
pub fn fix_for(rewrite: &Rewrite, text: &str, file: &syn::File, within: Span) -> Option<Fix> {
    let shape = rewrite.shape.as_ref()?;
    let mut found = Candidates::default();
    Collect { within, found: &mut found }.visit_file(file);
    let m = Matcher { text };
    let mut edits = Vec::new();
    match shape {
        Shape::Expr(pats) => {
            // The innermost expression that matches.
            for (span, tokens) in found.exprs.iter().rev() {
                let mut binds = Binds::new();
                if m.seq(pats, &toks(tokens.clone()), &mut binds, &mut BTreeMap::new()) {
                    let content = m.render(&rewrite.pieces[0], &binds, indentation_at(text, span.start));
                    edits.push(Edit { span: *span, content });
                    break;
                }
            }
        }
        Shape::Stmts(items) => {
            'blocks: for stmts in found.blocks.iter().rev() {
                let code: Vec<(Span, Vec<Tok>)> = stmts.iter().map(|(s, t)| (*s, toks(t.clone()))).collect();
                for start in 0..code.len() {
                    let mut binds = Binds::new();
                    let mut texts = BTreeMap::new();
                    if let Some(runs) = match_stmts(&m, items, &code[start..], &mut binds, &mut texts) {
                        let covered = runs.iter().any(|r| r.contains(within));
                        if !covered {
                            continue;
                        }
                        for (run, piece) in runs.iter().zip(&rewrite.pieces) {
                            let content = m.render(piece, &binds, indentation_at(text, run.start));
                            edits.push(Edit { span: *run, content });
                        }
                        break 'blocks;
                    }
                }
            }
        }
    }
    if edits.is_empty() {
        return None;
    }
    if let Some(edit) = imports(text, file, &rewrite.def.uses) {
        edits.push(edit);
    }
    Some(Fix { applicability: rewrite.def.applicability, edits })
}

/// Matches statement patterns (with gaps) from the start of `code`; returns the spans of the
/// matched runs.
fn match_stmts(
    m: &Matcher<'_>,
    items: &[Option<Vec<Pat>>],
    code: &[(Span, Vec<Tok>)],
    binds: &mut Binds,
    texts: &mut BTreeMap<String, String>,
) -> Option<Vec<Span>> {
    let Some(first) = items.first() else { return Some(Vec::new()) };
    match first {
        None => {
            for skip in 0..=code.len() {
                let saved = (binds.clone(), texts.clone());
                if let Some(runs) = match_stmts(m, &items[1..], &code[skip..], binds, texts) {
                    return Some(runs);
                }
                (*binds, *texts) = saved;
            }
            None
        }
        Some(pat) => {
            let (span, tokens) = code.first()?;
            let saved = (binds.clone(), texts.clone());
            if !m.seq(pat, tokens, binds, texts) {
                (*binds, *texts) = saved;
                return None;
            }
            let mut runs = match_stmts(m, &items[1..], &code[1..], binds, texts)?;
            // Join with the next statement's span when it belongs to the same run.
            match (items.get(1), runs.first_mut()) {
                (Some(Some(_)), Some(next)) => *next = span.join(*next),
                _ => runs.insert(0, *span),
            }
            Some(runs)
        }
    }
}

/// An edit adding the `use` items the file lacks, after its last top-level `use`.
fn imports(text: &str, file: &syn::File, uses: &[String]) -> Option<Edit> {
    let missing: Vec<&String> = uses
        .iter()
        .filter(|u| {
            let last = u.rsplit("::").next().unwrap_or(u);
            !text.contains(&format!("use {u};")) && !file.items.iter().any(|i| imports_name(i, last))
        })
        .collect();
    if missing.is_empty() {
        return None;
    }
    let after = file
        .items
        .iter()
        .filter(|i| matches!(i, syn::Item::Use(_)))
        .map(|i| byte_span(syn::spanned::Spanned::span(i)).end)
        .max();
    let lines: String = missing.iter().map(|u| format!("use {u};\n")).collect();
    Some(match after {
        Some(end) => Edit { span: Span::new(end, end), content: format!("\n{}", lines.trim_end()) },
        None => {
            let at = first_item_start(text, file);
            Edit { span: Span::new(at, at), content: format!("{lines}\n") }
        }
    })
}

fn imports_name(item: &syn::Item, name: &str) -> bool {
    fn tree(t: &syn::UseTree, name: &str) -> bool {
        match t {
            syn::UseTree::Path(p) => tree(&p.tree, name),
            syn::UseTree::Name(n) => n.ident == name,
            syn::UseTree::Rename(r) => r.rename == name,
            syn::UseTree::Glob(_) => false,
            syn::UseTree::Group(g) => g.items.iter().any(|t| tree(t, name)),
        }
    }
    matches!(item, syn::Item::Use(u) if tree(&u.tree, name))
}

fn first_item_start(text: &str, file: &syn::File) -> usize {
    file.items.first().map_or(text.len(), |i| {
        let attrs_start = match i {
            syn::Item::Fn(f) => f.attrs.first().map(|a| byte_span(syn::spanned::Spanned::span(a)).start),
            _ => None,
        };
        attrs_start.unwrap_or_else(|| byte_span(syn::spanned::Spanned::span(i)).start)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(pattern: &str, replace: &str) -> Rewrite {
        Rewrite::new(RewriteDef {
            pattern: pattern.into(),
            replace: replace.into(),
            applicability: Applicability::Safe,
            uses: Vec::new(),
        })
        .unwrap()
    }

    fn apply_at(rw: &Rewrite, text: &str, needle: &str) -> Option<String> {
        let file = syn::parse_file(text).unwrap();
        let at = text.find(needle).unwrap();
        let fix = fix_for(rw, text, &file, Span::new(at, at + needle.len()));
        proc_macro2::extra::invalidate_current_thread_spans();
        fix.map(|f| crate::fix::apply(text, &[&f]).0)
    }

    #[test]
    fn expressions_match_structurally_and_keep_the_bound_text() {
        let rw = rewrite("$ctx.ws.send_thinking(&$ctx.user, $t)", "$ctx.run.thinking($t)");
        let text = "fn f() {\n    context.ws.send_thinking( &context.user,\n        format!(\"a {}\", 1), ).await;\n}\n";
        assert_eq!(
            apply_at(&rw, text, "context.ws").unwrap(),
            "fn f() {\n    context.run.thinking(format!(\"a {}\", 1)).await;\n}\n"
        );
        let other = "fn f() { a.ws.send_thinking(&b.user, x); }\n";
        assert_eq!(apply_at(&rw, other, "a.ws"), None, "$ctx must bind the same thing twice");
    }

    #[test]
    fn statement_sequences_with_gaps_rewrite_the_pair_and_keep_the_middle() {
        let rw = rewrite(
            "$m.send_tool_executing($name, $p); $$$ $m.send_tool_completed($name, $r);",
            "let call = run.tool_executing($name, $p); $$$ call.completed($r);",
        );
        let text = "fn f() {\n    m.send_tool_executing(\"s\", q);\n    let r = work()?;\n    m.send_tool_completed(\"s\", r);\n}\n";
        assert_eq!(
            apply_at(&rw, text, "send_tool_executing").unwrap(),
            "fn f() {\n    let call = run.tool_executing(\"s\", q);\n    let r = work()?;\n    call.completed(r);\n}\n"
        );
    }

    #[test]
    fn lists_bind_any_arguments() {
        let rw = rewrite("$e.notify_agent_thinking($$$args)", "run.thinking($$$args)");
        let text = "fn f() { e.notify_agent_thinking(a, b, c); }\n";
        assert_eq!(apply_at(&rw, text, "notify").unwrap(), "fn f() { run.thinking(a, b, c); }\n");
    }

    #[test]
    fn a_template_must_have_one_piece_per_run() {
        let def = RewriteDef {
            pattern: "a(); $$$ b();".into(),
            replace: "c();".into(),
            applicability: Applicability::Safe,
            uses: Vec::new(),
        };
        assert_eq!(Rewrite::new(def).unwrap_err(), RewriteError::Pieces { pieces: 1, runs: 2 });
    }
}
