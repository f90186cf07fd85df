//! The formats CI tools and editors read: SARIF (valid against the 2.1.0 schema), GitHub
//! annotations, and the cargo message stream (parsed by the `cargo_metadata` crate, with the
//! package ids `cargo metadata` reports).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> PathBuf {
    repo().join("fixtures/legacy-backend")
}

fn report(format: &str, dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", "--exit-zero", "--format", format])
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema_and_carries_fingerprints_and_fixes() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("urn:sarif", schema).unwrap();
    let index = compiler.compile("urn:sarif", &mut schemas).unwrap();
    let log: serde_json::Value = serde_json::from_str(&report("sarif", &fixture())).unwrap();
    if let Err(e) = schemas.validate(&log, index) {
        panic!("{e:#}");
    }
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 132);
    assert!(results.iter().all(|r| r["partialFingerprints"]["agentEventsFingerprint/v1"]
        .as_str()
        .is_some_and(|f| f.len() == 16)));
    assert!(results.iter().any(|r| r["fixes"].is_array()));
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(),
        cargo_agent_events::rules::BUILTIN.len()
    );
}

const SAMPLE: &str = "pub fn report(m: &Manager) {\n    m.broadcast(serde_json::json!({ \"type\": \"agent_thinking\", \"thought\": \"a, b: 100%\" }));\n}\n";

fn sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"sample\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), SAMPLE).unwrap();
    dir
}

#[test]
fn github_annotations() {
    let dir = sample();
    insta::assert_snapshot!("github_annotations", report("github", dir.path()));
}

#[test]
fn cargo_messages_are_read_by_cargo_metadata_with_the_real_package_ids() {
    let dir = sample();
    let stream = report("cargo", dir.path());
    let metadata = cargo_metadata::MetadataCommand::new().current_dir(dir.path()).no_deps().exec().unwrap();
    let package = &metadata.packages[0];
    let mut messages = 0;
    for message in cargo_metadata::Message::parse_stream(stream.as_bytes()) {
        let cargo_metadata::Message::CompilerMessage(m) = message.unwrap() else {
            panic!("not a compiler message")
        };
        assert_eq!(m.package_id, package.id);
        assert_eq!(m.target.name, "sample");
        assert!(m.message.spans.iter().any(|s| s.is_primary && s.file_name.ends_with("src/lib.rs")));
        messages += 1;
    }
    assert_eq!(messages, 2);
    let root = dir.path().canonicalize().unwrap();
    let redacted = stream.replace(&root.display().to_string(), "[ROOT]");
    insta::assert_snapshot!("cargo_messages", redacted);
}
