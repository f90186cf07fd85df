//! The inputs the fuzzers found crashing (`fuzz/regressions/<target>/`), replayed on every test
//! run with the property each target checks: linting never panics, and applying a file's fixes
//! never turns a file that parses into one that does not.

use std::path::{Path, PathBuf};

use cargo_agent_events::config::{Config, RawConfig};
use cargo_agent_events::fix;
use cargo_agent_events::frontend::{self, Lang};
use cargo_agent_events::lint::Linter;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut found: Vec<(PathBuf, Vec<u8>)> =
        entries.map(|e| e.unwrap().path()).map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect();
    found.sort();
    found
}

/// The configuration the `fix_apply` target lints with: every kind of fix turned on.
fn fixing_config() -> Config {
    let text = include_str!("../fuzz/fixing-config.toml");
    let raw: RawConfig = toml::from_str(text).unwrap();
    Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new()).unwrap()
}

fn parses(lang: Lang, text: &str) -> bool {
    frontend::parse(lang, text, &frontend::Options::default(), false).facts.is_ok()
}

#[test]
fn front_end_crashes_stay_fixed() {
    let config = Config::from_raw(RawConfig::default(), Path::new("agent-events.toml"), Vec::new()).unwrap();
    let linter = Linter::new(&config).without_prefilter();
    for (target, rel) in [("frontend_rust", "src/fuzz.rs"), ("frontend_python", "app/fuzz.py")] {
        for (path, bytes) in inputs(target) {
            let report = cargo_agent_events::lint::on_worker_stack(|| linter.lint_bytes(rel, &[], &bytes));
            assert!(!report.internal_error, "{}", path.display());
        }
    }
}

#[test]
fn fix_crashes_stay_fixed() {
    let config = fixing_config();
    let linter = Linter::new(&config);
    for (path, bytes) in inputs("fix_apply") {
        let Some((&flags, rest)) = bytes.split_first() else { continue };
        let Ok(text) = std::str::from_utf8(rest) else { continue };
        let (lang, rel) = match (flags & 1 == 1, flags & 2 == 2) {
            (false, false) => (Lang::Rust, "src/fuzz.rs"),
            (false, true) => (Lang::Rust, "tests/fuzz.rs"),
            (true, false) => (Lang::Python, "app/fuzz.py"),
            (true, true) => (Lang::Python, "tests/test_fuzz.py"),
        };
        let report = linter.lint_text(rel, &[], text);
        let fixes: Vec<fix::Fix> =
            report.findings.iter().filter_map(|f| f.fix.as_ref()).map(|f| f.to_fix()).collect();
        let (fixed, applied, _) = fix::apply(text, &fixes.iter().collect::<Vec<_>>());
        if applied > 0 && parses(lang, text) {
            assert!(parses(lang, &fixed), "{}: the fixes break the file:\n{fixed}", path.display());
        }
    }
}
