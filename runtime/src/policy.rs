//! What may leave the process: the size cap and redaction applied to `parameters`, `results`,
//! `result` and custom event fields before any sink sees them.

use std::collections::HashSet;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde_json::{json, Map, Value};

/// Replaces the value of a redacted key.
pub const REDACTED: &str = "[redacted]";

/// Keys redacted by default, compared without regard to case.
pub const DEFAULT_REDACTED_KEYS: [&str; 9] = [
    "api_key",
    "apikey",
    "password",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "authorization",
    "cookie",
];

/// Default cap on the serialized size of one payload value, in bytes.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// A hook run on every payload value after key redaction, e.g. to mask e-mail addresses.
pub type RedactHook = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// How payload values are cleaned before they are sent.
#[derive(Clone)]
pub struct PayloadPolicy {
    pub(crate) max_bytes: usize,
    pub(crate) redacted_keys: HashSet<String>,
    pub(crate) hook: Option<RedactHook>,
}

impl fmt::Debug for PayloadPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadPolicy")
            .field("max_bytes", &self.max_bytes)
            .field("redacted_keys", &self.redacted_keys)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Default for PayloadPolicy {
    fn default() -> Self {
        PayloadPolicy {
            max_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            redacted_keys: DEFAULT_REDACTED_KEYS.iter().map(|k| k.to_string()).collect(),
            hook: None,
        }
    }
}

/// What applying the policy did to one value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    pub truncated: bool,
    pub hook_failed: bool,
}

impl PayloadPolicy {
    /// Cleans `value` in place: redacts listed keys at any depth, runs the hook, then replaces
    /// a value whose JSON text is longer than the cap by `{"truncated": true, "bytes": N,
    /// "preview": "…"}`. A hook that panics leaves `{"redaction_failed": true}` instead of
    /// the value, so nothing unredacted leaves.
    pub(crate) fn apply(&self, value: &mut Value) -> Applied {
        let mut applied = Applied::default();
        if !self.redacted_keys.is_empty() {
            self.redact_keys(value);
        }
        if let Some(hook) = &self.hook {
            if catch_unwind(AssertUnwindSafe(|| hook(value))).is_err() {
                *value = json!({ "redaction_failed": true });
                applied.hook_failed = true;
            }
        }
        let size = serialized_len(value);
        if size > self.max_bytes {
            let text = serde_json::to_string(value).unwrap_or_default();
            let mut end = self.max_bytes.min(256);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            *value = json!({ "truncated": true, "bytes": size, "preview": &text[..end] });
            applied.truncated = true;
        }
        applied
    }

    /// Cleans an object, keeping it an object (the hook may not turn `parameters` into a list).
    pub(crate) fn apply_object(&self, object: Map<String, Value>) -> (Map<String, Value>, Applied) {
        let mut value = Value::Object(object);
        let applied = self.apply(&mut value);
        match value {
            Value::Object(map) => (map, applied),
            other => {
                let mut map = Map::new();
                map.insert("value".into(), other);
                (map, applied)
            }
        }
    }

    fn redact_keys(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if self.redacted_keys.contains(&key.to_ascii_lowercase()) {
                        *v = Value::String(REDACTED.into());
                    } else {
                        self.redact_keys(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_keys(v)),
            _ => {}
        }
    }
}

/// The length of a value's JSON text, counted without building the text.
fn serialized_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_keys_are_redacted_at_any_depth_regardless_of_case() {
        let policy = PayloadPolicy::default();
        let mut v = json!({"query": "q", "API_KEY": "sk-1", "nested": [{"password": "p", "max_tokens": 5}]});
        policy.apply(&mut v);
        assert_eq!(
            v,
            json!({"query": "q", "API_KEY": REDACTED, "nested": [{"password": REDACTED, "max_tokens": 5}]})
        );
    }

    #[test]
    fn oversized_values_are_replaced_by_a_marker_with_a_preview() {
        let policy = PayloadPolicy { max_bytes: 10, ..Default::default() };
        let mut v = json!({"text": "ééééééééééé"});
        assert!(policy.apply(&mut v).truncated);
        assert_eq!(v["truncated"], true);
        assert_eq!(v["bytes"], 33);
        assert_eq!(v["preview"], "{\"text\":\"", "cut at a char boundary within the cap");
    }

    #[test]
    fn a_panicking_hook_lets_nothing_through() {
        let policy = PayloadPolicy { hook: Some(Arc::new(|_| panic!("bad hook"))), ..Default::default() };
        let mut v = json!({"ssn": "123"});
        assert!(policy.apply(&mut v).hook_failed);
        assert_eq!(v, json!({"redaction_failed": true}));
    }
}
