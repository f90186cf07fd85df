//! The migration, end to end: a copy of `fixtures/fixable-backend` is fixed with the rewrites in
//! its `agent-events.toml`; the findings that had fixes are gone, the result matches the
//! snapshot, it compiles, its recorder tests pass the test kit's invariants, and a second `fix`
//! changes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lint(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events")).args(args).arg(dir).output().unwrap()
}

fn findings(dir: &Path) -> Vec<serde_json::Value> {
    serde_json::from_slice(&lint(&["check", "--format", "json", "--exit-zero"], dir).stdout).unwrap()
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "target" {
            continue;
        }
        if path.is_dir() {
            copy(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

#[test]
fn fix_migrates_the_half_migrated_backend() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("fixable-backend");
    copy(&repo().join("fixtures/fixable-backend"), &project);
    let manifest = project.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let runtime = repo().join("runtime");
    std::fs::write(&manifest, text.replace("../../runtime", &runtime.to_string_lossy())).unwrap();

    let before = findings(&project);
    let fixable = before.iter().filter(|f| !f["fix"].is_null()).count();
    assert_eq!(fixable, 4, "{before:#?}");

    let out = lint(&["fix"], &project);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let after = findings(&project);
    assert!(after.iter().all(|f| f["fix"].is_null()), "{after:#?}");
    let rules: Vec<&str> = after.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    // The legacy types themselves remain, with a frame their own methods build (`tool_end`: sent,
    // named like an agent event, carrying `results`; `tool_start` carries no event field).
    assert_eq!(
        rules,
        ["competing-emitter", "direct-event-payload", "competing-emitter"],
        "only the legacy types themselves remain"
    );
    insta::assert_snapshot!(
        "fixable_backend_fixed",
        std::fs::read_to_string(project.join("src/lib.rs")).unwrap()
    );

    let again = lint(&["fix"], &project);
    assert!(String::from_utf8_lossy(&again.stderr).contains("applied 0 fix(es) to 0 file(s)"));

    let out = Command::new(env!("CARGO"))
        .args(["test", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", repo().join("target/fixtures"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 passed"), "{stdout}");
}
