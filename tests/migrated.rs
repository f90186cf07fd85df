//! `fixtures/migrated-agent`, the data agent after the migration to `#[agent_events]`: it builds
//! and passes its own tests against the local crates, and the linter finds nothing in it.

use std::path::PathBuf;
use std::process::Command;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/migrated-agent")
}

#[test]
fn the_migrated_agent_has_no_findings() {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", "--format", "json"])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn the_migrated_agent_builds_and_passes_its_tests() {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fixtures");
    let out = Command::new(env!("CARGO"))
        .args(["test", "--locked", "--quiet", "--manifest-path"])
        .arg(fixture().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 passed"), "{stdout}");
}
