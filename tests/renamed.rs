//! `fixtures/renamed-dependency` names the runtime `events` in its manifest: every macro and the
//! derive find it under that name (and `crate = "…"` names it explicitly), and its runs send the
//! full sequence.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn a_crate_that_renames_the_dependency_builds_and_runs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .args(["run", "--locked", "--quiet", "--manifest-path"])
        .arg(root.join("fixtures/renamed-dependency/Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target/fixtures"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let run = "agent_started plan_updated tool_executing tool_completed agent_completed";
    assert_eq!(stdout.trim(), format!("{run} {run}"));
}
