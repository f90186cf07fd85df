//! A file with 50,000 findings is linted whole: every finding reported, each in its own
//! enclosing function (the baseline fingerprint holds it: 50,000 alike calls in 50,000 functions
//! are 50,000 entries). How long it takes is measured by `bench/scale.sh`, not here.

use std::fmt::Write as _;
use std::process::Command;

const FUNCTIONS: usize = 50_000;

fn check(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", ".", "--format", "json", "--exit-zero"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_python_file_with_50_000_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("import json\n\n");
    for i in 0..FUNCTIONS {
        let _ = write!(text, "def step_{i}(m):\n    m.notify_agent_started()\n\n");
    }
    std::fs::write(dir.path().join("app.py"), text).unwrap();
    let findings = check(dir.path());
    assert_eq!(findings.len(), FUNCTIONS);
    assert!(findings.iter().all(|f| f["rule"] == "user-emitter-call"));
    let last = findings.iter().max_by_key(|f| f["line"].as_u64()).unwrap();
    assert_eq!(last["line"].as_u64(), Some(3 + 3 * (FUNCTIONS as u64 - 1) + 1));
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["baseline", ".", "--output", "baseline.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let baseline: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("baseline.json")).unwrap()).unwrap();
    let entries = baseline["entries"].as_array().unwrap();
    assert_eq!(entries.len(), FUNCTIONS, "each finding is fingerprinted with its own function");
}

#[test]
fn a_rust_file_with_50_000_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..FUNCTIONS {
        let _ = write!(text, "fn step_{i}(m: &Manager) {{\n    m.notify_agent_started();\n}}\n\n");
    }
    std::fs::write(dir.path().join("lib.rs"), text).unwrap();
    let findings = check(dir.path());
    assert_eq!(findings.len(), FUNCTIONS);
    let lines: std::collections::BTreeSet<u64> = findings.iter().filter_map(|f| f["line"].as_u64()).collect();
    assert_eq!(lines.len(), FUNCTIONS, "one finding per function, each on its own line");
}
