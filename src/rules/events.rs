//! What counts as an agent event in the facts: the event types (from the schema crate, plus
//! configured custom events) and hand-built event literals.

use std::collections::BTreeMap;

use agent_events_schema::{EventType, NESTED_PAYLOAD_KEYS, TYPE_KEYS};

use crate::facts::{Arg, Call, Facts, MapLiteral, Value};
use crate::source::Span;

/// The event types the rules know and their required own fields.
#[derive(Clone, Debug)]
pub struct Events {
    required: BTreeMap<String, Vec<String>>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new(std::iter::empty())
    }
}

impl Events {
    /// The seven built-in types, read from the schema crate, plus custom types with their
    /// required fields.
    pub fn new(custom: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        let mut required: BTreeMap<String, Vec<String>> = EventType::ALL
            .iter()
            .map(|t| (t.as_str().to_owned(), t.required_fields().map(str::to_owned).collect()))
            .collect();
        required.extend(custom);
        Events { required }
    }

    /// Whether `name` is an agent event type.
    pub fn is_event(&self, name: &str) -> bool {
        self.required.contains_key(name)
    }

    /// The required own fields of a type.
    pub fn required(&self, name: &str) -> &[String] {
        self.required.get(name).map_or(&[], Vec::as_slice)
    }

    /// Every known type name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.required.keys().map(String::as_str)
    }

    /// The event type of a hand-built literal (`{"type": "tool_executing", …}`) and the span of
    /// the type's value.
    pub fn of_literal(&self, literal: &MapLiteral) -> Option<(String, Span)> {
        literal.entries.iter().find_map(|e| match &e.value {
            Value::Str(value, span) if TYPE_KEYS.contains(&e.key.as_str()) && self.is_event(value) => {
                Some((value.clone(), *span))
            }
            _ => None,
        })
    }

    /// The event a call argument carries: an inline event literal, or a variable bound to one
    /// earlier in the same body.
    pub fn of_arg(&self, facts: &Facts, call: &Call, arg: &Arg) -> Option<(String, Span)> {
        if let Some(idx) = arg.literal {
            return self.of_literal(&facts.literals[idx]);
        }
        let name = arg.ident.as_deref()?;
        facts
            .literals
            .iter()
            .rfind(|l| {
                l.body == call.body && l.binding.as_deref() == Some(name) && l.span.end <= call.span.start
            })
            .and_then(|l| self.of_literal(l))
    }

    /// The event type a string-literal argument names, with its span.
    pub fn of_str_arg(&self, arg: &Arg) -> Option<(String, Span)> {
        arg.str_lit.as_ref().filter(|(s, _)| self.is_event(s)).cloned()
    }

    /// The event type an emission method name ends in, for a listed prefix:
    /// `send_tool_executing` with prefix `send` is `tool_executing`.
    pub fn of_method_name<'n>(&self, name: &'n str, prefixes: &[String]) -> Option<&'n str> {
        prefixes.iter().find_map(|prefix| {
            let ty = name.strip_prefix(prefix.as_str())?.strip_prefix('_')?;
            self.is_event(ty).then_some(ty)
        })
    }
}

/// The keys a literal carries at its top level and one level down under `data`/`payload`.
pub fn literal_keys<'f>(facts: &'f Facts, literal: &'f MapLiteral) -> Vec<&'f str> {
    let mut keys = Vec::new();
    for entry in &literal.entries {
        keys.push(entry.key.as_str());
        if let Value::Map(child) = entry.value {
            if NESTED_PAYLOAD_KEYS.contains(&entry.key.as_str()) {
                keys.extend(facts.literals[child].entries.iter().map(|e| e.key.as_str()));
            }
        }
    }
    keys
}
