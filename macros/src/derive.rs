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

/// What a type's `#[serde(…)]` attributes say of its shape on the wire.
#[derive(Default)]
struct SerdeContainer {
    tag: Option<(String, proc_macro2::Span)>,
    content: Option<(String, proc_macro2::Span)>,
    untagged: bool,
}

fn serde_container(attrs: &[syn::Attribute]) -> SerdeContainer {
    let mut found = SerdeContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // serde reports its own attributes' errors: what does not parse is left to it.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("untagged") {
                found.untagged = true;
            } else if meta.path.is_ident("tag") || meta.path.is_ident("content") {
                let lit: LitStr = meta.value()?.parse()?;
                let slot = if meta.path.is_ident("tag") { &mut found.tag } else { &mut found.content };
                *slot = Some((lit.value(), lit.span()));
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _: proc_macro2::Group = meta.input.parse()?;
            }
            Ok(())
        });
    }
    found
}

/// The key a field is sent under: its `#[serde(rename = "…")]`, else its name.
fn wire_key(field: &syn::Field) -> Option<(String, proc_macro2::Span)> {
    let ident = field.ident.as_ref()?;
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
    Some(renamed.unwrap_or_else(|| (ident.to_string().trim_start_matches("r#").to_owned(), ident.span())))
}

fn refuse_envelope_fields(fields: &syn::Fields, errors: &mut Errors) {
    for (key, at) in fields.iter().filter_map(wire_key) {
        refuse_envelope_key(&key, at, "field", errors);
    }
}

fn refuse_envelope_key(key: &str, at: proc_macro2::Span, what: &str, errors: &mut Errors) {
    if agent_events_schema::ENVELOPE.iter().any(|f| f.name == key) {
        let fix = match what {
            "field" => "name this field otherwise (or rename it with `#[serde(rename = \"…\")]`)",
            "tag" => "choose another tag (`#[serde(tag = \"kind\")]`)",
            _ => "choose another content key (`#[serde(content = \"data\")]`)",
        };
        errors.at(at, format!("`{key}` is an envelope key the bridge fills on every event: {fix}"));
    }
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
    // event is emitted): refuse it here, at the field, and a serde tag named like one too.
    let container = serde_container(&input.attrs);
    for (option, found) in [("tag", &container.tag), ("content", &container.content)] {
        if let Some((key, at)) = found {
            refuse_envelope_key(key, *at, option, &mut errors);
        }
    }
    match &input.data {
        syn::Data::Struct(data) => refuse_envelope_fields(&data.fields, &mut errors),
        // The variants' fields are the event's own only when the enum is internally tagged or
        // untagged; with serde's default tagging they sit inside the variant's field.
        syn::Data::Enum(data)
            if container.tag.is_some() && container.content.is_none() || container.untagged =>
        {
            for variant in &data.variants {
                refuse_envelope_fields(&variant.fields, &mut errors);
            }
        }
        _ => {}
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
