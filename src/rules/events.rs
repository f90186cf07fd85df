//! What counts as an agent event in the facts: the event types (from the schema crate, plus
//! configured custom events) and hand-built event literals.

use std::collections::{BTreeMap, BTreeSet};

use agent_events_schema::{EventType, ENVELOPE, NESTED_PAYLOAD_KEYS, TYPE_KEYS};

use crate::facts::{Arg, Facts, MapLiteral, Value};
use crate::source::Span;

/// The event types the rules know, their required own fields, and every field name of the
/// schema.
#[derive(Clone, Debug)]
pub struct Events {
    required: BTreeMap<String, Vec<String>>,
    /// The declared vocabulary (the built-in one when nothing is declared).
    pub vocab: std::sync::Arc<super::vocab::Vocabulary>,
    /// Every field any event carries: the envelope, every type's fields, `data`/`payload`.
    fields: BTreeSet<String>,
}

/// What a map literal says of itself as an event.
#[derive(Clone, Debug)]
pub struct Typed {
    /// The string under `type`/`event`/`event_type`.
    pub event: String,
    /// Its span.
    pub span: Span,
    /// Whether it is a known event type (built-in or configured).
    pub known: bool,
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
        let mut fields: BTreeSet<String> = ENVELOPE.iter().map(|f| f.name.to_owned()).collect();
        fields.extend(EventType::ALL.iter().flat_map(|t| t.fields().iter().map(|f| f.name.to_owned())));
        for (name, own) in custom {
            fields.extend(own.iter().cloned());
            required.insert(name, own);
        }
        fields.extend(NESTED_PAYLOAD_KEYS.iter().chain(TYPE_KEYS.iter()).map(|k| (*k).to_owned()));
        Events { required, fields, vocab: Default::default() }
    }

    /// The same events with a declared vocabulary: its string types are event types too.
    pub fn with_vocabulary(mut self, vocab: super::vocab::Vocabulary) -> Self {
        for (string, _) in vocab.strings() {
            self.required.entry(string.to_owned()).or_default();
        }
        self.vocab = std::sync::Arc::new(vocab);
        self
    }

    /// Whether `name` is a field some event carries.
    pub fn is_field(&self, name: &str) -> bool {
        self.fields.contains(name)
    }

    /// The type a literal names under `type`/`event`/`event_type`, known or not.
    pub fn typed(&self, literal: &MapLiteral) -> Option<Typed> {
        literal.entries.iter().find_map(|e| match &e.value {
            Value::Str(value, span) if TYPE_KEYS.contains(&e.key.as_str()) => {
                Some(Typed { event: value.clone(), span: *span, known: self.is_event(value) })
            }
            _ => None,
        })
    }

    /// Whether a literal's keys besides its type are event fields: not an event when it has other
    /// keys and none of them is (a test-case descriptor, a request of another protocol).
    pub fn has_event_fields(&self, literal: &MapLiteral) -> bool {
        let mut others = literal.entries.iter().filter(|e| !TYPE_KEYS.contains(&e.key.as_str())).peekable();
        !literal.complete || others.peek().is_none() || others.any(|e| self.is_field(&e.key))
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
