//! The linter on `fixtures/legacy-backend`: every finding is marked beside its line
//! (`// expect: rule-a, rule-b`), every mark is found, nothing else is reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/legacy-backend")
}

fn marks(root: &Path) -> BTreeSet<(String, usize, String)> {
    let mut marks = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                if let Some((_, rules)) = line.split_once("// expect: ") {
                    for rule in rules.split(',') {
                        marks.insert((rel.clone(), i + 1, rule.trim().to_owned()));
                    }
                }
            }
        }
    }
    for line in std::fs::read_to_string(root.join("expect-extra.txt")).unwrap().lines() {
        let (place, rule) = line.split_once(": ").unwrap();
        let (path, line) = place.rsplit_once(':').unwrap();
        marks.insert((path.to_owned(), line.parse().unwrap(), rule.trim().to_owned()));
    }
    marks
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
    let expected = marks(&root);
    let missed: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && unexpected.is_empty(),
        "marked but not found:\n{missed:#?}\nfound but not marked:\n{unexpected:#?}"
    );
    let rules: BTreeSet<&str> = found.iter().map(|(_, _, r)| r.as_str()).collect();
    for (rule, _) in cargo_agent_events::rules::BUILTIN.iter().filter(|(id, _)| *id != "parse-error") {
        assert!(rules.contains(rule), "{rule} never fires on the fixture");
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
