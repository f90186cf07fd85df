//! `cargo agent-events fix`: fixes applied to a fixed point, never half-written, refused when the
//! result would not parse, rolled back when `--verify` fails, line endings and BOM kept.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events")).args(args).current_dir(cwd).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

const REWRITE: &str = r#"
[[rules.user-emitter-call.rewrites]]
match = "$e.notify_agent_thinking($t).await"
replace = "run.thinking($t)"
applicability = "safe"
uses = ["agent_events::Run"]
"#;

const SOURCE: &str = "use std::sync::Arc;\n\nasync fn go(e: &Emitter, run: &Run) {\n    e.notify_agent_thinking(\"one\").await;\n    let quiet = 1; // agent-events: allow(user-emitter-call)\n    e.notify_agent_thinking(format!(\"step {}\", 2)).await;\n}\n";

const FIXED: &str = "use std::sync::Arc;\nuse agent_events::Run;\n\nasync fn go(e: &Emitter, run: &Run) {\n    run.thinking(\"one\");\n    let quiet = 1;\n    run.thinking(format!(\"step {}\", 2));\n}\n";

fn project(config: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(dir.path().join("agent-events.toml"), config).unwrap();
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap()
}

#[test]
fn check_marks_fixable_findings_and_fix_applies_them_to_a_fixed_point() {
    let dir = project(REWRITE, &[("src/lib.rs", SOURCE.as_bytes())]);
    let (short, _) = text(&run(&["check", "--format", "short"], dir.path()));
    assert!(short.lines().all(|l| l.ends_with(" [*]")), "{short}");
    let out = run(&["fix"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(read(dir.path(), "src/lib.rs"), FIXED);
    assert!(text(&out).1.contains("applied 3 fix(es) to 1 file(s)"), "{:?}", text(&out));
    let again = run(&["fix"], dir.path());
    assert!(text(&again).1.contains("applied 0 fix(es) to 0 file(s)"), "a second fix changes nothing");
    assert_eq!(read(dir.path(), "src/lib.rs"), FIXED);
}

#[test]
fn diff_prints_and_writes_nothing() {
    let dir = project(REWRITE, &[("src/lib.rs", SOURCE.as_bytes())]);
    let out = run(&["fix", "--diff"], dir.path());
    let (diff, _) = text(&out);
    assert!(diff.starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n"), "{diff}");
    assert!(diff.contains("\n-    e.notify_agent_thinking(\"one\").await;\n"), "{diff}");
    assert!(diff.contains("\n+    run.thinking(\"one\");\n"), "{diff}");
    assert_eq!(read(dir.path(), "src/lib.rs"), SOURCE);
}

#[test]
fn unsafe_fixes_need_the_flag() {
    let src = "fn f(m: &M) { m.send_json(serde_json::json!({\"type\": \"agent_thinking\"})); }\n";
    let dir = project("", &[("src/lib.rs", src.as_bytes())]);
    run(&["fix"], dir.path());
    assert_eq!(read(dir.path(), "src/lib.rs"), src);
    run(&["fix", "--unsafe-fixes"], dir.path());
    assert_eq!(
        read(dir.path(), "src/lib.rs"),
        "fn f(m: &M) { m.send_json(serde_json::json!({\"type\": \"agent_thinking\", \"thought\": \"TODO\"})); }\n"
    );
}

#[test]
fn a_fix_whose_result_would_not_parse_is_refused_and_the_file_untouched() {
    let broken = REWRITE.replace("replace = \"run.thinking($t)\"", "replace = \"run.thinking($t\"");
    let dir = project(&broken, &[("src/lib.rs", SOURCE.as_bytes())]);
    let out = run(&["fix", "--select", "user-emitter-call"], dir.path());
    let (_, err) = text(&out);
    assert!(err.contains("src/lib.rs: not fixed: the fixed file would not parse"), "{err}");
    assert_eq!(read(dir.path(), "src/lib.rs"), SOURCE);
}

#[test]
fn a_failing_verify_command_restores_every_file() {
    let dir = project(REWRITE, &[("src/lib.rs", SOURCE.as_bytes()), ("src/b.rs", SOURCE.as_bytes())]);
    let out = run(&["fix", "--verify", "grep -q never-there src/lib.rs"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("restored all 2 changed file(s)"), "{:?}", text(&out));
    assert_eq!(read(dir.path(), "src/lib.rs"), SOURCE);
    assert_eq!(read(dir.path(), "src/b.rs"), SOURCE);
    assert!(!dir.path().join(".agent-events-fix-journal").exists());
    let ok = run(&["fix", "--verify", "grep -q run.thinking src/lib.rs"], dir.path());
    assert_eq!(ok.status.code(), Some(0), "{:?}", text(&ok));
    assert_eq!(read(dir.path(), "src/lib.rs"), FIXED);
}

#[test]
fn a_journal_left_by_a_killed_run_is_restored_first() {
    let dir = project(REWRITE, &[("src/lib.rs", b"half-fixed")]);
    let journal = dir.path().join(".agent-events-fix-journal");
    std::fs::create_dir_all(&journal).unwrap();
    std::fs::write(journal.join("0.orig"), SOURCE).unwrap();
    let target = std::fs::canonicalize(dir.path().join("src/lib.rs")).unwrap();
    std::fs::write(journal.join("manifest"), format!("{}\n", target.display())).unwrap();
    let out = run(&["fix", "--diff"], dir.path());
    assert_eq!(read(dir.path(), "src/lib.rs"), "half-fixed", "--diff touches nothing, not even the journal");
    assert!(text(&out).0.is_empty());
    let out = run(&["fix"], dir.path());
    assert!(
        text(&out).1.contains("restored 1 file(s) left by an interrupted `fix --verify`"),
        "{:?}",
        text(&out)
    );
    assert_eq!(read(dir.path(), "src/lib.rs"), FIXED);
    assert!(!journal.exists());
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark_are_kept() {
    let crlf = SOURCE.replace('\n', "\r\n");
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(SOURCE.as_bytes());
    let dir = project(REWRITE, &[("src/crlf.rs", crlf.as_bytes()), ("src/bom.rs", &bom)]);
    let out = run(&["fix"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(read(dir.path(), "src/crlf.rs"), FIXED.replace('\n', "\r\n"));
    assert_eq!(read(dir.path(), "src/bom.rs"), format!("\u{feff}{FIXED}"));
}

#[test]
fn fixes_that_never_settle_are_reported_and_nothing_is_written() {
    let config = r#"
[[rules.user-emitter-call.rewrites]]
match = "$e.notify_agent_started()"
replace = "$e.notify_agent_thinking()"
applicability = "safe"

[[rules.user-emitter-call.rewrites]]
match = "$e.notify_agent_thinking()"
replace = "$e.notify_agent_started()"
applicability = "safe"
"#;
    let src = "fn f(e: &E) { e.notify_agent_started(); }\n";
    let dir = project(config, &[("src/lib.rs", src.as_bytes())]);
    let out = run(&["fix"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("did not reach a fixed point after 10 passes (still changing: src/lib.rs)"),
        "{:?}",
        text(&out)
    );
    assert_eq!(read(dir.path(), "src/lib.rs"), src);
}

#[test]
fn a_rewrite_that_does_not_check_out_is_a_configuration_error() {
    let config = "[[rules.user-emitter-call.rewrites]]\nmatch = \"a(); $$$ b();\"\nreplace = \"c();\"\n";
    let dir = project(config, &[("src/lib.rs", SOURCE.as_bytes())]);
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("`rules.user-emitter-call.rewrites[0]`"), "{:?}", text(&out));
}

#[test]
fn deprecated_paths_are_rewritten_to_the_configured_replacement_except_in_imports() {
    let config =
        "[rules.deprecated-api]\nrewrite-paths = [\"WebSocketNotifier -> crate::events::Notifier\"]\n";
    let src = "use crate::legacy::WebSocketNotifier;\nfn f(n: &WebSocketNotifier) -> u8 { WebSocketNotifier::create(n) }\n";
    let dir = project(config, &[("src/lib.rs", src.as_bytes())]);
    run(&["fix", "--unsafe-fixes", "--select", "deprecated-api"], dir.path());
    assert_eq!(
        read(dir.path(), "src/lib.rs"),
        "use crate::legacy::WebSocketNotifier;\nfn f(n: &crate::events::Notifier) -> u8 { crate::events::Notifier::create(n) }\n"
    );
}

#[test]
fn expected_events_in_tests_become_typed_payloads_that_compile() {
    let expected = r#"#[test]
fn expected_events() {
    let events = vec![
        serde_json::json!({ "type": "tool_executing", "tool_name": "search", "tool_call_id": "c1", "parameters": { "q": "rust" } }),
        serde_json::json!({ "type": "tool_completed", "tool_name": "search", "tool_call_id": "c1", "results": [1, 2], "success": true }),
        serde_json::json!({ "type": "agent_completed", "final_response": null, "success": false, "reason": "dropped" }),
    ];
    assert_eq!(events.len(), 3);
}
"#;
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let manifest = format!(
        "[package]\nname = \"typed\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\nagent-events = {{ path = {:?} }}\nserde_json = \"1\"\n\n[workspace]\n",
        repo.join("runtime")
    );
    let dir = project("", &[("tests/expected.rs", expected.as_bytes()), ("src/lib.rs", b"")]);
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    let out = run(&["fix", "--unsafe-fixes", "--select", "direct-event-payload"], dir.path());
    assert!(text(&out).1.contains("applied 3 fix(es) to 1 file(s)"), "{:?}", text(&out));
    let fixed = read(dir.path(), "tests/expected.rs");
    assert!(
        fixed.contains("agent_events::schema::Payload::ToolCompleted(agent_events::schema::ToolCompleted {"),
        "{fixed}"
    );
    let check = Command::new(env!("CARGO"))
        .args(["check", "--tests", "--quiet", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo.join("target/fixtures"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{fixed}\n{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn diff_with_only_unsafe_fixes_says_how_many_and_how_to_see_them() {
    // A `json!` event missing its required field: the placeholder fix is unsafe.
    let src = "fn f(m: &Manager) {\n    m.send_to_user(\"u\", serde_json::json!({ \"type\": \"agent_thinking\" }));\n}\n";
    let dir = project("", &[("src/lib.rs", src.as_bytes())]);
    let out = run(&["fix", "--diff"], dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!((out.status.code(), stdout.as_str()), (Some(0), ""), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "1 unsafe fix(es) not shown: run `cargo agent-events fix --diff --unsafe-fixes` to include them (review the result)"
    );
    let out = run(&["fix", "--diff", "--unsafe-fixes"], dir.path());
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains("+") && stdout.contains("\"thought\""), "{stdout}");
    assert!(!stderr.contains("unsafe fix"), "{stderr}");
    let out = run(&["fix"], dir.path());
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("1 unsafe fix(es) not applied: run `cargo agent-events fix --unsafe-fixes`"),
        "{stderr}"
    );
    assert_eq!(read(dir.path(), "src/lib.rs"), src, "nothing written");
}

const PY_REWRITES: &str = r#"
[[rules.user-emitter-call.python.rewrites]]
match = "await $n.notify_agent_thinking($t)"
replace = "await emit(\"agent_thinking\", thought=$t)"
applicability = "safe"
uses = ["from app.events.adapter import emit"]

[[rules.context-manager-call.python.rewrites]]
match = """
await $c.websocket_manager.send_tool_executing($c.user_id, $name, $p)
$$$
await $c.websocket_manager.send_tool_completed($c.user_id, $name, $r)
"""
replace = """
await emit("tool_executing", tool_name=$name, parameters=$p)
try:
    $$$
finally:
    await emit("tool_completed", tool_name=$name, results=$r)
"""
applicability = "safe"
uses = ["from app.events.adapter import emit"]
"#;

const PY_SOURCE: &str = r#""""Runs the agent."""
from app.events.adapter import EventAdapter


async def run(context, notifier):
    await notifier.notify_agent_thinking("one")
    if context.ready:
        await context.websocket_manager.send_tool_executing(context.user_id, "search", {"q": 1})
        # the tool may raise
        r = await search(
            "q",
        )
        await context.websocket_manager.send_tool_completed(context.user_id, "search", r)
    await notifier.notify_agent_thinking(f"step {2}")
"#;

const PY_FIXED: &str = r#""""Runs the agent."""
from app.events.adapter import EventAdapter, emit


async def run(context, notifier):
    await emit("agent_thinking", thought="one")
    if context.ready:
        await emit("tool_executing", tool_name="search", parameters={"q": 1})
        try:
            # the tool may raise
            r = await search(
                "q",
            )
        finally:
            await emit("tool_completed", tool_name="search", results=r)
    await emit("agent_thinking", thought=f"step {2}")
"#;

#[test]
fn python_rewrites_apply_to_a_fixed_point_and_import_what_they_use() {
    let dir = project(PY_REWRITES, &[("app/agent.py", PY_SOURCE.as_bytes())]);
    let out = run(&["fix", "--select", "user-emitter-call,context-manager-call"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(read(dir.path(), "app/agent.py"), PY_FIXED);
    let again = run(&["fix", "--select", "user-emitter-call,context-manager-call"], dir.path());
    assert!(text(&again).1.contains("applied 0 fix(es) to 0 file(s)"), "{:?}", text(&again));
    assert_eq!(read(dir.path(), "app/agent.py"), PY_FIXED);
}

#[test]
fn python_diff_prints_and_writes_nothing() {
    let dir = project(PY_REWRITES, &[("app/agent.py", PY_SOURCE.as_bytes())]);
    let (diff, _) = text(&run(&["fix", "--diff", "--select", "user-emitter-call"], dir.path()));
    assert!(diff.starts_with("--- a/app/agent.py\n+++ b/app/agent.py\n"), "{diff}");
    assert!(diff.contains("\n+    await emit(\"agent_thinking\", thought=\"one\")\n"), "{diff}");
    assert_eq!(read(dir.path(), "app/agent.py"), PY_SOURCE);
}

#[test]
fn a_python_fix_whose_result_would_not_parse_is_refused() {
    let broken = PY_REWRITES.replace("finally:\n", "finally\n");
    let dir = project(&broken, &[("app/agent.py", PY_SOURCE.as_bytes())]);
    let (_, err) = text(&run(&["fix", "--select", "context-manager-call"], dir.path()));
    assert!(err.contains("app/agent.py: not fixed: the fixed file would not parse"), "{err}");
    assert_eq!(read(dir.path(), "app/agent.py"), PY_SOURCE);
}

#[test]
fn a_failing_verify_command_restores_python_files() {
    let dir = project(PY_REWRITES, &[("app/a.py", PY_SOURCE.as_bytes()), ("app/b.py", PY_SOURCE.as_bytes())]);
    let out = run(&["fix", "--verify", "grep -q never-there app/a.py"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("restored all 2 changed file(s)"), "{:?}", text(&out));
    assert_eq!(read(dir.path(), "app/a.py"), PY_SOURCE);
    assert_eq!(read(dir.path(), "app/b.py"), PY_SOURCE);
    assert!(!dir.path().join(".agent-events-fix-journal").exists());
    let ok = run(
        &[
            "fix",
            "--select",
            "user-emitter-call,context-manager-call",
            "--verify",
            "grep -q finally: app/a.py",
        ],
        dir.path(),
    );
    assert_eq!(ok.status.code(), Some(0), "{:?}", text(&ok));
    assert_eq!(read(dir.path(), "app/a.py"), PY_FIXED);
}

#[test]
fn python_line_endings_and_a_byte_order_mark_are_kept() {
    let crlf = PY_SOURCE.replace('\n', "\r\n");
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(PY_SOURCE.as_bytes());
    let dir = project(PY_REWRITES, &[("app/crlf.py", crlf.as_bytes()), ("app/bom.py", &bom)]);
    let out = run(&["fix", "--select", "user-emitter-call,context-manager-call"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(read(dir.path(), "app/crlf.py"), PY_FIXED.replace('\n', "\r\n"));
    assert_eq!(read(dir.path(), "app/bom.py"), format!("\u{feff}{PY_FIXED}"));
}

#[test]
fn overlapping_python_fixes_are_never_both_applied() {
    // Both sends of the pair are findings and both get the same fix: it applies once.
    let dir = project(PY_REWRITES, &[("app/a.py", PY_SOURCE.as_bytes())]);
    let out = run(&["fix", "--select", "context-manager-call"], dir.path());
    assert!(text(&out).1.contains("applied 1 fix(es) to 1 file(s)"), "{:?}", text(&out));
    let fixed = read(dir.path(), "app/a.py");
    assert_eq!(fixed.matches("try:").count(), 1, "{fixed}");
    assert_eq!(fixed.matches("finally:").count(), 1, "{fixed}");
}

#[test]
fn a_python_rewrite_that_does_not_check_out_is_a_configuration_error() {
    let config =
        "[[rules.user-emitter-call.python.rewrites]]\nmatch = \"a()\\n$$$\\nb()\"\nreplace = \"c()\"\n";
    let dir = project(config, &[("app/a.py", PY_SOURCE.as_bytes())]);
    let out = run(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("`rules.user-emitter-call.python.rewrites[0]`"), "{:?}", text(&out));
}

#[test]
fn stale_python_suppressions_are_removed() {
    let src = "x = 1  # agent-events: allow(user-emitter-call) -- stale\n";
    let dir = project("", &[("app/a.py", src.as_bytes())]);
    run(&["fix"], dir.path());
    assert_eq!(read(dir.path(), "app/a.py"), "x = 1\n");
}

#[test]
fn deprecated_python_names_are_rewritten_in_imports_annotations_and_calls() {
    let config = "[rules.deprecated-api]\nrewrite-paths = [\"WebSocketNotifier -> app.events.adapter.EventAdapter\"]\n";
    let src = "from app.websocket.core import WebSocketNotifier, other\n\n\ndef make(user) -> WebSocketNotifier:\n    n: WebSocketNotifier = WebSocketNotifier(user)\n    return n\n";
    let dir = project(config, &[("app/a.py", src.as_bytes())]);
    run(&["fix", "--select", "deprecated-api"], dir.path());
    assert_eq!(read(dir.path(), "app/a.py"), src, "the fixes are unsafe");
    let out = run(&["fix", "--unsafe-fixes", "--select", "deprecated-api"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        read(dir.path(), "app/a.py"),
        "from app.websocket.core import other\nfrom app.events.adapter import EventAdapter\n\n\ndef make(user) -> EventAdapter:\n    n: EventAdapter = EventAdapter(user)\n    return n\n"
    );
}

#[test]
fn python_events_missing_fields_get_placeholders() {
    let src = "async def f(ws):\n    await ws.send_json({\"type\": \"tool_completed\", \"tool_name\": \"s\"})\n    await ws.send_json(dict(type=\"agent_thinking\"))\n    await ws.send_json({\n        \"type\": \"tool_executing\",\n        \"tool_name\": \"s\",\n    })\n";
    let dir = project("", &[("app/a.py", src.as_bytes())]);
    run(&["fix", "--select", "event-missing-field"], dir.path());
    assert_eq!(read(dir.path(), "app/a.py"), src, "the fixes are unsafe");
    let out = run(&["fix", "--unsafe-fixes", "--select", "event-missing-field"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        read(dir.path(), "app/a.py"),
        "async def f(ws):\n    await ws.send_json({\"type\": \"tool_completed\", \"tool_name\": \"s\", \"tool_call_id\": \"TODO\", \"results\": None, \"success\": False})\n    await ws.send_json(dict(type=\"agent_thinking\", thought=\"TODO\"))\n    await ws.send_json({\n        \"type\": \"tool_executing\",\n        \"tool_name\": \"s\",\n        \"tool_call_id\": \"TODO\",\n    })\n"
    );
    let check = run(&["check", "--select", "event-missing-field"], dir.path());
    assert_eq!(check.status.code(), Some(0), "{:?}", text(&check));
}
