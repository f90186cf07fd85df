//! One fixture per rule and language, as Ruff keeps one per rule: `tests/rules/<id>.rs` and
//! `tests/rules/<id>.py` hold the shapes real agent backends write, each line that must produce a
//! finding marked `// expect: <rule>` (`# expect: <rule>`), and near-misses that must stay silent,
//! each with a `silent:` comment saying why.
//!
//! Each fixture is copied into a temporary project (so the repository's own configuration, which
//! excludes `tests/rules`, does not apply, and paths are stable) and linted by the real binary with
//! only its rule selected (`selection` names the one exception). The findings must be exactly
//! the marks — a rule named twice on a line expects two findings there — and the human report is
//! snapshotted so a reviewer sees what a user sees; for rules whose findings carry fixes, so is
//! the result of `fix`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cargo_agent_events::frontend::Lang;
use cargo_agent_events::rules::{builtin_defs, RuleDef};

/// A language's fixture extension (the first of the table's), name and expectation mark.
trait Fixture {
    fn ext(self) -> &'static str;
    fn expect_mark(self) -> String;
}

impl Fixture for Lang {
    fn ext(self) -> &'static str {
        self.spec().extensions[0]
    }

    fn expect_mark(self) -> String {
        format!("{} expect: ", self.spec().line_comment)
    }
}

/// What a near-miss's comment says before why it is silent.
const SILENT: &str = "silent: ";

/// The languages a rule is spelled in: those it has examples in (its own docs, or a
/// `[lang.<name>]` section in `rules/<id>.toml`).
fn langs(def: &RuleDef) -> Vec<Lang> {
    Lang::ALL.into_iter().filter(|l| def.examples(*l).is_some()).collect()
}

/// The configuration of the temporary project: a Python project names its canonical adapter.
const CONFIG: &str = "canonical-calls = [\"self._websocket_adapter.emit_*\"]\n";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules")
}

/// The fixture's path relative to the repository, and to the temporary project.
fn rel(id: &str, lang: Lang) -> String {
    format!("tests/rules/{id}.{}", lang.ext())
}

fn source(id: &str, lang: Lang) -> PathBuf {
    fixtures_dir().join(format!("{id}.{}", lang.ext()))
}

fn original(id: &str, lang: Lang) -> String {
    std::fs::read_to_string(source(id, lang)).unwrap()
}

fn fixed(dir: &Path, id: &str, lang: Lang) -> String {
    std::fs::read_to_string(dir.join(rel(id, lang))).unwrap()
}

fn def(id: &str) -> RuleDef {
    builtin_defs().into_iter().find(|d| d.id == id).unwrap_or_else(|| panic!("`{id}` is not a built-in rule"))
}

/// The rules selected when linting a rule's fixture.
fn selection(id: &str) -> String {
    match id {
        // Only suppressions of rules that run are judged: the fixture's suppressions name these.
        "unused-suppression" => "unused-suppression,user-emitter-call,deprecated-api".to_owned(),
        _ => id.to_owned(),
    }
}

/// Extra flags for `check`.
fn check_flags(id: &str) -> &'static [&'static str] {
    match id {
        // With `parse-error` alone selected, the prefilter has no string to look for and skips
        // every file unparsed, so nothing is reported (a known defect): parse everything.
        "parse-error" => &["--no-prefilter"],
        _ => &[],
    }
}

/// A temporary project holding a copy of the fixture at the same relative path.
fn project(id: &str, lang: Lang) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{CONFIG}{}", def(id).docs.config.as_deref().unwrap_or_default());
    std::fs::write(dir.path().join("agent-events.toml"), config).unwrap();
    let to = dir.path().join(rel(id, lang));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(source(id, lang), to).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn check_args<'a>(id: &'a str, selection: &'a str, format: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["check", "--select", selection, "--format", format, "--color", "never"];
    args.extend(check_flags(id));
    args.extend(extra);
    args.push(".");
    args
}

/// `check --format json` on the project: the findings, and the exit code.
fn findings(dir: &Path, args: &[&str]) -> (Vec<serde_json::Value>, Option<i32>) {
    let out = run(dir, args);
    let findings = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`{}` printed no JSON array ({e}):\n{}\n{}",
            args.join(" "),
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (findings, out.status.code())
}

/// `(line, rule)` → how many findings, from the marks of a fixture's text.
fn marks(text: &str, lang: Lang) -> BTreeMap<(usize, String), usize> {
    let mut marks = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some((_, rules)) = line.split_once(&lang.expect_mark()) {
            for rule in rules.split(',') {
                *marks.entry((i + 1, rule.trim().to_owned())).or_insert(0) += 1;
            }
        }
    }
    marks
}

/// `(line, rule)` → how many findings, from `check --format json`.
fn found(findings: &[serde_json::Value], path: &str) -> BTreeMap<(usize, String), usize> {
    let mut found = BTreeMap::new();
    for f in findings {
        assert_eq!(f["path"], path, "a finding outside the fixture: {f:#}");
        let key = (f["line"].as_u64().unwrap() as usize, f["rule"].as_str().unwrap().to_owned());
        *found.entry(key).or_insert(0) += 1;
    }
    found
}

/// The sites in `a` not in `b` (counting repeats), each shown with its line.
fn missing_from(
    a: &BTreeMap<(usize, String), usize>,
    b: &BTreeMap<(usize, String), usize>,
    text: &str,
) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    a.iter()
        .filter(|(site, n)| b.get(*site).copied().unwrap_or(0) < **n)
        .map(|((line, rule), n)| {
            let extra = n - b.get(&(*line, rule.clone())).copied().unwrap_or(0);
            let times = if extra > 1 { format!(" (x{extra})") } else { String::new() };
            format!("{line}: {rule}{times}    {}", lines.get(line - 1).map_or("", |l| l.trim()))
        })
        .collect()
}

/// How fixable a rule's findings are in a fixture: the applicabilities of their fixes. A rule
/// that is not listed carries no fixes there.
fn fixes_expected(id: &str, lang: Lang) -> BTreeSet<&'static str> {
    let expected: &[&str] = match (id, lang) {
        // Complete expected events in test code (the fixture is under `tests/`) become typed
        // payloads.
        ("direct-event-payload", Lang::Rust) => &["unsafe"],
        // Placeholders for the missing fields, in `json!` objects and Python dicts.
        ("event-missing-field", _) => &["unsafe"],
        // The unused name, or the whole comment, is removed.
        ("unused-suppression", _) => &["safe"],
        _ => &[],
    };
    expected.iter().copied().collect()
}

/// Runs every check of one rule's fixtures.
fn check_rule(id: &str) {
    let def = def(id);
    for lang in Lang::ALL {
        if !langs(&def).contains(&lang) {
            // The rule has no spelling in this language (no `[lang.<name>]` section): nothing to lint.
            eprintln!("{id}: no {} spelling, skipped", lang.name());
            assert!(
                !source(id, lang).exists(),
                "{id} has no {} spelling, yet it has a {} fixture",
                lang.name(),
                lang.name()
            );
            continue;
        }
        let text = original(id, lang);
        let expected = marks(&text, lang);
        let unknown: Vec<&(usize, String)> =
            expected.keys().filter(|(_, rule)| !builtin_defs().iter().any(|d| d.id == *rule)).collect();
        assert!(unknown.is_empty(), "{}: marks that name no rule: {unknown:?}", rel(id, lang));
        assert!(
            expected.keys().any(|(_, rule)| rule == id),
            "{}: no line is marked `{}{id}`",
            rel(id, lang),
            lang.expect_mark()
        );
        assert!(text.contains(SILENT), "{}: no near-miss says why it is `{SILENT}…`", rel(id, lang));
        findings_match_the_marks(id, lang, &text, &expected);
        human_report(id, lang);
        fixes(id, lang);
    }
}

fn findings_match_the_marks(id: &str, lang: Lang, text: &str, expected: &BTreeMap<(usize, String), usize>) {
    let dir = project(id, lang);
    let selection = selection(id);
    let (all, code) = findings(dir.path(), &check_args(id, &selection, "json", &[]));
    let found = found(&all, &rel(id, lang));
    let missed = missing_from(expected, &found, text);
    let unexpected = missing_from(&found, expected, text);
    assert!(
        missed.is_empty() && unexpected.is_empty(),
        "{} with --select {selection}:\nmarked but not found:\n  {}\nfound but not marked:\n  {}",
        rel(id, lang),
        missed.join("\n  "),
        unexpected.join("\n  ")
    );
    let errors = all.iter().any(|f| f["level"] == "error");
    assert_eq!(code, Some(i32::from(errors)), "{}: the exit code follows the levels", rel(id, lang));
    if check_flags(id).is_empty() {
        let (unfiltered, _) = findings(dir.path(), &check_args(id, &selection, "json", &["--no-prefilter"]));
        assert_eq!(all, unfiltered, "{}: the prefilter changes the findings", rel(id, lang));
    }
}

fn human_report(id: &str, lang: Lang) {
    let dir = project(id, lang);
    let selection = selection(id);
    let args = check_args(id, &selection, "human", &[]);
    let report = stdout(&run(dir.path(), &args));
    insta::with_settings!({ description => format!("cargo agent-events {}", args.join(" ")), omit_expression => true }, {
        insta::assert_snapshot!(format!("{id}_{}_human", lang.name()), report);
    });
}

fn fixes(id: &str, lang: Lang) {
    let selection = selection(id);
    let dir = project(id, lang);
    let (all, _) = findings(dir.path(), &check_args(id, &selection, "json", &[]));
    let carried: BTreeSet<&str> = all.iter().filter_map(|f| f["fix"]["applicability"].as_str()).collect();
    assert_eq!(carried, fixes_expected(id, lang), "{}: the applicabilities of the fixes", rel(id, lang));
    for applicability in ["safe", "unsafe"] {
        if !carried.contains(applicability) {
            continue;
        }
        let dir = project(id, lang);
        let mut args = vec!["fix", "--select", &selection];
        if !carried.contains("safe") {
            // Only unsafe fixes: without the flag, `fix` writes nothing.
            let out = run(dir.path(), &[&args[..], &["."]].concat());
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(fixed(dir.path(), id, lang), original(id, lang), "{}: safe fixes only", rel(id, lang));
        }
        if applicability == "unsafe" {
            args.push("--unsafe-fixes");
        }
        args.push(".");
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let after = fixed(dir.path(), id, lang);
        let path = rel(id, lang);
        let diff = similar::TextDiff::from_lines(&original(id, lang), &after)
            .unified_diff()
            .context_radius(1)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        let summary = String::from_utf8_lossy(&out.stderr);
        insta::with_settings!({ description => format!("cargo agent-events {}", args.join(" ")), omit_expression => true }, {
            insta::assert_snapshot!(format!("{id}_{}_fix_{applicability}", lang.name()), format!("{summary}\n{diff}"));
        });
        // A fixed point: no finding left carries a fix of the kind just applied.
        let (left, _) = findings(dir.path(), &check_args(id, &selection, "json", &[]));
        let still: Vec<&serde_json::Value> = left
            .iter()
            .filter(|f| {
                let a = f["fix"]["applicability"].as_str();
                a == Some(applicability) || (applicability == "unsafe" && a == Some("safe"))
            })
            .collect();
        assert!(still.is_empty(), "{path}: fixable after `fix`: {still:#?}");
    }
}

macro_rules! rule_tests {
    ($($test:ident => $id:literal),* $(,)?) => {
        /// The rules that have a test here.
        const TESTED: &[&str] = &[$($id),*];
        $(
            #[test]
            fn $test() {
                check_rule($id);
            }
        )*
    };
}

rule_tests! {
    direct_event_payload => "direct-event-payload",
    event_missing_field => "event-missing-field",
    context_manager_call => "context-manager-call",
    singleton_manager => "singleton-manager",
    user_emitter_call => "user-emitter-call",
    deprecated_api => "deprecated-api",
    unpaired_tool_event => "unpaired-tool-event",
    cfg_gated_close => "cfg-gated-close",
    terminal_event_twice => "terminal-event-twice",
    cancelled_pair => "cancelled-pair",
    event_wire_name => "event-wire-name",
    unscoped_broadcast => "unscoped-broadcast",
    competing_emitter => "competing-emitter",
    parse_error => "parse-error",
    unused_suppression => "unused-suppression",
}

#[test]
fn every_builtin_rule_has_its_fixtures_and_a_test() {
    let defs = builtin_defs();
    let mut problems = Vec::new();
    let mut wanted = BTreeSet::new();
    for def in &defs {
        for lang in langs(def) {
            let name = format!("{}.{}", def.id, lang.ext());
            if !fixtures_dir().join(&name).is_file() {
                problems.push(format!("tests/rules/{name} is missing"));
            }
            wanted.insert(name);
        }
        if !TESTED.contains(&def.id.as_str()) {
            problems.push(format!("{} has no test in tests/rule_fixtures.rs", def.id));
        }
    }
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !wanted.contains(&name) {
            problems.push(format!("tests/rules/{name} belongs to no built-in rule and language"));
        }
    }
    for id in TESTED {
        if !defs.iter().any(|d| d.id == *id) {
            problems.push(format!("`{id}` is tested but is not a built-in rule"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn marks_count_repeats_and_ignore_unmarked_lines() {
    let text = "a(); // expect: x, y\nb();\nc(); // expect: x, x\n";
    let m = marks(text, Lang::Rust);
    let expected: BTreeMap<(usize, String), usize> =
        [((1, "x".into()), 1), ((1, "y".into()), 1), ((3, "x".into()), 2)].into_iter().collect();
    assert_eq!(m, expected);
    let found: BTreeMap<(usize, String), usize> =
        [((1, "x".into()), 1), ((3, "x".into()), 1)].into_iter().collect();
    assert_eq!(
        missing_from(&m, &found, text),
        ["1: y    a(); // expect: x, y", "3: x    c(); // expect: x, x"]
    );
    assert!(missing_from(&found, &m, text).is_empty());
    assert!(marks("x = 1  # expect: z\n", Lang::Python).contains_key(&(1, "z".to_owned())));
}
