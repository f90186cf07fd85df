//! End-to-end tests of the `cargo-agent-events` binary: what a user at a terminal or in CI sees.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], cwd: &Path) -> Output {
    bin().args(args).current_dir(cwd).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A temporary project with a workspace manifest, so it is its own root.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[workspace]\n");
    for (rel, text) in files {
        write(dir.path(), rel, text);
    }
    dir
}

const LEGACY: &str = r#"
pub fn report(manager: &Manager, user: &str) {
    manager.send_to_user(user, serde_json::json!({ "type": "agent_started" }));
    manager.broadcast(serde_json::json!({ "type": "agent_thinking", "thought": "x" }));
}
"#;

#[test]
fn exit_codes_follow_the_levels() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    let p = dir.path();
    // direct-event-payload is a warning; unscoped-broadcast is an error.
    let all = run(&["check", "--format", "short"], p);
    assert_eq!(all.status.code(), Some(1), "{}", stdout(&all));
    let warnings_only = run(&["check", "--ignore", "unscoped-broadcast"], p);
    assert_eq!(warnings_only.status.code(), Some(0), "{}", stdout(&warnings_only));
    let deny = run(&["check", "--ignore", "unscoped-broadcast", "--deny-warnings"], p);
    assert_eq!(deny.status.code(), Some(1));
    assert_eq!(run(&["check", "--exit-zero"], p).status.code(), Some(0));
    let none = run(&["check", "--select", "user-emitter-call"], p);
    assert_eq!((none.status.code(), stdout(&none).trim()), (Some(0), "0 errors, 0 warnings in 1 file"));
}

#[test]
fn short_format_is_one_line_per_finding_in_a_stable_order() {
    let dir = project(&[("src/lib.rs", LEGACY), ("src/a.rs", LEGACY)]);
    let out = run(&["check", "--format", "short"], dir.path());
    let text = stdout(&out);
    assert_eq!(
        text,
        "src/a.rs:3:60: warning[direct-event-payload] hand-built `agent_started` event (built as a literal)\n\
         src/a.rs:4:13: error[unscoped-broadcast] `agent_thinking` event sent to every user through `broadcast`\n\
         src/a.rs:4:51: warning[direct-event-payload] hand-built `agent_thinking` event (built as a literal)\n\
         src/lib.rs:3:60: warning[direct-event-payload] hand-built `agent_started` event (built as a literal)\n\
         src/lib.rs:4:13: error[unscoped-broadcast] `agent_thinking` event sent to every user through `broadcast`\n\
         src/lib.rs:4:51: warning[direct-event-payload] hand-built `agent_thinking` event (built as a literal)\n"
    );
    assert_eq!(stdout(&run(&["check", "--format", "short"], dir.path())), text, "deterministic");
}

#[test]
fn json_format_carries_every_documented_field() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    let out = run(&["check", "--format", "json"], dir.path());
    let findings = json(&out);
    assert_eq!(findings.len(), 3);
    let f = &findings[0];
    for key in ["rule", "level", "path", "line", "column", "end_line", "end_column", "message", "help", "fix"]
    {
        assert!(f.get(key).is_some(), "{key} missing in {f}");
    }
    assert_eq!(f["path"], "src/lib.rs");
    assert_eq!((f["line"].as_u64(), f["column"].as_u64()), (Some(3), Some(60)));
    // end exclusive, columns in characters: the span is `"agent_started"`.
    assert_eq!((f["end_line"].as_u64(), f["end_column"].as_u64()), (Some(3), Some(75)));
    assert_eq!(f["fix"], serde_json::Value::Null);
    assert_eq!(f["level"], "warning");
}

#[test]
fn human_format_shows_the_code_the_rule_the_help_and_the_docs_line() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    let out = run(&["check", "--color", "never"], dir.path());
    let text = stdout(&out);
    assert!(text.contains("unscoped-broadcast"), "{text}");
    assert!(text.contains("manager.broadcast(serde_json::json!"), "{text}");
    assert!(text.contains("src/lib.rs:4:13"), "{text}");
    assert!(text.contains("docs: cargo agent-events explain unscoped-broadcast"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes with --color never");
    assert!(text.trim_end().ends_with("1 error, 2 warnings in 1 file"), "{text}");
}

#[test]
fn event_types_held_in_string_constants_of_the_file_are_found() {
    let src = "const TOOL_EXECUTING: &str = \"tool_executing\";\nstruct Events;\nimpl Events {\n    const STARTED: &'static str = \"agent_started\";\n}\n\nfn f(m: &Manager, kind: &str) {\n    m.send_to_user(\"u\", serde_json::json!({ \"type\": TOOL_EXECUTING, \"tool_name\": \"x\", \"tool_call_id\": \"c\" }));\n    m.send_event(Events::STARTED, 1);\n    if kind == TOOL_EXECUTING {}\n}\n";
    let dir = project(&[("src/lib.rs", src)]);
    let out = run(&["check", "--format", "short", "--select", "direct-event-payload"], dir.path());
    assert_eq!(
        stdout(&out),
        "src/lib.rs:8:53: warning[direct-event-payload] hand-built `tool_executing` event (built as a literal)\n\
         src/lib.rs:9:18: warning[direct-event-payload] hand-built `agent_started` event (named as a string to `send_event`)\n"
    );
}

#[test]
fn a_manager_used_through_a_closure_is_found_and_other_uses_are_not() {
    let src = "fn f(ctx: &Ctx) {\n    ctx.websocket_manager.as_ref().map(|m| m.send_agent_thinking(\"u\", \"x\"));\n    ctx.websocket_manager.as_ref().map(|m| m.is_connected());\n    let n = ctx.websocket_manager.as_ref().map_or(0, |m| m.connection_count());\n    let k = ctx.websocket_manager.clone().unwrap().connection_count();\n    match &ctx.websocket_manager {\n        Some(m) => m.send_to_user(\"u\", \"agent_completed\"),\n        None => {}\n    }\n    ctx.websocket_manager.as_ref().map(|m| m.send_to_user(\"u\", 1));\n    match &ctx.websocket_manager {\n        Some(m) => std::sync::Arc::clone(m),\n        None => todo!(),\n    };\n}\n";
    let dir = project(&[("src/lib.rs", src)]);
    let out = run(&["check", "--format", "short", "--select", "context-manager-call"], dir.path());
    assert_eq!(
        stdout(&out),
        "src/lib.rs:2:5: warning[context-manager-call] `agent_thinking` event sent through `websocket_manager` reached via another object (`send_agent_thinking` names it)\n\
         src/lib.rs:6:12: warning[context-manager-call] `agent_completed` event sent through `websocket_manager` reached via another object (`send_to_user` is given one)\n"
    );
}

#[test]
fn runs_as_a_cargo_subcommand() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    let out = run(&["agent-events", "check", "--format", "short"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 3);
}

#[test]
fn cargo_finds_it_on_the_path_as_the_agent_events_subcommand() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-agent-events")).parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["agent-events", "check", "--format", "short"])
        .env("PATH", path)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);
}

#[test]
fn standard_input_is_linted_as_the_named_file() {
    let dir = project(&[]);
    let mut child = bin()
        .args(["check", "--format", "json", "--stdin-filename", "src/editor.rs"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(LEGACY.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let findings = json(&out);
    assert_eq!(findings.len(), 3);
    assert!(findings.iter().all(|f| f["path"] == "src/editor.rs"));
}

#[test]
fn usage_and_configuration_errors_exit_2_naming_the_problem() {
    let dir = project(&[
        ("src/lib.rs", LEGACY),
        ("agent-events.toml", "[rules.direct-event-payload]\nlevle = \"deny\"\n"),
    ]);
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`rules.direct-event-payload.levle`: unknown key"), "{}", stderr(&out));
    assert!(stderr(&out).contains("agent-events.toml"), "{}", stderr(&out));

    let dir = project(&[("agent-events.toml", "exclude = 3\n")]);
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("exclude"), "{}", stderr(&out));

    let dir = project(&[("src/lib.rs", LEGACY)]);
    let out = run(&["check", "--select", "no-such-rule"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("there is no rule `no-such-rule`"));
    let out = run(&["check", "missing/dir"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing/dir: no such file or directory"), "{}", stderr(&out));
    assert_eq!(run(&["check", "--format", "xml"], dir.path()).status.code(), Some(2));
    assert_eq!(run(&["explain", "no-such-rule"], dir.path()).status.code(), Some(2));
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_the_run_goes_on() {
    // Both hold a string the rules look for, so the prefilter lets them through to the parser.
    let dir = project(&[("src/broken.rs", "fn broken( { send_tool_executing()\n"), ("src/lib.rs", LEGACY)]);
    std::fs::write(dir.path().join("src/latin1.rs"), b"// caf\xe9\nfn f() { e.notify_agent_started(); }\n")
        .unwrap();
    std::fs::write(dir.path().join("src/plain.rs"), b"fn plain( {\n").unwrap();
    let out = run(&["check", "--format", "json"], dir.path());
    let findings = json(&out);
    let parse_errors: Vec<_> = findings.iter().filter(|f| f["rule"] == "parse-error").collect();
    assert_eq!(parse_errors.len(), 2, "{findings:#?}");
    assert!(parse_errors[0]["message"].as_str().unwrap().starts_with("this file does not parse as Rust"));
    assert_eq!(parse_errors[1]["message"], "this file is not valid UTF-8 (invalid byte at offset 6)");
    assert_eq!(parse_errors[1]["line"], 1);
    assert_eq!(findings.iter().filter(|f| f["path"] == "src/lib.rs").count(), 3);
    // A file with none of those strings is skipped unparsed, unless every file is parsed.
    let all = json(&run(&["check", "--format", "json", "--no-prefilter"], dir.path()));
    let parse_errors: Vec<_> =
        all.iter().filter(|f| f["rule"] == "parse-error").map(|f| f["path"].clone()).collect();
    assert_eq!(parse_errors, ["src/broken.rs", "src/latin1.rs", "src/plain.rs"]);
}

#[test]
fn discovery_honours_gitignore_target_and_excludes_and_survives_symlink_loops() {
    let dir = project(&[
        ("src/lib.rs", LEGACY),
        ("target/debug/gen.rs", LEGACY),
        ("generated/out.rs", LEGACY),
        ("vendor/legacy.rs", LEGACY),
        (".gitignore", "generated/\n"),
        ("agent-events.toml", "exclude = [\"vendor\"]\n"),
    ]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path(), dir.path().join("src/loop")).unwrap();
    let out = run(&["check", "--format", "json"], dir.path());
    let paths: std::collections::BTreeSet<String> =
        json(&out).iter().map(|f| f["path"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paths.into_iter().collect::<Vec<_>>(), ["src/lib.rs"]);
}

#[test]
fn suppressions_hide_findings_and_stale_ones_are_reported() {
    let src = r#"
pub fn report(manager: &Manager, user: &str) {
    manager.send_to_user(user, serde_json::json!({ "type": "agent_started" })); // agent-events: allow(direct-event-payload) -- migrating
    // agent-events: allow(unscoped-broadcast, direct-event-payload)
    manager.broadcast(serde_json::json!({ "type": "agent_thinking", "thought": "x" }));
    let quiet = 1; // agent-events: allow(user-emitter-call)
}
"#;
    let dir = project(&[("src/lib.rs", src)]);
    let out = run(&["check", "--format", "short"], dir.path());
    assert_eq!(
        stdout(&out),
        "src/lib.rs:6:43: warning[unused-suppression] unused suppression: no `user-emitter-call` finding on line 6 [*]\n"
    );
    let file_level =
        format!("// agent-events: allow-file(direct-event-payload, unscoped-broadcast)\n{LEGACY}");
    let dir = project(&[("src/lib.rs", &file_level)]);
    assert_eq!(stdout(&run(&["check", "--format", "short"], dir.path())), "");
}

#[test]
fn per_path_overrides_and_configured_names_apply() {
    let config = "[rules.user-emitter-call]\nlevel = \"deny\"\nextend-methods = [\"notify_step\"]\n\n\
                  [[overrides]]\npaths = [\"tests\"]\nrules = { user-emitter-call = \"allow\" }\n";
    let src = "fn f(e: &E) { e.notify_step(1); e.notify_tool_completed(); }\n";
    let dir = project(&[("agent-events.toml", config), ("src/lib.rs", src), ("tests/it.rs", src)]);
    let out = run(&["check", "--format", "short", "--select", "user-emitter-call"], dir.path());
    assert_eq!(
        stdout(&out),
        "src/lib.rs:1:17: error[user-emitter-call] legacy emitter call `notify_step`\n\
         src/lib.rs:1:35: error[user-emitter-call] legacy emitter call `notify_tool_completed`\n"
    );
}

#[test]
fn configuration_in_cargo_metadata_is_read_and_a_second_one_is_a_warning() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    write(dir.path(), "Cargo.toml", "[workspace]\n[workspace.metadata.agent-events]\nexclude = [\"src\"]\n");
    let out = run(&["check", "--format", "short"], dir.path());
    assert_eq!(stdout(&out), "");
    write(dir.path(), "agent-events.toml", "exclude = []\n");
    let out = run(&["check", "--format", "short"], dir.path());
    assert_eq!(stdout(&out).lines().count(), 3);
    assert!(stderr(&out).contains("is ignored"), "{}", stderr(&out));
}

#[test]
fn canonical_code_is_recognised_by_crate_and_configured_paths_not_by_folder() {
    // The schema crate's own tests build events by hand; as canonical code they are silent.
    let validate = std::fs::read_to_string(repo().join("schema/src/validate.rs")).unwrap();
    let as_app = project(&[
        ("crate/Cargo.toml", "[package]\nname = \"my-app\"\n"),
        ("crate/src/events.rs", &validate),
    ]);
    let findings = json(&run(&["check", "--format", "json"], as_app.path()));
    assert!(findings.iter().any(|f| f["rule"] == "direct-event-payload"), "{findings:#?}");
    write(as_app.path(), "agent-events.toml", "canonical-paths = [\"my_app::events\"]\n");
    assert!(json(&run(&["check", "--format", "json"], as_app.path())).is_empty());
    let as_schema = project(&[
        ("s/Cargo.toml", "[package]\nname = \"agent-events-schema\"\n"),
        ("s/src/validate.rs", &validate),
    ]);
    assert!(json(&run(&["check", "--format", "json"], as_schema.path())).is_empty());
}

#[test]
fn this_repository_reports_nothing_outside_its_fixtures() {
    let out = run(&["check", "--format", "json"], &repo());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(json(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn rules_and_explain_print_the_rule_docs() {
    let out = run(&["rules"], &repo());
    let text = stdout(&out);
    assert_eq!(text.lines().count(), cargo_agent_events::rules::BUILTIN.len(), "{text}");
    assert!(text.contains("unpaired-tool-event    deny  "), "{text}");
    let out = run(&["explain", "unpaired-tool-event"], &repo());
    let text = stdout(&out);
    for heading in [
        "# unpaired-tool-event",
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
        "## Options",
    ] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
}

#[test]
fn schema_prints_the_json_schema() {
    let out = run(&["schema"], &repo());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["oneOf"].as_array().map(Vec::len), Some(7));
}

#[test]
fn a_misspelt_rule_id_is_a_usage_error_with_the_nearest_rule() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    for flag in ["--select", "--ignore"] {
        let out = run(&["check", flag, "direct-event-payload,unscoped-brodcast"], dir.path());
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert_eq!(
            stderr(&out),
            format!("error: `{flag}`: there is no rule `unscoped-brodcast`; did you mean `unscoped-broadcast`? (the rules: `cargo agent-events rules`)\n")
        );
        assert_eq!(stdout(&out), "");
    }
    let out = run(&["fix", "--select", "unused-supression"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `unused-suppression`?"), "{}", stderr(&out));
    // Nothing near: no guess.
    let out = run(&["check", "--select", "no-such-rule"], dir.path());
    assert!(!stderr(&out).contains("did you mean"), "{}", stderr(&out));
    let out = run(&["explain", "unpaired-tool-evnet"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: there is no rule `unpaired-tool-evnet`; did you mean `unpaired-tool-event`?\n"
    );
    // The configuration's rule ids are checked the same way.
    write(dir.path(), "agent-events.toml", "[rules.user-emiter-call]\nlevel = \"deny\"\n");
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`rules.user-emiter-call`: there is no rule `user-emiter-call`; did you mean `user-emitter-call`?"),
        "{}",
        stderr(&out)
    );
    write(
        dir.path(),
        "agent-events.toml",
        "[[overrides]]\npaths = [\"tests\"]\nrules = { direct-event-paylaod = \"allow\" }\n",
    );
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `direct-event-payload`?"), "{}", stderr(&out));
}

#[test]
fn each_finding_says_its_headline_once_and_labels_say_something_else() {
    let dir = project(&[("src/lib.rs", LEGACY)]);
    let text = stdout(&run(&["check", "--color", "never"], dir.path()));
    for headline in [
        "`agent_thinking` event sent to every user through `broadcast`",
        "hand-built `agent_started` event (built as a literal)",
        "hand-built `agent_thinking` event (built as a literal)",
    ] {
        assert_eq!(text.matches(headline).count(), 1, "{headline}:\n{text}");
    }
    assert!(text.contains("╰── reaches every connected user"), "{text}");
    assert!(text.contains("╰── the bridge never sees this event"), "{text}");
    // The event named in a label takes the article its sound needs.
    assert!(text.contains("╰── an `agent_thinking` event"), "{text}");
    let missing = "fn f(m: &Manager) {\n    m.send_to_user(\"u\", serde_json::json!({ \"type\": \"agent_completed\", \"final_response\": null }));\n    m.send_to_user(\"u\", serde_json::json!({ \"type\": \"tool_completed\", \"tool_name\": \"t\" }));\n}\n";
    let dir = project(&[("src/lib.rs", missing)]);
    let text = stdout(&run(&["check", "--color", "never", "--select", "event-missing-field"], dir.path()));
    assert!(text.contains("╰── an `agent_completed` event"), "{text}");
    assert!(text.contains("╰── a `tool_completed` event"), "{text}");
    assert!(!text.contains("a `agent_completed`"), "{text}");
}

#[test]
fn without_a_path_the_whole_project_is_linted_from_any_folder_in_it() {
    let dir = project(&[("src/lib.rs", LEGACY), ("src/agents/mod.rs", "pub fn quiet() {}\n")]);
    let sub = dir.path().join("src/agents");
    let from_root = run(&["check", "--format", "short"], dir.path());
    let from_sub = run(&["check", "--format", "short"], &sub);
    assert_eq!(from_sub.status.code(), Some(1));
    assert_eq!(stdout(&from_sub), stdout(&from_root));
    assert_eq!(stdout(&from_sub).lines().count(), 3, "{}", stdout(&from_sub));
    let human = run(&["check"], &sub);
    assert!(stdout(&human).trim_end().ends_with("1 error, 2 warnings in 2 files"), "{}", stdout(&human));
    // A path still narrows the run, relative to the current folder.
    let here = run(&["check", "."], &sub);
    assert_eq!((here.status.code(), stdout(&here).trim()), (Some(0), "0 errors, 0 warnings in 1 file"));
    // `baseline` and `stats` take the whole project too.
    assert!(run(&["baseline"], &sub).status.success());
    let written = std::fs::read_to_string(dir.path().join("agent-events-baseline.json")).unwrap();
    assert_eq!(written.matches("\"count\"").count(), 3, "{written}");
    let stats = run(&["stats", "--format", "json"], &sub);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(stats.to_string().contains("src/lib.rs"), "{stats}");
}

#[test]
fn a_run_with_nothing_to_lint_says_so_and_exits_0() {
    let dir = project(&[("gen/notes.txt", "nothing here\n"), ("README.md", "# app\n")]);
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "", "no `0 errors, 0 warnings in 0 files`");
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(stderr(&out), format!("warning: no Rust or Python files to lint in {}\n", root.display()));
    let out = run(&["check", "gen", "--format", "short"], dir.path());
    assert_eq!(
        (out.status.code(), stderr(&out).as_str()),
        (Some(0), "warning: no Rust or Python files to lint in gen\n")
    );
    let out = run(&["check", "--format", "json"], dir.path());
    assert_eq!(json(&out), Vec::<serde_json::Value>::new());
    write(dir.path(), "src/lib.rs", LEGACY);
    let out = run(&["check", "--lang", "python"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).starts_with("warning: no Python files to lint in "), "{}", stderr(&out));
    let out = run(&["check", "--format", "short"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("no Rust"), "{}", stderr(&out));
}
