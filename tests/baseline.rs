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

/// The command of the `Check` step of `docs/github-actions.yml`, continuation lines joined, as
/// words (without the leading `cargo`: cargo runs the binary with `agent-events` first).
fn documented_check() -> Vec<String> {
    let workflow =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/github-actions.yml"))
            .unwrap();
    let mut lines = workflow.lines().skip_while(|l| !l.trim_start().starts_with("- name: Check"));
    assert!(lines.next().is_some(), "docs/github-actions.yml has a `Check` step");
    let run_line = lines.next().unwrap();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let run = run_line.trim();
    let command = if run == "run: |" {
        // The block: the lines indented deeper than `run:`.
        let block: Vec<&str> =
            lines.take_while(|l| indent(l) > indent(run_line) && !l.trim().is_empty()).collect();
        block.iter().map(|l| l.trim().trim_end_matches('\\').trim()).collect::<Vec<_>>().join(" ")
    } else {
        run.strip_prefix("run:").unwrap().trim().to_owned()
    };
    assert!(!command.contains(['"', '\'', '$', '|', '>']), "a plain command: {command}");
    let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    assert_eq!(words[..3], ["cargo", "agent-events", "check"], "{command}");
    words[1..].to_vec()
}

#[test]
fn the_documented_ratchet_fails_on_a_new_warning_and_passes_an_unchanged_project() {
    let args = documented_check();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(args.contains(&"--baseline"), "{args:?}");
    // One error-level and one warning-level site, both in the baseline.
    let dir = project(BEFORE);
    let p = dir.path();
    assert!(run(&["baseline"], p).status.success());
    let unchanged = run(&args, p);
    assert_eq!(unchanged.status.code(), Some(0), "{}", short(&unchanged));
    assert_eq!(short(&unchanged), "", "no annotation for baselined findings");
    assert!(p.join("agent-events.sarif").is_file(), "the SARIF report is written");

    // A new warning-level site only (`user-emitter-call` is `warn`).
    let added = format!("{BEFORE}\npub fn started(e: &Emitter) {{\n    e.notify_agent_started();\n}}\n");
    std::fs::write(p.join("src/lib.rs"), added).unwrap();
    let new = run(&args, p);
    assert_eq!(new.status.code(), Some(1), "a new warning fails the ratchet: {}", short(&new));
    assert!(short(&new).starts_with("::warning file=src/lib.rs,line=8,"), "{}", short(&new));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("agent-events.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(1));
    // Without a baseline the same warning alone does not fail a check.
    let plain = run(&["check", "--select", "user-emitter-call"], p);
    assert_eq!(plain.status.code(), Some(0), "{}", short(&plain));
}

#[test]
fn the_summary_says_how_many_findings_the_baseline_held_back() {
    let dir = project(BEFORE);
    let p = dir.path();
    run(&["baseline"], p);
    let human = run(&["check", "--baseline", "agent-events-baseline.json"], p);
    assert_eq!(short(&human), "0 errors, 0 warnings in 1 file; 2 findings in the baseline not shown\n");
    let out = run(&["check", "--format", "short", "--baseline", "agent-events-baseline.json"], p);
    assert_eq!(short(&out), "");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "2 findings in the baseline not shown\n");
    // JSON and SARIF keep their contracts: the new findings only, nothing else on stdout.
    let json = run(&["check", "--format", "json", "--baseline", "agent-events-baseline.json"], p);
    assert_eq!(short(&json), "[]\n");
    let sarif = run(&["check", "--format", "sarif", "--baseline", "agent-events-baseline.json"], p);
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    // Without a baseline, the summary is as before.
    let plain = run(&["check", "--select", "user-emitter-call"], p);
    assert_eq!(short(&plain), "0 errors, 0 warnings in 1 file\n");
}
