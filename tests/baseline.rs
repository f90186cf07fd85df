//! The ratchet: `check --baseline` fails only on findings the baseline does not know; the
//! baseline survives unrelated edits and only ever shrinks.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events")).args(args).current_dir(cwd).output().unwrap()
}

fn short(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const BEFORE: &str = "fn unrelated() {}\n\npub fn report(m: &Manager, user: &str) {\n    m.broadcast(serde_json::json!({ \"type\": \"agent_started\" }));\n}\n";

fn project(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), source).unwrap();
    dir
}

fn check(dir: &Path) -> Output {
    run(&["check", "--format", "short", "--baseline", "agent-events-baseline.json"], dir)
}

#[test]
fn known_findings_survive_unrelated_edits_and_new_ones_fail() {
    let dir = project(BEFORE);
    let p = dir.path();
    assert_eq!(run(&["check"], p).status.code(), Some(1));
    assert!(run(&["baseline"], p).status.success());
    assert_eq!((check(p).status.code(), short(&check(p))), (Some(0), String::new()));

    // Lines inserted above, an unrelated function renamed, the site reformatted.
    let edited = "// A new header.\n\nfn renamed_helper() {}\n\npub fn report(m: &Manager, user: &str) {\n    m.broadcast(\n        serde_json::json!({\"type\": \"agent_started\"}),\n    );\n}\n";
    std::fs::write(p.join("src/lib.rs"), edited).unwrap();
    assert_eq!((check(p).status.code(), short(&check(p))), (Some(0), String::new()));

    // A second identical site in the same function is new.
    let added = edited.replace(
        "    );\n}",
        "    );\n    m.broadcast(serde_json::json!({ \"type\": \"agent_started\" }));\n}",
    );
    std::fs::write(p.join("src/lib.rs"), added).unwrap();
    let out = check(p);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(short(&out).lines().count(), 2, "{}", short(&out));
    assert!(short(&out).lines().all(|l| l.starts_with("src/lib.rs:9:")), "{}", short(&out));
}

#[test]
fn the_baseline_only_shrinks() {
    let dir = project(BEFORE);
    let p = dir.path();
    run(&["baseline"], p);
    let written = std::fs::read_to_string(p.join("agent-events-baseline.json")).unwrap();
    std::fs::write(p.join("src/lib.rs"), "fn unrelated() {}\n").unwrap();
    let out = run(&["check", "--baseline", "agent-events-baseline.json"], p);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("2 baselined finding(s) are gone: run with --update-baseline"));
    assert_eq!(
        std::fs::read_to_string(p.join("agent-events-baseline.json")).unwrap(),
        written,
        "untouched without the flag"
    );
    run(&["check", "--baseline", "agent-events-baseline.json", "--update-baseline"], p);
    let shrunk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("agent-events-baseline.json")).unwrap())
            .unwrap();
    assert_eq!(shrunk["entries"], serde_json::json!([]));
    // A new finding with --update-baseline is reported, never added.
    std::fs::write(p.join("src/lib.rs"), BEFORE).unwrap();
    let out = run(&["check", "--baseline", "agent-events-baseline.json", "--update-baseline"], p);
    assert_eq!(out.status.code(), Some(1));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("agent-events-baseline.json")).unwrap())
            .unwrap();
    assert_eq!(again["entries"], serde_json::json!([]));
}
