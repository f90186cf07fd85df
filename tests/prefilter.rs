//! The prefilter changes no finding: on every fixture, on a generated workspace where every
//! file is legacy code, and (run by `bench/run.sh`) on the crates.io corpus, the findings with
//! the prefilter are those of parsing every file (`parse-error` aside: it only covers parsed files).

use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_agent_events::config::{Config, RawConfig};
use cargo_agent_events::frontend::Lang;
use cargo_agent_events::lint::Linter;
use cargo_agent_events::rules::builtin_defs;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn findings(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", "--format", "json", "--exit-zero"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.into_iter().filter(|f| f["rule"] != "parse-error").collect()
}

fn same_with_and_without(dir: &Path) -> usize {
    let with = findings(dir, &[]);
    let without = findings(dir, &["--no-prefilter"]);
    assert_eq!(with, without, "the prefilter changed the findings in {}", dir.display());
    with.len()
}

#[test]
fn on_every_fixture() {
    for entry in std::fs::read_dir(repo().join("fixtures")).unwrap() {
        same_with_and_without(&entry.unwrap().path());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else if path.extension().is_some_and(|e| e == "rs") {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn on_a_workspace_where_every_file_is_legacy_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    let legacy = repo().join("fixtures/legacy-backend");
    for i in 0..5 {
        copy_dir(&legacy.join("src"), &dir.path().join(format!("copy_{i}/src")));
        copy_dir(&legacy.join("tests"), &dir.path().join(format!("copy_{i}/tests")));
    }
    let n = same_with_and_without(dir.path());
    assert!(n > 500, "{n} findings");
}

#[test]
fn every_rule_s_documented_bad_example_passes_the_prefilter() {
    let config = Config::from_raw(RawConfig::default(), Path::new("agent-events.toml"), Vec::new()).unwrap();
    let linter = Linter::new(&config);
    for lang in Lang::ALL {
        for def in builtin_defs().iter().filter(|d| d.id != "parse-error" && d.reads(lang)) {
            // The examples' own configuration (a declared vocabulary), when they need one: its
            // strings are the prefilter's.
            let own;
            let linter = match &def.docs.config {
                Some(text) => {
                    let raw: RawConfig = toml::from_str(text).unwrap();
                    own = Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new()).unwrap();
                    Linter::new(&own)
                }
                None => Linter::new(&config),
            };
            let prefilter = linter.prefilter(lang).unwrap();
            let (bad, _) =
                def.examples(lang).unwrap_or_else(|| panic!("{} has no {lang:?} examples", def.id));
            assert!(prefilter.wants(bad.as_bytes()), "{}: the {lang:?} bad example would be skipped", def.id);
        }
    }
    assert!(!linter.prefilter(Lang::Rust).unwrap().wants(b"fn main() { println!(\"hello\"); }"));
    assert!(!linter.prefilter(Lang::Python).unwrap().wants(b"print('hello')\n"));
}

/// Needs the corpus: `bash bench/run.sh` vendors it and runs this test.
#[test]
#[ignore = "needs target/bench-corpus (bash bench/run.sh)"]
fn on_the_crates_io_corpus_and_it_finds_nothing_there() {
    let corpus = repo().join("target/bench-corpus/vendor");
    assert!(corpus.is_dir(), "run `bash bench/run.sh` first: it vendors the corpus");
    assert_eq!(same_with_and_without(&corpus), 0, "findings in crates that have no agent events");
}
