//! What canonical code writes, per language (`rules/canonical.toml`): the call help texts name
//! for each event type, and what `stats` counts as a canonical emission site.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::frontend::Lang;

/// The canonical API of one language.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Api {
    /// Event type → the canonical call that sends it; `*` is any other type (`{event}` is
    /// replaced by its name, `{adapter-call}` by the project's adapter call for it).
    #[serde(default)]
    pub calls: BTreeMap<String, String>,
    /// Said instead of a call with `{adapter-call}` when the project names no adapter.
    #[serde(default)]
    pub unconfigured: Option<String>,
    /// What replaces a legacy `…_agent_error` call; the call for `agent_completed` when absent.
    #[serde(default)]
    pub error: Option<String>,
    /// What replaces a legacy call that names no event type; the call for `…` when absent.
    #[serde(default)]
    pub fallback: Option<String>,
    /// What replaces a deprecated item that the rule's `replacements` do not name.
    pub deprecated: String,
    /// Methods whose calls are canonical sites.
    #[serde(default)]
    pub site_methods: Vec<String>,
    /// Attributes (paths) that make a function a canonical site.
    #[serde(default)]
    pub site_attributes: Vec<String>,
    /// Attributes of an `impl` block inside which `agent-impl-site-attributes` count too.
    #[serde(default)]
    pub agent_impl_attributes: Vec<String>,
    /// Short attributes that make a method a canonical site inside such an `impl` block.
    #[serde(default)]
    pub agent_impl_site_attributes: Vec<String>,
    /// Whether every canonical call (a call of canonical code) is a site.
    #[serde(default)]
    pub canonical_calls_are_sites: bool,
}

impl Api {
    /// The canonical API of `lang`.
    pub fn of(lang: Lang) -> &'static Api {
        static APIS: OnceLock<Vec<Api>> = OnceLock::new();
        let apis = APIS.get_or_init(|| {
            let mut by_name: BTreeMap<String, Api> =
                toml::from_str(include_str!("../../rules/canonical.toml"))
                    .unwrap_or_else(|e| panic!("rules/canonical.toml is invalid: {e}"));
            Lang::ALL.iter().map(|l| by_name.remove(l.name()).unwrap_or_default()).collect()
        });
        &apis[lang.index()]
    }

    /// The canonical call for an event type; `adapter` is the project's first `canonical-calls`
    /// pattern, if any.
    pub fn call(&self, event: &str, adapter: Option<&str>) -> String {
        let template = self.calls.get(event).or_else(|| self.calls.get("*"));
        let Some(template) = template else { return format!("`{event}`") };
        if template.contains("{adapter-call}") {
            return match adapter {
                Some(pattern) => template.replace("{adapter-call}", &pattern.replacen('*', event, 1)),
                None => self.unconfigured.clone().unwrap_or_default(),
            };
        }
        template.replace("{event}", event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_an_api_and_every_event_a_call() {
        for lang in Lang::ALL {
            let api = Api::of(lang);
            assert!(!api.deprecated.is_empty(), "{lang:?}");
            for event in agent_events_schema::EventType::ALL {
                assert!(!api.call(event.as_str(), Some("self.a.emit_*")).is_empty());
            }
        }
        assert_eq!(
            Api::of(Lang::Rust).call("agent_error", None),
            "`run.emit(CustomEvent::new(\"agent_error\"))`"
        );
        assert_eq!(
            Api::of(Lang::Python).call("tool_executing", Some("self._a.emit_*")),
            "`self._a.emit_tool_executing(…)`"
        );
    }

    /// The Rust site methods are methods of the runtime's `EventBridge` or `Run`.
    #[test]
    fn the_rust_site_methods_exist_in_the_runtime() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/src");
        let source: String = ["bridge.rs", "run.rs"]
            .iter()
            .map(|f| std::fs::read_to_string(root.join(f)).unwrap_or_default())
            .collect();
        for method in &Api::of(Lang::Rust).site_methods {
            let defined = ["(", "<"].iter().any(|after| source.contains(&format!("pub fn {method}{after}")));
            assert!(defined, "`{method}` is not a method of the runtime");
        }
    }
}
