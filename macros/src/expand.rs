//! The code written around an instrumented function: it only calls
//! `agent_events::macro_support` (the runtime's hidden module for macro-written code), and keeps
//! the signature, the return type, the body and the `Send`-ness of the future as they were.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, FnArg, GenericArgument, Pat, PathArguments, ReturnType, Signature, Stmt, Type};

use crate::attr::{Errors, Options, Render, Role};

/// The last path segment of a type, seen through references.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) => p.path.segments.last(),
        Type::Reference(r) => last_segment(&r.elem),
        Type::Paren(p) => last_segment(&p.elem),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

fn is_run_type(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Run")
}

/// Whether a type's path names the runtime crate (`agent_events::Run`, `&::agent_events::Run`).
fn names_agent_events(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => names_agent_events(&r.elem),
        Type::Paren(p) => names_agent_events(&p.elem),
        Type::Group(g) => names_agent_events(&g.elem),
        Type::Path(p) => p.path.segments.iter().any(|s| s.ident == "agent_events"),
        _ => false,
    }
}

/// Whether a return type is a future the function builds itself (`impl Future<…>`,
/// `Pin<Box<dyn Future<…>>>`).
fn is_built_future(ty: &Type) -> bool {
    let bound_is_future = |b: &syn::TypeParamBound| match b {
        syn::TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    };
    match ty {
        Type::ImplTrait(i) => i.bounds.iter().any(bound_is_future),
        _ => future_output(ty).is_some(),
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    quote!(#ty).to_string().split_whitespace().any(|t| t == "impl")
}

/// `Pin<Box<dyn Future<Output = R> + Send + 'a>>` → `R` (what `#[async_trait]` writes).
fn future_output(ty: &Type) -> Option<&Type> {
    let pin = last_segment(ty).filter(|s| s.ident == "Pin")?;
    let boxed = first_type_arg(&pin.arguments)?;
    let boxed = last_segment(boxed).filter(|s| s.ident == "Box")?;
    let Type::TraitObject(object) = first_type_arg(&boxed.arguments)? else { return None };
    object.bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            let seg = t.path.segments.last().filter(|s| s.ident == "Future")?;
            match &seg.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                    GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
                    _ => None,
                }),
                _ => None,
            }
        }
        _ => None,
    })
}

fn first_type_arg(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// The `async move { … }` inside `Box::pin(…)` when the body is what `#[async_trait]` writes.
fn async_trait_block(block: &mut Block) -> Option<&mut syn::ExprAsync> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last_mut() else { return None };
    let Expr::Path(func) = &*call.func else { return None };
    let segs: Vec<String> = func.path.segments.iter().map(|s| s.ident.to_string()).collect();
    if !segs.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    match call.args.first_mut() {
        Some(Expr::Async(inner)) => Some(inner),
        _ => None,
    }
}

struct RunParam {
    ident: syn::Ident,
    by_ref: bool,
}

/// Instruments one function by rewriting `block` in place: the body (for `#[async_trait]`, the
/// `async move` block it boxes) is wrapped in the code that opens and closes the tool call or
/// run. Errors go to `errors`; on an error that leaves nothing to instrument, `block` is left
/// as it was.
pub fn instrument(role: Role, options: &Options, sig: &Signature, block: &mut Block, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.at(constness.span(), "a `const fn` cannot emit agent events");
        return;
    }
    let typed: Vec<(&syn::PatType, Option<&syn::Ident>)> = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .map(|t| {
            let ident = match &*t.pat {
                Pat::Ident(p) => Some(&p.ident),
                _ => None,
            };
            (t, ident)
        })
        .collect();

    let run_param = match &options.run {
        Some(name) => match typed.iter().find(|(_, ident)| *ident == Some(name)) {
            Some((t, _)) => {
                Some(RunParam { ident: name.clone(), by_ref: matches!(&*t.ty, Type::Reference(_)) })
            }
            None => {
                errors.at(name.span(), format!("there is no parameter `{name}`"));
                return;
            }
        },
        None => {
            // Of the parameters typed `…::Run`: the one whose path says `agent_events::Run`, else
            // the one named `run`, else the only one; two that nothing tells apart are an error.
            let candidates: Vec<&(&syn::PatType, Option<&syn::Ident>)> =
                typed.iter().filter(|(t, _)| is_run_type(&t.ty)).collect();
            let from_crate: Vec<_> = candidates.iter().filter(|(t, _)| names_agent_events(&t.ty)).collect();
            let named_run: Vec<_> =
                candidates.iter().filter(|(_, ident)| ident.is_some_and(|i| i == "run")).collect();
            let chosen = match (candidates.as_slice(), from_crate.as_slice(), named_run.as_slice()) {
                ([only], _, _) => Some(*only),
                (_, [one], _) => Some(**one),
                (_, _, [one]) => Some(**one),
                ([], _, _) => None,
                ([first, second, ..], _, _) => {
                    let name = |p: &(&syn::PatType, Option<&syn::Ident>)| {
                        p.1.map_or_else(|| "_".to_owned(), ToString::to_string)
                    };
                    errors.at(
                        second.0.span(),
                        format!(
                            "two parameters could be the `Run`: `{}` and `{}`; write the type as `agent_events::Run`, or say which with `run = {}`",
                            name(first),
                            name(second),
                            name(first)
                        ),
                    );
                    return;
                }
            };
            chosen.and_then(|(t, ident)| match ident {
                Some(ident) => {
                    Some(RunParam { ident: (*ident).clone(), by_ref: matches!(&*t.ty, Type::Reference(_)) })
                }
                None => {
                    errors.at(t.pat.span(), "name the `Run` parameter (a pattern cannot be used to emit)");
                    None
                }
            })
        }
    };
    let Some(run_param) = run_param else {
        let what = match role {
            Role::Tool => "a tool needs the run it belongs to: add a parameter `run: &agent_events::Run`, or name it with `run = …`",
            Role::Run => "the run entry point needs its run: add a parameter `run: agent_events::Run`, or name it with `run = …`",
        };
        errors.at(sig.ident.span(), what);
        return;
    };
    if role == Role::Run && run_param.by_ref {
        errors.at(
            run_param.ident.span(),
            "the run entry point takes its `Run` by value, so that it closes the run; tools take `&Run`",
        );
    }
    if role == Role::Tool {
        for (t, ident) in &typed {
            if ident.is_none() && !is_run_type(&t.ty) {
                let what = match &*t.pat {
                    Pat::Wild(_) => "an unnamed parameter (`_`) cannot be recorded in `parameters`: give it a name (`_flags: u8`), and `skip(_flags)` to leave it out",
                    _ => "a pattern parameter cannot be recorded in `parameters`: name it (`pair: (u32, u32)`) and take it apart in the body",
                };
                errors.at(t.pat.span(), what);
            }
        }
    }
    for skipped in &options.skip {
        if !typed.iter().any(|(_, ident)| *ident == Some(skipped)) {
            errors.at(skipped.span(), format!("there is no parameter `{skipped}` to skip"));
        }
    }

    // What the function returns, as far as the body is concerned.
    let (is_async, output, inner_async) = match (&sig.asyncness, &sig.output) {
        (Some(_), ReturnType::Type(_, ty)) => (true, Some((**ty).clone()), false),
        (Some(_), ReturnType::Default) => (true, None, false),
        (None, ReturnType::Type(_, ty)) => match future_output(ty) {
            Some(inner) if async_trait_block(&mut block.clone()).is_some() => {
                (true, Some(inner.clone()), true)
            }
            _ if is_built_future(ty) => {
                errors.at(
                    ty.span(),
                    "a function that returns a future it builds cannot be instrumented (the call would close before the future runs): write it as an `async fn`",
                );
                return;
            }
            _ => (false, Some((**ty).clone()), false),
        },
        (None, ReturnType::Default) => (false, None, false),
    };
    let ret_span = output.as_ref().map_or_else(|| sig.ident.span(), |t| t.span());

    let call = format_ident!("__agent_events_call", span = Span::mixed_site());
    let run_handle = format_ident!("__agent_events_run", span = Span::mixed_site());
    let out = format_ident!("__agent_events_out", span = Span::mixed_site());
    let value = format_ident!("__agent_events_value", span = Span::mixed_site());
    let runtime = crate::attr::runtime_path(options.krate.as_ref());
    let ms = quote!(#runtime::macro_support);

    // A method named at the return type, so that a value that cannot be rendered is reported
    // there.
    let render = |v: &syn::Ident| {
        let method = match options.render {
            Render::Serialize => format_ident!("serialized", span = ret_span),
            Render::Display => format_ident!("displayed", span = ret_span),
            Render::Debug => format_ident!("debugged", span = ret_span),
        };
        quote!({
            use #ms::Show as _;
            #ms::Shown(#v).#method()
        })
    };

    // `debug` sends the error with `Debug` too; otherwise an error type must be `Display`.
    let debug = if options.render == Render::Debug { "_debug" } else { "" };
    // Closing methods are named at the return type: rustc reports a method's unmet bound (an
    // error type that is not `Display`) at its name.
    let (close_tool, close_run) = (
        format_ident!("close_tool{debug}", span = ret_span),
        format_ident!("close_run{debug}", span = ret_span),
    );
    let run_ident = &run_param.ident;
    let run_ref = if run_param.by_ref { quote!(#run_ident) } else { quote!(&#run_ident) };
    let (open, close_ok) = match role {
        Role::Tool => {
            let tool_name = options
                .name
                .as_ref()
                .map_or_else(|| sig.ident.to_string().trim_start_matches("r#").to_owned(), |n| n.value());
            if let Some(name) =
                options.name.as_ref().filter(|n| !agent_events_schema::is_custom_type_name(&n.value()))
            {
                errors.at(
                    name.span(),
                    format!(
                        "`{}` is not a valid tool name: use lower snake case (`[a-z][a-z0-9_]*`)",
                        name.value()
                    ),
                );
            }
            // Each parameter is one `push`, carrying the parameter's own `#[cfg]`s, so that a
            // parameter compiled out is left out of `parameters` too.
            let list = format_ident!("__agent_events_parameters", span = Span::mixed_site());
            let params = typed.iter().filter_map(|(t, ident)| {
                let ident = (*ident)?;
                if ident == run_ident || options.skip.contains(ident) {
                    return None;
                }
                let key = ident.to_string().trim_start_matches("r#").to_owned();
                let span = t.ty.span();
                let cfgs = t.attrs.iter().filter(|a| a.path().is_ident("cfg"));
                Some(quote_spanned!(span=> #(#cfgs)* #list.push((#key, #ms::ToolParameter::to_parameter(&#ident)));))
            });
            let rendered = render(&value);
            (
                quote! {
                    let #call = {
                        #[allow(unused_mut)]
                        let mut #list = ::std::vec::Vec::new();
                        #(#params)*
                        #ms::open_tool(#run_ref, #tool_name, #ms::parameter_list(#list))
                    };
                },
                quote!(#ms::tool_ok(#call, #rendered)),
            )
        }
        Role::Run => {
            let rendered = render(&value);
            (quote!(let #run_handle = #ms::keep_run(#run_ref);), quote!(#ms::run_ok(#run_handle, #rendered)))
        }
    };
    let close = match options.err {
        Some(false) => quote! {{ let #value = &#out; #close_ok; }},
        // Whether it failed is decided by the real type (an alias of `Result`, `anyhow::Result`
        // and a plain value all behave as they are), by autoref dispatch on `&&Outcome`; `err`
        // adds a check that the type is a `Result`.
        forced => {
            let (method, handle) = match role {
                Role::Tool => (&close_tool, quote!(#call)),
                Role::Run => (&close_run, quote!(#run_handle)),
            };
            let check = forced.map(|_| {
                let forced_result = format_ident!("forced_result", span = ret_span);
                quote!(#ms::Outcome(&#out).#forced_result();)
            });
            let rendered = render(&value);
            quote_spanned! {ret_span=> {
                #[allow(unused_imports)]
                use #ms::{ForcedResult as _, PlainOutcome as _, ResultOutcome as _};
                #check
                #[allow(clippy::needless_borrow, clippy::needless_borrows_for_generic_args)]
                (&&#ms::Outcome(&#out)).#method(#handle, |#value| #rendered);
            }}
        }
    };
    let annotated = output.as_ref().filter(|t| !contains_impl_trait(t));

    let body_of = |inner: &Block| -> TokenStream {
        // The body keeps its declared type (for `?` and `.into()` inside it) without a binding
        // after it, so a body that diverges (`todo!()`) warns of nothing; a sync body runs as an
        // `FnOnce`, so it may return a borrow of its inputs.
        let run_body = if is_async {
            match annotated {
                Some(ty) => quote!(#ms::future_of::<#ty, _>(async move #inner).await),
                None => quote!(async move #inner.await),
            }
        } else {
            match annotated {
                Some(ty) => quote!(#ms::call_once(move || -> #ty #inner)),
                None => quote!(#ms::call_once(move || #inner)),
            }
        };
        quote! {{
            #open
            let #out = #run_body;
            #close
            #out
        }}
    };

    if inner_async {
        if let Some(inner) = async_trait_block(block) {
            let new = body_of(&inner.block);
            inner.block = syn::parse2(new).expect("generated block parses");
        }
    } else {
        let new = body_of(block);
        *block = syn::parse2(new).expect("generated block parses");
    }
}
