//! Bytes on disk the linter must survive: every case ends with a clear finding or message and
//! the rest of the run going on — never a panic, a hang or a stack overflow.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
}

/// Runs the linter with a time limit: a hang is a failure, not a stuck test run.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the linter did not finish within 120 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn findings(o: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn of<'f>(findings: &'f [serde_json::Value], path: &str) -> Vec<&'f serde_json::Value> {
    findings.iter().filter(|f| f["path"] == path).collect()
}

/// A project whose `ok.rs` and `ok.py` each hold one legacy call: whatever else breaks, those
/// must still be reported.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(dir.path().join("ok.rs"), "fn f(e: &E) { e.notify_agent_started(); }\n").unwrap();
    std::fs::write(dir.path().join("ok.py"), "def f(e):\n    e.notify_agent_started()\n").unwrap();
    dir
}

fn assert_rest_linted(all: &[serde_json::Value]) {
    for path in ["ok.rs", "ok.py"] {
        let rules: Vec<&serde_json::Value> = of(all, path).iter().map(|f| &f["rule"]).collect();
        assert_eq!(rules, ["user-emitter-call"], "{path} is still linted");
    }
}

fn check(dir: &Path) -> Vec<serde_json::Value> {
    let o = run_in(dir, &["check", "--format", "json", "--no-prefilter", "."]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    findings(&o)
}

fn parse_error<'f>(all: &'f [serde_json::Value], path: &str) -> &'f serde_json::Value {
    let found = of(all, path);
    assert_eq!(found.len(), 1, "{path}: {found:?}");
    assert_eq!(found[0]["rule"], "parse-error", "{path}: {found:?}");
    found[0]
}

#[test]
fn invalid_utf8_and_nul_bytes() {
    let dir = project();
    std::fs::write(dir.path().join("latin1.rs"), b"// caf\xe9\nfn f() { notify_agent_started(); }\n")
        .unwrap();
    std::fs::write(dir.path().join("latin1.py"), b"# caf\xe9\nnotify_agent_started()\n").unwrap();
    std::fs::write(dir.path().join("nul.rs"), b"fn f() {\0 notify_agent_started(); }\n").unwrap();
    std::fs::write(dir.path().join("nul.py"), b"x = 1\0\nnotify_agent_started()\n").unwrap();
    std::fs::write(dir.path().join("binary.rs"), (0..=255u8).cycle().take(70_000).collect::<Vec<u8>>())
        .unwrap();
    let all = check(dir.path());
    for path in ["latin1.rs", "latin1.py", "binary.rs"] {
        let e = parse_error(&all, path);
        assert!(e["message"].as_str().unwrap().contains("not valid UTF-8 (invalid byte at offset"), "{e}");
    }
    assert!(parse_error(&all, "latin1.rs")["line"] == 1);
    for path in ["nul.rs", "nul.py"] {
        let e = parse_error(&all, path);
        assert!(e["message"].as_str().unwrap().contains("does not parse"), "{e}");
    }
    assert_rest_linted(&all);
}

#[test]
fn a_50_mb_file_is_reported_not_parsed() {
    let dir = project();
    let line = "fn f() { manager.notify_agent_started(); } // padding padding padding padding\n";
    let big = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    std::fs::write(dir.path().join("big.rs"), &big).unwrap();
    std::fs::write(
        dir.path().join("big.py"),
        big.replace("fn f() {", "def f(): ").replace("; }", "").replace("//", "#"),
    )
    .unwrap();
    let all = check(dir.path());
    for path in ["big.rs", "big.py"] {
        let e = parse_error(&all, path);
        let message = e["message"].as_str().unwrap();
        assert!(message.contains("MiB, more than the 32 MiB the linter parses"), "{message}");
    }
    assert_rest_linted(&all);
}

#[test]
fn deeply_nested_code_is_refused_without_overflowing_the_stack() {
    let dir = project();
    let n = 100_000;
    let files = [
        ("not.rs", format!("fn f() -> bool {{ {}x }}\n", "!".repeat(n))),
        ("parens.rs", format!("fn f() {{ let x = {}1{}; }}\n", "(".repeat(n), ")".repeat(n))),
        ("sum.rs", format!("fn f() {{ let x = {}1; }}\n", "1 + ".repeat(n))),
        ("calls.rs", format!("fn f() {{ a{}; }}\n", ".b()".repeat(n))),
        ("json.rs", format!("fn f() {{ json!({}{}); }}\n", "[".repeat(n), "]".repeat(n))),
        ("not.py", format!("x = {}y\n", "not ".repeat(n))),
        ("parens.py", format!("x = {}1{}\n", "[".repeat(n), "]".repeat(n))),
        ("sum.py", format!("x = {}1\n", "1 + ".repeat(n))),
        ("attrs.py", format!("x = a{}\n", ".b".repeat(n))),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let all = check(dir.path());
    for (name, _) in &files {
        let e = parse_error(&all, name);
        assert!(e["message"].as_str().unwrap().contains("nests deeper than"), "{name}: {e}");
    }
    assert_rest_linted(&all);
    // Through standard input too (editors), which runs on its own thread.
    let mut child = bin()
        .args(["check", "--format", "json", "--no-prefilter", "--stdin-filename", "not.rs"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(files[0].1.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(parse_error(&findings(&o), "not.rs")["rule"], "parse-error");
}

#[test]
fn crlf_and_mixed_line_endings_keep_positions() {
    let dir = project();
    let text = "fn a() {}\r\nfn b(e: &E) {\r\n    e.notify_agent_started();\n}\r\n\nfn c(e: &E) { e.notify_agent_thinking(); }\r\n";
    std::fs::write(dir.path().join("mixed.rs"), text).unwrap();
    let py = "def a():\r\n    pass\n\r\ndef b(e):\r\n    e.notify_agent_started()\r\n";
    std::fs::write(dir.path().join("mixed.py"), py).unwrap();
    let all = check(dir.path());
    let place = |path: &str| -> Vec<(u64, u64)> {
        of(&all, path).iter().map(|f| (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap())).collect()
    };
    assert_eq!(place("mixed.rs"), [(3, 7), (6, 17)]);
    assert_eq!(place("mixed.py"), [(5, 7)]);
    assert_rest_linted(&all);
}

#[test]
fn fifos_and_symlink_loops_neither_hang_nor_stop_the_run() {
    let dir = project();
    let fifo = dir.path().join("pipe.rs");
    let made = Command::new("mkfifo").arg(&fifo).status().map(|s| s.success()).unwrap_or(false);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("loop_b.rs", dir.path().join("loop_a.rs")).unwrap();
        std::os::unix::fs::symlink("loop_a.rs", dir.path().join("loop_b.rs")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
        std::os::unix::fs::symlink("missing.rs", dir.path().join("dangling.rs")).unwrap();
    }
    let all = check(dir.path());
    assert_rest_linted(&all);
    let paths: Vec<&str> = all.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.iter().all(|p| *p == "ok.rs" || *p == "ok.py"), "{paths:?}");
    if made {
        // Named on the command line, a pipe is not read (it could block forever).
        let o = run_in(dir.path(), &["check", "pipe.rs"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // A link loop named on the command line is a usage error naming it.
    let o = run_in(dir.path(), &["check", "loop_a.rs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("loop_a.rs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_folders_are_reported_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project();
    std::fs::write(dir.path().join("secret.rs"), "fn f() { notify_agent_started(); }\n").unwrap();
    std::fs::create_dir(dir.path().join("locked")).unwrap();
    std::fs::write(dir.path().join("locked/inner.rs"), "fn f() { notify_agent_started(); }\n").unwrap();
    std::fs::set_permissions(dir.path().join("secret.rs"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(dir.path().join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root reads everything: run as `nobody` then (the project is world-readable otherwise).
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_cargo-agent-events"));
        c
    } else {
        bin()
    };
    let o = command
        .args(["check", "--format", "json", "--no-prefilter", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    std::fs::set_permissions(dir.path().join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    if root && o.status.code().is_none() {
        return; // setpriv is not usable here
    }
    let all = findings(&o);
    let e = parse_error(&all, "secret.rs");
    assert!(e["message"].as_str().unwrap().contains("cannot read this file"), "{e}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("locked"), "the unreadable folder is named: {stderr}");
    assert_rest_linted(&all);
}

#[test]
fn files_vanishing_or_changing_between_discovery_and_reading() {
    use cargo_agent_events::config::{Config, RawConfig};
    use cargo_agent_events::discover::discover;
    use cargo_agent_events::lint::Linter;
    let dir = project();
    std::fs::write(dir.path().join("gone.rs"), "fn f() { notify_agent_started(); }\n").unwrap();
    std::fs::write(dir.path().join("changed.rs"), "fn f() {}\n").unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = Config::from_raw(RawConfig::default(), &root.join("agent-events.toml"), Vec::new()).unwrap();
    let (targets, errors) = discover(&root, std::slice::from_ref(&root), &config);
    assert!(errors.is_empty(), "{errors:?}");
    std::fs::remove_file(root.join("gone.rs")).unwrap();
    std::fs::write(root.join("changed.rs"), "fn f() { notify_agent_thinking(); }\n").unwrap();
    let reports = Linter::new(&config).without_prefilter().run(&targets);
    let rules = |rel: &str| -> Vec<String> {
        reports
            .iter()
            .filter(|r| r.rel == rel)
            .flat_map(|r| r.findings.iter().map(|f| f.rule.clone()))
            .collect()
    };
    assert_eq!(rules("gone.rs"), ["parse-error"]);
    let gone = reports.iter().find(|r| r.rel == "gone.rs").unwrap();
    assert!(gone.findings[0].message.contains("cannot read this file"), "{}", gone.findings[0].message);
    assert_eq!(rules("changed.rs"), ["user-emitter-call"], "the text read is linted");
    assert_eq!(rules("ok.rs"), ["user-emitter-call"]);
}

#[test]
fn a_configuration_with_wrong_types_stops_the_run_naming_the_key() {
    let dir = project();
    for (text, key) in [
        ("exclude = \"target\"\n", "exclude"),
        ("[rules.user-emitter-call]\nlevel = 3\n", "rules.user-emitter-call.level"),
        ("canonical-calls = [\"not a pattern\"]\n", "canonical-calls[0]"),
        ("[custom-events.Bad]\nrequired = []\n", "custom-events.Bad"),
        (
            "[rules.user-emitter-call.python]\nmethods = \"notify\"\n",
            "rules.user-emitter-call.python.methods",
        ),
        ("this is not toml", "agent-events.toml"),
    ] {
        std::fs::write(dir.path().join("agent-events.toml"), text).unwrap();
        let o = run_in(dir.path(), &["check", "."]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains("agent-events.toml"), "{text}: {stderr}");
    }
}

#[test]
fn a_byte_order_mark_does_not_turn_an_own_line_suppression_into_a_trailing_one() {
    let dir = project();
    let rust =
        "\u{feff}// agent-events: allow(deprecated-api)\r\nfn f() { let n = WebSocketNotifier::new(); }\r\n";
    std::fs::write(dir.path().join("bom.rs"), rust).unwrap();
    let python = "\u{feff}# agent-events: allow(user-emitter-call)\nnotify_agent_started()\n";
    std::fs::write(dir.path().join("bom.py"), python).unwrap();
    let all = check(dir.path());
    assert_eq!(of(&all, "bom.rs"), Vec::<&serde_json::Value>::new());
    assert_eq!(of(&all, "bom.py"), Vec::<&serde_json::Value>::new());
    assert_rest_linted(&all);
}
