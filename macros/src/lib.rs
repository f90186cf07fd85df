//! Procedural macros for `agent-events`: the emitter calls, written for the agent author.
//!
//! - `#[agent_events::tool]` on a function or method that takes `&Run` (or `Run`): a
//!   `tool_executing` before the body (its other parameters, but those in `skip(…)`, serialised
//!   into `parameters`) and exactly one `tool_completed` after it, with `results` or the error —
//!   also on `?`, early `return`, panic and cancellation.
//! - `#[agent_events::run]` on the run entry point, which takes its `Run` by value: the run is
//!   closed with the body's outcome (`completed` on success, `failed` on `Err`).
//! - `#[agent_events(name = "…")]` on an `impl` block: applies the two above to methods marked
//!   `#[tool]` / `#[run]` (bare or path-qualified) and, given `name`, adds `const AGENT_NAME`.
//! - `#[derive(AgentEvent)]`: an application event type for `run.emit_event(&event)`.
//!
//! The code the attributes write calls only `agent_events::macro_support`, a hidden module kept
//! for it; the derive implements the public `agent_events::AgentEvent`. Use them through the
//! `agent_events` crate, which re-exports them.

use proc_macro::TokenStream;
use quote::quote;
use syn::{ImplItem, Item};

mod attr;
mod derive;
mod expand;

use attr::{Errors, Role};

/// With errors, the item is passed through unchanged after them. An item that does not parse is
/// passed through too, so that rustc reports its syntax error, along with any errors in the
/// attribute's options.
fn instrument_item(role: Role, args: proc_macro2::TokenStream, item: TokenStream) -> TokenStream {
    let original: proc_macro2::TokenStream = item.clone().into();
    let mut errors = Errors::new();
    let options = attr::options(role, args, &mut errors);
    // A trait method without a body has nothing to instrument.
    if let Ok(method) = syn::parse2::<syn::TraitItemFn>(original.clone()) {
        if method.default.is_none() {
            errors.at(
                syn::spanned::Spanned::span(&method.sig),
                "an instrumented method needs a body: put the attribute on the `impl`'s method, or give the trait method a default body",
            );
            let e = errors.into_tokens();
            return quote!(#e #original).into();
        }
    }
    let Ok(mut parsed) = syn::parse::<Item>(item) else {
        let e = errors.into_tokens();
        return quote!(#e #original).into();
    };
    match &mut parsed {
        Item::Fn(f) => {
            refuse_track_caller(&f.attrs, &mut errors);
            expand::instrument(role, &options, &f.sig, &mut f.block, &mut errors)
        }
        other => {
            let what = if role == Role::Tool { "tool" } else { "run" };
            errors.at(
                syn::spanned::Spanned::span(other),
                format!("`#[agent_events::{what}]` goes on a function or method"),
            );
        }
    }
    match errors.into_tokens() {
        // The item as written, its `Run` parameter (which only the expansion would have used)
        // allowed to be unused: the errors are all the user sees.
        Some(e) => match syn::parse2::<Item>(original.clone()) {
            Ok(Item::Fn(mut f)) => {
                f.attrs.push(syn::parse_quote!(#[allow(unused_variables)]));
                quote!(#e #f).into()
            }
            _ => quote!(#e #original).into(),
        },
        None => quote!(#parsed).into(),
    }
}

/// `#[track_caller]` would have no effect: an instrumented body runs inside a closure.
fn refuse_track_caller(attrs: &[syn::Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("track_caller")) {
        errors.at(
            syn::spanned::Spanned::span(attr),
            "`#[track_caller]` has no effect on an instrumented function (its body runs inside a closure): remove it",
        );
    }
}

/// Instruments a tool: see the crate docs.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument_item(Role::Tool, args.into(), item)
}

/// Instruments a run entry point: see the crate docs.
#[proc_macro_attribute]
pub fn run(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument_item(Role::Run, args.into(), item)
}

/// The role a helper attribute (by its path) gives a method: `#[tool]`, `#[run]`,
/// `#[agent_events::tool]` …
fn helper_role(path: &syn::Path) -> Option<Role> {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segs.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["tool"] | ["agent_events", "tool"] => Some(Role::Tool),
        ["run"] | ["agent_events", "run"] => Some(Role::Run),
        _ => None,
    }
}

/// An `impl` block that does not parse, as tokens: the `#[tool]` / `#[run]` attributes on its
/// methods are taken out (rustc would report them as unknown) after their options are checked.
/// Any other item is returned as it is.
fn unparsed_impl(item: proc_macro2::TokenStream, errors: &mut Errors) -> proc_macro2::TokenStream {
    use proc_macro2::{Delimiter, Group, TokenTree};

    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let keyword = tokens.iter().find_map(|t| match t {
        TokenTree::Ident(i) if !matches!(i.to_string().as_str(), "pub" | "unsafe" | "default") => Some(i),
        _ => None,
    });
    if keyword.is_none_or(|k| k != "impl") {
        return tokens.into_iter().collect();
    }
    let body = tokens.iter_mut().rev().find_map(|t| match t {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g),
        _ => None,
    });
    let Some(body) = body else { return tokens.into_iter().collect() };
    let inner: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut kept = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if let (TokenTree::Punct(hash), Some(TokenTree::Group(attr))) = (&inner[i], inner.get(i + 1)) {
            if hash.as_char() == '#' && attr.delimiter() == Delimiter::Bracket {
                if let Ok(meta) = syn::parse2::<syn::Meta>(attr.stream()) {
                    if let Some(role) = helper_role(meta.path()) {
                        let args = match meta {
                            syn::Meta::List(list) => list.tokens,
                            _ => proc_macro2::TokenStream::new(),
                        };
                        attr::options(role, args, errors);
                        i += 2;
                        continue;
                    }
                }
            }
        }
        kept.push(inner[i].clone());
        i += 1;
    }
    let mut stripped = Group::new(Delimiter::Brace, kept.into_iter().collect());
    stripped.set_span(body.span());
    *body = stripped;
    tokens.into_iter().collect()
}

/// Instruments the methods of an agent's `impl` block marked `#[tool]` or `#[run]`.
#[proc_macro_attribute]
pub fn agent_events(args: TokenStream, item: TokenStream) -> TokenStream {
    let original: proc_macro2::TokenStream = item.clone().into();
    let mut errors = Errors::new();
    let name = attr::impl_options(args.into(), &mut errors);
    let Ok(mut parsed) = syn::parse::<Item>(item) else {
        // rustc reports the syntax error in the item passed through; the options' errors go with it.
        let item = unparsed_impl(original, &mut errors);
        let e = errors.into_tokens();
        return quote!(#e #item).into();
    };
    let Item::Impl(block) = &mut parsed else {
        errors.at(
            syn::spanned::Spanned::span(&parsed),
            "`#[agent_events]` goes on an agent's `impl` block; on a function use `#[agent_events::run]` or `#[agent_events::tool]`",
        );
        let e = errors.into_tokens();
        return quote!(#e #original).into();
    };
    for impl_item in &mut block.items {
        let ImplItem::Fn(method) = impl_item else { continue };
        let mut helpers = Vec::new();
        method.attrs.retain(|a| match helper_role(a.path()) {
            Some(role) => {
                helpers.push((role, a.clone()));
                false
            }
            None => true,
        });
        if helpers.len() > 1 {
            errors.at(
                syn::spanned::Spanned::span(&helpers[1].1),
                "a method is either one tool or the run entry point",
            );
        }
        if let Some((role, attr)) = helpers.into_iter().next() {
            let args = match &attr.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                _ => proc_macro2::TokenStream::new(),
            };
            let before = errors.len();
            let options = attr::options(role, args, &mut errors);
            refuse_track_caller(&method.attrs, &mut errors);
            expand::instrument(role, &options, &method.sig, &mut method.block, &mut errors);
            if errors.len() > before {
                // As for a function: the errors are all the user sees.
                method.attrs.push(syn::parse_quote!(#[allow(unused_variables)]));
            }
        }
    }
    if let Some(name) = &name {
        if block.trait_.is_some() {
            errors
                .at(name.span(), "`name` adds `const AGENT_NAME` and only works on an inherent `impl` block");
        } else {
            block.items.push(syn::parse_quote!(
                /// The agent's name, for `RunContext::new(user, thread, Self::AGENT_NAME)`.
                pub const AGENT_NAME: &'static str = #name;
            ));
        }
    }
    match errors.into_tokens() {
        Some(e) => quote!(#e #parsed).into(),
        None => quote!(#parsed).into(),
    }
}

/// Derives `agent_events::AgentEvent` for an application event type.
#[proc_macro_derive(AgentEvent, attributes(agent_event))]
pub fn derive_agent_event(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => derive::derive(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
