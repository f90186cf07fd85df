//! Values as JSON for events: used by the run API and by `macro_support`.

use serde::Serialize;
use serde_json::{Map, Value};

/// A value as JSON; a `Serialize` impl that fails leaves a note instead of the value.
pub(crate) fn json_of<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("<not serialisable: {e}>")))
}

/// The fields of a custom event: its JSON object, or `{"value": …}` when it serialises to
/// anything but an object.
pub(crate) fn event_fields<T: Serialize + ?Sized>(event: &T) -> Map<String, Value> {
    match json_of(event) {
        Value::Object(map) => map,
        other => Map::from_iter([("value".to_owned(), other)]),
    }
}
