//! The linter on Python projects: discovery and `--lang`, configuration from `pyproject.toml`,
//! suppressions, parse errors, canonical code, the baseline and the near-misses that must stay
//! silent.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn json(o: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// `(path, line, rule)` of every finding.
fn found(o: &Output) -> Vec<(String, u64, String)> {
    json(o)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const PYPROJECT: &str = "[project]\nname = \"svc\"\n\n[tool.agent-events]\n\
canonical-paths = [\"svc.events\"]\ncanonical-calls = [\"self._adapter.emit_*\"]\n";

const LEGACY_PY: &str = "\
async def run_tool(self, query):
    await self.user_emitter.notify_tool_executing(\"search\", query)
    await self.user_emitter.notify_tool_completed(\"search\", 3)
";

const LEGACY_RS: &str = "\
async fn run_tool(emitter: &UserEmitter) {
    emitter.notify_agent_started().await;
}
";

#[test]
fn python_files_are_found_beside_rust_files_and_lang_restricts() {
    let dir =
        project(&[("pyproject.toml", PYPROJECT), ("svc/tools.py", LEGACY_PY), ("src/lib.rs", LEGACY_RS)]);
    let all = found(&run(&["check", "--format", "json", "."], dir.path()));
    let files: Vec<&str> = all.iter().map(|(p, _, _)| p.as_str()).collect();
    assert!(files.contains(&"svc/tools.py") && files.contains(&"src/lib.rs"), "{all:?}");
    let python = found(&run(&["check", "--format", "json", "--lang", "python", "."], dir.path()));
    assert!(!python.is_empty() && python.iter().all(|(p, _, _)| p.ends_with(".py")), "{python:?}");
    let rust = found(&run(&["check", "--format", "json", "--lang", "rust", "."], dir.path()));
    assert!(!rust.is_empty() && rust.iter().all(|(p, _, _)| p.ends_with(".rs")), "{rust:?}");
    let o = run(&["check", "--lang", "cobol", "."], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn pyproject_configures_levels_and_python_only_lists() {
    let pyproject = format!(
        "{PYPROJECT}\n[tool.agent-events.rules.user-emitter-call]\nlevel = \"deny\"\n\
         [tool.agent-events.rules.user-emitter-call.python]\nextend-methods = [\"notify_step\"]\n"
    );
    let code = "async def f(self):\n    await self.emitter.notify_step(1)\n";
    let rust = "fn f(e: &E) { e.notify_step(1); }\n";
    let dir = project(&[("pyproject.toml", &pyproject), ("svc/a.py", code), ("src/b.rs", rust)]);
    let o = run(&["check", "--format", "json", "."], dir.path());
    let findings = json(&o);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["path"], "svc/a.py");
    assert_eq!(findings[0]["level"], "error");
    assert_eq!(o.status.code(), Some(1));

    let wrong = format!("{PYPROJECT}\n[tool.agent-events.rules.user-emitter-call.python]\nmethod = []\n");
    let dir = project(&[("pyproject.toml", &wrong), ("svc/a.py", code)]);
    let o = run(&["check", "."], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("rules.user-emitter-call.python.method"), "{err}");
}

#[test]
fn help_points_to_the_configured_adapter() {
    let dir = project(&[("pyproject.toml", PYPROJECT), ("svc/tools.py", LEGACY_PY)]);
    let findings = json(&run(&["check", "--format", "json", "."], dir.path()));
    let help = findings.iter().find(|f| f["rule"] == "user-emitter-call").unwrap()["help"].as_str().unwrap();
    assert!(help.contains("`self._adapter.emit_tool_executing(…)`"), "{help}");
    assert!(!help.contains("run."), "{help}");
}

#[test]
fn canonical_modules_and_adapter_calls_are_silent_and_counted() {
    let adapter = "\
class Adapter:
    async def emit_tool_executing(self, name):
        await self.ws.send_json({\"type\": \"tool_executing\", \"tool_name\": name})
";
    let agent = "\
async def run(self):
    await self._adapter.emit_agent_started()
    await self._adapter.emit_agent_thinking(\"hi\")
    await self.user_emitter.notify_agent_completed(\"done\")
";
    let dir = project(&[("pyproject.toml", PYPROJECT), ("svc/events.py", adapter), ("svc/agent.py", agent)]);
    let findings = found(&run(&["check", "--format", "json", "."], dir.path()));
    assert_eq!(findings, [("svc/agent.py".to_owned(), 4, "user-emitter-call".to_owned())]);
    let o = run(&["stats", "--format", "json", "."], dir.path());
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(stats["total"]["canonical"], 2, "{stats}");
    assert_eq!(stats["total"]["legacy"], 1, "{stats}");
}

#[test]
fn suppressions_use_hash_comments() {
    let code = "\
async def f(self):
    await self.e.notify_agent_started()  # agent-events: allow(user-emitter-call) -- migrated next
    # agent-events: allow(user-emitter-call) -- covers the next line of code

    await self.e.notify_agent_thinking(\"x\")
    total = 1  # agent-events: allow(user-emitter-call) -- stale
    s = \"# agent-events: allow(user-emitter-call)\"
    await self.e.notify_agent_completed()
";
    let dir = project(&[("pyproject.toml", PYPROJECT), ("svc/a.py", code)]);
    let findings = found(&run(&["check", "--format", "json", "."], dir.path()));
    assert_eq!(
        findings,
        [
            ("svc/a.py".to_owned(), 6, "unused-suppression".to_owned()),
            ("svc/a.py".to_owned(), 8, "user-emitter-call".to_owned()),
        ]
    );
}

#[test]
fn files_that_do_not_parse_are_reported_and_the_run_goes_on() {
    let py2 = "def notify():\n    print \"notify_agent_started\"\n";
    let dir = project(&[
        ("pyproject.toml", PYPROJECT),
        ("svc/old.py", py2),
        ("svc/tools.py", LEGACY_PY),
        ("svc/bytes.py", "x = '\u{0}'\nnotify_agent_started()\n"),
    ]);
    std::fs::write(dir.path().join("svc/latin1.py"), b"# caf\xe9\nnotify_agent_started()\n").unwrap();
    let o = run(&["check", "--format", "json", "."], dir.path());
    let findings = json(&o);
    let error = findings.iter().find(|f| f["path"] == "svc/old.py").expect("old.py is reported");
    assert_eq!(error["rule"], "parse-error");
    assert_eq!(error["line"], 2);
    assert!(error["message"].as_str().unwrap().contains("does not parse as Python"), "{error}");
    let latin1 = findings.iter().find(|f| f["path"] == "svc/latin1.py").expect("latin1.py is reported");
    assert!(latin1["message"].as_str().unwrap().contains("not valid UTF-8"), "{latin1}");
    assert!(findings.iter().any(|f| f["path"] == "svc/tools.py"), "{findings:?}");
    // A NUL inside a string: either reported as a syntax error or linted, never a crash.
    let nul = findings.iter().find(|f| f["path"] == "svc/bytes.py").expect("bytes.py is reported");
    assert!(nul["rule"] == "parse-error" || nul["rule"] == "user-emitter-call", "{nul}");
}

#[test]
fn the_baseline_and_every_format_work_on_python_findings() {
    let dir = project(&[("pyproject.toml", PYPROJECT), ("svc/tools.py", LEGACY_PY)]);
    let o = run(&["baseline", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["check", "--baseline", "agent-events-baseline.json", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    // A new site in the same function is new.
    let more = format!("{LEGACY_PY}    await self.user_emitter.notify_agent_started()\n");
    std::fs::write(dir.path().join("svc/tools.py"), more).unwrap();
    let o = run(&["check", "--format", "json", "--baseline", "agent-events-baseline.json", "."], dir.path());
    assert_eq!(found(&o), [("svc/tools.py".to_owned(), 4, "user-emitter-call".to_owned())]);
    for format in ["human", "short", "sarif", "github"] {
        let o = run(&["check", "--color", "never", "--format", format, "."], dir.path());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("svc/tools.py"), "{format}: {out}");
    }
}

#[test]
fn near_misses_stay_silent() {
    let code = r#"
"""Sends agent_started and tool_executing events; see notify_tool_executing."""
import logging

logger = logging.getLogger(__name__)


async def handle(self, context, event, mock_ws, mock_emitter, wake):
    # await context.websocket_manager.send_tool_executing("search")
    logger.info("sent agent_started to %s", context.user_id)
    message = f"tool_executing {event['type']}"
    if context.websocket_manager:
        count = context.websocket_manager.connection_count()
    if hasattr(context, "websocket_manager"):
        manager = getattr(context, "websocket_manager", None)
    context.websocket_manager = None
    self.forward(context.websocket_manager)
    if event["type"] == "tool_completed" or event.get("event") in ("agent_started", "agent_thinking"):
        pass
    match event["type"]:
        case "agent_started":
            pass
    mock_ws.send_json.assert_called_once_with({"type": "agent_started", "agent_name": "a"})
    mock_emitter.notify_tool_executing.assert_awaited_once()
    wake.notify_all()
    payload = {"type": "message", "text": "hi"}
    other = {"kind": "agent_started"}
    await self._adapter.emit_tool_executing("search", {})
    manager = get_websocket_manager(context)
    return payload, other, message
"#;
    let dir = project(&[("pyproject.toml", PYPROJECT), ("svc/near.py", code)]);
    let o = run(&["check", "--format", "json", "--no-prefilter", "."], dir.path());
    assert_eq!(found(&o), []);
}
