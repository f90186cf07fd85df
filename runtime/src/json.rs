//! Values as JSON for events: used by the run API and by `macro_support`.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;
use serde_json::{Map, Value};

/// A value as JSON, never letting a failing or panicking `Serialize` escape: such a value is
/// sent as `{"serialization_error": …}` (emitting never panics).
pub(crate) fn json_of<T: Serialize + ?Sized>(value: &T) -> Value {
    match catch_unwind(AssertUnwindSafe(|| serde_json::to_value(value))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => serde_json::json!({ "serialization_error": e.to_string() }),
        Err(_) => serde_json::json!({ "serialization_error": "Serialize panicked" }),
    }
}

/// A value's text, never letting a panicking `Display` or `Debug` escape.
pub(crate) fn text_of(write: impl FnOnce() -> String) -> String {
    catch_unwind(AssertUnwindSafe(write)).unwrap_or_else(|_| "<formatting panicked>".to_owned())
}

/// A value's `Display` text, never letting a panic escape.
pub(crate) fn display_of<T: fmt::Display + ?Sized>(value: &T) -> String {
    text_of(|| value.to_string())
}

/// The fields of a custom event: its JSON object's entries; none for `null` (a unit struct);
/// `{"value": …}` for anything else (a number, a string, an array).
pub(crate) fn event_fields<T: Serialize + ?Sized>(event: &T) -> Map<String, Value> {
    match json_of(event) {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => Map::from_iter([("value".to_owned(), other)]),
    }
}
