//! `#[derive(AgentEvent)]`: an application event type sent with `run.emit_event(&event)`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr};

use crate::attr::Errors;

/// `PlanUpdated` → `plan_updated`, `HTTPFetched` → `http_fetched`, `Step2Done` → `step2_done`:
/// a word starts at an upper-case letter after a lower-case letter or a digit, and at the last
/// capital of a run of capitals followed by a lower-case letter (as `heck` splits words).
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let starts_word = match prev {
                None => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn derive(input: DeriveInput) -> TokenStream {
    let mut errors = Errors::new();
    let mut name: Option<LitStr> = None;
    let mut krate: Option<syn::Path> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("agent_event")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                if name.is_some() {
                    errors.at(meta.path.span(), "`name` is given more than once");
                }
                name = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("crate") {
                krate = Some(crate::attr::crate_option(&meta)?);
            } else {
                errors.at(meta.path.span(), "unknown option; expected `name = \"…\"` or `crate = \"…\"`");
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    let (event_type, span) = match &name {
        Some(lit) => (lit.value(), lit.span()),
        None => (snake_case(&input.ident.to_string()), input.ident.span()),
    };
    if event_type.parse::<agent_events_schema::EventType>().is_ok() {
        errors.at(
            span,
            format!("`{event_type}` is a built-in agent event type; emit it through the `Run`, or give this event its own name with `#[agent_event(name = \"…\")]`"),
        );
    } else if !agent_events_schema::is_custom_type_name(&event_type) {
        errors.at(
            span,
            format!("`{event_type}` is not a valid event type: use lower snake case (`[a-z][a-z0-9_]*`)"),
        );
    }
    // A field named like an envelope key would be overwritten by the bridge (or refused when the
    // event is emitted): refuse it here, at the field.
    if let syn::Data::Struct(data) = &input.data {
        for field in &data.fields {
            let Some(ident) = &field.ident else { continue };
            let renamed = field.attrs.iter().filter(|a| a.path().is_ident("serde")).find_map(|a| {
                let mut renamed = None;
                let _ = a.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        if let Ok(value) = meta.value() {
                            renamed = value.parse::<LitStr>().ok().map(|l| (l.value(), l.span()));
                        }
                    } else if meta.input.peek(syn::Token![=]) {
                        let _: syn::Expr = meta.value()?.parse()?;
                    }
                    Ok(())
                });
                renamed
            });
            let (key, at) = renamed
                .unwrap_or_else(|| (ident.to_string().trim_start_matches("r#").to_owned(), ident.span()));
            if agent_events_schema::ENVELOPE.iter().any(|f| f.name == key) {
                errors.at(
                    at,
                    format!("`{key}` is an envelope key the bridge fills on every event: name this field otherwise (or rename it with `#[serde(rename = \"…\")]`)"),
                );
            }
        }
    }
    if let Some(tokens) = errors.into_tokens() {
        return tokens;
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let runtime = crate::attr::runtime_path(krate.as_ref());
    quote! {
        impl #impl_generics #runtime::AgentEvent for #ident #ty_generics #where_clause {
            const EVENT_TYPE: &'static str = #event_type;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_become_snake_case() {
        assert_eq!(super::snake_case("PlanUpdated"), "plan_updated");
        assert_eq!(super::snake_case("HTTPFetched"), "http_fetched");
        assert_eq!(super::snake_case("FetchedHTTP"), "fetched_http");
        assert_eq!(super::snake_case("Step2Done"), "step2_done");
        assert_eq!(super::snake_case("A"), "a");
        assert_eq!(super::snake_case("Progress"), "progress");
    }
}
