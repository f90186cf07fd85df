//! Migration progress figures on the fixtures, exactly.

use std::path::PathBuf;
use std::process::Command;

fn stats(fixture: &str, format: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(fixture);
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["stats", "--format", format])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_legacy_backend_is_barely_migrated() {
    let v: serde_json::Value = serde_json::from_str(&stats("legacy-backend", "json")).unwrap();
    assert_eq!(v["total"], serde_json::json!({ "canonical": 6, "legacy": 119, "migrated_percent": 4.8 }));
    assert_eq!(v["by_file"]["src/canonical.rs"]["canonical"], 6);
    assert_eq!(v["by_file"]["src/adapter.rs"]["legacy"], 21);
    assert_eq!(v["by_rule"]["direct-event-payload"], 46);
    assert_eq!(v["by_rule"]["unpaired-tool-event"], 7);
    assert_eq!(v["by_crate"]["legacy_backend"]["legacy"], 119);
}

#[test]
fn the_migrated_agent_is_fully_migrated() {
    let v: serde_json::Value = serde_json::from_str(&stats("migrated-agent", "json")).unwrap();
    assert_eq!(v["total"], serde_json::json!({ "canonical": 10, "legacy": 0, "migrated_percent": 100.0 }));
    assert_eq!(v["by_file"]["src/lib.rs"]["canonical"], 8, "5 run/bridge calls and 3 instrumented functions");
    let markdown = stats("migrated-agent", "markdown");
    assert!(markdown.starts_with("### Agent-event migration: 100.0% migrated\n"), "{markdown}");
    assert!(markdown.contains("| `src/lib.rs` | 8 | 0 | 100.0% |"), "{markdown}");
}
