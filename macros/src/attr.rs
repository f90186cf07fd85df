//! The attribute arguments, parsed into a checked model; every misuse is collected with the
//! span of the offending token.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Token};

/// Collects every error, to report them all at once.
///
/// The errors must be taken with [`Errors::into_tokens`] on every path: dropping an `Errors`
/// that was not taken would lose them, so it panics (as serde_derive's `Ctxt` does), and the
/// macro's caller sees the bug instead of a silently accepted attribute.
pub struct Errors {
    /// `None` once taken.
    errors: Option<Vec<syn::Error>>,
}

impl Errors {
    pub fn new() -> Self {
        Errors { errors: Some(Vec::new()) }
    }

    pub fn push(&mut self, error: syn::Error) {
        self.errors.as_mut().expect("errors pushed after they were taken").push(error);
    }

    /// How many errors were collected so far.
    pub fn len(&self) -> usize {
        self.errors.as_ref().map_or(0, Vec::len)
    }

    pub fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Takes the errors: `compile_error!` invocations for all of them, or `None` if there are
    /// none.
    pub fn into_tokens(mut self) -> Option<TokenStream> {
        let errors = self.errors.take().expect("errors taken twice");
        errors
            .into_iter()
            .reduce(|mut all, e| {
                all.combine(e);
                all
            })
            .map(|e| e.to_compile_error())
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("the macro dropped its errors without reporting them (Errors::into_tokens)");
        }
    }
}

/// What an instrumented function is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A tool: a `ToolCall` opened before the body and closed with its outcome.
    Tool,
    /// The run entry point: the run closed with its outcome.
    Run,
}

/// How a returned value becomes `results` / `result`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Render {
    Serialize,
    Display,
    Debug,
}

/// The checked options of `#[agent_events::tool(…)]` / `#[agent_events::run(…)]`.
pub struct Options {
    pub name: Option<LitStr>,
    pub skip: Vec<Ident>,
    pub run: Option<Ident>,
    /// `err` → `Some(true)`, `no_err` → `Some(false)`.
    pub err: Option<bool>,
    pub render: Render,
    /// `crate = "path"`: where the runtime crate is, when the calling crate renames it.
    pub krate: Option<syn::Path>,
}

/// The path of the runtime crate in generated code: `crate = "…"` if given, else the name the
/// calling crate's manifest gives `agent-events` (a renamed dependency, `events = { package =
/// "agent-events" }`, is `::events`), else `::agent_events`.
pub fn runtime_path(krate: Option<&syn::Path>) -> TokenStream {
    if let Some(path) = krate {
        return quote::quote!(#path);
    }
    match proc_macro_crate::crate_name("agent-events") {
        Ok(proc_macro_crate::FoundCrate::Name(name)) => {
            let ident = Ident::new(&name, Span::call_site());
            quote::quote!(::#ident)
        }
        _ => quote::quote!(::agent_events),
    }
}

/// Parses `crate = "path"`.
pub fn crate_option(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<syn::Path> {
    let lit: LitStr = meta.value()?.parse()?;
    lit.parse()
}

fn seen(errors: &mut Errors, slot: &mut Option<Span>, span: Span, name: &str) {
    if slot.is_some() {
        errors.at(span, format!("`{name}` is given more than once"));
    }
    *slot = Some(span);
}

/// Parses the options of a tool or run attribute.
pub fn options(role: Role, args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options {
        name: None,
        skip: Vec::new(),
        run: None,
        err: None,
        render: Render::Serialize,
        krate: None,
    };
    let (mut name_at, mut skip_at, mut run_at, mut err_at, mut render_at) = (None, None, None, None, None);
    let mut crate_at = None;
    let parser = syn::meta::parser(|meta| {
        let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
        let span = meta.path.span();
        match key.as_str() {
            "name" if role == Role::Tool => {
                seen(errors, &mut name_at, span, "name");
                options.name = Some(meta.value()?.parse()?);
            }
            "skip" if role == Role::Tool => {
                seen(errors, &mut skip_at, span, "skip");
                meta.parse_nested_meta(|inner| {
                    match inner.path.get_ident() {
                        Some(ident) => options.skip.push(ident.clone()),
                        None => errors.at(inner.path.span(), "expected a parameter name"),
                    }
                    Ok(())
                })?;
            }
            "run" => {
                seen(errors, &mut run_at, span, "run");
                options.run = Some(meta.value()?.parse()?);
            }
            "err" | "no_err" => {
                seen(errors, &mut err_at, span, "err` / `no_err");
                options.err = Some(key == "err");
            }
            "crate" => {
                seen(errors, &mut crate_at, span, "crate");
                options.krate = Some(crate_option(&meta)?);
            }
            "display" | "debug" => {
                seen(errors, &mut render_at, span, "display` / `debug");
                options.render = if key == "display" { Render::Display } else { Render::Debug };
            }
            _ => {
                let known = match role {
                    Role::Tool => "`name = \"…\"`, `skip(…)`, `run = …`, `err`, `no_err`, `display`, `debug`, `crate = \"…\"`",
                    Role::Run => "`run = …`, `err`, `no_err`, `display`, `debug`, `crate = \"…\"`",
                };
                let path = &meta.path;
                let written = quote::quote!(#path).to_string().replace(' ', "");
                errors.at(span, format!("unknown option `{written}`; expected one of {known}"));
                // Skip the option's value so that the options after it are still checked.
                if meta.input.peek(Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                } else if meta.input.peek(syn::token::Paren) {
                    let _group: proc_macro2::Group = meta.input.parse()?;
                }
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    options
}

/// The options of `#[agent_events(…)]` on an impl block.
pub fn impl_options(args: TokenStream, errors: &mut Errors) -> Option<LitStr> {
    let mut name = None;
    let mut name_at = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            seen(errors, &mut name_at, meta.path.span(), "name");
            name = Some(meta.value()?.parse::<LitStr>()?);
        } else {
            errors.at(meta.path.span(), "unknown option; expected `name = \"…\"`");
            if meta.input.peek(Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::Errors;
    use proc_macro2::Span;

    #[test]
    #[should_panic(expected = "without reporting them")]
    fn errors_dropped_without_being_taken_panic() {
        let mut errors = Errors::new();
        errors.at(Span::call_site(), "lost");
    }

    #[test]
    #[should_panic(expected = "without reporting them")]
    fn an_empty_accumulator_must_be_taken_too() {
        let _ = Errors::new();
    }

    #[test]
    fn taken_errors_become_one_compile_error_each() {
        let mut errors = Errors::new();
        errors.at(Span::call_site(), "first");
        errors.at(Span::call_site(), "second");
        let tokens = errors.into_tokens().expect("errors").to_string();
        assert_eq!(tokens.matches("compile_error").count(), 2, "{tokens}");
        assert!(Errors::new().into_tokens().is_none());
    }
}
