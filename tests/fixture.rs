//! The linter on `fixtures/legacy-backend`: every finding is marked beside its line
//! (`// expect: rule-a, rule-b`), every mark is found, nothing else is reported.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/legacy-backend")
}

#[test]
fn findings_match_the_marks_exactly() {
    let root = fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", "--format", "json"])
        .arg(&root)
        .output()
        .unwrap();
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let found: BTreeSet<(String, usize, String)> = findings
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap().to_owned();
            (path, f["line"].as_u64().unwrap() as usize, f["rule"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = common::marks(&root, "rs", "// expect: ");
    let missed: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && unexpected.is_empty(),
        "marked but not found:\n{missed:#?}\nfound but not marked:\n{unexpected:#?}"
    );
    let rules: BTreeSet<&str> = found.iter().map(|(_, _, r)| r.as_str()).collect();
    // The rules of shapes the legacy backend does not write (`#[cfg]`-gated closes, `select!`)
    // and of declared vocabularies have fixtures of their own (`tests/rules`, `tests/vocabularies`).
    for def in cargo_agent_events::rules::builtin_defs()
        .iter()
        .filter(|d| d.id != "parse-error" && d.docs.config.is_none())
    {
        assert!(rules.contains(def.id.as_str()), "{} never fires on the fixture", def.id);
    }
}

fn report(format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", "--color", "never", "--format", format])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the fixture has errors");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn human_report() {
    insta::assert_snapshot!("legacy_backend_human", report("human"));
}

#[test]
fn json_report() {
    insta::assert_snapshot!("legacy_backend_json", report("json"));
}
