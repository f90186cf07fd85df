//! The linter on `fixtures/python-backend`: every finding is marked beside its line
//! (`# expect: rule-a, rule-b`), or listed in `expect-extra.txt` when its line cannot carry a
//! mark; every mark is found, nothing else is reported, and every built-in rule fires.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::Site;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/python-backend")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(args)
        .arg(fixture())
        .output()
        .expect("the binary runs")
}

#[test]
fn findings_match_the_marks_exactly() {
    let out = run(&["check", "--format", "json"]);
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON array ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let found: BTreeSet<Site> = findings
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap().to_owned();
            (path, f["line"].as_u64().unwrap() as usize, f["rule"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = common::marks(&fixture(), "py", "# expect: ");
    let missed: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && unexpected.is_empty(),
        "marked but not found:\n{missed:#?}\nfound but not marked:\n{unexpected:#?}"
    );
    let rules: BTreeSet<&str> = found.iter().map(|(_, _, r)| r.as_str()).collect();
    // Rules that read no Python (`#[cfg]`, `select!`), or that need a declared vocabulary, have
    // fixtures of their own.
    for def in cargo_agent_events::rules::builtin_defs()
        .iter()
        .filter(|d| d.reads(cargo_agent_events::frontend::Lang::Python) && d.docs.config.is_none())
    {
        assert!(rules.contains(def.id.as_str()), "{} never fires on the fixture", def.id);
    }
    assert_eq!(
        out.status.code(),
        Some(1),
        "singleton-manager and unpaired-tool-event are errors: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn other_formats_and_stats_run_on_the_fixture() {
    for format in ["sarif", "github"] {
        let out = run(&["check", "--color", "never", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("app/tools/execution.py"), "{format}:\n{text}");
        if format == "sarif" {
            let log: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(log["runs"][0]["results"].as_array().is_some_and(|r| !r.is_empty()), "{text}");
        }
    }
    let out = run(&["stats", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(stats.to_string().contains("app/tools/execution.py"), "{stats:#}");
}
