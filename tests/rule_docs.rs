//! Every rule's documented bad example fires that rule, and its good example fires nothing.

use std::path::Path;

use cargo_agent_events::config::{Config, RawConfig};
use cargo_agent_events::frontend::Lang;
use cargo_agent_events::lint::Linter;
use cargo_agent_events::rules::builtin_defs;

fn lint(text: &str) -> Vec<String> {
    let config = Config::from_raw(RawConfig::default(), Path::new("agent-events.toml"), Vec::new()).unwrap();
    let linter = Linter::new(&config);
    linter.lint_text("src/example.rs", &[], text).findings.into_iter().map(|f| f.rule).collect()
}

#[test]
fn bad_examples_fire_their_rule() {
    for def in builtin_defs() {
        let rules = lint(&def.docs.bad);
        assert!(rules.contains(&def.id), "{}: the bad example fires {rules:?}", def.id);
    }
}

#[test]
fn good_examples_fire_nothing() {
    for def in builtin_defs() {
        let rules = lint(&def.docs.good);
        assert!(rules.is_empty(), "{}: the good example fires {rules:?}", def.id);
    }
}

fn lint_python(text: &str) -> Vec<String> {
    let raw: RawConfig = toml::from_str("canonical-calls = [\"self._websocket_adapter.emit_*\"]").unwrap();
    let config = Config::from_raw(raw, Path::new("pyproject.toml"), Vec::new()).unwrap();
    let linter = Linter::new(&config);
    linter
        .lint_text("app/example.py", &["app".into(), "example".into()], text)
        .findings
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn every_rule_has_python_examples_that_behave() {
    for def in builtin_defs() {
        let (bad, good) =
            def.examples(Lang::Python).unwrap_or_else(|| panic!("{} has no [lang.python] section", def.id));
        let rules = lint_python(bad);
        assert!(rules.contains(&def.id), "{}: the Python bad example fires {rules:?}", def.id);
        let rules = lint_python(good);
        assert!(rules.is_empty(), "{}: the Python good example fires {rules:?}", def.id);
    }
}

/// Every language of the table has examples in every rule.
#[test]
fn every_rule_has_examples_in_every_language() {
    for def in builtin_defs() {
        for lang in Lang::ALL {
            assert!(def.examples(lang).is_some(), "{} has no examples in {}", def.id, lang.name());
        }
    }
}
