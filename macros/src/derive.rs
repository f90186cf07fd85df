//! `#[derive(AgentEvent)]`: an application event type sent with `run.emit_event(&event)`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr};

use crate::attr::Errors;

/// `PlanUpdated` → `plan_updated`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
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
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("agent_event")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                if name.is_some() {
                    errors.at(meta.path.span(), "`name` is given more than once");
                }
                name = Some(meta.value()?.parse()?);
            } else {
                errors.at(meta.path.span(), "unknown option; expected `name = \"…\"`");
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
    if let Some(tokens) = errors.into_tokens() {
        return tokens;
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::agent_events::AgentEvent for #ident #ty_generics #where_clause {
            const EVENT_TYPE: &'static str = #event_type;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_become_snake_case() {
        assert_eq!(super::snake_case("PlanUpdated"), "plan_updated");
        assert_eq!(super::snake_case("Progress"), "progress");
    }
}
