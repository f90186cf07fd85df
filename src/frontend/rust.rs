//! The Rust front-end: parses a file with `syn` and lowers it into [`Facts`] through the
//! [`FactsBuilder`], which decides what each fact means for both languages.
//!
//! Paths are resolved through the file's `use` aliases; macro bodies are parsed with a grammar
//! per macro (`json!` as a JSON-ish object, `lazy_static!`/`thread_local!` as static
//! declarations, anything else as a comma-separated expression list, or skipped). Every
//! `proc_macro2` span is turned into a byte [`Span`] before the syntax tree is dropped, and the
//! thread's span data is then invalidated so memory does not grow with the number of files.

use std::collections::HashMap;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Item, Pat, Stmt, Token, Type, UseTree};

use super::builder::{
    branch, drop_deep, grow, guarded, is_plain_chain, seq, too_deep_error, FactsBuilder, Lowering, MAX_CHAIN,
};
use crate::facts::*;
use crate::source::Span;

pub use super::builder::MAX_NESTING;
pub use super::ParseError;

/// Types looked through when naming the type of a static.
const WRAPPERS: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Mutex",
    "RwLock",
    "ReentrantMutex",
    "Option",
    "Lazy",
    "LazyLock",
    "LazyCell",
    "OnceLock",
    "OnceCell",
    "RefCell",
    "Cell",
    "ArcSwap",
    "ArcSwapOption",
];

/// Map types whose `from([(k, v), …])` / `from_iter` build a map literal.
const MAP_TYPES: &[&str] = &["HashMap", "BTreeMap", "IndexMap", "Map", "FxHashMap", "AHashMap"];

/// The number of accesses in a member chain, counted up to `MAX_CHAIN + 1`.
fn chain_len(mut e: &Expr) -> usize {
    let mut n = 0;
    while n <= MAX_CHAIN {
        e = match e {
            Expr::Field(f) => &f.base,
            Expr::MethodCall(m) => &m.receiver,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::Index(i) => &i.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Unary(u) => &u.expr,
            _ => return n,
        };
        n += 1;
    }
    n
}

/// Refuses code that nests deeper than [`MAX_NESTING`] (estimated by
/// [`crate::comments::rust_nesting`]) before `syn`, whose parser recurses once per level without
/// growing its stack, sees it. The walk of what it parses is then held to the same limit by the
/// builder's guard, which also covers what the estimate misses (`a(1)(1)…`, `else if` chains).
pub fn check_nesting(text: &str) -> Result<(), ParseError> {
    let (depth, at) = crate::comments::rust_nesting(text);
    if depth <= MAX_NESTING {
        return Ok(());
    }
    Err(ParseError {
        message: format!("the code nests deeper than {MAX_NESTING} levels (about {depth}); it is not parsed"),
        span: Span::new(at, at + 1),
    })
}

/// Parses `text` into facts. `canonical_crates` are crate names (`agent_events`) whose paths
/// mark a call as canonical.
pub fn parse(text: &str, canonical_crates: &[String]) -> Result<Facts, ParseError> {
    check_nesting(text)?;
    // syn skips a byte-order mark; spans are then relative to the text after it.
    let (base, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (3, rest),
        None => (0, text),
    };
    let result = if body.len() > STREAM_BYTES {
        parse_in_runs(base, text, body, canonical_crates, RUN_BYTES)
    } else {
        parse_whole(base, text, body, canonical_crates)
    };
    proc_macro2::extra::invalidate_current_thread_spans();
    result
}

/// Files larger than this are lowered in runs of items (see [`parse_in_runs`]).
pub const STREAM_BYTES: usize = 4 * 1024 * 1024;

/// About how many bytes of items a run holds.
const RUN_BYTES: usize = 512 * 1024;

/// A large file, lowered in runs of whole top-level items of about `every` bytes, each run
/// lexed, parsed, lowered and dropped before the next: memory holds one run's tokens and tree,
/// and the facts. `use` aliases and string constants count from the run they are declared in
/// on (in a smaller file, for the whole file). Where the file cannot be cut into runs that each
/// parse (a cut guessed wrong, or a syntax error), it is lowered item by item from one token
/// stream instead, and a syntax error is reported as for any file.
fn parse_in_runs(
    base: usize,
    text: &str,
    body: &str,
    canonical_crates: &[String],
    every: usize,
) -> Result<Facts, ParseError> {
    let mut walker = Walker::new(base, text, canonical_crates);
    let mut start = 0;
    let cuts = crate::comments::rust_item_cuts(body, every);
    for end in cuts.into_iter().chain([body.len()]) {
        let run = &body[start..end];
        let parsed = syn::parse_file(run);
        let Ok(file) = parsed else {
            proc_macro2::extra::invalidate_current_thread_spans();
            return parse_item_by_item(base, text, body, canonical_crates);
        };
        walker.base = base + start;
        walker.collect_aliases(&file.items);
        walker.items(&file.items);
        let too_deep = walker.b.too_deep();
        let depth = if too_deep.is_some() { Depth::of(&file) } else { walker.b.max_depth() };
        drop_deep(file, depth);
        proc_macro2::extra::invalidate_current_thread_spans();
        if let Some(span) = too_deep {
            return Err(too_deep_error(span, "; it is not linted"));
        }
        start = end;
    }
    walker.resolve_type_aliases();
    Ok(walker.b.finish())
}

/// A syn error as a parse error of the file.
fn syntax_error(e: &syn::Error, base: usize, body: &str) -> ParseError {
    let range = e.span().byte_range();
    let (start, end) = if range.start == range.end && range.start == 0 && !body.is_empty() {
        // An error without a position (e.g. an unterminated literal at the end).
        (body.len(), body.len())
    } else {
        (range.start, range.end)
    };
    ParseError { message: e.to_string(), span: Span::new(base + start, base + end) }
}

/// A large file, lowered one top-level item at a time: each item's syntax tree is dropped once
/// its facts are taken, so memory holds the tokens and the facts, never the whole tree. `use`
/// aliases and string constants count from where they are declared on (in a smaller file they
/// count for the whole file).
fn parse_item_by_item(
    base: usize,
    text: &str,
    body: &str,
    canonical_crates: &[String],
) -> Result<Facts, ParseError> {
    let tokens: proc_macro2::TokenStream = body.parse().map_err(|e: proc_macro2::LexError| {
        let range = e.span().byte_range();
        ParseError { message: e.to_string(), span: Span::new(base + range.start, base + range.end) }
    })?;
    let mut walker = Walker::new(base, text, canonical_crates);
    let mut too_deep = None;
    let parser = |input: ParseStream| -> syn::Result<()> {
        input.call(syn::Attribute::parse_inner)?;
        while !input.is_empty() {
            let item: Item = input.parse()?;
            walker.collect_aliases(std::slice::from_ref(&item));
            walker.item(&item);
            too_deep = walker.b.too_deep();
            let depth = if too_deep.is_some() { Depth::of_item(&item) } else { walker.b.max_depth() };
            drop_deep(item, depth);
            if too_deep.is_some() {
                break;
            }
        }
        Ok(())
    };
    parser.parse2(tokens).map_err(|e| syntax_error(&e, base, body))?;
    walker.resolve_type_aliases();
    match too_deep {
        Some(span) => Err(too_deep_error(span, "; it is not linted")),
        None => Ok(walker.b.finish()),
    }
}

/// A file lowered from its whole syntax tree.
fn parse_whole(
    base: usize,
    text: &str,
    body: &str,
    canonical_crates: &[String],
) -> Result<Facts, ParseError> {
    match syn::parse_file(body) {
        Ok(file) => {
            let mut walker = Walker::new(base, text, canonical_crates);
            walker.collect_aliases(&file.items);
            walker.items(&file.items);
            walker.resolve_type_aliases();
            let too_deep = walker.b.too_deep();
            let depth = if too_deep.is_some() { Depth::of(&file) } else { walker.b.max_depth() };
            drop_deep(file, depth);
            match too_deep {
                Some(span) => Err(too_deep_error(span, "; it is not linted")),
                None => Ok(walker.b.finish()),
            }
        }
        Err(e) => Err(syntax_error(&e, base, body)),
    }
}

/// Measures how deep a syntax tree nests, without limit (for the drop of a tree the walk
/// refused).
#[derive(Default)]
struct Depth {
    current: usize,
    max: usize,
}

impl Depth {
    fn of(file: &syn::File) -> usize {
        let mut d = Depth::default();
        syn::visit::Visit::visit_file(&mut d, file);
        d.max
    }

    fn of_item(item: &Item) -> usize {
        let mut d = Depth::default();
        syn::visit::Visit::visit_item(&mut d, item);
        d.max
    }

    fn level(&mut self, walk: impl FnOnce(&mut Self)) {
        self.current += 1;
        self.max = self.max.max(self.current);
        grow(|| walk(self));
        self.current -= 1;
    }
}

impl<'ast> syn::visit::Visit<'ast> for Depth {
    fn visit_expr(&mut self, e: &'ast Expr) {
        self.level(|d| syn::visit::visit_expr(d, e));
    }
    fn visit_item(&mut self, i: &'ast Item) {
        self.level(|d| syn::visit::visit_item(d, i));
    }
    fn visit_type(&mut self, t: &'ast Type) {
        self.level(|d| syn::visit::visit_type(d, t));
    }
    fn visit_pat(&mut self, p: &'ast Pat) {
        self.level(|d| syn::visit::visit_pat(d, p));
    }
}

struct Walker<'a> {
    base: usize,
    /// The file's text (conditions are read from it).
    text: &'a str,
    canonical_crates: &'a [String],
    b: FactsBuilder,
    aliases: HashMap<String, Vec<String>>,
    /// Type aliases of the file (`type Shared = Arc<RwLock<WebSocketManager>>;`): the alias → the
    /// type it names, through wrappers.
    type_aliases: HashMap<String, String>,
    /// String constants defined in the file (`const TOOL_EXECUTING: &str = "tool_executing";`),
    /// by name: a use of one is that string.
    consts: HashMap<String, String>,
    /// While lowering a future that may be dropped (a `select!` arm's, a spawned task whose
    /// handle is `abort()`ed): the future's span and what drops it. Each `.await` in it is a
    /// point where it may stop.
    cancel: Option<(Span, &'static str)>,
    /// The names of the task handles the function being lowered calls `abort()` on.
    aborted: Vec<String>,
    /// Whether the items being walked are in a `#[cfg(test)]` module.
    in_test_mod: bool,
}

fn last_ident(path: &syn::Path) -> Option<String> {
    path.segments.last().map(|s| unraw(&s.ident.to_string()))
}

fn unraw(s: &str) -> String {
    s.strip_prefix("r#").unwrap_or(s).to_owned()
}

fn type_last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => last_ident(&p.path),
        Type::Reference(r) => type_last_ident(&r.elem),
        Type::Paren(p) => type_last_ident(&p.elem),
        Type::Group(g) => type_last_ident(&g.elem),
        _ => None,
    }
}

/// The type's last segment after looking through [`WRAPPERS`].
fn unwrapped_type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => {
            let seg = p.path.segments.last()?;
            let name = unraw(&seg.ident.to_string());
            if WRAPPERS.contains(&name.as_str()) {
                if let syn::PathArguments::AngleBracketed(args) = &seg.arguments {
                    let inner = args.args.iter().find_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    });
                    if let Some(inner) = inner {
                        return unwrapped_type_name(inner);
                    }
                }
            }
            Some(name)
        }
        Type::Reference(r) => unwrapped_type_name(&r.elem),
        Type::Paren(p) => unwrapped_type_name(&p.elem),
        Type::Group(g) => unwrapped_type_name(&g.elem),
        _ => None,
    }
}

/// Strips `&`, parentheses and value-preserving conversions: the expression whose value an
/// argument or field really is.
fn core_expr(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "clone" | "to_owned" | "into" | "to_string"
                    ) =>
            {
                &m.receiver
            }
            _ => return e,
        };
    }
}

/// The first and last token of an expression: what `syn`'s `Spanned` joins into its span,
/// found without printing the expression, so in time and stack independent of how deep it nests.
fn expr_tokens(e: &Expr) -> (proc_macro2::Span, proc_macro2::Span) {
    (first_token(e), last_token(e))
}

fn outer_attr(attrs: &[syn::Attribute]) -> Option<proc_macro2::Span> {
    attrs.iter().find(|a| matches!(a.style, syn::AttrStyle::Outer)).map(|a| a.pound_token.span)
}

fn label_start(label: Option<&syn::Label>) -> Option<proc_macro2::Span> {
    label.map(|l| l.name.apostrophe)
}

fn expr_attrs(e: &Expr) -> &[syn::Attribute] {
    match e {
        Expr::Array(x) => &x.attrs,
        Expr::Assign(x) => &x.attrs,
        Expr::Async(x) => &x.attrs,
        Expr::Await(x) => &x.attrs,
        Expr::Binary(x) => &x.attrs,
        Expr::Block(x) => &x.attrs,
        Expr::Break(x) => &x.attrs,
        Expr::Call(x) => &x.attrs,
        Expr::Cast(x) => &x.attrs,
        Expr::Closure(x) => &x.attrs,
        Expr::Const(x) => &x.attrs,
        Expr::Continue(x) => &x.attrs,
        Expr::Field(x) => &x.attrs,
        Expr::ForLoop(x) => &x.attrs,
        Expr::Group(x) => &x.attrs,
        Expr::If(x) => &x.attrs,
        Expr::Index(x) => &x.attrs,
        Expr::Infer(x) => &x.attrs,
        Expr::Let(x) => &x.attrs,
        Expr::Lit(x) => &x.attrs,
        Expr::Loop(x) => &x.attrs,
        Expr::Macro(x) => &x.attrs,
        Expr::Match(x) => &x.attrs,
        Expr::MethodCall(x) => &x.attrs,
        Expr::Paren(x) => &x.attrs,
        Expr::Path(x) => &x.attrs,
        Expr::Range(x) => &x.attrs,
        Expr::RawAddr(x) => &x.attrs,
        Expr::Reference(x) => &x.attrs,
        Expr::Repeat(x) => &x.attrs,
        Expr::Return(x) => &x.attrs,
        Expr::Struct(x) => &x.attrs,
        Expr::Try(x) => &x.attrs,
        Expr::TryBlock(x) => &x.attrs,
        Expr::Tuple(x) => &x.attrs,
        Expr::Unary(x) => &x.attrs,
        Expr::Unsafe(x) => &x.attrs,
        Expr::While(x) => &x.attrs,
        Expr::Yield(x) => &x.attrs,
        _ => &[],
    }
}

fn first_token(mut e: &Expr) -> proc_macro2::Span {
    loop {
        if let Some(pound) = outer_attr(expr_attrs(e)) {
            return pound;
        }
        e = match e {
            Expr::Assign(x) => &x.left,
            Expr::Await(x) => &x.base,
            Expr::Binary(x) => &x.left,
            Expr::Call(x) => &x.func,
            Expr::Cast(x) => &x.expr,
            Expr::Field(x) => &x.base,
            Expr::Index(x) => &x.expr,
            Expr::MethodCall(x) => &x.receiver,
            Expr::Range(syn::ExprRange { start: Some(start), .. }) => start,
            Expr::Try(x) => &x.expr,
            Expr::Array(x) => return x.bracket_token.span.join(),
            Expr::Async(x) => return x.async_token.span,
            Expr::Block(x) => {
                return label_start(x.label.as_ref()).unwrap_or(x.block.brace_token.span.join())
            }
            Expr::Break(x) => return x.break_token.span,
            Expr::Closure(x) => {
                return x
                    .lifetimes
                    .as_ref()
                    .map(|l| l.for_token.span)
                    .or(x.constness.map(|c| c.span))
                    .or(x.movability.map(|m| m.span))
                    .or(x.asyncness.map(|a| a.span))
                    .or(x.capture.map(|c| c.span))
                    .unwrap_or(x.or1_token.span)
            }
            Expr::Const(x) => return x.const_token.span,
            Expr::Continue(x) => return x.continue_token.span,
            Expr::ForLoop(x) => return label_start(x.label.as_ref()).unwrap_or(x.for_token.span),
            Expr::Group(x) => return x.group_token.span,
            Expr::If(x) => return x.if_token.span,
            Expr::Infer(x) => return x.underscore_token.span,
            Expr::Let(x) => return x.let_token.span,
            Expr::Loop(x) => return label_start(x.label.as_ref()).unwrap_or(x.loop_token.span),
            Expr::Match(x) => return x.match_token.span,
            Expr::Paren(x) => return x.paren_token.span.join(),
            Expr::Range(x) => return range_limits(&x.limits).0,
            Expr::RawAddr(x) => return x.and_token.span,
            Expr::Reference(x) => return x.and_token.span,
            Expr::Repeat(x) => return x.bracket_token.span.join(),
            Expr::Return(x) => return x.return_token.span,
            Expr::TryBlock(x) => return x.try_token.span,
            Expr::Tuple(x) => return x.paren_token.span.join(),
            Expr::Unary(x) => return x.op.span(),
            Expr::Unsafe(x) => return x.unsafe_token.span,
            Expr::While(x) => return label_start(x.label.as_ref()).unwrap_or(x.while_token.span),
            Expr::Yield(x) => return x.yield_token.span,
            // Paths, literals, macros, struct literals and anything else: as `syn` spans them.
            e => return e.span(),
        };
    }
}

fn last_token(mut e: &Expr) -> proc_macro2::Span {
    loop {
        e = match e {
            Expr::Assign(x) => &x.right,
            Expr::Binary(x) => &x.right,
            Expr::Break(syn::ExprBreak { expr: Some(value), .. }) => value,
            Expr::Closure(x) => &x.body,
            Expr::If(syn::ExprIf { else_branch: Some((_, otherwise)), .. }) => otherwise,
            Expr::Let(x) => &x.expr,
            Expr::Range(syn::ExprRange { end: Some(end), .. }) => end,
            Expr::RawAddr(x) => &x.expr,
            Expr::Reference(x) => &x.expr,
            Expr::Return(syn::ExprReturn { expr: Some(value), .. }) => value,
            Expr::Unary(x) => &x.expr,
            Expr::Yield(syn::ExprYield { expr: Some(value), .. }) => value,
            Expr::Array(x) => return x.bracket_token.span.join(),
            Expr::Async(x) => return x.block.brace_token.span.join(),
            Expr::Await(x) => return x.await_token.span,
            Expr::Block(x) => return x.block.brace_token.span.join(),
            Expr::Break(x) => return x.label.as_ref().map_or(x.break_token.span, |l| l.ident.span()),
            Expr::Call(x) => return x.paren_token.span.join(),
            Expr::Cast(x) => return x.ty.span(),
            Expr::Const(x) => return x.block.brace_token.span.join(),
            Expr::Continue(x) => return x.label.as_ref().map_or(x.continue_token.span, |l| l.ident.span()),
            Expr::Field(x) => return x.member.span(),
            Expr::ForLoop(x) => return x.body.brace_token.span.join(),
            Expr::Group(x) => return x.group_token.span,
            Expr::If(x) => return x.then_branch.brace_token.span.join(),
            Expr::Index(x) => return x.bracket_token.span.join(),
            Expr::Infer(x) => return x.underscore_token.span,
            Expr::Loop(x) => return x.body.brace_token.span.join(),
            Expr::Match(x) => return x.brace_token.span.join(),
            Expr::MethodCall(x) => return x.paren_token.span.join(),
            Expr::Paren(x) => return x.paren_token.span.join(),
            Expr::Range(x) => return range_limits(&x.limits).1,
            Expr::Repeat(x) => return x.bracket_token.span.join(),
            Expr::Return(x) => return x.return_token.span,
            Expr::Struct(x) => return x.brace_token.span.join(),
            Expr::Try(x) => return x.question_token.span,
            Expr::TryBlock(x) => return x.block.brace_token.span.join(),
            Expr::Tuple(x) => return x.paren_token.span.join(),
            Expr::Unsafe(x) => return x.block.brace_token.span.join(),
            Expr::While(x) => return x.body.brace_token.span.join(),
            Expr::Yield(x) => return x.yield_token.span,
            // Paths, literals, macros and anything else: as `syn` spans them.
            e => return e.span(),
        };
    }
}

/// The first and last token of `..` / `..=`.
fn range_limits(limits: &syn::RangeLimits) -> (proc_macro2::Span, proc_macro2::Span) {
    match limits {
        syn::RangeLimits::HalfOpen(t) => (t.spans[0], t.spans[1]),
        syn::RangeLimits::Closed(t) => (t.spans[0], t.spans[2]),
    }
}

/// The names a pattern binds, looking through `&`, types, parentheses and one-field tuple
/// structs (`Some(x)`).
fn pat_idents(mut pat: &Pat, out: &mut Vec<String>) {
    loop {
        pat = match pat {
            Pat::Ident(p) => return out.push(unraw(&p.ident.to_string())),
            Pat::Reference(r) => &r.pat,
            Pat::Type(t) => &t.pat,
            Pat::Paren(p) => &p.pat,
            Pat::TupleStruct(t) if t.elems.len() == 1 => &t.elems[0],
            _ => return,
        };
    }
}

/// An attribute's path as written (`agent_events::tool`): attributes live in the macro
/// namespace, which the file's `use` aliases (types, functions) do not describe.
fn attr_path(attr: &syn::Attribute) -> String {
    attr.path().segments.iter().map(|s| unraw(&s.ident.to_string())).collect::<Vec<_>>().join("::")
}

/// Macros of the standard library and the common logging and test crates: never a project's
/// event macro, so not recorded as marks.
const STD_MACROS: &[&str] = &[
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "vec",
    "matches",
    "todo",
    "unimplemented",
    "unreachable",
    "dbg",
    "concat",
    "stringify",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
    "cfg",
    "line",
    "file",
    "column",
    "module_path",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "log",
    "anyhow",
    "bail",
    "ensure",
    "json",
    "join",
    "try_join",
    "pin",
    "quote",
    "format_ident",
    "thread_local",
    "lazy_static",
    "macro_rules",
    "compile_error",
    "write_str",
    "assert_matches",
    "insta",
    "assert_snapshot",
    "assert_debug_snapshot",
];

/// One arm of `select!`: its future (absent for `else`) and its handler.
struct SelectArm {
    future: Option<Expr>,
    handler: Expr,
}

/// `tokio::select!`'s grammar: `[biased;] (pat = future [, if cond] => handler[,])* [else =>
/// handler]`.
fn parse_select(tokens: TokenStream) -> syn::Result<Vec<SelectArm>> {
    let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<Vec<SelectArm>> {
        if input.peek(syn::Ident) && input.fork().parse::<syn::Ident>().is_ok_and(|i| i == "biased") {
            input.parse::<syn::Ident>()?;
            input.parse::<Token![;]>()?;
        }
        let mut arms = Vec::new();
        while !input.is_empty() {
            let future = if input.peek(Token![else]) {
                input.parse::<Token![else]>()?;
                None
            } else {
                Pat::parse_multi_with_leading_vert(input)?;
                input.parse::<Token![=]>()?;
                let future = Expr::parse_without_eager_brace(input)?;
                if input.peek(Token![,]) {
                    input.parse::<Token![,]>()?;
                    input.parse::<Token![if]>()?;
                    Expr::parse_without_eager_brace(input)?;
                }
                Some(future)
            };
            input.parse::<Token![=>]>()?;
            let handler: Expr = input.parse()?;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
            arms.push(SelectArm { future, handler });
        }
        Ok(arms)
    };
    parser.parse2(tokens)
}

/// Whether an expression spawns a task (`tokio::spawn(…)`, `task::spawn(…)`, `set.spawn(…)`).
fn is_spawn(e: &Expr) -> bool {
    match core_expr(e) {
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if last_ident(&p.path).is_some_and(|n| n == "spawn" || n == "spawn_local"))
        }
        Expr::MethodCall(m) => m.method == "spawn" || m.method == "spawn_local",
        _ => false,
    }
}

/// The names `abort()` is called on in a function's text (`handle.abort()`), macro bodies
/// included: an identifier, `.`, `abort`, `(`, with any white space between. Read from the text,
/// not the tokens, so that no nesting depth costs stack.
fn aborted_handles(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find("abort") {
        let at = from + at;
        from = at + "abort".len();
        let after = text[from..].trim_start();
        let before = text[..at].trim_end();
        if !after.starts_with('(') || !before.ends_with('.') {
            continue;
        }
        if bytes.get(from).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            continue;
        }
        let receiver = before[..before.len() - 1].trim_end();
        let name: String = receiver
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// A variant's name under serde's `rename_all` rule.
fn rename(name: &str, rule: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(w) = words.last_mut() {
            w.push(c);
        }
    }
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let capitalised = |w: &String| -> String {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
    };
    match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "camelCase" => {
            let mut out = lower.first().cloned().unwrap_or_default();
            out.extend(lower.iter().skip(1).map(capitalised));
            out
        }
        "snake_case" => lower.join("_"),
        "SCREAMING_SNAKE_CASE" => lower.join("_").to_uppercase(),
        "kebab-case" => lower.join("-"),
        "SCREAMING-KEBAB-CASE" => lower.join("-").to_uppercase(),
        _ => name.to_owned(),
    }
}

/// `#[cfg(test)]`.
fn is_cfg_test(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg") && attr.meta.to_token_stream().to_string().replace(' ', "") == "cfg(test)"
}

fn is_macro(mac: &syn::Macro, name: &str) -> bool {
    mac.path.segments.last().is_some_and(|s| s.ident == name)
}

impl<'a> Walker<'a> {
    fn new(base: usize, text: &'a str, canonical_crates: &'a [String]) -> Self {
        // Body 0, the top level, stays empty: item-level code lives in the bodies of items.
        Walker {
            base,
            text,
            canonical_crates,
            b: FactsBuilder::new(),
            aliases: HashMap::new(),
            type_aliases: HashMap::new(),
            consts: HashMap::new(),
            cancel: None,
            aborted: Vec::new(),
            in_test_mod: false,
        }
    }

    fn sp(&self, span: proc_macro2::Span) -> Span {
        let r = span.byte_range();
        Span::new(self.base + r.start, self.base + r.end)
    }

    fn span_of<T: Spanned>(&self, t: &T) -> Span {
        self.sp(t.span())
    }

    /// An expression's span (see [`expr_tokens`]).
    fn expr_span(&self, e: &Expr) -> Span {
        let (first, last) = expr_tokens(e);
        self.sp(first).join(self.sp(last))
    }

    fn resolve(&self, path: &syn::Path) -> Vec<String> {
        let mut segs: Vec<String> = path.segments.iter().map(|s| unraw(&s.ident.to_string())).collect();
        if path.leading_colon.is_none() {
            if let Some(full) = segs.first().and_then(|first| self.aliases.get(first)) {
                let mut resolved = full.clone();
                resolved.extend(segs.drain(1..));
                return resolved;
            }
        }
        segs
    }

    fn is_canonical_path(&self, path: &[String]) -> bool {
        path.first().is_some_and(|first| self.canonical_crates.iter().any(|c| c == first))
    }

    // ---- use items -------------------------------------------------------------------------

    fn string_const(&mut self, name: &syn::Ident, value: &Expr) {
        if let Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = core_expr(value) {
            self.consts.insert(unraw(&name.to_string()), s.value());
        }
    }

    fn collect_aliases(&mut self, items: &[Item]) {
        grow(|| self.collect_aliases_inner(items))
    }

    fn collect_aliases_inner(&mut self, items: &[Item]) {
        for item in items {
            match item {
                Item::Use(u) => self.use_tree(Vec::new(), &u.tree, false),
                Item::Const(c) => self.string_const(&c.ident, &c.expr),
                Item::Impl(i) => {
                    for impl_item in &i.items {
                        if let syn::ImplItem::Const(c) = impl_item {
                            self.string_const(&c.ident, &c.expr);
                        }
                    }
                }
                Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        self.collect_aliases(items);
                    }
                }
                _ => {}
            }
        }
    }

    fn use_tree(&mut self, prefix: Vec<String>, tree: &UseTree, record: bool) {
        grow(|| self.use_tree_inner(prefix, tree, record))
    }

    fn use_tree_inner(&mut self, prefix: Vec<String>, tree: &UseTree, record: bool) {
        match tree {
            UseTree::Path(p) => {
                let mut prefix = prefix;
                prefix.push(unraw(&p.ident.to_string()));
                self.use_tree(prefix, &p.tree, record);
            }
            UseTree::Name(n) => {
                let name = unraw(&n.ident.to_string());
                let full = if name == "self" {
                    prefix.clone()
                } else {
                    let mut full = prefix.clone();
                    full.push(name.clone());
                    full
                };
                if let Some(alias) = full.last().cloned() {
                    if record {
                        let span = self.span_of(&n.ident);
                        self.b.mention(full.clone(), span, MentionKind::Import);
                    } else {
                        self.aliases.insert(alias, full);
                    }
                }
            }
            UseTree::Rename(r) => {
                let mut full = prefix.clone();
                let name = unraw(&r.ident.to_string());
                if name != "self" {
                    full.push(name);
                }
                if record {
                    let span = self.span_of(&r.ident);
                    self.b.mention(full, span, MentionKind::Import);
                } else {
                    self.aliases.insert(unraw(&r.rename.to_string()), full);
                }
            }
            UseTree::Glob(_) => {
                if !record && !prefix.is_empty() {
                    self.b.facts_mut().glob_imports.push(prefix);
                }
            }
            UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix.clone(), tree, record);
                }
            }
        }
    }

    // ---- items -----------------------------------------------------------------------------

    fn items(&mut self, items: &[Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn signature(&mut self, sig: &syn::Signature, owner: Option<String>, trait_impl: Option<String>) {
        self.generics(&sig.generics);
        let mut has_self = false;
        let mut params = 0;
        let mut param_names = Vec::new();
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => has_self = true,
                syn::FnArg::Typed(t) => {
                    params += 1;
                    if let Pat::Ident(i) = &*t.pat {
                        param_names.push(unraw(&i.ident.to_string()));
                    }
                    self.ty(&t.ty);
                }
            }
        }
        if let syn::ReturnType::Type(_, ty) = &sig.output {
            self.ty(ty);
        }
        let name_span = self.span_of(&sig.ident);
        self.b.facts_mut().fns.push(FnDef {
            name: unraw(&sig.ident.to_string()),
            name_span,
            owner,
            trait_impl,
            has_self,
            params,
            param_names,
            extent: None,
            attrs: Vec::new(),
        });
    }

    /// Records the attribute paths of the function just defined.
    fn fn_attrs(&mut self, attrs: &[syn::Attribute]) {
        let mut paths: Vec<String> = attrs.iter().map(attr_path).collect();
        if self.in_test_mod {
            // In a `#[cfg(test)]` module: test code, like a `#[test]` function.
            paths.push("cfg(test)".to_owned());
        }
        if let Some(def) = self.b.facts_mut().fns.last_mut() {
            def.attrs = paths;
        }
    }

    fn fn_body(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let extent = self.span_of(&sig.ident).join(self.sp(block.brace_token.span.join()));
        if let Some(def) = self.b.facts_mut().fns.last_mut() {
            def.extent = Some(extent);
        }
        if let Some(syn::Stmt::Expr(tail, None)) = block.stmts.last() {
            let span = self.expr_span(tail);
            self.b.facts_mut().returned.push(span);
        }
        let span = self.sp(block.brace_token.span.join());
        let aborted = aborted_handles(self.text.get(span.start..span.end).unwrap_or_default());
        let aborted = std::mem::replace(&mut self.aborted, aborted);
        self.with_body(Some(unraw(&sig.ident.to_string())), |w| w.block(block));
        self.aborted = aborted;
    }

    /// Statics whose type is an alias name the type the alias stands for (aliases of aliases
    /// too, a few levels deep).
    fn resolve_type_aliases(&mut self) {
        let aliases = std::mem::take(&mut self.type_aliases);
        for item in &mut self.b.facts_mut().statics {
            for _ in 0..8 {
                match item.type_name.as_ref().and_then(|t| aliases.get(t)) {
                    Some(target) if item.type_name.as_ref() != Some(target) => {
                        item.type_name = Some(target.clone())
                    }
                    _ => break,
                }
            }
        }
    }

    /// The presence test an `if` condition is, as a guard key with `!` for "absent":
    /// `self.ws` (a `bool` field), `ctx.ws.is_some()`, `ctx.ws.is_none()`, `!flag`,
    /// `let Some(m) = &ctx.ws`. Other conditions (calls, comparisons) have no key.
    fn guard_key(&self, cond: &Expr) -> Option<String> {
        let written = |e: &Expr| -> Option<String> {
            let span = self.expr_span(e);
            let text: String = self.text.get(span.start..span.end)?.split_whitespace().collect();
            let text = text.trim_start_matches('&').to_owned();
            is_plain_chain(&text).then_some(text)
        };
        match cond {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => self
                .guard_key(&u.expr)
                .map(|k| k.strip_prefix('!').map_or_else(|| format!("!{k}"), str::to_owned)),
            Expr::MethodCall(m) if m.args.is_empty() && (m.method == "is_some" || m.method == "is_ok") => {
                written(&m.receiver)
            }
            Expr::MethodCall(m) if m.args.is_empty() && (m.method == "is_none" || m.method == "is_err") => {
                written(&m.receiver).map(|k| format!("!{k}"))
            }
            Expr::Let(l) => match &*l.pat {
                Pat::TupleStruct(p) if last_ident(&p.path).is_some_and(|n| n == "Some" || n == "Ok") => {
                    written(&l.expr)
                }
                _ => None,
            },
            Expr::Paren(p) => self.guard_key(&p.expr),
            Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
                Some(format!("({}&&{})", self.guard_key(&b.left)?, self.guard_key(&b.right)?))
            }
            Expr::Path(_) | Expr::Field(_) => written(cond),
            _ => None,
        }
    }

    fn item(&mut self, item: &Item) {
        grow(|| self.item_inner(item))
    }

    fn item_inner(&mut self, item: &Item) {
        match item {
            Item::Fn(f) => {
                self.signature(&f.sig, None, None);
                self.fn_attrs(&f.attrs);
                self.fn_body(&f.sig, &f.block);
            }
            Item::Impl(i) => {
                let self_name = type_last_ident(&i.self_ty);
                let trait_name = i.trait_.as_ref().and_then(|(_, path, _)| last_ident(path));
                if let Some((_, path, _)) = &i.trait_ {
                    let resolved = self.resolve(path);
                    let span = self.span_of(path);
                    self.b.mention(resolved, span, MentionKind::Type);
                }
                if let (Some(t), Some(s)) = (&trait_name, &self_name) {
                    self.b.trait_impl(s.clone(), t.clone());
                }
                if let Some(name) = &self_name {
                    let attrs = i.attrs.iter().map(attr_path).collect();
                    self.b.facts_mut().impl_attrs.push((name.clone(), attrs));
                }
                let outer = self.b.replace_owner(self_name.clone());
                for impl_item in &i.items {
                    match impl_item {
                        syn::ImplItem::Fn(f) => {
                            self.signature(&f.sig, self_name.clone(), trait_name.clone());
                            self.fn_attrs(&f.attrs);
                            self.fn_body(&f.sig, &f.block);
                        }
                        syn::ImplItem::Const(c) => {
                            self.ty(&c.ty);
                            self.with_body(None, |w| w.expr(&c.expr));
                        }
                        syn::ImplItem::Type(t) => self.ty(&t.ty),
                        syn::ImplItem::Macro(m) => {
                            let span = self.span_of(&m.mac);
                            self.with_body(None, |w| w.mac(&m.mac, span));
                        }
                        _ => {}
                    }
                }
                self.b.replace_owner(outer);
            }
            Item::Trait(t) => {
                let name = unraw(&t.ident.to_string());
                let outer = self.b.replace_owner(Some(name.clone()));
                for trait_item in &t.items {
                    if let syn::TraitItem::Fn(f) = trait_item {
                        self.signature(&f.sig, Some(name.clone()), None);
                        if let Some(block) = &f.default {
                            self.fn_body(&f.sig, block);
                        }
                    }
                }
                self.b.replace_owner(outer);
            }
            Item::Struct(s) => {
                for field in &s.fields {
                    self.ty(&field.ty);
                }
            }
            Item::Enum(e) => {
                for variant in &e.variants {
                    for field in &variant.fields {
                        self.ty(&field.ty);
                    }
                }
                self.serde_enum(e);
            }
            Item::Static(s) => {
                let name_span = self.span_of(&s.ident);
                self.b.facts_mut().statics.push(StaticItem {
                    name: unraw(&s.ident.to_string()),
                    name_span,
                    type_name: unwrapped_type_name(&s.ty),
                });
                self.ty(&s.ty);
                self.with_body(None, |w| w.expr(&s.expr));
            }
            Item::Const(c) => {
                self.ty(&c.ty);
                self.with_body(None, |w| w.expr(&c.expr));
            }
            Item::Type(t) => {
                if let syn::Type::Path(p) = &*t.ty {
                    if p.qself.is_none() {
                        let target = self.resolve(&p.path);
                        self.b.facts_mut().type_aliases.push((unraw(&t.ident.to_string()), target));
                    }
                }
                if let Some(target) = unwrapped_type_name(&t.ty) {
                    self.type_aliases.insert(unraw(&t.ident.to_string()), target);
                }
                self.ty(&t.ty)
            }
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    let test = m.attrs.iter().any(is_cfg_test);
                    let inside = self.in_test_mod || test;
                    let outer = std::mem::replace(&mut self.in_test_mod, inside);
                    self.items(items);
                    self.in_test_mod = outer;
                }
            }
            Item::Use(u) => self.use_tree(Vec::new(), &u.tree, true),
            Item::Macro(m) => {
                let span = self.span_of(&m.mac);
                self.item_macro(&m.mac, span);
            }
            _ => {}
        }
    }

    /// `lazy_static!` / `thread_local!` at item or statement level; other item macros skipped.
    fn item_macro(&mut self, mac: &syn::Macro, span: Span) -> Node {
        if is_macro(mac, "lazy_static") || is_macro(mac, "thread_local") {
            let lazy = is_macro(mac, "lazy_static");
            let parser = |input: ParseStream| parse_static_decls(input, lazy);
            if let Ok(decls) = parser.parse2(mac.tokens.clone()) {
                for (ident, ty, init) in decls {
                    let name_span = self.span_of(&ident);
                    self.b.facts_mut().statics.push(StaticItem {
                        name: unraw(&ident.to_string()),
                        name_span,
                        type_name: unwrapped_type_name(&ty),
                    });
                    self.ty(&ty);
                    self.with_body(None, |w| w.expr(&init));
                }
            }
            return Node::empty();
        }
        if is_macro(mac, "macro_rules") {
            return Node::empty();
        }
        self.mac(mac, span)
    }

    fn ty(&mut self, ty: &Type) {
        grow(|| self.ty_inner(ty))
    }

    fn ty_inner(&mut self, ty: &Type) {
        match ty {
            Type::Path(p) => {
                if p.qself.is_none() {
                    let resolved = self.resolve(&p.path);
                    let span = self.span_of(&p.path);
                    self.b.mention(resolved, span, MentionKind::Type);
                }
                self.path_arguments(&p.path);
            }
            Type::Reference(r) => self.ty(&r.elem),
            Type::Paren(p) => self.ty(&p.elem),
            Type::Group(g) => self.ty(&g.elem),
            Type::Slice(s) => self.ty(&s.elem),
            Type::Array(a) => self.ty(&a.elem),
            Type::Ptr(p) => self.ty(&p.elem),
            Type::Tuple(t) => t.elems.iter().for_each(|e| self.ty(e)),
            Type::ImplTrait(i) => self.bounds(&i.bounds),
            Type::TraitObject(o) => self.bounds(&o.bounds),
            _ => {}
        }
    }

    fn bounds(&mut self, bounds: &Punctuated<syn::TypeParamBound, Token![+]>) {
        for bound in bounds {
            if let syn::TypeParamBound::Trait(t) = bound {
                let resolved = self.resolve(&t.path);
                let span = self.span_of(&t.path);
                self.b.mention(resolved, span, MentionKind::Type);
                self.path_arguments(&t.path);
            }
        }
    }

    /// The types inside a path's generic arguments: `Arc<X>`, `Iterator<Item = X>`, `Fn(X) -> Y`.
    fn path_arguments(&mut self, path: &syn::Path) {
        for seg in &path.segments {
            match &seg.arguments {
                syn::PathArguments::AngleBracketed(args) => {
                    for arg in &args.args {
                        match arg {
                            syn::GenericArgument::Type(t) => self.ty(t),
                            syn::GenericArgument::AssocType(a) => self.ty(&a.ty),
                            _ => {}
                        }
                    }
                }
                syn::PathArguments::Parenthesized(args) => {
                    args.inputs.iter().for_each(|t| self.ty(t));
                    if let syn::ReturnType::Type(_, t) = &args.output {
                        self.ty(t);
                    }
                }
                syn::PathArguments::None => {}
            }
        }
    }

    fn generics(&mut self, generics: &syn::Generics) {
        for param in &generics.params {
            if let syn::GenericParam::Type(t) = param {
                self.bounds(&t.bounds);
            }
        }
        for predicate in generics.where_clause.iter().flat_map(|w| &w.predicates) {
            if let syn::WherePredicate::Type(t) = predicate {
                self.ty(&t.bounded_ty);
                self.bounds(&t.bounds);
            }
        }
    }

    // ---- statements and expressions -------------------------------------------------------

    fn block(&mut self, block: &syn::Block) -> Node {
        seq(block.stmts.iter().map(|s| self.stmt(s)))
    }

    fn stmt(&mut self, stmt: &Stmt) -> Node {
        let attrs: &[syn::Attribute] = match stmt {
            Stmt::Local(l) => &l.attrs,
            Stmt::Expr(e, _) => expr_attrs(e),
            Stmt::Macro(m) => &m.attrs,
            Stmt::Item(_) => &[],
        };
        let node = self.stmt_inner(stmt);
        // `#[cfg(…)] stmt`: marked with the condition it is compiled under, for the pairing
        // rules to compare with the condition of its pair's other half.
        match attrs.iter().find(|a| a.path().is_ident("cfg")) {
            Some(cfg) if !node.is_empty() => {
                let key = cfg.meta.to_token_stream().to_string().split_whitespace().collect::<String>();
                // A one-arm branch, so that the mark stays with this statement (a sequence would be
                // spliced into the block's).
                Node::Branch(vec![seq([Node::Guard(Guard { key, holds: true }), node])])
            }
            _ => node,
        }
    }

    fn stmt_inner(&mut self, stmt: &Stmt) -> Node {
        match stmt {
            Stmt::Local(local) => {
                if let Pat::Type(t) = &local.pat {
                    self.ty(&t.ty);
                }
                let Some(init) = &local.init else { return Node::empty() };
                let first_new = self.b.next_literal();
                // `let handle = tokio::spawn(async { … });` with `handle.abort()` later: the task
                // may stop at any of its `.await`s.
                let mut names = Vec::new();
                pat_idents(&local.pat, &mut names);
                let aborted = names.first().is_some_and(|n| self.aborted.contains(n)) && is_spawn(&init.expr);
                let outer = self.cancel;
                if aborted {
                    self.cancel = Some((self.expr_span(&init.expr), "abort()"));
                }
                let value = self.expr(&init.expr);
                self.cancel = outer;
                self.bind_pat(&local.pat, &init.expr, first_new);
                let otherwise = match &init.diverge {
                    Some((_, diverge)) => branch([Node::empty(), self.expr(diverge)]),
                    None => Node::empty(),
                };
                seq([value, otherwise])
            }
            Stmt::Item(item) => {
                if let Item::Macro(m) = item {
                    let span = self.span_of(&m.mac);
                    return self.item_macro(&m.mac, span);
                }
                if let Item::Use(u) = item {
                    self.use_tree(Vec::new(), &u.tree, false);
                }
                self.item(item);
                Node::empty()
            }
            Stmt::Expr(e, _) => self.expr(e),
            Stmt::Macro(m) => {
                let span = self.span_of(&m.mac);
                self.item_macro(&m.mac, span)
            }
        }
    }

    /// Records what `pat` binds from `init` (see [`Lowering::bind`]): its first name.
    fn bind_pat(&mut self, pat: &Pat, init: &Expr, first_new_literal: usize) {
        let mut names = Vec::new();
        pat_idents(pat, &mut names);
        if let Some(name) = names.into_iter().next() {
            self.bind(name, first_new_literal, init);
        }
    }

    fn exprs<'e>(&mut self, exprs: impl IntoIterator<Item = &'e Expr>) -> Node {
        seq(exprs.into_iter().map(|e| self.expr(e)))
    }

    /// One expression: one level deeper (see [`Lowering::nested`]).
    fn expr(&mut self, e: &Expr) -> Node {
        self.nested(|w| w.sp(first_token(e)), |w| w.expr_inner(e))
    }

    fn expr_inner(&mut self, e: &Expr) -> Node {
        match e {
            Expr::Array(a) => self.exprs(&a.elems),
            Expr::Assign(a) => {
                let right = self.expr(&a.right);
                self.index_target(&a.left, &a.right, e);
                let left = self.expr(&a.left);
                seq([right, left])
            }
            Expr::Async(a) => {
                let cancel = self.cancel;
                let id = self.with_body(None, |w| {
                    w.cancel = cancel;
                    w.block(&a.block)
                });
                Node::Nested(id)
            }
            Expr::Await(a) => {
                let base = self.expr(&a.base);
                match self.cancel {
                    Some((scope, by)) => {
                        let span = self.expr_span(e);
                        let cut = Node::Exit(Exit { kind: ExitKind::Cancel { scope, by }, span });
                        seq([base, branch([Node::empty(), cut])])
                    }
                    None => base,
                }
            }
            Expr::Binary(b) => {
                let left = self.expr(&b.left);
                let right = self.expr(&b.right);
                if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) {
                    seq([left, branch([Node::empty(), right])])
                } else {
                    seq([left, right])
                }
            }
            Expr::Block(b) => self.block(&b.block),
            Expr::Break(b) => {
                let value = b.expr.as_ref().map_or_else(Node::empty, |v| self.expr(v));
                let label = b.label.as_ref().map(|l| l.ident.to_string());
                seq([value, self.exit(ExitKind::Break(label), e)])
            }
            Expr::Call(c) => self.call(c, e),
            Expr::Cast(c) => self.expr(&c.expr),
            Expr::Closure(c) => Node::Nested(self.with_body(None, |w| w.expr(&c.body))),
            Expr::Const(c) => self.block(&c.block),
            Expr::Continue(c) => {
                let label = c.label.as_ref().map(|l| l.ident.to_string());
                self.exit(ExitKind::Continue(label), e)
            }
            Expr::Field(f) => self.expr(&f.base),
            Expr::ForLoop(f) => {
                let iter = self.expr(&f.expr);
                let body = self.block(&f.body);
                let label = f.label.as_ref().map(|l| l.name.ident.to_string());
                seq([iter, Node::Loop { label, body: Box::new(body), infinite: false }])
            }
            Expr::Group(g) => self.expr(&g.expr),
            Expr::If(i) => {
                let key = self.guard_key(&i.cond);
                let cond = self.condition(&i.cond);
                let then = self.block(&i.then_branch);
                let otherwise = i.else_branch.as_ref().map_or_else(Node::empty, |(_, e)| self.expr(e));
                seq([cond, guarded(key, then, otherwise)])
            }
            Expr::Index(i) => seq([self.expr(&i.expr), self.expr(&i.index)]),
            Expr::Let(l) => self.expr(&l.expr),
            Expr::Loop(l) => {
                let body = self.block(&l.body);
                let label = l.label.as_ref().map(|l| l.name.ident.to_string());
                Node::Loop { label, body: Box::new(body), infinite: true }
            }
            Expr::Macro(m) => {
                let span = self.span_of(&m.mac);
                self.mac(&m.mac, span)
            }
            Expr::Match(m) => {
                let first_new = self.b.next_literal();
                let scrutinee = self.expr(&m.expr);
                // `match &ctx.ws { Some(m) => m.send_…() }` binds `m` like `if let` does.
                for arm in &m.arms {
                    self.bind_pat(&arm.pat, &m.expr, first_new);
                }
                let arms: Vec<Node> = m
                    .arms
                    .iter()
                    .map(|arm| {
                        let guard = arm.guard.as_ref().map_or_else(Node::empty, |(_, g)| self.expr(g));
                        seq([guard, self.expr(&arm.body)])
                    })
                    .collect();
                seq([scrutinee, branch(arms)])
            }
            Expr::MethodCall(m) => self.method_call(m, e),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Path(p) => {
                if p.qself.is_some() {
                    return Node::empty();
                }
                let resolved = self.resolve(&p.path);
                if resolved.len() > 1 {
                    self.b.mention(resolved.clone(), self.span_of(&p.path), MentionKind::Value);
                }
                let variant_like = resolved.last().is_some_and(|l| {
                    l.starts_with(|c: char| c.is_ascii_uppercase())
                        && !matches!(l.as_str(), "None" | "Some" | "Ok" | "Err" | "Self")
                        && l.chars().any(|c| c.is_ascii_lowercase())
                });
                if variant_like {
                    return self.mark(MarkKind::Path(resolved), self.span_of(&p.path));
                }
                Node::empty()
            }
            Expr::Range(r) => seq([&r.start, &r.end].into_iter().flatten().map(|e| self.expr(e))),
            Expr::Reference(r) => self.expr(&r.expr),
            Expr::Repeat(r) => self.expr(&r.expr),
            Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    let span = self.expr_span(v);
                    self.b.facts_mut().returned.push(span);
                }
                let value = r.expr.as_ref().map_or_else(Node::empty, |v| self.expr(v));
                seq([value, self.exit(ExitKind::Return, e)])
            }
            Expr::Struct(s) => self.struct_literal(s, e),
            Expr::Try(t) => {
                let inner = self.expr(&t.expr);
                let exit = Exit { kind: ExitKind::Question, span: self.span_of(&t.question_token) };
                seq([inner, branch([Node::empty(), Node::Exit(exit)])])
            }
            Expr::TryBlock(t) => {
                self.with_body(None, |w| w.block(&t.block));
                Node::empty()
            }
            Expr::Tuple(t) => self.exprs(&t.elems),
            Expr::Unary(u) => self.expr(&u.expr),
            Expr::Unsafe(u) => self.block(&u.block),
            Expr::While(w) => {
                let cond = self.condition(&w.cond);
                let body = self.block(&w.body);
                let label = w.label.as_ref().map(|l| l.name.ident.to_string());
                Node::Loop { label, body: Box::new(seq([cond, body])), infinite: false }
            }
            Expr::Yield(y) => y.expr.as_ref().map_or_else(Node::empty, |v| self.expr(v)),
            _ => Node::empty(),
        }
    }

    /// An `if`/`while` condition; `let` conditions bind like `let` statements.
    fn condition(&mut self, cond: &Expr) -> Node {
        let first_new = self.b.next_literal();
        let node = self.expr(cond);
        if let Expr::Let(l) = cond {
            self.bind_pat(&l.pat, &l.expr, first_new);
        }
        node
    }

    fn exit(&self, kind: ExitKind, e: &Expr) -> Node {
        Node::Exit(Exit { kind, span: self.expr_span(e) })
    }

    /// `ev["k1"]["k2"] = value` (see [`Lowering::index_assign`]).
    fn index_target(&mut self, left: &Expr, right: &Expr, whole: &Expr) {
        let mut keys = Vec::new();
        let mut cur = left;
        while let Expr::Index(i) = cur {
            keys.push(match core_expr(&i.index) {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            });
            cur = &i.expr;
        }
        if keys.is_empty() {
            return;
        }
        let root = match core_expr(cur) {
            Expr::Path(p) => p.path.get_ident().map(|i| unraw(&i.to_string())),
            _ => None,
        };
        self.index_assign(root, keys, right, |w| w.expr_span(whole));
    }

    fn call(&mut self, c: &syn::ExprCall, whole: &Expr) -> Node {
        let Expr::Path(func) = &*c.func else {
            let func = self.expr(&c.func);
            return seq([func, self.exprs(&c.args)]);
        };
        let path = self.resolve(&func.path);
        if path.len() > 1 || self.aliases.contains_key(path.first().map_or("", String::as_str)) {
            self.b.mention(path.clone(), self.span_of(&func.path), MentionKind::Expr);
        }
        if let Some(node) = self.map_from(&path, c, whole) {
            return node;
        }
        let (args, mut nodes) = self.args(&c.args);
        let name = path.last().cloned().unwrap_or_default();
        let name_span =
            func.path.segments.last().map_or_else(|| self.span_of(&func.path), |s| self.span_of(&s.ident));
        let canonical = self.is_canonical_path(&path);
        let call = Call {
            span: self.expr_span(whole),
            name,
            name_span,
            path: Some(path),
            receiver: None,
            args,
            body: self.b.body(),
            canonical,
        };
        nodes.push(self.b.call(call));
        seq(nodes)
    }

    fn method_call(&mut self, m: &syn::ExprMethodCall, whole: &Expr) -> Node {
        let receiver_node = self.expr(&m.receiver);
        let (args, mut nodes) = self.args(&m.args);
        let receiver = self.chain(&m.receiver);
        let call = Call {
            span: self.expr_span(whole),
            name: unraw(&m.method.to_string()),
            name_span: self.span_of(&m.method),
            path: None,
            receiver,
            args,
            body: self.b.body(),
            canonical: false,
        };
        nodes.push(self.b.call(call));
        seq(std::iter::once(receiver_node).chain(nodes))
    }

    fn args(&mut self, args: &Punctuated<Expr, Token![,]>) -> (Vec<Arg>, Vec<Node>) {
        let mut facts = Vec::with_capacity(args.len());
        let mut nodes = Vec::with_capacity(args.len());
        for arg in args {
            let (ident, closure) = match core_expr(arg) {
                Expr::Path(p) => (p.path.get_ident().map(|i| unraw(&i.to_string())), None),
                Expr::Closure(c) => {
                    let mut params = Vec::new();
                    c.inputs.iter().for_each(|p| pat_idents(p, &mut params));
                    (None, Some(params))
                }
                _ => (None, None),
            };
            let (node, arg) = self.arg(arg, ident, closure);
            nodes.push(node);
            facts.push(arg);
        }
        (facts, nodes)
    }

    // ---- literals --------------------------------------------------------------------------

    fn struct_literal(&mut self, s: &syn::ExprStruct, whole: &Expr) -> Node {
        let path = self.resolve(&s.path);
        self.b.mention(path.clone(), self.span_of(&s.path), MentionKind::Expr);
        let idx = self.b.new_literal(self.expr_span(whole), LiteralKind::Struct(path.join("::")));
        let mut nodes = Vec::new();
        for field in &s.fields {
            let (node, value) = self.entry_value(idx, &field.expr);
            nodes.push(node);
            if let syn::Member::Named(ident) = &field.member {
                let key_span = self.span_of(ident);
                let value_span = self.expr_span(&field.expr);
                let key = unraw(&ident.to_string());
                self.b.push_entry(idx, Entry { key, key_span, value, value_span });
            }
        }
        if let Some(rest) = &s.rest {
            nodes.push(self.expr(rest));
            self.b.incomplete(idx);
        }
        nodes.push(Node::Literal(idx));
        seq(nodes)
    }

    /// `HashMap::from([("k", v), …])` / `BTreeMap::from_iter([…])` as a map literal.
    fn map_from(&mut self, path: &[String], c: &syn::ExprCall, whole: &Expr) -> Option<Node> {
        let [.., ty, ctor] = path else { return None };
        if !MAP_TYPES.contains(&ty.as_str())
            || !matches!(ctor.as_str(), "from" | "from_iter")
            || c.args.len() != 1
        {
            return None;
        }
        let elems: Vec<&Expr> = match core_expr(&c.args[0]) {
            Expr::Array(a) => a.elems.iter().collect(),
            Expr::Macro(m) if is_macro(&m.mac, "vec") => return None,
            _ => return None,
        };
        let idx = self.b.new_literal(self.expr_span(whole), LiteralKind::MapFrom);
        let mut nodes = Vec::new();
        for elem in elems {
            let pair = match elem {
                Expr::Tuple(t) if t.elems.len() == 2 => t,
                _ => {
                    nodes.push(self.expr(elem));
                    self.b.incomplete(idx);
                    continue;
                }
            };
            match self.str_value(&pair.elems[0]) {
                Some((key, key_span)) => {
                    let (node, value) = self.entry_value(idx, &pair.elems[1]);
                    nodes.push(node);
                    let value_span = self.expr_span(&pair.elems[1]);
                    self.b.push_entry(idx, Entry { key, key_span, value, value_span });
                }
                None => {
                    nodes.push(self.expr(&pair.elems[0]));
                    nodes.push(self.expr(&pair.elems[1]));
                    self.b.incomplete(idx);
                }
            }
        }
        nodes.push(Node::Literal(idx));
        Some(seq(nodes))
    }

    // ---- macros ----------------------------------------------------------------------------

    fn mac(&mut self, mac: &syn::Macro, span: Span) -> Node {
        if is_macro(mac, "json") {
            let mut nodes = Vec::new();
            self.json_value(mac.tokens.clone(), Some(span), &mut nodes);
            return seq(nodes);
        }
        if is_macro(mac, "stream") || is_macro(mac, "try_stream") {
            // `async_stream`'s bodies are statements: a body of their own, like an async block.
            if let Ok(stmts) = syn::Block::parse_within.parse2(mac.tokens.clone()) {
                let cancel = self.cancel;
                let id = self.with_body(None, |w| {
                    w.cancel = cancel;
                    seq(stmts.iter().map(|s| w.stmt(s)))
                });
                self.b.facts_mut().bodies[id].stream = true;
                return Node::Nested(id);
            }
        }
        if is_macro(mac, "select") {
            if let Ok(arms) = parse_select(mac.tokens.clone()) {
                return self.select(&arms, span);
            }
        }
        let name = last_ident(&mac.path).unwrap_or_default();
        let mark = if STD_MACROS.contains(&name.as_str()) {
            Node::empty()
        } else {
            let first = match mac.tokens.clone().into_iter().next() {
                Some(TokenTree::Ident(i)) => Some(unraw(&i.to_string())),
                _ => None,
            };
            self.mark(MarkKind::Macro { name, first }, span)
        };
        // format!-like, assert*!, vec! and any other macro: a comma-separated expression list,
        // or nothing when the body is not one.
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        let args = match parser.parse2(mac.tokens.clone()) {
            Ok(exprs) => self.exprs(&exprs),
            Err(_) => Node::empty(),
        };
        seq([args, mark])
    }

    /// The wire names of a serialised enum's variants (`#[derive(Serialize)]`), after its
    /// `rename_all` and their `rename`.
    fn serde_enum(&mut self, e: &syn::ItemEnum) {
        let derives_serialize = e.attrs.iter().any(|a| {
            a.path().is_ident("derive") && a.meta.to_token_stream().to_string().contains("Serialize")
        });
        if !derives_serialize {
            return;
        }
        let serde_value = |attrs: &[syn::Attribute], key: &str| -> Option<String> {
            let mut found = None;
            for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
                let _ = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident(key) {
                        if let Ok(value) = meta.value().and_then(|v| v.parse::<syn::LitStr>()) {
                            found = Some(value.value());
                        }
                    } else if meta.input.peek(Token![=]) {
                        let _ = meta.value().and_then(|v| v.parse::<Expr>());
                    } else if meta.input.peek(syn::token::Paren) {
                        let _ = meta.parse_nested_meta(|inner| {
                            if inner.input.peek(Token![=]) {
                                let _ = inner.value().and_then(|v| v.parse::<Expr>());
                            }
                            Ok(())
                        });
                    }
                    Ok(())
                });
            }
            found
        };
        let rename_all = serde_value(&e.attrs, "rename_all");
        let enum_name = unraw(&e.ident.to_string());
        for variant in &e.variants {
            let name = unraw(&variant.ident.to_string());
            let wire = serde_value(&variant.attrs, "rename").unwrap_or_else(|| {
                rename_all.as_deref().map_or_else(|| name.clone(), |rule| rename(&name, rule))
            });
            let span = self.span_of(&variant.ident);
            self.b.facts_mut().wire_names.push(WireName { ty: enum_name.clone(), variant: name, wire, span });
        }
    }

    /// Records a mark in the current body; its node.
    fn mark(&mut self, kind: MarkKind, span: Span) -> Node {
        let body = self.b.body();
        let facts = self.b.facts_mut();
        facts.marks.push(Mark { kind, span, body });
        Node::Mark(facts.marks.len() - 1)
    }

    /// `select! { pat = future => handler, … }`: every future starts, one wins and its handler
    /// runs; the others are dropped at an `.await` (their bodies are cut there).
    fn select(&mut self, arms: &[SelectArm], span: Span) -> Node {
        let mut futures = Vec::new();
        for arm in arms {
            if let Some(future) = &arm.future {
                let outer = self.cancel.replace((self.expr_span(future), "select!"));
                let node = match core_expr(future) {
                    // An `async` block raced here is cut at its `.await`s: lowered in place.
                    Expr::Async(a) => self.block(&a.block),
                    _ => self.expr(future),
                };
                self.cancel = outer;
                futures.push(node);
            }
        }
        let _ = span;
        let handlers: Vec<Node> = arms.iter().map(|arm| self.expr(&arm.handler)).collect();
        seq([seq(futures), branch(handlers)])
    }

    /// One `json!` value. `span` is the span the literal takes when it is an object (the whole
    /// `json!(…)` for the top level).
    fn json_value(&mut self, tokens: TokenStream, span: Option<Span>, nodes: &mut Vec<Node>) -> Value {
        let first = tokens.clone().into_iter().next().map(|t| t.span());
        let at = |w: &Self| first.map_or_else(|| span.unwrap_or_default(), |s| w.sp(s));
        self.nested(at, |w| Some(w.json_value_inner(tokens, span, nodes))).unwrap_or(Value::Other)
    }

    fn json_value_inner(&mut self, tokens: TokenStream, span: Option<Span>, nodes: &mut Vec<Node>) -> Value {
        let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
        if let [TokenTree::Group(g)] = trees.as_slice() {
            match g.delimiter() {
                Delimiter::Brace => {
                    let span = span.unwrap_or_else(|| self.sp(g.span()));
                    return Value::Map(self.json_object(g.stream(), span, nodes));
                }
                Delimiter::Bracket => {
                    for element in split_commas(g.stream()) {
                        self.json_value(element, None, nodes);
                    }
                    return Value::Other;
                }
                _ => {}
            }
        }
        if let [TokenTree::Literal(lit)] = trees.as_slice() {
            if let Ok(s) = syn::parse2::<syn::LitStr>(TokenTree::Literal(lit.clone()).into()) {
                return Value::Str(s.value(), self.sp(lit.span()));
            }
            return Value::Other;
        }
        if trees.len() == 1
            && matches!(&trees[0], TokenTree::Ident(i) if i == "null" || i == "true" || i == "false")
        {
            return Value::Other;
        }
        match syn::parse2::<Expr>(tokens) {
            Ok(expr) => {
                nodes.push(self.expr(&expr));
                match self.str_value(&expr) {
                    Some((s, span)) => Value::Str(s, span),
                    None => Value::Other,
                }
            }
            Err(_) => Value::Other,
        }
    }

    fn json_object(&mut self, tokens: TokenStream, span: Span, nodes: &mut Vec<Node>) -> usize {
        let idx = self.b.new_literal(span, LiteralKind::Json);
        for entry in split_commas(tokens) {
            let trees: Vec<TokenTree> = entry.into_iter().collect();
            let Some(colon) = key_colon(&trees) else {
                self.b.incomplete(idx);
                continue;
            };
            let key_tokens: TokenStream = trees[..colon].iter().cloned().collect();
            let value_tokens: TokenStream = trees[colon + 1..].iter().cloned().collect();
            let value_span = match (trees.get(colon + 1), trees.last()) {
                (Some(first), Some(last)) => self.sp(first.span()).join(self.sp(last.span())),
                _ => Span::default(),
            };
            let key = match trees[..colon] {
                [TokenTree::Literal(ref lit)] => {
                    syn::parse2::<syn::LitStr>(key_tokens).ok().map(|s| (s.value(), self.sp(lit.span())))
                }
                _ => None,
            };
            // A nested object is a literal of its own, just created: the entry's value.
            let value = self.json_value(value_tokens, None, nodes);
            if let Value::Map(child) = value {
                self.b.adopt(idx, child);
            }
            match key {
                Some((key, key_span)) => {
                    self.b.push_entry(idx, Entry { key, key_span, value, value_span });
                }
                None => self.b.incomplete(idx),
            }
        }
        nodes.push(Node::Literal(idx));
        idx
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
        self.expr_span(e)
    }

    /// The value of `&x`, `(x)`, `x.clone()`, `x.into()` … is `x`'s.
    fn value_span(&self, e: &Expr) -> Span {
        self.expr_span(core_expr(e))
    }

    /// The value of a string literal, seen through conversions that keep it.
    fn str_value(&self, e: &Expr) -> Option<(String, Span)> {
        match e {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some((s.value(), self.span_of(s))),
            // `TOOL_EXECUTING`, `Self::TOOL_EXECUTING`, `Events::TOOL_EXECUTING`: a string constant
            // of this file.
            Expr::Path(p) if p.qself.is_none() && p.path.segments.len() <= 2 => {
                let name = last_ident(&p.path)?;
                self.consts.get(&name).map(|v| (v.clone(), self.span_of(&p.path)))
            }
            Expr::Reference(r) => self.str_value(&r.expr),
            Expr::Paren(p) => self.str_value(&p.expr),
            Expr::Group(g) => self.str_value(&g.expr),
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "to_string" | "into" | "to_owned" | "as_str"
                    ) =>
            {
                self.str_value(&m.receiver)
            }
            Expr::Call(c) if c.args.len() == 1 => match &*c.func {
                Expr::Path(p)
                    if p.path.segments.len() >= 2
                        && matches!(
                            last_ident(&p.path).as_deref(),
                            Some("from" | "String") // String::from("x"), Value::String("x".into())
                        ) =>
                {
                    self.str_value(&c.args[0])
                }
                _ => None,
            },
            Expr::Macro(m) if is_macro(&m.mac, "json") => match syn::parse2::<Expr>(m.mac.tokens.clone()) {
                Ok(inner) => self.str_value(&inner),
                Err(_) => None,
            },
            _ => None,
        }
    }

    /// A member chain: `self.ctx.ws.as_ref()?.send`.
    fn chain(&self, e: &Expr) -> Option<Chain> {
        if chain_len(e) > MAX_CHAIN {
            return None;
        }
        let (mut chain, seg, last) = match e {
            Expr::Path(p) if p.qself.is_none() => {
                let root = match p.path.get_ident() {
                    Some(i) if i == "self" => Root::SelfValue,
                    Some(i) => Root::Ident(unraw(&i.to_string())),
                    None => Root::Other,
                };
                return Some(Chain { root, root_span: self.expr_span(e), segs: Vec::new() });
            }
            Expr::Call(c) => {
                let root = match &*c.func {
                    Expr::Path(p) => Root::Call(self.resolve(&p.path)),
                    _ => Root::Other,
                };
                return Some(Chain { root, root_span: self.expr_span(e), segs: Vec::new() });
            }
            Expr::Field(f) => {
                let name = match &f.member {
                    syn::Member::Named(i) => unraw(&i.to_string()),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                (self.chain(&f.base)?, (SegKind::Field, name), f.member.span())
            }
            Expr::MethodCall(m) => (
                self.chain(&m.receiver)?,
                (SegKind::Method(m.args.len()), unraw(&m.method.to_string())),
                m.paren_token.span.close(),
            ),
            Expr::Try(t) => (self.chain(&t.expr)?, (SegKind::Try, String::new()), t.question_token.span),
            Expr::Await(a) => (self.chain(&a.base)?, (SegKind::Await, String::new()), a.await_token.span),
            Expr::Index(i) => {
                (self.chain(&i.expr)?, (SegKind::Index, String::new()), i.bracket_token.span.close())
            }
            Expr::Paren(p) => return self.chain(&p.expr),
            Expr::Group(g) => return self.chain(&g.expr),
            Expr::Reference(r) => return self.chain(&r.expr),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => return self.chain(&u.expr),
            _ => return Some(Chain { root: Root::Other, root_span: self.expr_span(e), segs: Vec::new() }),
        };
        // The access's last token, not the whole expression's span, which costs its length.
        let end = self.sp(last).end;
        chain.segs.push(Seg { kind: seg.0, name: seg.1, span: Span::new(chain.root_span.start, end) });
        Some(chain)
    }
}

fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut parts = Vec::new();
    let mut current = Vec::new();
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(tree),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts.into_iter().filter(|p| !p.is_empty()).map(|p| p.into_iter().collect()).collect()
}

/// The index of the `:` between a `json!` key and its value (not part of a `::`).
fn key_colon(trees: &[TokenTree]) -> Option<usize> {
    trees.iter().enumerate().position(|(i, t)| {
        let TokenTree::Punct(p) = t else { return false };
        if p.as_char() != ':' {
            return false;
        }
        let joint_next = p.spacing() == Spacing::Joint;
        let after_colon = i > 0 && matches!(&trees[i - 1], TokenTree::Punct(q) if q.as_char() == ':' && q.spacing() == Spacing::Joint);
        !joint_next && !after_colon
    })
}

type StaticDecl = (syn::Ident, Type, Expr);

/// The body of `lazy_static! { [pub] static ref NAME: T = expr; … }` or
/// `thread_local! { [pub] static NAME: T = [const] expr; … }`.
fn parse_static_decls(input: ParseStream, lazy: bool) -> syn::Result<Vec<StaticDecl>> {
    let mut decls = Vec::new();
    while !input.is_empty() {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        input.parse::<Token![static]>()?;
        if lazy {
            input.parse::<Token![ref]>()?;
        }
        let name: syn::Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        input.parse::<Token![=]>()?;
        let init: Expr = if input.peek(Token![const]) && input.peek2(syn::token::Brace) {
            input.parse::<Token![const]>()?;
            let block: syn::Block = input.parse()?;
            Expr::Block(syn::ExprBlock { attrs: Vec::new(), label: None, block })
        } else {
            input.parse()?
        };
        decls.push((name, ty, init));
        if input.is_empty() {
            break;
        }
        input.parse::<Token![;]>()?;
    }
    Ok(decls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::render::render;

    /// A large file is lowered in runs, or item by item, to the same facts as whole, when its
    /// `use` items come before their uses (as in every file of the legacy fixture). The runs are
    /// cut small here so that every file is cut.
    #[test]
    fn item_by_item_lowering_gives_the_facts_of_the_whole_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/legacy-backend");
        let mut files = 0;
        for dir in ["src", "src/agents", "tests"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let crates = ["agent_events".to_owned()];
                let whole = parse_whole(0, &text, &text, &crates).unwrap();
                let by_item = parse_item_by_item(0, &text, &text, &crates).unwrap();
                proc_macro2::extra::invalidate_current_thread_spans();
                assert_eq!(render(&by_item, &text), render(&whole, &text), "{}", path.display());
                let cuts = crate::comments::rust_item_cuts(&text, 1).len();
                assert!(cuts >= 1, "{} is not cut", path.display());
                let by_runs = parse_in_runs(0, &text, &text, &crates, 1).unwrap();
                assert_eq!(render(&by_runs, &text), render(&whole, &text), "{}", path.display());
                files += 1;
            }
        }
        assert!(files >= 10, "{files} files");
        // Syntax errors are reported at the same place.
        let broken = "fn a() {}\nfn b( {}\n";
        assert_eq!(
            parse_item_by_item(0, broken, broken, &[]).unwrap_err(),
            parse_whole(0, broken, broken, &[]).unwrap_err()
        );
        assert_eq!(
            parse_in_runs(0, broken, broken, &[], 1).unwrap_err(),
            parse_whole(0, broken, broken, &[]).unwrap_err()
        );
        // A `}` that an item goes on after is no cut.
        let text = "const A: u8 = if true { 1 } else { 2 };\nstatic B: S = S { x: 1 }.y();\nfn c() {}\n";
        assert_eq!(crate::comments::rust_item_cuts(text, 1), [39, 69, 79]);
    }

    /// Lowers `src` and snapshots the source followed by its facts.
    fn snapshot(name: &str, src: &str) {
        let facts = parse(src, &["agent_events".to_owned()]).expect("parses");
        insta::assert_snapshot!(name, format!("{src}----\n{}", render(&facts, src)));
    }

    #[test]
    fn calls_and_member_chains() {
        snapshot(
            "calls",
            r#"use crate::ws::get_manager as gm;
fn run(&self, ctx: &Ctx) -> Result<(), E> {
    gm().send_all("hi".to_string());
    self.ctx.ws.as_ref()?.send(&event, move |x| x.done()).await;
    agent_events::Run::start(TOOL_NAME, String::from("x"), json!("y"));
    ws[0].items.len();
    (make())(1);
    Ok(())
}
const TOOL_NAME: &str = "search";
"#,
        );
    }

    #[test]
    fn map_literals() {
        snapshot(
            "literals",
            r#"fn f(id: u32) {
    let ev = json!({"type": "tool_executing", "data": {"tool_name": "x", "n": 1}, k: 2, "list": [{"a": "b"}]});
    send(json!({"type": KIND}), Event { kind: "agent_started".into(), payload: json!({"x": "y"}), ..Default::default() });
    let m = HashMap::from([("type", "agent_thinking"), ("nested", Inner { a: "b" }), (key, "v"), other]);
    let n = BTreeMap::from_iter([("k", String::from("v"))]);
}
const KIND: &str = "agent_completed";
"#,
        );
    }

    #[test]
    fn bindings_and_index_assigns() {
        snapshot(
            "bindings",
            r#"fn f(ctx: &Ctx) {
    let m = &ctx.ws;
    let plain = x;
    let (a, b) = (ctx.a, ctx.b);
    if let Some(w) = &self.ctx.websocket { w.send(); }
    while let Some(item) = queue.pop() { item.go(); }
    match &ctx.manager { Some(mgr) => mgr.notify(), None => {} }
    let Some(inner) = ctx.inner.get() else { return };
    let mut ev = json!({});
    ev["type"] = "tool_executing".into();
    ev["data"]["tool_name"] = json!("search");
    ev[key]["x"] = "y";
    (*ev)["z"] = "no";
    ev["w"] = value;
}
"#,
        );
    }

    #[test]
    fn items_statics_and_mentions() {
        snapshot(
            "items",
            r#"use std::sync::{Arc, Mutex as M};
use agent_events::{self, EventSink as Sink};
use crate::ws::*;
static MANAGER: Lazy<Arc<M<WebSocketManager>>> = Lazy::new(|| Arc::new(M::new(WebSocketManager::new())));
lazy_static! { pub static ref GLOBAL: Mutex<Registry> = Mutex::new(Registry::default()); }
thread_local! { static LOCAL: RefCell<Option<Conn>> = const { RefCell::new(None) }; }
struct Emitter { sink: Arc<dyn Sink>, f: fn(Event) -> Out }
enum E { A(Box<Payload>), B { c: Vec<Item> } }
type Alias = HashMap<String, Value>;
#[agent_events::handler]
impl Sink for Emitter {
    #[tracing::instrument]
    fn deliver(&self, event: &Event) -> Result<(), SinkError> { agent_events::deliver(event) }
    const NAME: &'static str = "emitter";
}
trait Notifier { fn notify_agent_started(&self, id: &str); fn helper(&self) { self.notify_agent_started("x") } }
impl<T: Into<String>> Generic<T> where T: Clone { fn new<U: AsRef<str>>(x: U) -> Self { Self::build(x) } }
impl agent_events::EventSink for Audit { fn deliver(&self) {} }
mod inner { pub fn nested(x: impl Iterator<Item = Event>) {} }
fn r#type() { crate::ws::util::call(); Foo::BAR; }
"#,
        );
    }

    #[test]
    fn control_flow_trees() {
        snapshot(
            "control_flow",
            r#"fn flow(e: &E) -> Result<(), Error> {
    e.a();
    if e.b() { e.c()?; } else if e.d() && e.e() { return Err(e.f()); } else { e.g(); }
    'outer: loop {
        for x in e.h() { if x.i() { break 'outer; } continue; }
        while let Some(y) = e.j() { y.k(); }
        break;
    }
    match e.l() { A if e.m() => e.n(), B => {} _ => { e.o(); } }
    match never {}
    let v = e.p() || e.q();
    unsafe { e.r(); }
    e.s().await?;
    Ok(())
}
"#,
        );
    }

    #[test]
    fn closures_async_and_nested_bodies() {
        snapshot(
            "bodies",
            r#"async fn outer(e: &E) {
    let c = |a, (b, _)| { e.in_closure(a); };
    let fut = async move { e.in_async().await };
    spawn(async { e.spawned() });
    try_run(|| e.try_it());
    fn inner() { helper(); }
    e.after();
}
"#,
        );
    }

    #[test]
    fn serde_renames_variants_like_serde() {
        for (rule, wire) in [
            ("snake_case", "tool_call_requested"),
            ("camelCase", "toolCallRequested"),
            ("PascalCase", "ToolCallRequested"),
            ("kebab-case", "tool-call-requested"),
            ("SCREAMING_SNAKE_CASE", "TOOL_CALL_REQUESTED"),
            ("SCREAMING-KEBAB-CASE", "TOOL-CALL-REQUESTED"),
            ("lowercase", "toolcallrequested"),
            ("UPPERCASE", "TOOLCALLREQUESTED"),
        ] {
            assert_eq!(rename("ToolCallRequested", rule), wire, "{rule}");
        }
        let facts = parse(
            "#[derive(Debug, serde::Serialize)]\n#[serde(tag = \"type\", rename_all = \"snake_case\")]\nenum E { A, #[serde(rename = \"bee\", alias = \"b\")] B(u8), #[serde(skip)] C }\n#[derive(Debug)] enum N { X }",
            &[],
        )
        .unwrap();
        let wire: Vec<String> =
            facts.wire_names.iter().map(|w| format!("{}::{}={}", w.ty, w.variant, w.wire)).collect();
        assert_eq!(wire, ["E::A=a", "E::B=bee", "E::C=c"]);
    }

    #[test]
    fn macros() {
        snapshot(
            "macros",
            r#"fn m(e: &E) {
    println!("{}", e.formatted());
    assert_eq!(e.left(), json!({"type": "agent_started"}));
    vec![e.one(), e.two()];
    my_macro!(this is not an expression list);
    macro_rules! local { () => { e.never() }; }
}
"#,
        );
    }

    #[test]
    fn comments_of_a_file() {
        let src = "// head\nfn f() { let s = \"// not\"; /* inline */ }\n  // own line\n";
        let comments: Vec<(&str, bool)> = crate::comments::rust_comments(src)
            .iter()
            .map(|c| (&src[c.span.start..c.span.end], c.own_line))
            .collect();
        insta::assert_debug_snapshot!("comments", comments);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        // `syn` parses the values of `return`, `break` and `yield`, and the subpatterns of `@`,
        // recursively: these count as levels too.
        for src in [
            format!("fn f() {{ {}x; }}", "!".repeat(100_000)),
            format!("fn f() {{ {}1{}; }}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("fn f() {{ {}1; }}", "return ".repeat(100_000)),
            format!("fn f() {{ loop {{ {}1; }} }}", "break ".repeat(100_000)),
            format!("fn f() {{ {}1; }}", "yield ".repeat(100_000)),
            format!("fn f() {{ let {}a = 1; }}", "a @ ".repeat(100_000)),
        ] {
            let e = parse(&src, &[]).expect_err("too deep");
            assert!(e.message.contains("nests deeper than"), "{}", e.message);
        }
    }

    #[test]
    fn deep_trees_the_estimate_misses_are_refused_by_the_walk() {
        // Postfix chains and `else if` chains parse without recursion and nest without brackets
        // or operators the estimate counts: the walk's guard refuses them, on a small stack.
        let n = 100_000;
        for src in [
            format!("fn f() {{ a{}; }}", "(1)".repeat(n)),
            format!("fn f() {{ a{}; }}", "[0]".repeat(n)),
            format!("fn f() {{ if a {{}}{} }}", " else if a {}".repeat(n)),
            format!("fn f() {{ let x = 1{}; }}", " as u8".repeat(n)),
        ] {
            assert!(check_nesting(&src).is_ok());
            let e = parse(&src, &[]).expect_err("too deep");
            assert!(e.message.contains("nests deeper than 2000 levels"), "{}", e.message);
        }
        // Deep but within the limit: linted.
        let src = format!("fn f() {{ a{}.notify_agent_started(); }}", "(1)".repeat(1_500));
        let facts = parse(&src, &[]).expect("parses");
        let names: Vec<&str> = facts.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "notify_agent_started"]);
    }
}
